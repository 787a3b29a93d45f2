package intake

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/format"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/arp"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/counters"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/ifconfig"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/iproute"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/sockets"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/sysctl"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// netFixture reads a fixture of one of the net parsers.
func netFixture(t *testing.T, pkg, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "parse", pkg, "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestNetDetectByCommand(t *testing.T) {
	tests := map[string]string{
		"ip addr": "ip-addr", "ip a": "ip-addr", "ip -4 a": "ip-addr", "ip -o a s": "ip-addr", "ip a show lo": "ip-addr",
		"ip addr show dev eth0": "ip-addr", "ip -br a": "ip-addr", "ip address | grep inet": "ip-addr", "ip -f inet addr": "ip-addr",
		"ip -d link": "ip-link", "ip link show tunl0": "ip-link", "ip l": "ip-link", "ip -s link": "ip-link",
		"ip route": "ip-route", "ip r": "ip-route", "ip route show table local": "ip-route", "ip route show table all": "ip-route",
		"ip -4 route list table 100": "ip-route", "ip route get 192.0.2.60": "ip-route", "ip -6 r": "ip-route",
		"ip rule": "ip-rule", "ip ru show": "ip-rule", "ip rule list": "ip-rule",
		"ip neigh": "ip-neigh", "ip n": "ip-neigh", "ip neighbour show": "ip-neigh",
		"ifconfig": "ifconfig", "ifconfig -a": "ifconfig", "ifconfig eth0": "ifconfig", "ifconfig lo:0": "ifconfig",
		"arp -n": "arp", "arp -an": "arp", "arp -a": "arp", "arp -n -i eth0": "arp",
		"sysctl -a": "sysctl", "sysctl -ar rp_filter": "sysctl", "sysctl net.ipv4.ip_forward": "sysctl", "sysctl -a | grep arp": "sysctl",
		"sysctl -n net.ipv4.ip_forward":                  "sysctl",
		"cat /proc/sys/net/netfilter/nf_conntrack_count": "proc-sys",
		"cat /proc/sys/net/ipv4/conf/all/rp_filter":      "proc-sys",
		"grep . /proc/sys/net/ipv4/conf/*/rp_filter":     "proc-sys",
		"ss -lntup": "ss", "ss -lnt": "ss", "ss -tlnp": "ss", "ss -lnu": "ss",
		"netstat -lntup": "netstat-listen", "netstat -lnp": "netstat-listen", "netstat -tlnp": "netstat-listen", "netstat -anp | grep 80": "netstat-listen",
		"netstat -s": "netstat-s", "netstat -st": "netstat-s", "netstat -s | grep -i filter": "netstat-s",
		"nstat -az": "nstat", "nstat": "nstat", "cat /proc/net/snmp6": "nstat",
		"cat /proc/net/snmp": "proc-net-snmp", "cat /proc/net/netstat": "proc-net-snmp",
		"ethtool -S ens33": "ethtool-S", "ethtool -S ens33 | grep errorrx_errors: 0tx_errors: 0": "ethtool-S",
		"conntrack -S": "conntrack-S", "cat /proc/net/stat/nf_conntrack": "conntrack-S", "conntrack -C": "conntrack-count",
	}
	for cmd, want := range tests {
		k, how := Detect(cmd, "", false, "")
		if k == nil || k.Name != want || how != "command" {
			name := "<nil>"
			if k != nil {
				name = k.Name
			}
			t.Errorf("%q: got %s, want %s", cmd, name, want)
		}
	}
	// Commands that change state print nothing and must not read as
	// "collected, empty".
	for _, cmd := range []string{"ip addr add 192.0.2.60/32 dev lo", "ip a del 192.0.2.60/32 dev lo", "ip link set tunl0 up",
		"ip route add default via 192.0.2.1", "ifconfig lo:0 192.0.2.60 netmask 255.255.255.255 up", "arp -d 192.0.2.1",
		"ip neigh flush all", "ip rule add fwmark 1 table 100", "netstat -rn", "netstat -i"} {
		if k, _ := Detect(cmd, "", false, ""); k != nil && isFormatOf(netFormats(), k.Name) {
			t.Errorf("%q detected as %s", cmd, k.Name)
		}
	}
}

func TestNetDetectByFileName(t *testing.T) {
	tests := map[string]string{
		"ip-addr.txt": "ip-addr", "ip_a.txt": "ip-addr", "ipaddr.txt": "ip-addr", "ip-4-a.txt": "ip-addr", "ip-o-addr.txt": "ip-addr",
		"ip-a-show-veth0.txt": "ip-addr", "ip-d-link.txt": "ip-link", "ip-link.txt": "ip-link", "ip-route.txt": "ip-route",
		"ip-route-local.txt": "ip-route", "ip_r.txt": "ip-route", "ip-rule.txt": "ip-rule", "ip-neigh.txt": "ip-neigh",
		"ifconfig.txt": "ifconfig", "ifconfig-a.txt": "ifconfig", "arp-n.txt": "arp", "arp.txt": "arp",
		"sysctl.txt": "sysctl", "sysctl-a.txt": "sysctl", "sysctl_a.log": "sysctl",
		"ss-lntup.txt": "ss", "ss.txt": "ss", "netstat-lntup.txt": "netstat-listen", "netstat-s.txt": "netstat-s",
		"nstat.txt": "nstat", "nstat-az.txt": "nstat", "proc-net-snmp.txt": "proc-net-snmp", "ethtool-S-eth0.txt": "ethtool-S",
		"conntrack-S.txt": "conntrack-S", "nf_conntrack_count.txt": "proc-sys",
	}
	for base, want := range tests {
		k, how := Detect("", base, true, "")
		if k == nil || k.Name != want || how != "file name" {
			name := "<nil>"
			if k != nil {
				name = k.Name
			}
			t.Errorf("%s: got %s, want %s", base, name, want)
		}
	}
	for _, base := range []string{"sysctl.conf", "ip-arp.txt", "arping.txt", "keepalived.conf", "ipvsadm-Ln.txt"} {
		if k, _ := Detect("", base, true, ""); k != nil && isFormatOf(netFormats(), k.Name) {
			t.Errorf("%s detected as %s", base, k.Name)
		}
	}
}

func TestNetSniff(t *testing.T) {
	tests := []struct{ pkg, file, want string }{
		{"iproute", "ip-addr.txt", "ip-addr"}, {"iproute", "ip-4-a.txt", "ip-addr"}, {"iproute", "ip-o-addr.txt", "ip-addr"},
		{"iproute", "ip-addr-seed-mangled.txt", "ip-addr"}, {"iproute", "ip-addr-centos6.txt", "ip-addr"},
		{"iproute", "ip-link.txt", "ip-link"}, {"iproute", "ip-d-link.txt", "ip-link"}, {"iproute", "ip-d-link-tunnels.txt", "ip-link"},
		{"iproute", "ip-route.txt", "ip-route"}, {"iproute", "ip-route-local.txt", "ip-route"}, {"iproute", "ip-route-all.txt", "ip-route"},
		{"iproute", "ip-route-centos6.txt", "ip-route"}, {"iproute", "ip-rule.txt", "ip-rule"}, {"iproute", "ip-neigh.txt", "ip-neigh"},
		{"ifconfig", "ifconfig-a.txt", "ifconfig"}, {"ifconfig", "ifconfig-a-centos6.txt", "ifconfig"},
		{"arp", "arp-n.txt", "arp"}, {"arp", "arp-an.txt", "arp"},
		{"sysctl", "sysctl-a.txt", "sysctl"}, {"sysctl", "sysctl-ar-rp_filter.txt", "sysctl"}, {"sysctl", "sysctl-a-nonroot.txt", "sysctl"},
		{"sockets", "ss-lntup.txt", "ss"}, {"sockets", "ss-lnt-centos6.txt", "ss"}, {"sockets", "netstat-lntup.txt", "netstat-listen"},
		{"counters", "netstat-s.txt", "netstat-s"}, {"counters", "netstat-s-centos7.txt", "netstat-s"}, {"counters", "nstat-az.txt", "nstat"},
		{"counters", "proc-net-snmp.txt", "proc-net-snmp"}, {"counters", "proc-net-netstat.txt", "proc-net-snmp"},
		{"counters", "ethtool-S-veth0.txt", "ethtool-S"}, {"counters", "conntrack-S.txt", "conntrack-S"},
		{"counters", "proc-net-stat-nf_conntrack.txt", "conntrack-S"}, {"counters", "proc-net-snmp6.txt", "nstat"},
	}
	for _, tc := range tests {
		k, how := Detect("", "x.txt", true, netFixture(t, tc.pkg, tc.file))
		if k == nil || k.Name != tc.want || how != "content" {
			name := "<nil>"
			if k != nil {
				name = k.Name
			}
			t.Errorf("%s: got %s (%s), want %s", tc.file, name, how, tc.want)
		}
	}
	// Strictness: content of other formats is not taken for ours.
	for _, text := range []string{
		"net.ipv4.ip_forward = 1\n# comment\n", // sysctl.conf
		"IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n",
		"Chain INPUT (policy ACCEPT)\ntarget     prot opt source               destination\n",
		"hello world\n",
	} {
		if k, _ := Detect("", "x.txt", true, text); k != nil && isFormatOf(netFormats(), k.Name) {
			t.Errorf("%q sniffed as %s", text, k.Name)
		}
	}
}

func applyNet(t *testing.T, h *evidence.Host, cmd, base, text string) []evidence.Problem {
	t.Helper()
	k, _ := Detect(cmd, base, true, text)
	if k == nil {
		t.Fatalf("%q/%s not detected", cmd, base)
	}
	return k.Apply(evidence.Doc{Host: h.Name, Source: h.Name + "/" + base, Start: 2, Command: cmd, Text: text}, h)
}

func TestNetApply(t *testing.T) {
	h := evidence.NewHost("rs1")
	vip := netip.MustParseAddr("192.0.2.60")
	if p := applyNet(t, h, "ip addr", "t.txt", netFixture(t, "iproute", "ip-addr.txt")); len(p) != 0 {
		t.Fatal(p)
	}
	if !h.Has(evidence.KindAddrs) || !h.Has(evidence.KindLinks) || !h.IsLocal(vip) || len(h.Links) != 8 {
		t.Fatalf("ip addr not applied: %v %d", h.SeenKinds(), len(h.Links))
	}
	if a := h.AddrsOf(vip)[0]; a.Iface != "lo" || a.Label != "lo:0" || a.Ref.Line != 6 {
		t.Errorf("VIP addr %+v", a)
	}
	// ip -d link completes the kinds of the links already known.
	applyNet(t, h, "ip -d link", "t.txt", netFixture(t, "iproute", "ip-d-link.txt"))
	if l, _ := h.Link("vx0"); l.Kind != "vxlan" || len(h.Links) != 8 {
		t.Errorf("vx0 %+v, %d links", l, len(h.Links))
	}
	applyNet(t, h, "ip route show table all", "t.txt", netFixture(t, "iproute", "ip-route-all.txt"))
	if !h.Has(evidence.KindRoutes) || !h.Has(evidence.KindLocalTable) {
		t.Errorf("route kinds: %v", h.SeenKinds())
	}
	applyNet(t, h, "ip route get 198.51.100.200", "t.txt", netFixture(t, "iproute", "ip-route-get.txt"))
	if !h.Has(evidence.KindRouteGet) {
		t.Errorf("route get: %v", h.SeenKinds())
	}
	applyNet(t, h, "ip rule", "t.txt", netFixture(t, "iproute", "ip-rule.txt"))
	applyNet(t, h, "ip neigh", "t.txt", netFixture(t, "iproute", "ip-neigh.txt"))
	if len(h.RouteRule) != 5 || len(h.Neighbors) != 4 || !h.Has(evidence.KindRules) || !h.Has(evidence.KindNeighbors) {
		t.Errorf("rules %d neigh %d", len(h.RouteRule), len(h.Neighbors))
	}
	applyNet(t, h, "sysctl -a", "t.txt", netFixture(t, "sysctl", "sysctl-a.txt"))
	if v, _, ok := h.SysctlInt("net.ipv4.ip_forward"); !ok || v != 0 || !h.Has(evidence.KindSysctl) {
		t.Errorf("sysctl ip_forward %d %v", v, ok)
	}
	applyNet(t, h, "ss -lntup", "t.txt", netFixture(t, "sockets", "ss-lntup.txt"))
	if !h.Has(evidence.KindListeners) || len(h.Listeners) != 10 {
		t.Errorf("listeners %d", len(h.Listeners))
	}
	// netstat shows the same sockets: no duplicates, except where netstat
	// cannot tell the family (":::443" is not "[::]:443").
	applyNet(t, h, "netstat -lntup", "t.txt", netFixture(t, "sockets", "netstat-lntup.txt"))
	if len(h.Listeners) != 11 {
		t.Errorf("listeners after netstat: %d", len(h.Listeners))
	}
	applyNet(t, h, "nstat -az", "t.txt", netFixture(t, "counters", "nstat-az.txt"))
	if _, ok := h.Counters["TcpExt.IPReversePathFilter"]; !ok || !h.Has(evidence.KindCounters) {
		t.Errorf("nstat counters missing")
	}
	applyNet(t, h, "cat /proc/sys/net/netfilter/nf_conntrack_max", "t.txt", "262144\n")
	applyNet(t, h, "conntrack -C", "t.txt", "1234\n")
	if h.Conntrack.Max != 262144 || h.Conntrack.Count != 1234 || h.Conntrack.MaxRef.Line != 2 || !h.Has(evidence.KindConntrack) {
		t.Errorf("conntrack %+v", h.Conntrack)
	}
	applyNet(t, h, "conntrack -S", "t.txt", netFixture(t, "counters", "conntrack-S-centos7.txt"))
	if h.Counters["conntrack.drop"].Value != 42 {
		t.Errorf("conntrack.drop %+v", h.Counters["conntrack.drop"])
	}
}

func TestNetApplyPartial(t *testing.T) {
	h := evidence.NewHost("rs1")
	// A filtered listing adds what it shows but does not claim the table
	// was collected: the VIP's absence from `ip a | grep tunl0` proves
	// nothing.
	applyNet(t, h, "ip a | grep tunl0", "t.txt", "4: tunl0@NONE: <NOARP,UP,LOWER_UP> mtu 1480 qdisc noqueue state UNKNOWN group default qlen 1000\n    inet 192.0.2.60/32 scope global tunl0\n")
	if h.Has(evidence.KindAddrs) || !h.IsLocal(netip.MustParseAddr("192.0.2.60")) {
		t.Errorf("filtered ip a: %v", h.SeenKinds())
	}
	applyNet(t, h, "ip route show table local", "t.txt", netFixture(t, "iproute", "ip-route-local.txt"))
	if h.Has(evidence.KindRoutes) || !h.Has(evidence.KindLocalTable) {
		t.Errorf("local table only: %v", h.SeenKinds())
	}
	// ss without -l lists connections, not listeners.
	applyNet(t, h, "ss -nt", "t.txt", "State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\nESTAB 0 0 192.0.2.10:22 198.51.100.7:50000\n")
	if h.Has(evidence.KindListeners) {
		t.Errorf("ss -nt marked listeners")
	}
	// An empty but unfiltered output is evidence that it was collected.
	applyNet(t, h, "ss -lnt", "t.txt", "")
	if !h.Has(evidence.KindListeners) || h.Seen[evidence.KindListeners][0].Line != 1 {
		t.Errorf("empty ss -lnt: %+v", h.Seen[evidence.KindListeners])
	}
}

func TestNetApplySeedPastes(t *testing.T) {
	h := evidence.NewHost("rs1")
	applyNet(t, h, "sysctl -ar arp_announce", "t.txt", "net.ipv4.conf.all.arp_announce = 2\nnet.ipv4.conf.lo.arp_announce = 2# sysctl -ar rp_filter | grep 1\n")
	if s, ok := h.Sysctl("net.ipv4.conf.lo.arp_announce"); !ok || s.Value != "2" {
		t.Errorf("glued sysctl %+v", s)
	}
	applyNet(t, h, "ip -4 a", "t.txt", netFixture(t, "iproute", "ip-addr-seed-mangled.txt"))
	if !h.IsLocal(netip.MustParseAddr("192.0.2.61")) {
		t.Errorf("mangled ip a lost the VIP")
	}
	p := applyNet(t, h, "ethtool -S ens33 | grep errorrx_errors: 0tx_errors: 0rx_crc_errors: 3", "t.txt", "")
	if len(p) != 0 || h.Counters["ethtool.ens33.rx_crc_errors"].Value != 3 {
		t.Errorf("glued ethtool: %v %+v", p, h.Counters)
	}
}

func TestNetLimitProblems(t *testing.T) {
	h := evidence.NewHost("rs1")
	text := "net.ipv4.ip_forward = 1\nprose one\nprose two\nprose three\nprose four\nprose five\n"
	p := applyNet(t, h, "sysctl net.ipv4.ip_forward", "t.txt", text)
	if len(p) != 4 || p[3].Line != 6 {
		t.Fatalf("%v", p)
	}
	if _, ok := h.Sysctl("net.ipv4.ip_forward"); !ok {
		t.Errorf("value lost")
	}
}

func TestNetMarkdownFence(t *testing.T) {
	h := evidence.NewHost("rs1")
	p := applyNet(t, h, "ip route", "t.txt", "default via 192.0.2.1 dev eth0\n```\n# 5. next step\n```bash\n")
	if len(p) != 0 || len(h.Routes) != 1 {
		t.Fatalf("%v %v", p, h.Routes)
	}
}

func TestNetEnDash(t *testing.T) {
	k, _ := Detect("netstat –lnp", "", false, "")
	if k == nil || k.Name != "netstat-listen" {
		t.Fatalf("%v", k)
	}
	h := evidence.NewHost("rs1")
	applyNet(t, h, "netstat –lnp", "t.txt", netFixture(t, "sockets", "netstat-lnp.txt"))
	if !h.Has(evidence.KindListeners) {
		t.Errorf("not marked")
	}
}

// FuzzNetFormats feeds any text to every net kind's sniffer and Apply.
func FuzzNetFormats(f *testing.F) {
	for _, pkg := range []string{"iproute", "sysctl", "sockets", "ifconfig", "arp", "counters"} {
		files, _ := filepath.Glob(filepath.Join("..", "parse", pkg, "testdata", "*.txt"))
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(string(b), "")
		}
	}
	f.Add("", "ethtool -S eth0 | grep dropdropped: 1")
	f.Fuzz(func(t *testing.T, text, cmd string) {
		for _, k := range netFormats() {
			if k.Sniff != nil {
				head := text
				if len(head) > sniffBytes {
					head = head[:sniffBytes]
				}
				k.Sniff(head)
			}
			h := evidence.NewHost("h")
			k.Apply(evidence.Doc{Host: "h", Source: "f", Start: 2, Command: cmd, Text: text}, h)
		}
	})
}

// netFormats are the formats these tests are about.
func netFormats() []format.Format {
	return slices.Concat(iproute.Formats(), ifconfig.Formats(), arp.Formats(), sysctl.Formats(), sockets.Formats(), counters.Formats())
}
