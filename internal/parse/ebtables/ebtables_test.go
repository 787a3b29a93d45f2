package ebtables

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

func load(t *testing.T, name, cmd string) (Ruleset, []evidence.Problem) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return Parse(evidence.Doc{Host: "hv1", Source: name, Text: string(b), Command: cmd})
}

func chainRules(rs Ruleset, table, chain string) []evidence.FirewallRule {
	var out []evidence.FirewallRule
	for _, r := range rs.Rules {
		if r.Table == table && r.Chain == chain {
			out = append(out, r)
		}
	}
	return out
}

func TestLibvirtNat(t *testing.T) {
	for _, f := range []string{"eb-nft-nat-L.txt", "eb-nft-nat-Lc.txt", "eb-nft-nat-Ln-Lc.txt", "eb-nft-nat-Ln.txt", "eb-nft-nat-Lx.txt", "eb-nft-save-c.txt", "joined-nat-L.txt"} {
		rs, probs := load(t, f, "ebtables -t nat -L")
		if len(probs) > 0 {
			t.Fatalf("%s: %v", f, probs)
		}
		pre := chainRules(rs, "nat", "PREROUTING")
		if len(pre) != 1 || pre[0].InIface != "vnet0" || pre[0].Verdict != "JUMP" || pre[0].Target != "libvirt-I-vnet0" || pre[0].Hook != "prerouting" || pre[0].Family != "bridge" {
			t.Fatalf("%s: %+v", f, pre)
		}
		ip := chainRules(rs, "nat", "I-vnet0-ipv4-ip")
		if len(ip) != 3 {
			t.Fatalf("%s: %+v", f, ip)
		}
		if ip[1].Src.Prefixes[0] != netip.MustParsePrefix("192.0.2.200/32") || ip[1].EtherType != "IPv4" || ip[1].Verdict != "RETURN" {
			t.Errorf("%s: %+v", f, ip[1])
		}
		if ip[0].Proto != "udp" || ip[2].Verdict != "DROP" || ip[2].Num != 3 {
			t.Errorf("%s: %+v %+v", f, ip[0], ip[2])
		}
		vipPkt := evidence.Packet{Proto: "tcp", Src: netip.MustParseAddr("192.0.2.10"), Dst: netip.MustParseAddr("198.51.100.20"), DPort: 80}
		if ip[1].MatchPacket(vipPkt) != evidence.NoMatch || ip[2].MatchPacket(vipPkt) != evidence.Matches {
			t.Errorf("%s: spoofed VIP source should fall to the DROP", f)
		}
		if (f == "eb-nft-nat-Lc.txt" || f == "eb-nft-nat-Ln-Lc.txt" || f == "eb-nft-save-c.txt") && (!ip[2].Counters || ip[2].Pkts != 2 || ip[2].Bytes != 168) {
			t.Errorf("%s: counters %+v", f, ip[2])
		}
		mac := chainRules(rs, "nat", "I-vnet0-mac")
		if mac[0].SrcMAC != "52:54:00:6b:53:c8" {
			t.Errorf("%s: %+v", f, mac[0])
		}
		li := chainRules(rs, "nat", "libvirt-I-vnet0")
		if len(li) != 8 || li[6].EtherType != "0x0835" || li[3].EtherType != "ARP" || li[7].Verdict != "DROP" {
			t.Errorf("%s: %+v", f, li)
		}
		if li[3].MatchPacket(vipPkt) != evidence.NoMatch {
			t.Errorf("%s: ARP rule must not match IP", f)
		}
	}
}

func TestFilterAndSeed(t *testing.T) {
	rs, probs := load(t, "eb-nft-filter-L.txt", "ebtables -t filter -L")
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	fw := chainRules(rs, "filter", "FORWARD")
	if fw[0].Proto != "tcp" || fw[0].DPorts[0].From != 80 || fw[0].Dst.Prefixes[0].String() != "198.51.100.0/24" || fw[0].InIface != "vnet1" {
		t.Errorf("%+v", fw[0])
	}
	if !fw[1].Src.Negate || fw[1].Verdict != "DROP" {
		t.Errorf("%+v", fw[1])
	}
	out := chainRules(rs, "filter", "OUTPUT")
	if out[0].SrcMAC != "52:54:00:00:00:00/ff:ff:ff:00:00:00" {
		t.Errorf("%+v", out[0])
	}

	rs, probs = load(t, "seed004-nat-list.txt", "ebtables -t nat --list")
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	for _, c := range rs.Chains {
		if c.Name == "libvirt-I-vnet0" && c.Policy != "ACCEPT" {
			t.Errorf("%+v", c)
		}
	}
	mac := chainRules(rs, "nat", "I-vnet0-mac")
	if len(mac) != 2 || mac[0].SrcMAC != "02:00:73:b6:53:c8" || mac[0].Verdict != "RETURN" {
		t.Errorf("%+v", mac)
	}
	ip := chainRules(rs, "nat", "I-vnet0-ipv4-ip")
	if len(ip) != 3 || len(ip[1].Extra) != 1 {
		t.Errorf("anonymised address must stay visible in Extra: %+v", ip)
	}
	li := chainRules(rs, "nat", "libvirt-I-vnet0")
	if len(li) != 9 || li[6].Target != "I-vnet0-rarp" || li[6].EtherType != "0x8035" {
		t.Errorf("%+v", li)
	}
}

func TestLegacyVariants(t *testing.T) {
	text := `Bridge table: nat

Bridge chain: PREROUTING, entries: 1, policy: ACCEPT
1. -i vnet0 -j libvirt-I-vnet0 , pcnt = 42 -- bcnt = 3360

Bridge chain: I-vnet0-ipv4-ip, entries: 2, policy: ACCEPT
1. -p IPv4 --ip-src ! 192.0.2.0/255.255.255.0 -j DROP , pcnt = 7 -- bcnt = 588
2. -p ! IPv4 -j RETURN , pcnt = 0 -- bcnt = 0
`
	rs, probs := Parse(evidence.Doc{Source: "x", Text: text})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if len(rs.Rules) != 3 || rs.Rules[0].Pkts != 42 || rs.Rules[0].Num != 1 {
		t.Fatalf("%+v", rs.Rules)
	}
	r := rs.Rules[1]
	if !r.Src.Negate || r.Src.Prefixes[0].String() != "192.0.2.0/24" || r.Pkts != 7 {
		t.Errorf("%+v", r)
	}
	if rs.Rules[2].EtherType != "!IPv4" {
		t.Errorf("%+v", rs.Rules[2])
	}
	// legacy --Lx prints commands
	lx := "ebtables -t nat -P PREROUTING ACCEPT\nebtables -t nat -N I-vnet0-mac -P ACCEPT\nebtables -t nat -A PREROUTING -i vnet0 -j I-vnet0-mac\nebtables -t nat -A I-vnet0-mac -s 2:0:73:b6:53:c8 -j RETURN\nebtables -t nat -A I-vnet0-mac -j DROP\n"
	rs, probs = Parse(evidence.Doc{Source: "x", Text: lx})
	if len(probs) > 0 || len(rs.Rules) != 3 || len(rs.Chains) != 2 || rs.Rules[1].SrcMAC != "02:00:73:b6:53:c8" || rs.Rules[0].Verdict != "JUMP" || rs.Tables[0] != "nat" {
		t.Errorf("%+v %v", rs, probs)
	}
}
