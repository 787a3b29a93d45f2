package syslog

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

func parseFile(t testing.TB, name string) []evidence.LogEvent {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	evs, probs := ParseLog(evidence.Doc{Host: "ds1", Source: "ds1/" + filepath.Base(name), Start: 1, Text: string(b)})
	if len(probs) != 0 {
		t.Errorf("%s: problems %v", name, probs)
	}
	return evs
}

// brief renders the events other than GARPs as "line kind subject".
func brief(evs []evidence.LogEvent) string {
	var out []string
	for _, e := range evs {
		if e.Kind == evidence.LogGARPSent {
			continue
		}
		out = append(out, fmt.Sprintf("%d %s %s", e.Ref.Line, e.Kind, e.Subject))
	}
	return strings.Join(out, "\n")
}

func TestKeepalivedLogs(t *testing.T) {
	cases := []struct {
		file, want string
	}{
		{"lab/keepalived-console-director.log", `1 keepalived-version 2.2.7
22 vrrp-backup VI_1
27 vrrp-master VI_1
35 check-failed 192.0.2.11:80
36 rs-removed 192.0.2.11:80
44 rs-added 192.0.2.11:80
45 vrrp-higher-prio-advert VI_1
46 vrrp-backup VI_1
50 vrrp-master VI_1
64 vrrp-auth-mismatch VI_1`},
		{"hand/journal-keepalived-2.2.7.txt", `2 keepalived-version 2.2.7
23 vrrp-backup VI_1
28 vrrp-master VI_1
36 check-failed 192.0.2.11:80
37 rs-removed 192.0.2.11:80
45 rs-added 192.0.2.11:80
46 vrrp-higher-prio-advert VI_1
47 vrrp-backup VI_1
51 vrrp-master VI_1
65 vrrp-auth-mismatch VI_1`},
		{"hand/messages-centos6-1.2.txt", `3 check-failed 192.0.2.29:443
4 rs-removed 192.0.2.29:443
5 check-failed 192.0.2.28:443
6 rs-removed 192.0.2.28:443
7 vrrp-master VI_1
12 rs-added 192.0.2.29:443
13 vrrp-bad-packet 
14 vrrp-bad-packet 
15 vrrp-bad-packet 
16 vrrp-bad-packet 
17 message keepalived.vrrp.ignoring-advert.v1
18 vrrp-auth-mismatch 
20 vrrp-fault VI_1
21 vrrp-fault VI_1
22 ipvs-init-failed ipvs
23 check-failed 192.0.2.89
24 rs-removed 192.0.2.89:3306
25 rs-removed 192.0.2.13:0`},
		{"hand/messages-centos7-1.3.txt", `1 keepalived-version 1.3.5
3 vrrp-master VI_1
7 check-failed 192.0.2.11:80
8 check-failed 192.0.2.11:80
9 rs-removed 192.0.2.11:80
10 check-failed 192.0.2.12:80
11 vrrp-higher-prio-advert VI_1
12 vrrp-backup VI_1
13 vrrp-lower-prio-advert VI_1
14 config-error lb_kindd`},
		{"hand/rsyslog-iso.txt", `1 vrrp-master VI_1
2 check-failed 192.0.2.11:80
3 rs-removed 192.0.2.11:80
4 ipvs-init-failed ipvs
5 vrrp-fault VI_1`},
	}
	for _, c := range cases {
		if got := brief(parseFile(t, c.file)); got != c.want {
			t.Errorf("%s:\n%s\nwant\n%s", c.file, got, c.want)
		}
	}
	evs := parseFile(t, "lab/keepalived-console-director.log")
	if evs[0].Kind != evidence.LogKeepalivedVersion || evs[0].Subject != "2.2.7" || evs[0].Ref.Line != 1 {
		t.Errorf("event %+v", evs[0])
	}
	if evs[1].Time != "Sat Nov 21 06:17:46 2026" || !strings.Contains(evs[1].Ref.Text, "Entering BACKUP STATE") {
		t.Errorf("event %+v", evs[1])
	}
	garps := 0
	for _, e := range evs {
		if e.Kind == evidence.LogGARPSent {
			garps++
			if e.Subject != "192.0.2.100" {
				t.Errorf("garp subject %q", e.Subject)
			}
		}
	}
	if garps != 24 {
		t.Errorf("garps %d", garps)
	}
	checks := `1 keepalived-version 2.2.7
24 vrrp-backup VI_1
26 check-failed 192.0.2.11:80
27 rs-removed 192.0.2.11:80
28 message keepalived.check.quorum-lost
29 check-failed 192.0.2.12:80
30 rs-removed 192.0.2.12:80
32 vrrp-master VI_1
41 vrrp-fault VI_1
46 vrrp-backup VI_1
49 vrrp-master VI_1`
	if got := brief(parseFile(t, "lab/keepalived-console-checks.log")); got != checks {
		t.Errorf("checks log:\n%s", got)
	}
	ds2 := brief(parseFile(t, "lab/keepalived-console-ds2.log"))
	if !strings.Contains(ds2, "vrrp-lower-prio-advert VI_1") || !strings.Contains(ds2, "vrrp-master VI_1") {
		t.Errorf("ds2: %s", ds2)
	}
}

func TestKernelLogs(t *testing.T) {
	for _, f := range []string{"lab/dmesg.txt", "lab/dmesg-T.txt"} {
		evs := parseFile(t, f)
		want := `403 ipvs-loaded ipvs
404 ipvs-loaded ipvs
405 ipvs-loaded ipvs
406 ipvs-loaded rr
407 ipvs-loaded wlc
408 ipvs-loaded sh
415 martian-source eth0
417 martian-source eth0
419 conntrack-full nf_conntrack
420 conntrack-full nf_conntrack
421 conntrack-full nf_conntrack
422 conntrack-full nf_conntrack
423 conntrack-full nf_conntrack
424 conntrack-full nf_conntrack
425 conntrack-full nf_conntrack
426 conntrack-full nf_conntrack
427 conntrack-full nf_conntrack
428 conntrack-full nf_conntrack`
		if got := brief(evs); got != want {
			t.Errorf("%s:\n%s", f, got)
		}
		m := evs[6]
		if !strings.Contains(m.Detail, "martian source 192.0.2.11 from 203.0.113.5") || !strings.Contains(m.Detail, "ll header: 00000000: da de a3") {
			t.Errorf("%s: martian detail %q", f, m.Detail)
		}
	}
	cases := map[string]string{
		"hand/kern-log.txt": `1 martian-source tunl0
3 conntrack-full nf_conntrack
4 ipvs-no-destination TCP 192.0.2.100:80
5 ipvs-no-destination UDP 192.0.2.100:53
6 ipvs-loaded ipvs`,
		"hand/journal-k.txt": `2 ipvs-loaded ipvs
3 ipvs-loaded ipvs
4 ipvs-loaded ipvs
5 ipvs-loaded wlc
6 conntrack-full nf_conntrack
8 conntrack-full nf_conntrack`,
		"hand/dmesg-no-timestamps.txt": `1 ipvs-loaded ipvs
2 ipvs-loaded ipvs
3 ipvs-loaded ipvs
4 ipvs-loaded rr
5 conntrack-full nf_conntrack
6 martian-source tunl0`,
	}
	for f, want := range cases {
		if got := brief(parseFile(t, f)); got != want {
			t.Errorf("%s:\n%s\nwant\n%s", f, got, want)
		}
	}
	if got := brief(parseFile(t, "lab/dmesg-nodest.txt")); !strings.HasSuffix(got, "ipvs-no-destination TCP 192.0.2.100:81") {
		t.Errorf("no destination:\n%s", got)
	}
	evs := parseFile(t, "hand/kern-log.txt")
	if evs[0].Time != "Nov 21 06:14:01" || evs[0].Detail != "IPv4: martian source 192.0.2.100 from 192.0.2.10, on dev tunl0; ll header: 00000000:" {
		t.Errorf("kern.log martian %+v", evs[0])
	}
}

func TestConfigTestOutput(t *testing.T) {
	evs := parseFile(t, "hand/keepalived-t-invalid.txt")
	kinds := map[string]int{}
	for _, e := range evs {
		kinds[e.Kind]++
	}
	if kinds[evidence.LogConfigError] != 9 || len(kinds) != 1 {
		t.Errorf("kinds %v", kinds)
	}
	if evs[0].Subject != "vrrp_strcit" || evs[3].Subject != "nb_get_retry" {
		t.Errorf("subjects %+v %+v", evs[0], evs[3])
	}
}

func TestBounded(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&b, "Nov 21 06:17:49 ds1 Keepalived_vrrp[453]: Sending gratuitous ARP on eth0 for 192.0.2.100\n")
		if i%1000 == 0 {
			fmt.Fprintf(&b, "Nov 21 06:17:49 ds1 Keepalived_vrrp[453]: (VI_1) Entering MASTER STATE\n")
		}
	}
	fmt.Fprintf(&b, "Nov 21 06:17:49 ds1 Keepalived_vrrp[453]: (VI_1) Entering BACKUP STATE\n")
	b.WriteString("Nov 21 06:17:50 ds1 Keepalived_vrrp[453]: Sending gratuitous ARP on eth0 for 192.0.2.100\n")
	evs, _ := ParseLog(evidence.Doc{Source: "x", Text: b.String()})
	if len(evs) != maxPerKey+5+1 {
		t.Errorf("kept %d events", len(evs))
	}
	last := evs[len(evs)-1]
	if last.Kind != evidence.LogGARPSent || last.Ref.Line != 5007 {
		t.Errorf("the most recent event must be kept: %+v", last)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Ref.Line <= evs[i-1].Ref.Line {
			t.Fatalf("events out of order at %d", i)
		}
	}
	if _, probs := ParseLog(evidence.Doc{Source: "x", Text: "a\x00b\nc\x00"}); len(probs) != 1 {
		t.Errorf("binary: %v", probs)
	}
}

func TestHostPort(t *testing.T) {
	for in, want := range map[string]string{
		"[192.0.2.11]:tcp:80":  "192.0.2.11:80",
		"[192.0.2.11]:80":      "192.0.2.11:80",
		"[2001:db8::1]:tcp:80": "[2001:db8::1]:80",
		"[192.0.2.11]":         "192.0.2.11",
		"[192.0.2.11]:80.":     "192.0.2.11:80",
		"FWM:1":                "FWM:1",
	} {
		if got := hostPort(in); got != want {
			t.Errorf("hostPort(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseLog(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.txt")
	logs, _ := filepath.Glob("testdata/*/*.log")
	for _, p := range append(files, logs...) {
		b, _ := os.ReadFile(p)
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, text string) {
		doc := evidence.Doc{Host: "h", Source: "f", Start: 5, Text: text}
		n := len(doc.Lines())
		evs, probs := ParseLog(doc)
		for _, e := range evs {
			if e.Ref.Line < 5 || e.Ref.Line >= 5+n {
				t.Fatalf("event line %d outside %d lines", e.Ref.Line, n)
			}
			if e.Kind == "" {
				t.Fatalf("event without kind")
			}
		}
		for _, p := range probs {
			if p.Line < 5 || p.Line >= 5+n {
				t.Fatalf("problem line %d outside %d lines", p.Line, n)
			}
		}
	})
}

// TestKubeProxyKlog: kube-proxy's klog lines (from the field case
// kubernetes#71261 and kube-proxy's IPVS proxier) say the host runs it;
// other components' klog lines do not.
func TestKubeProxyKlog(t *testing.T) {
	doc := evidence.Doc{Host: "node1", Source: "kube-proxy.log", Start: 1, Text: "I1120 15:18:19.757786   26448 conntrack.go:52] Setting nf_conntrack_max to 786432\n" +
		"I0318 10:02:11.000123       1 server_others.go:259] Using ipvs Proxier.\n" +
		"E0318 10:02:12.123456    2201 kubelet.go:2183] Container runtime network not ready\n"}
	evs, _ := ParseLog(doc)
	var got []string
	for _, e := range evs {
		got = append(got, fmt.Sprintf("%d %s %s", e.Ref.Line, e.Kind, e.Subject))
	}
	want := []string{"1 kube-proxy conntrack.go", "2 kube-proxy server_others.go"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

// TestKubeProxyJournalLocales: a `systemctl status kube-proxy` journal
// under a Chinese locale (field case kubeasz-262) keeps its time and
// ident, the klog header after the ident is dropped from the message,
// and the line is the message table's ipset entry.
func TestKubeProxyJournalLocales(t *testing.T) {
	text := "7月 17 14:12:47 k8s-master-210 kube-proxy[24001]: E0717 14:12:47.589968   24001 ipset.go:156] Failed to make sure ip set: &{{KUBE-LOAD-BALANCER-LOCAL hash:ip,port inet 1024 65536 0-65535 Kubernetes service load balancer ip + port with externalTrafficPolicy=local} map[] 0xc42007b100} exist, error: error creating ipset KUBE-LOAD-BALANCER-LOCAL, error: exit status 2\n" +
		"Jul 17 14:12:52 k8s-master-210 kube-proxy[24001]: I0717 14:12:52.634800   24001 server_others.go:183] Using ipvs Proxier.\n"
	evs, _ := ParseLog(evidence.Doc{Host: "n", Source: "status.txt", Start: 1, Text: text})
	if len(evs) != 2 {
		t.Fatalf("events %+v", evs)
	}
	if e := evs[0]; e.Kind != evidence.LogKubeProxy || e.Time != "7月 17 14:12:47" || e.Message != "kubernetes.proxy.ipset-create-failed" ||
		!strings.HasPrefix(e.Detail, "Failed to make sure ip set") {
		t.Errorf("CJK journal line: %+v", e)
	}
	if e := evs[1]; e.Detail != "Using ipvs Proxier." {
		t.Errorf("klog header kept after the ident: %q", e.Detail)
	}
}

// TestKubeProxyLinesMakeALog: kube-proxy's bare klog lines (as `kubectl
// logs` prints them, field case kubernetes-89632) and its journal lines
// make a block a log by content; other components' klog lines do not.
func TestKubeProxyLinesMakeALog(t *testing.T) {
	sniff := Formats()[0].Sniff
	for _, head := range []string{
		"E0331 13:11:06.676253       1 proxier.go:1950] Failed to list IPVS destinations, error: parseIP Error ip=[10 244 2 90 0 0 0 0 0 0 0 0 0 0 0 0]\n",
		"I0519 23:45:37.384552       1 feature_gate.go:190] feature gates: map[SupportIPVSProxyMode:true]\nI0519 23:45:37.469193       1 server_others.go:306] Can't use ipvs proxier, trying iptables proxier\n",
		"7月 17 14:12:40 node1 kube-proxy[24001]: I0717 14:12:40.112043   24001 conntrack.go:98] Set sysctl 'net/netfilter/nf_conntrack_max' to 131072\n",
	} {
		if !sniff(head) {
			t.Errorf("not a log: %q", head)
		}
	}
	for _, head := range []string{
		"E0318 10:02:12.123456    2201 kubelet.go:2183] Container runtime network not ready\n",
		"I0519 23:45:37.384552       1 feature_gate.go:190] feature gates: map[SupportIPVSProxyMode:true]\n",
	} {
		if sniff(head) {
			t.Errorf("read as a log: %q", head)
		}
	}
}

// TestKubeProxyModprobeQuiet: kube-proxy warns of each module modprobe
// cannot load right before it reads /proc/modules; "not loaded" after a
// line that is no such warning (field case kubernetes-63801) is recorded,
// after a warning, or in a grep's output, it is not.
func TestKubeProxyModprobeQuiet(t *testing.T) {
	notLoaded := "E0514 13:55:16.139837       1 server_others.go:304] can't determine whether to use ipvs proxy, error: IPVS proxier will not be used because the following required kernel modules are not loaded: [ip_vs_sh nf_conntrack_ipv4 ip_vs ip_vs_rr ip_vs_wrr]\n"
	quiet := func(text, cmd string) []evidence.LogEvent {
		evs, _ := ParseLog(evidence.Doc{Host: "n", Source: "kp.log", Start: 1, Command: cmd, Text: text})
		var out []evidence.LogEvent
		for _, e := range evs {
			if e.Kind == evidence.LogKubeProxyModprobeQuiet {
				out = append(out, e)
			}
		}
		return out
	}
	start := "I0514 13:55:14.505765       1 feature_gate.go:226] feature gates: &{{} map[]}\n"
	got := quiet(start+notLoaded, "kubectl logs -n kube-system kube-proxy-x")
	if len(got) != 1 || got[0].Ref.Line != 1 || got[0].Subject != "[ip_vs_sh nf_conntrack_ipv4 ip_vs ip_vs_rr ip_vs_wrr]" {
		t.Errorf("quiet modprobe: %+v", got)
	}
	warned := "W0514 13:55:14.606702       1 proxier.go:469] Failed to load kernel module ip_vs_sh with modprobe. You can ignore this message when kube-proxy is running inside container without mounting /lib/modules\n"
	if got := quiet(start+warned+notLoaded, ""); len(got) != 0 {
		t.Errorf("after a modprobe warning: %+v", got)
	}
	if got := quiet(notLoaded, ""); len(got) != 0 {
		t.Errorf("the line alone: %+v", got)
	}
	if got := quiet(start+notLoaded, "kubectl logs kube-proxy-x | grep -i ipvs"); len(got) != 0 {
		t.Errorf("a grep's output: %+v", got)
	}
}

// keepalived's console lines (--log-console, how containers run it) are
// marked as such, syslog's are not; a bare line keeps no mark.
func TestConsoleLines(t *testing.T) {
	text := "Fri Feb 23 23:27:12 2018: VRRP_Instance(VI_1) Cant send advert to 192.168.1.195 (Operation not permitted)\n" +
		"Jul 24 22:24:44 hp5 Keepalived_vrrp[1005356]: (bond0-vrrp): send advert error 1 (Operation not permitted)\n" +
		"Netlink: error: Operation not permitted(1), type=RTM_NEWADDR(20), seq=1563327313, pid=0\n"
	evs, _ := ParseLog(evidence.Doc{Host: "h", Source: "h/log", Start: 1, Text: text})
	want := []struct {
		msg     string
		console bool
	}{
		{"keepalived.vrrp.cant-send-advert-eperm.v1", true},
		{"keepalived.vrrp.send-advert-eperm", false},
		{"keepalived.netlink.eperm", false},
	}
	if len(evs) != len(want) {
		t.Fatalf("%d events: %+v", len(evs), evs)
	}
	for i, w := range want {
		if evs[i].Message != w.msg || evs[i].Console != w.console {
			t.Errorf("line %d: message %q console %v, want %q %v", i+1, evs[i].Message, evs[i].Console, w.msg, w.console)
		}
	}
}

// ipvsadm prints "Memory allocation problem" for a change the kernel
// refused and, listing one service, for a service that does not exist:
// the command line before it says which.
func TestIpvsadmErrorInContext(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"ipvsadm -L -t ip:port\n报错：memory allocation problem\n", "ipvsadm.get-service-not-found"},
		{"# ipvsadm -Ln -t 192.0.2.100:80\nMemory allocation problem\n", "ipvsadm.get-service-not-found"},
		{"[root@lb1 ~]# ipvsadm -L -n -u 192.0.2.100:53\nMemory allocation problem\n", "ipvsadm.get-service-not-found"},
		{"# ipvsadm -A -t 192.0.2.100:80 -s mh\nMemory allocation problem\n", "ipvsadm.memory"},
		{"ipvsadm -E -t 192.0.2.100:80 -s rr\nmemory allocation problem\n", "ipvsadm.memory"},
	} {
		evs, _ := ParseLog(evidence.Doc{Host: "h", Source: "h/paste", Start: 1, Text: c.text})
		if len(evs) != 1 || evs[0].Message != c.want || evs[0].Ref.Line != 2 {
			t.Errorf("%q: %+v, want %s on line 2", c.text, evs, c.want)
		}
		if !LoggedMessage(c.text) {
			t.Errorf("%q: not taken for evidence", c.text)
		}
	}
	// without the ipvsadm command, the line is no log's
	if LoggedMessage("Memory allocation problem\n") {
		t.Error("a lone ipvsadm error taken for a log")
	}
}

// TestVRRPInstanceLines: keepalived's VRRP process logging its instances
// without a state change (a log cut after start-up) still says VRRP runs
// them here: one event per instance, none for an instance a state change
// names.
func TestVRRPInstanceLines(t *testing.T) {
	log := `Jan 10 11:47:55 lb01 Keepalived_vrrp[107312]: Registering Kernel netlink reflector
Jan 10 11:47:55 lb01 Keepalived_vrrp[107312]: (DMZ) Ignoring track_interface enp1s0 since own interface
Jan 10 11:47:55 lb01 Keepalived_vrrp[107312]: (LBN) Ignoring track_interface enp4s0 since own interface
Jan 10 11:47:55 lb01 Keepalived_vrrp[107312]: (DMZ) removing VIPs.
Jan 10 11:47:55 lb01 Keepalived_vrrp[107312]: (LBN) removing VIPs.
Jan 10 11:47:59 lb01 Keepalived_vrrp[107312]: (LBN) Entering MASTER STATE
Jan 10 11:47:59 lb01 Keepalived_healthcheckers[107311]: (x) not an instance line`
	evs, _ := ParseLog(evidence.Doc{Host: "lb01", Source: "log", Start: 1, Text: log})
	if got, want := brief(evs), "2 vrrp-instance DMZ\n6 vrrp-master LBN"; got != want {
		t.Errorf("events:\n%s\nwant\n%s", got, want)
	}
}
