package lvscare

import (
	"fmt"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// TestForms: the options as a command line, an environment file's
// continued lines with prose around them (lvscare#38), and a static pod
// manifest's argument list (sealos) name the same kind of service.
func TestForms(t *testing.T) {
	cases := []struct{ name, text, want string }{
		{"command line", "lvscare care --vs 10.103.97.12:6443 --rs 192.168.0.2:6443 --rs 192.168.0.3:6443 --health-path /healthz\n",
			"TCP 10.103.97.12:6443 [192.168.0.2:6443 192.168.0.3:6443] @1"},
		{"environment file in prose", "3、lvscare的启动参数是：\nLVSCARE_OPTS=\"care \\\n--vs 192.0.2.30:16443 \\\n--rs 192.0.2.31:6443 \\\n--rs 192.0.2.32:6443 \\\n--health-schem https\"\n4、kubeadm ...\n",
			"TCP 192.0.2.30:16443 [192.0.2.31:6443 192.0.2.32:6443] @3"},
		{"static pod manifest", "  containers:\n  - args:\n    - care\n    - --vs\n    - 10.103.97.2:6443\n    - --health-path\n    - /healthz\n    - --rs\n    - 172.16.10.10:6443\n    command:\n    - /usr/bin/lvscare\n",
			"TCP 10.103.97.2:6443 [172.16.10.10:6443] @5"},
		{"equals signs", "lvscare care --vs=[2001:db8::12]:6443 --rs=[2001:db8::2]:6443\n",
			"TCP [2001:db8::12]:6443 [[2001:db8::2]:6443] @1"},
	}
	for _, c := range cases {
		if !sniff(c.text) {
			t.Errorf("%s: not sniffed", c.name)
		}
		h := &evidence.Host{Name: "n"}
		if probs := apply(evidence.Doc{Host: "n", Source: "x", Start: 1, Text: c.text}, h); len(probs) != 0 || len(h.Declared) != 1 {
			t.Errorf("%s: problems %v, declared %+v", c.name, probs, h.Declared)
			continue
		}
		d := h.Declared[0]
		got := fmt.Sprintf("%s %s:%d %v @%d", d.Proto, d.Addr, d.Port, d.RealServers, d.Ref.Line)
		if d.Addr.Is6() {
			got = fmt.Sprintf("%s [%s]:%d %v @%d", d.Proto, d.Addr, d.Port, d.RealServers, d.Ref.Line)
		}
		if got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	for _, text := range []string{
		"kube-apiserver --vs 1 --rs 2\n",                        // not lvscare
		"lvscare care --health-path /healthz\n",                 // no --vs
		"we run lvscare and set --vs and --rs to the masters\n", // prose about the options
	} {
		if sniff(text) {
			t.Errorf("sniffed %q", text)
		}
	}
}
