package iproute

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/parsetest"
)

func load(t testing.TB, name, command string) evidence.Doc {
	t.Helper()
	return parsetest.Fixture(t, "h", name, command)
}

// addrKey renders an address compactly for comparison.
func addrKey(a evidence.Addr) string {
	s := a.Iface + " " + a.Prefix.String()
	if a.Label != "" && a.Label != a.Iface {
		s += " label=" + a.Label
	}
	if a.Secondary {
		s += " secondary"
	}
	return s
}

func TestParseAddr(t *testing.T) {
	tests := []struct {
		file, cmd  string
		links      int
		addrs      []string // every IPv4 address, in order
		probs      int
		checkLinks map[string]string // name → "kind mtu up state mac"
	}{
		{file: "ip-addr.txt", cmd: "ip addr", links: 8, addrs: []string{
			"lo 127.0.0.1/8", "lo 192.0.2.60/32 label=lo:0", "veth1 192.0.2.20/24", "veth1 10.9.9.1/32",
			"veth0 192.0.2.10/24", "veth0 198.51.100.5/24", "veth0 192.0.2.11/24 label=veth0:0 secondary"},
			checkLinks: map[string]string{"veth1": "ether 1500 true UP 9a:19:7c:b2:e3:4f", "vx0": "ether 1450 false DOWN 32:15:9b:56:c1:d3"}},
		{file: "ip-4-a.txt", cmd: "ip -4 a", links: 3, addrs: []string{
			"lo 127.0.0.1/8", "lo 192.0.2.60/32 label=lo:0", "veth1 192.0.2.20/24", "veth1 10.9.9.1/32",
			"veth0 192.0.2.10/24", "veth0 198.51.100.5/24", "veth0 192.0.2.11/24 label=veth0:0 secondary"}},
		{file: "ip-o-addr.txt", cmd: "ip -o addr", links: 0, addrs: []string{
			"lo 127.0.0.1/8", "lo 192.0.2.60/32 label=lo:0", "veth1 192.0.2.20/24", "veth1 10.9.9.1/32",
			"veth0 192.0.2.10/24", "veth0 198.51.100.5/24", "veth0 192.0.2.11/24 label=veth0:0 secondary"}},
		{file: "ip-br-a.txt", links: 0, addrs: []string{
			"lo 127.0.0.1/8", "lo 192.0.2.60/32", "veth1 192.0.2.20/24", "veth1 10.9.9.1/32",
			"veth0 192.0.2.10/24", "veth0 198.51.100.5/24", "veth0 192.0.2.11/24"}},
		{file: "ip-a-show-veth0.txt", links: 1, addrs: []string{
			"veth0 192.0.2.10/24", "veth0 198.51.100.5/24", "veth0 192.0.2.11/24 label=veth0:0 secondary"}},
		{file: "ip-d-addr.txt", links: 8, addrs: []string{
			"lo 127.0.0.1/8", "lo 192.0.2.60/32 label=lo:0", "veth1 192.0.2.20/24", "veth1 10.9.9.1/32",
			"veth0 192.0.2.10/24", "veth0 198.51.100.5/24", "veth0 192.0.2.11/24 label=veth0:0 secondary"},
			checkLinks: map[string]string{"br0": "bridge 1500 true UP 9a:19:7c:b2:e3:4f", "vx0": "vxlan 1450 false DOWN 32:15:9b:56:c1:d3"}},
		{file: "ip-addr-centos6.txt", links: 3, addrs: []string{
			"lo 127.0.0.1/8", "lo 192.0.2.60/32 label=lo:0", "eth0 192.0.2.21/24", "eth0 192.0.2.22/24 label=eth0:0 secondary", "tunl0 192.0.2.60/32"},
			checkLinks: map[string]string{"tunl0": "ipip 1480 true UNKNOWN ", "lo": "loopback 16436 true UNKNOWN 00:00:00:00:00:00"}},
		{file: "ip-addr-seed-mangled.txt", cmd: "ip -4 a", links: 2, addrs: []string{
			"lo 127.0.0.1/8", "lo 192.0.2.60/32 label=lo:0", "ens33 192.0.2.59/24", "ens33 192.0.2.61/32 label=ens33:0"},
			checkLinks: map[string]string{"ens33": " 1500 true UP "}},
		{file: "ip-addr-one-line.txt", links: 2, addrs: []string{
			"lo 127.0.0.1/8", "lo 192.0.2.60/32 label=lo:0", "ens33 192.0.2.48/24"},
			checkLinks: map[string]string{"ens33": "ether 1500 true UP 00:0c:29:aa:bb:cc"}},
		{file: "ip-addr-redacted.txt", links: 1, addrs: []string{"lo 127.0.0.1/8"}, probs: 1},
		{file: "ip-addr-grep-inet.txt", addrs: []string{"lo 127.0.0.1/8", "lo 192.0.2.60/32 label=lo:0", "eth0 192.0.2.10/24"}},
		{file: "ip-link.txt", links: 8},
		{file: "ip-o-link.txt", links: 8},
		{file: "ip-s-link.txt", links: 8},
		{file: "ip-br-link.txt", links: 8, checkLinks: map[string]string{"vx0": " 0 false DOWN 32:15:9b:56:c1:d3"}},
		{file: "ip-d-link.txt", links: 8, checkLinks: map[string]string{
			"veth1": "veth 1500 true UP 9a:19:7c:b2:e3:4f", "macv0": "macvlan 1500 false DOWN ee:2a:06:c1:f0:bb"}},
		{file: "ip-d-link-tunnels.txt", links: 5, checkLinks: map[string]string{
			"tunl0": "ipip 1480 false DOWN ", "dummy0": "dummy 1500 true UNKNOWN 5a:1e:7c:9d:2b:11",
			"eth0": "veth 1500 true UP 02:42:c0:00:02:0a", "eth0.100": "vlan 1500 true UP 02:42:c0:00:02:0a"}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			doc := load(t, tc.file, tc.cmd)
			res, probs := ParseAddr(doc)
			if len(probs) != tc.probs {
				t.Errorf("problems: got %v, want %d", probs, tc.probs)
			}
			if len(res.Links) != tc.links {
				t.Errorf("links: got %d, want %d", len(res.Links), tc.links)
			}
			var got []string
			for _, a := range res.Addrs {
				if a.Prefix.Addr().Is4() {
					got = append(got, addrKey(a))
				}
				if a.Ref.Line < 1 || a.Ref.Source != doc.Source || a.Ref.Text == "" {
					t.Errorf("bad ref %+v", a.Ref)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.addrs, "\n") {
				t.Errorf("addrs:\n got %q\nwant %q", got, tc.addrs)
			}
			for name, want := range tc.checkLinks {
				found := false
				for _, l := range res.Links {
					if l.Name == name {
						found = true
						g := strings.Join([]string{l.Kind, strconv.Itoa(l.MTU), btoa(l.Up), l.State, l.MAC}, " ")
						if g != want {
							t.Errorf("link %s: got %q want %q", name, g, want)
						}
					}
				}
				if !found {
					t.Errorf("link %s missing", name)
				}
			}
		})
	}
}

func btoa(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func TestParseAddrDetails(t *testing.T) {
	res, _ := ParseAddr(load(t, "ip-addr.txt", "ip addr"))
	var v6 []string
	for _, a := range res.Addrs {
		if a.Prefix.Addr().Is6() {
			v6 = append(v6, a.Iface+" "+a.Prefix.String()+" "+a.Scope)
		}
	}
	want := "lo ::1/128 host|veth1 fe80::9819:7cff:feb2:e34f/64 link|veth0 2001:db8::10/64 global|veth0 fe80::c0cf:e4ff:fe95:4dcf/64 link|br0 fe80::c434:9fff:fe22:9ae8/64 link"
	if strings.Join(v6, "|") != want {
		t.Errorf("v6: %q", strings.Join(v6, "|"))
	}
	if res.Links[1].Master != "br0" || res.Links[1].Index != 2 || res.Links[1].Ref.Line != 9 {
		t.Errorf("veth1: %+v", res.Links[1])
	}
	// The mangled paste keeps the line of the source it was glued into.
	m, _ := ParseAddr(load(t, "ip-addr-seed-mangled.txt", ""))
	if m.Addrs[3].Ref.Line != 2 || m.Addrs[3].Scope != "global" {
		t.Errorf("mangled ref: %+v", m.Addrs[3])
	}
}

func routeKey(r evidence.Route) string {
	s := r.Table + " " + r.Type + " " + r.Dst.String()
	if r.Gateway.IsValid() {
		s += " via " + r.Gateway.String()
	}
	if r.Dev != "" {
		s += " dev " + r.Dev
	}
	if r.Src.IsValid() {
		s += " src " + r.Src.String()
	}
	if r.Proto != "" {
		s += " proto " + r.Proto
	}
	if r.Scope != "" {
		s += " scope " + r.Scope
	}
	if r.Metric != 0 {
		s += " metric " + strconv.Itoa(r.Metric)
	}
	return s
}

func TestParseRoute(t *testing.T) {
	tests := []struct {
		file, cmd string
		n         int
		want      []string // routes that must be present
	}{
		{"ip-route.txt", "ip route", 9, []string{
			"main unicast 0.0.0.0/0 via 192.0.2.1 dev veth0",
			"main unicast 192.0.2.0/24 dev veth0 src 192.0.2.10 proto kernel scope link",
			"main prohibit 198.51.100.64/26", "main unreachable 198.51.100.128/25", "main blackhole 203.0.113.128/25",
			"main unicast 203.0.113.0/24 via 192.0.2.254 dev veth0 proto static metric 100"}},
		{"ip-route-local.txt", "ip route show table local", 12, []string{
			"local local 192.0.2.60/32 dev lo src 192.0.2.60 proto kernel scope host",
			"local broadcast 192.0.2.255/32 dev veth0 src 192.0.2.10 proto kernel scope link"}},
		// Without the command, a file of local/broadcast routes is the local table.
		{"ip-route-local.txt", "", 12, []string{"local local 192.0.2.60/32 dev lo src 192.0.2.60 proto kernel scope host"}},
		{"ip-route-all.txt", "ip route show table all", 35, []string{
			"100 unicast 203.0.113.0/24 dev veth1 scope link",
			"main unicast 0.0.0.0/0 via 192.0.2.1 dev veth0",
			"local local 192.0.2.11/32 dev veth0 src 192.0.2.10 proto kernel scope host",
			"local local 2001:db8::10/128 dev veth0 proto kernel",
			"main unicast 2001:db8:1::/48 via 2001:db8::1 dev veth0 metric 1024"}},
		{"ip-4-route-100.txt", "ip -4 route list table 100", 1, []string{"100 unicast 203.0.113.0/24 dev veth1 scope link"}},
		{"ip-6-route.txt", "ip -6 route", 5, []string{"main unicast 2001:db8::/64 dev veth0 proto kernel metric 256"}},
		{"ip-route-get.txt", "ip route get 198.51.100.200", 2, []string{
			"get unicast 198.51.100.200/32 via 192.0.2.1 dev veth0 src 192.0.2.10",
			"get local 192.0.2.60/32 dev lo src 192.0.2.60"}},
		{"ip-route-get-bh.txt", "ip route get 203.0.113.200", 1, []string{"get blackhole 203.0.113.200/32"}},
		{"ip-route-centos6.txt", "ip route", 3, []string{
			"main unicast 169.254.0.0/16 dev eth0 scope link metric 1002",
			"main unicast 192.0.2.0/24 dev eth0 src 192.0.2.21 proto kernel scope link"}},
		{"ip-route-multipath.txt", "ip r", 4, []string{
			"main unicast 0.0.0.0/0 via 192.0.2.1 dev eth0 proto static metric 100",
			"main unicast 0.0.0.0/0 via 198.51.100.1 dev eth1 proto static metric 100"}},
	}
	for _, tc := range tests {
		t.Run(tc.file+"/"+tc.cmd, func(t *testing.T) {
			routes, probs := ParseRoute(load(t, tc.file, tc.cmd))
			if len(probs) != 0 {
				t.Errorf("problems: %v", probs)
			}
			if len(routes) != tc.n {
				t.Errorf("got %d routes, want %d", len(routes), tc.n)
			}
			have := map[string]bool{}
			for _, r := range routes {
				have[routeKey(r)] = true
			}
			for _, w := range tc.want {
				if !have[w] {
					t.Errorf("missing %q; have %v", w, have)
				}
			}
		})
	}
}

func TestRouteDefaultV6(t *testing.T) {
	doc := evidence.Doc{Source: "x", Command: "ip -6 route", Text: "default via fe80::1 dev eth0 proto ra metric 1024 expires 1798sec hoplimit 64 pref medium\n"}
	r, p := ParseRoute(doc)
	if len(p) != 0 || len(r) != 1 || r[0].Dst != netip.MustParsePrefix("::/0") || r[0].Metric != 1024 || r[0].Dev != "eth0" {
		t.Fatalf("%+v %v", r, p)
	}
}

func TestParseRule(t *testing.T) {
	rules, probs := ParseRule(load(t, "ip-rule.txt", "ip rule"))
	if len(probs) != 0 || len(rules) != 5 {
		t.Fatalf("%v %v", rules, probs)
	}
	if r := rules[1]; r.Priority != 999 || r.Selector != "from all fwmark 0x7" || r.Table != "100" {
		t.Errorf("%+v", r)
	}
	if r := rules[2]; r.Priority != 1000 || r.Selector != "from 192.0.2.60" || r.Table != "100" || r.Ref.Line != 3 {
		t.Errorf("%+v", r)
	}
	old, _ := ParseRule(load(t, "ip-rule-old.txt", ""))
	if old[0].Table != "local" {
		t.Errorf("255 should read as local: %+v", old[0])
	}
}

func TestParseNeigh(t *testing.T) {
	n, probs := ParseNeigh(load(t, "ip-neigh.txt", "ip neigh"))
	if len(probs) != 0 || len(n) != 4 {
		t.Fatalf("%v %v", n, probs)
	}
	if n[0].State != "FAILED" || n[0].MAC != "" || n[0].Dev != "veth0" {
		t.Errorf("%+v", n[0])
	}
	if n[1].IP != netip.MustParseAddr("192.0.2.1") || n[1].MAC != "52:54:00:12:34:56" || n[1].State != "PERMANENT" {
		t.Errorf("%+v", n[1])
	}
	if n[2].State != "STALE" {
		t.Errorf("%+v", n[2])
	}
}

func TestIPObject(t *testing.T) {
	for cmd, want := range map[string]string{
		"ip a": "address", "ip -4 a s lo": "address", "ip r": "route", "ip ru": "rule", "ip n": "neighbor",
		"ip neighbour show": "neighbor", "ip -d l": "link", "ip -n ns1 route get 1.2.3.4": "route", "ip -o addr": "address",
	} {
		if got, _ := ipObject(strings.Fields(cmd)); got != want {
			t.Errorf("%s: got %s want %s", cmd, got, want)
		}
	}
}

// fuzzSeeds adds every fixture to f.
func fuzzSeeds(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.txt")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b), "")
	}
	f.Add("default via 192.0.2.1 dev eth0\n\tnexthop via 1.2.3.4\n", "ip route get 1.2.3.4")
}

func checkRefs(t *testing.T, doc evidence.Doc, refs []evidence.Ref, probs []evidence.Problem) {
	n := len(doc.Lines())
	for _, r := range refs {
		if r.Line < 1 || r.Line > n {
			t.Fatalf("ref line %d outside 1..%d", r.Line, n)
		}
	}
	for _, p := range probs {
		if p.Line < 1 || p.Line > n {
			t.Fatalf("problem line %d outside 1..%d", p.Line, n)
		}
	}
}

func FuzzParseAddr(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, text, cmd string) {
		doc := evidence.Doc{Source: "f", Text: text, Command: cmd}
		res, probs := ParseAddr(doc)
		var refs []evidence.Ref
		for _, l := range res.Links {
			refs = append(refs, l.Ref)
		}
		for _, a := range res.Addrs {
			refs = append(refs, a.Ref)
			if !a.Prefix.IsValid() {
				t.Fatalf("invalid prefix kept: %+v", a)
			}
		}
		checkRefs(t, doc, refs, probs)
	})
}

func FuzzParseRoute(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, text, cmd string) {
		doc := evidence.Doc{Source: "f", Text: text, Command: cmd}
		routes, probs := ParseRoute(doc)
		var refs []evidence.Ref
		for _, r := range routes {
			refs = append(refs, r.Ref)
			if !r.Dst.IsValid() || r.Table == "" {
				t.Fatalf("bad route kept: %+v", r)
			}
		}
		checkRefs(t, doc, refs, probs)
		rules, probs := ParseRule(doc)
		refs = refs[:0]
		for _, r := range rules {
			refs = append(refs, r.Ref)
		}
		checkRefs(t, doc, refs, probs)
		neigh, probs := ParseNeigh(doc)
		refs = refs[:0]
		for _, n := range neigh {
			refs = append(refs, n.Ref)
		}
		checkRefs(t, doc, refs, probs)
	})
}

func TestHugeInput(t *testing.T) {
	line := strings.Repeat("forever1: a: <UP> mtu 1qlen 1inet 1.2.3.4/32 scope host a", 20000)
	doc := evidence.Doc{Source: "x", Text: line + "\n" + strings.Repeat("default via 1.2.3.4 dev eth0 ", 50000)}
	ParseAddr(doc)
	ParseRoute(doc)
	ParseRule(doc)
	ParseNeigh(doc)
}

// TestParseAddrDAD: IPv6 duplicate address detection's states, as ip
// prints them after the scope (a VIP that another node on the link
// already answered for; iproute2 6.1 in a netns, testdata/README.md);
// "nodad" and a label-less line are neither.
func TestParseAddrDAD(t *testing.T) {
	res, probs := ParseAddr(load(t, "ip-6-addr-dadfailed.txt", "ip -6 addr"))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	var got []string
	for _, a := range res.Addrs {
		got = append(got, fmt.Sprintf("%s %s %v %v %q", a.Iface, a.Prefix, a.Tentative, a.DADFailed, a.Label))
	}
	want := []string{`lo ::1/128 false false ""`, `eth0 2001:db8::100/128 true true ""`, `eth0 2001:db8::2/64 false false ""`,
		`eth0 fe80::309d:b4ff:fe25:fa76/64 false false ""`}
	if !slices.Equal(got, want) {
		t.Errorf("addrs\n got %q\nwant %q", got, want)
	}
	rs, _ := ParseAddr(load(t, "ip-addr-rs.txt", "ip addr"))
	for _, a := range rs.Addrs {
		if a.Tentative || a.DADFailed {
			t.Errorf("%s: %+v", a.Prefix, a)
		}
	}
}
