package firewalld_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/firewalld"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/formattest"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/parsetest"
)

func zones(t *testing.T, name, cmd string) map[string]evidence.FirewalldZone {
	t.Helper()
	doc := parsetest.Fixture(t, "ds1", name, cmd)
	zs, probs := firewalld.Parse(doc)
	if len(probs) > 0 {
		t.Fatalf("%s: %v", name, probs)
	}
	out := map[string]evidence.FirewalldZone{}
	for _, z := range zs {
		parsetest.CheckRef(t, doc, z.Ref)
		for _, r := range z.RichRules {
			parsetest.CheckRef(t, doc, r)
		}
		out[z.Name] = z
	}
	return out
}

// TestListAll: the public zone of a director (firewalld 1.3.3's listing;
// see testdata/README.md) read field by field.
func TestListAll(t *testing.T) {
	zs := zones(t, "list-all-public.txt", "firewall-cmd --list-all")
	z, ok := zs["public"]
	if len(zs) != 1 || !ok {
		t.Fatalf("zones %v", zs)
	}
	if !z.Active || z.Target != "default" || !slices.Equal(z.Interfaces, []string{"eth0"}) ||
		!slices.Equal(z.Services, []string{"dhcpv6-client", "http", "ssh"}) ||
		!slices.Equal(z.Ports, []string{"8080/tcp", "5000-5010/udp"}) || !slices.Equal(z.Protocols, []string{"vrrp"}) ||
		!z.Masquerade || len(z.RichRules) != 2 || !strings.Contains(z.RichRules[1].Text, `service name="https" accept`) {
		t.Errorf("public %+v", z)
	}
}

func TestListAllZones(t *testing.T) {
	zs := zones(t, "list-all-zones.txt", "firewall-cmd --list-all-zones")
	if len(zs) != 9 {
		t.Errorf("%d zones", len(zs))
	}
	if d := zs["drop"]; !d.Active || d.Target != "DROP" || !slices.Equal(d.Interfaces, []string{"eth1"}) {
		t.Errorf("drop %+v", d)
	}
	if tr := zs["trusted"]; !tr.Active || tr.Target != "ACCEPT" || !slices.Equal(tr.Sources, []string{"10.0.0.0/8"}) {
		t.Errorf("trusted %+v", tr)
	}
	if b := zs["block"]; b.Active || b.Target != "%%REJECT%%" {
		t.Errorf("block %+v", b)
	}
}

// TestAllows: whether the zone an interface is bound to lets a service's
// port in.
func TestAllows(t *testing.T) {
	zs := zones(t, "list-all-zones.txt", "firewall-cmd --list-all-zones")
	var all []evidence.FirewalldZone
	for _, z := range zs {
		all = append(all, z)
	}
	pub, ok := firewalld.ZoneOf(all, "eth0")
	if !ok || pub.Name != "public" {
		t.Fatalf("eth0's zone %+v", pub)
	}
	for _, c := range []struct {
		zone  evidence.FirewalldZone
		proto string
		port  uint16
		want  evidence.Match
	}{
		{pub, "tcp", 80, evidence.Matches},    // service http
		{pub, "tcp", 8080, evidence.Matches},  // port
		{pub, "udp", 5005, evidence.Matches},  // port range
		{pub, "tcp", 5005, evidence.MayMatch}, // not opened, but a rich rule might
		{pub, "tcp", 443, evidence.MayMatch},  // the rich rule opening https for the VIP
		{zs["drop"], "tcp", 80, evidence.NoMatch},
		{zs["trusted"], "tcp", 12345, evidence.Matches},
		{zs["block"], "tcp", 80, evidence.NoMatch},
	} {
		if got := firewalld.Allows(c.zone, c.proto, c.port); got != c.want {
			t.Errorf("%s %s/%d: %v, want %v", c.zone.Name, c.proto, c.port, got, c.want)
		}
	}
	if _, ok := firewalld.ZoneOf(all, "eth9"); ok {
		t.Error("a zone for an unbound interface")
	}
}

func TestDetect(t *testing.T) {
	text := func(name string) string { return parsetest.Fixture(t, "h", name, "").Text }
	formattest.Detect(t, []formattest.Case{
		{Command: "firewall-cmd --list-all", Text: text("list-all-public.txt"), Want: "firewall-cmd", Label: "list-all-public.txt"},
		{Command: "firewall-cmd --zone=drop --list-all", Text: text("list-all-drop.txt"), Want: "firewall-cmd", Label: "list-all-drop.txt"},
		{Command: "firewall-cmd --list-all-zones", Text: text("list-all-zones.txt"), Want: "firewall-cmd", Label: "list-all-zones.txt"},
		{Base: "firewall-cmd.txt", Text: text("list-all-public.txt"), Want: "firewall-cmd", Label: "list-all-public.txt"},
		{Base: "fw.txt", Text: text("list-all-public.txt"), Want: "firewall-cmd", Label: "list-all-public.txt"},
		{Base: "fw.txt", Text: text("list-all-zones.txt"), Want: "firewall-cmd", Label: "list-all-zones.txt"},
	})
	formattest.NoFalseSniff(t, firewalld.Formats(), formattest.OtherOutputs)
}

// TestDirect: firewalld's direct rules and passthroughs (firewalld
// 1.3.3's own output, see testdata/README.md) become the iptables rules
// they are, each cited by its own line; the VIP's DROP matches the
// client's packet, the ipv6 REJECT is ip6tables', the MARK sets mark 2.
func TestDirect(t *testing.T) {
	doc := parsetest.Fixture(t, "ds1", "direct-get-all-rules.txt", "firewall-cmd --direct --get-all-rules")
	rules, probs := firewalld.ParseDirect(doc)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	var got []string
	for _, r := range rules {
		parsetest.CheckRef(t, doc, r.Ref)
		got = append(got, strings.Join([]string{r.Tool, r.Table, r.Chain, r.Hook, r.Verdict, r.Target}, " "))
	}
	want := []string{"iptables filter INPUT input DROP ", "iptables filter INPUT input ACCEPT ",
		"ip6tables filter INPUT input REJECT icmp6-port-unreachable", "iptables mangle PREROUTING prerouting MARK 0x2"}
	if !slices.Equal(got, want) {
		t.Errorf("rules\n got %q\nwant %q", got, want)
	}
	pkt := evidence.Packet{Proto: "tcp", Src: netip.MustParseAddr("203.0.113.50"), Dst: netip.MustParseAddr("192.0.2.100"), DPort: 80}
	if m := rules[0].MatchPacket(pkt); m != evidence.Matches {
		t.Errorf("the DROP of the VIP: %v", m)
	}
	if d, ok := firewalld.DirectOf(rules[0].Ref.Text); !ok || d.Family != "ipv4" || d.Priority != "0" || d.Args != "-d 192.0.2.100/32 -p tcp --dport 80 -j DROP" {
		t.Errorf("DirectOf %+v", d)
	}

	doc = parsetest.Fixture(t, "ds1", "direct-get-all-passthroughs.txt", "firewall-cmd --direct --get-all-passthroughs")
	rules, probs = firewalld.ParseDirect(doc)
	if len(probs) > 0 || len(rules) != 1 || rules[0].Chain != "FORWARD" || !rules[0].Drops() || rules[0].Ref.Text != "ipv4 -t filter -I FORWARD -s 198.51.100.0/24 -j DROP" {
		t.Errorf("passthrough %+v %v", rules, probs)
	}
}

// TestDetectDirect: the direct listings are read as such by command, file
// name and content, and no other output is taken for them.
func TestDetectDirect(t *testing.T) {
	text := func(n string) string { return parsetest.Fixture(t, "h", n, "").Text }
	formattest.Detect(t, []formattest.Case{
		{Command: "firewall-cmd --direct --get-all-rules", Text: text("direct-get-all-rules.txt"), Want: "firewall-cmd-direct", Label: "direct-get-all-rules.txt"},
		{Command: "firewall-cmd --permanent --direct --get-all-passthroughs", Text: text("direct-get-all-passthroughs.txt"), Want: "firewall-cmd-direct", Label: "direct-get-all-passthroughs.txt"},
		{Base: "firewall-cmd-direct.txt", Text: text("direct-get-all-rules.txt"), Want: "firewall-cmd-direct", Label: "direct-get-all-rules.txt"},
		{Base: "fw.txt", Text: text("direct-get-all-rules.txt"), Want: "firewall-cmd-direct", Label: "direct-get-all-rules.txt"},
	})
}
