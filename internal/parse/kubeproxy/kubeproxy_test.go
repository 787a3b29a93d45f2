package kubeproxy

import (
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// A keepalived.conf fragment with a kube-proxy manifest pasted after it,
// as kubernetes/kube-proxy#6 shows them (testdata/field).
const gluedPaste = `virtual_server 10.6.115.166 41808 {
              lvs_method NAT
              protocol TCP

- command:
        - /usr/local/bin/kube-proxy
        - --master=http://127.0.0.1:18081
        - --proxy-mode=ipvs
        - --iptables-sync-period=1m
`

func TestTail(t *testing.T) {
	off, ok := Tail(gluedPaste)
	if !ok || !strings.HasPrefix(gluedPaste[off:], "- command:") {
		t.Fatalf("tail at %d %v: %q", off, ok, gluedPaste[off:])
	}
	if _, ok := Tail("virtual_server 192.0.2.1 80 {\n  lb_kind DR\n}\n"); ok {
		t.Error("a keepalived.conf alone has no kube-proxy tail")
	}
}

func TestApply(t *testing.T) {
	h := evidence.NewHost("node1")
	off, _ := Tail(gluedPaste)
	Apply(evidence.Doc{Host: "node1", Source: "node1/paste.txt", Start: 1 + strings.Count(gluedPaste[:off], "\n"), Text: gluedPaste[off:]}, h)
	if len(h.Logs) != 1 || h.Logs[0].Subject != "proxy-mode=ipvs" || h.Logs[0].Ref.Line != 8 {
		t.Fatalf("command line: %+v", h.Logs)
	}

	cfg := "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nipvs:\n  excludeCIDRs: [\"192.0.2.100/32\", \"198.51.100.0/24\"]\nmode: \"ipvs\"\n"
	h = evidence.NewHost("node1")
	Apply(evidence.Doc{Host: "node1", Source: "node1/kube-proxy.yaml", Start: 1, Text: cfg}, h)
	var got []string
	for _, l := range h.Logs {
		got = append(got, l.Subject)
	}
	if strings.Join(got, ";") != "ipvs-exclude-cidrs=192.0.2.100/32,198.51.100.0/24;proxy-mode=ipvs" {
		t.Errorf("configuration: %q", got)
	}

	// Prose quoting a flag is not kube-proxy's setting.
	h = evidence.NewHost("node1")
	Apply(evidence.Doc{Host: "node1", Source: "node1/notes.txt", Start: 1, Text: "we run (kube-proxy --proxy-mode=ipvs) since Monday\n"}, h)
	if len(h.Logs) != 0 {
		t.Errorf("prose read as a setting: %+v", h.Logs)
	}
	if f := Formats()[0]; f.Sniff("we run (kube-proxy --proxy-mode=ipvs) since Monday\n") || !f.Sniff("ps aux\nroot 1 0 /usr/local/bin/kube-proxy --proxy-mode=ipvs --v=2\n") {
		t.Error("sniff")
	}
}

// TestConfigSettings: the IPVS settings of a KubeProxyConfiguration, named
// or quoted without its apiVersion and kind (opsnull/follow-me-install-
// kubernetes-cluster#553, testdata/field), recorded under their flags'
// names; a mode line beside other software's keys is not kube-proxy's.
func TestConfigSettings(t *testing.T) {
	cases := []struct{ name, text, want string }{
		{"quoted without kind (opsnull#553)", "mode: \"ipvs\"\nportRange: \"\"\nkubeProxyIPTablesConfiguration:\n  masqueradeAll: false\nkubeProxyIPVSConfiguration:\n  scheduler: rr\n  excludeCIDRs: []\n",
			"proxy-mode=ipvs;masquerade-all=false;ipvs-scheduler=rr;ipvs-exclude-cidrs="},
		{"kubeadm's config.conf", "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nclusterCIDR: 10.244.0.0/16\niptables:\n  masqueradeAll: false\nipvs:\n  scheduler: \"wrr\"\n  strictARP: true\n  tcpTimeout: 0s\n  tcpFinTimeout: 0s\n  udpTimeout: 0s\nkind: KubeProxyConfiguration\nmode: ipvs\n",
			"cluster-cidr=10.244.0.0/16;masquerade-all=false;ipvs-scheduler=wrr;ipvs-strict-arp=true;ipvs-tcp-timeout=0s;ipvs-tcpfin-timeout=0s;ipvs-udp-timeout=0s;proxy-mode=ipvs"},
		{"flags", "- command:\n  - /usr/local/bin/kube-proxy\n  - --proxy-mode=ipvs\n  - --ipvs-scheduler=sh\n  - --masquerade-all\n",
			"proxy-mode=ipvs;ipvs-scheduler=sh"},
	}
	for _, c := range cases {
		if !Formats()[0].Sniff(c.text) {
			t.Errorf("%s: not sniffed", c.name)
		}
		h := evidence.NewHost("node1")
		Apply(evidence.Doc{Host: "node1", Source: "x", Start: 1, Text: c.text}, h)
		var got []string
		for _, l := range h.Logs {
			got = append(got, l.Subject)
		}
		if strings.Join(got, ";") != c.want {
			t.Errorf("%s: %q", c.name, strings.Join(got, ";"))
		}
	}
	if Formats()[0].Sniff("mode: \"0644\"\nowner: root\n") {
		t.Error("a mode line alone sniffed as kube-proxy's")
	}
}
