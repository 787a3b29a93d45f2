package nft

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

func load(t *testing.T, name string) (Ruleset, []evidence.Problem) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return Parse(evidence.Doc{Host: "ds1", Source: name, Text: string(b), Command: "nft list ruleset"})
}

func rulesIn(rs Ruleset, family, table, chain string) []evidence.FirewallRule {
	var out []evidence.FirewallRule
	for _, r := range rs.Rules {
		if r.Family == family && r.Table == table && r.Chain == chain {
			out = append(out, r)
		}
	}
	return out
}

var (
	vip   = netip.MustParseAddr("192.0.2.100")
	vip10 = netip.MustParseAddr("192.0.2.10")
	cip   = netip.MustParseAddr("203.0.113.50")
)

func TestDirectorTextAndJSON(t *testing.T) {
	for _, f := range []string{"nft-director.txt", "nft-a-director.txt", "nft-j-director.json"} {
		rs, probs := load(t, f)
		if len(probs) > 0 {
			t.Fatalf("%s: %v", f, probs)
		}
		if len(rs.Tables) != 8 {
			t.Errorf("%s: %d tables", f, len(rs.Tables))
		}
		var input evidence.Chain
		for _, c := range rs.Chains {
			if c.Family == "inet" && c.Table == "filter" && c.Name == "input" {
				input = c
			}
		}
		if input.Hook != "input" || input.Policy != "DROP" {
			t.Errorf("%s: input chain %+v", f, input)
		}
		in := rulesIn(rs, "inet", "filter", "input")
		if len(in) != 13 {
			t.Fatalf("%s: %d input rules", f, len(in))
		}
		if in[2].Verdict != "DROP" || len(in[2].CtState) != 1 || in[2].CtState[0] != "INVALID" || in[2].Comment != "drop invalid" || !in[2].Counters || in[2].Num != 3 || in[2].Hook != "input" {
			t.Errorf("%s: invalid drop %+v", f, in[2])
		}
		if in[3].Proto != "vrrp" {
			t.Errorf("%s: vrrp %+v", f, in[3])
		}
		// named sets resolved, including a range
		set := in[6]
		if set.Verdict != "REJECT" || set.Target != "icmp-admin-prohibited" || len(set.Dst.Prefixes) != 6 || len(set.DPorts) != 2 || set.DPorts[1] != (evidence.PortRange{From: 9000, To: 9100}) {
			t.Errorf("%s: set rule %+v", f, set)
		}
		p := evidence.Packet{Proto: "tcp", Src: cip, Dst: netip.MustParseAddr("203.0.113.7"), DPort: 9050}
		if set.MatchPacket(p) != evidence.Matches {
			t.Errorf("%s: range element should match", f)
		}
		drop := in[8]
		if drop.InIface != "eth1" || drop.Dst.Prefixes[0].Addr() != vip || drop.DPorts[0].From != 80 || drop.Verdict != "DROP" {
			t.Errorf("%s: iif drop %+v", f, drop)
		}
		if in[10].Mark != "0x8000" || in[11].Verdict != "JUMP" || in[11].Target != "extra" || in[12].Verdict != "COUNTER" {
			t.Errorf("%s: mark/jump/counter %+v %+v %+v", f, in[10], in[11], in[12])
		}
		// verdict map expanded
		fw := rulesIn(rs, "inet", "filter", "forward")
		var invalidDrop bool
		for _, r := range fw {
			if r.Num == 1 && r.Verdict == "DROP" && len(r.CtState) == 1 && r.CtState[0] == "INVALID" {
				invalidDrop = true
			}
		}
		if !invalidDrop {
			t.Errorf("%s: vmap not expanded: %+v", f, fw)
		}
		// keepalived vrrp_strict
		ka := rulesIn(rs, "inet", "keepalived", "in")
		if len(ka) != 2 || ka[0].Verdict != "DROP" || ka[0].Hook != "prerouting" {
			t.Fatalf("%s: keepalived %+v", f, ka)
		}
		if ka[0].MatchPacket(evidence.Packet{Proto: "tcp", Src: cip, Dst: vip, DPort: 80}) != evidence.Matches {
			t.Errorf("%s: keepalived drop should match the VIP", f)
		}
		if ka[1].MatchPacket(evidence.Packet{Proto: "tcp", Src: cip, Dst: vip, DPort: 80}) != evidence.NoMatch {
			t.Errorf("%s: ip6 set must not match an IPv4 packet", f)
		}
		raw := rulesIn(rs, "ip", "raw", "prerouting")
		if raw[0].Verdict != "DROP" || raw[0].Pkts != 2 || raw[0].Bytes != 168 || raw[1].Verdict != "NOTRACK" {
			t.Errorf("%s: raw %+v", f, raw)
		}
		mg := rulesIn(rs, "ip", "mangle", "prerouting")
		if mg[0].Verdict != "MARK" || mg[0].Target != "0x1" || len(mg[0].DPorts) != 2 || mg[1].Target != "0x2" || mg[1].DPorts[0] != (evidence.PortRange{From: 1000, To: 2000}) {
			t.Errorf("%s: mangle %+v", f, mg)
		}
		nat := rulesIn(rs, "ip", "nat", "postrouting")
		if nat[0].Verdict != "MASQUERADE" || nat[0].OutIface != "!docker0" {
			t.Errorf("%s: nat %+v", f, nat)
		}
		arp := rulesIn(rs, "arp", "arpfilter", "input")
		if arp[0].MatchPacket(evidence.Packet{Proto: "tcp", Dst: vip}) != evidence.NoMatch {
			t.Errorf("%s: arp table rule must not match IP", f)
		}
		extra := rulesIn(rs, "inet", "filter", "extra")
		if len(extra[1].Extra) != 1 || extra[1].MatchPacket(evidence.Packet{Proto: "tcp", Dst: vip, DPort: 443}) != evidence.MayMatch {
			t.Errorf("%s: != port must stay unsure: %+v", f, extra[1])
		}
		for _, r := range rs.Rules {
			if r.Ref.Line < 1 || r.Ref.Text == "" {
				t.Errorf("%s: bad ref %+v", f, r.Ref)
			}
		}
	}
}

func TestIptablesNftTranslated(t *testing.T) {
	rs, probs := load(t, "nft-iptables-nft.txt")
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if len(rs.Warnings) != 5 || rs.Tables[0].ManagedBy != "iptables-nft" {
		t.Errorf("warnings %d, %+v", len(rs.Warnings), rs.Tables[0])
	}
	kf := rulesIn(rs, "ip", "filter", "KUBE-FIREWALL")
	if kf[0].Mark != "0x8000/0x8000" || kf[0].Verdict != "DROP" {
		t.Errorf("%+v", kf)
	}
	xt := rulesIn(rs, "ip", "filter", "LVS-XT")
	if len(xt) != 5 || len(xt[0].Extra) == 0 || len(xt[1].Extra) == 0 || len(xt[2].Extra) == 0 {
		t.Errorf("%+v", xt)
	}
	in := rulesIn(rs, "ip", "filter", "INPUT")
	if in[2].CtState[0] != "INVALID" || in[2].Verdict != "DROP" || in[6].Target != "tcp-reset" {
		t.Errorf("%+v", in)
	}
	// JSON form parses too (nft shows most of these as xt matches)
	rj, probs := load(t, "nft-j-iptables-nft.json")
	if len(probs) > 0 || len(rj.Rules) != len(rs.Rules) {
		t.Errorf("json: %d rules vs %d, %v", len(rj.Rules), len(rs.Rules), probs)
	}
}

func TestEbtablesNft(t *testing.T) {
	for _, f := range []string{"nft-ebtables-nft.txt", "nft-j-ebtables-nft.json"} {
		rs, probs := load(t, f)
		if len(probs) > 0 {
			t.Fatal(probs)
		}
		ip := rulesIn(rs, "bridge", "nat", "I-vnet0-ipv4-ip")
		if len(ip) != 4 || ip[2].Verdict != "DROP" || ip[2].Pkts != 2 {
			t.Fatalf("%s: %+v", f, ip)
		}
		if ip[1].EtherType != "IPv4" || ip[1].Verdict != "RETURN" {
			t.Errorf("%s: %+v", f, ip[1])
		}
		mac := rulesIn(rs, "bridge", "nat", "I-vnet0-mac")
		if mac[0].SrcMAC != "52:54:00:6b:53:c8" {
			t.Errorf("%s: %+v", f, mac[0])
		}
		li := rulesIn(rs, "bridge", "nat", "libvirt-I-vnet0")
		if li[6].EtherType != "0x0835" {
			t.Errorf("%s: ethertype %q", f, li[6].EtherType)
		}
	}
}

func TestVariants(t *testing.T) {
	conf := `#!/usr/sbin/nft -f
flush ruleset
define VIP = 192.0.2.10
table inet filter {
	set vips { type ipv4_addr; elements = { $VIP, 192.0.2.11 } }
	chain input {
		type filter hook input priority 0; policy drop;
		ct state invalid drop
		iifname "eth*" ip daddr @vips tcp dport 80 accept
		ip daddr $VIP tcp dport vmap { 80 : accept, 81 : drop }
	}
}
`
	rs, probs := ParseText(evidence.Doc{Source: "nftables.conf", Text: conf})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if len(rs.Rules) != 4 || rs.Chains[0].Policy != "DROP" {
		t.Fatalf("%+v", rs)
	}
	if rs.Rules[1].InIface != "eth+" || len(rs.Rules[1].Dst.Prefixes) != 2 || rs.Rules[1].Dst.Prefixes[0].Addr() != vip10 {
		t.Errorf("%+v", rs.Rules[1])
	}
	if rs.Rules[3].Verdict != "DROP" || rs.Rules[3].DPorts[0].From != 81 || rs.Rules[3].Dst.Prefixes[0].Addr() != vip10 {
		t.Errorf("%+v", rs.Rules[3])
	}
	// list chain output whose table line was cut off
	rs, _ = ParseText(evidence.Doc{Source: "x", Command: "nft list chain ip raw prerouting", Text: "\tchain prerouting {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tip daddr 192.0.2.100 drop\n\t}\n"})
	if len(rs.Rules) != 1 || rs.Rules[0].Table != "raw" || rs.Rules[0].Hook != "prerouting" {
		t.Errorf("%+v", rs)
	}
	// garbage is reported, not fatal
	_, probs = ParseText(evidence.Doc{Source: "x", Text: "hello\ntable ip t {\n chain c {\n  drop\n }\n}\n"})
	if len(probs) != 1 || !strings.Contains(probs[0].Message, "outside any table") {
		t.Errorf("%v", probs)
	}
	_, probs = ParseJSON(evidence.Doc{Source: "x", Text: `{"nftables": [`})
	if len(probs) != 1 {
		t.Errorf("%v", probs)
	}
}
