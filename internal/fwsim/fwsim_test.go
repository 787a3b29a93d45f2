package fwsim

import (
	"net/netip"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var vip = netip.MustParseAddr("192.0.2.100")

func pfx(s string) evidence.AddrMatch {
	return evidence.AddrMatch{Prefixes: []netip.Prefix{netip.MustParsePrefix(s)}}
}

func rule(table, chain string, num int, verdict, target string, mod func(*evidence.FirewallRule)) evidence.FirewallRule {
	r := evidence.FirewallRule{Tool: "iptables", Family: "ip", Table: table, Chain: chain, Num: num, Verdict: verdict, Target: target,
		Ref: evidence.Ref{Source: "ds1/iptables-save.txt", Line: num, Text: chain}}
	if mod != nil {
		mod(&r)
	}
	return r
}

func chain(table, name, policy string) evidence.Chain {
	return evidence.Chain{Tool: "iptables", Family: "ip", Table: table, Name: name, Policy: policy}
}

func TestWalk(t *testing.T) {
	pkt := evidence.Packet{Proto: "tcp", Dst: vip, DPort: 80, CtState: "NEW"}
	tests := []struct {
		name    string
		fw      evidence.Firewall
		dropped bool
		sure    bool
		ruleNum int
	}{
		{
			name:    "raw PREROUTING drop of the VIP",
			fw:      evidence.Firewall{Chains: []evidence.Chain{chain("raw", "PREROUTING", "ACCEPT")}, Rules: []evidence.FirewallRule{rule("raw", "PREROUTING", 1, "DROP", "", func(r *evidence.FirewallRule) { r.Dst = pfx("192.0.2.100/32") })}},
			dropped: true, sure: true, ruleNum: 1,
		},
		{
			name: "drop of another address does not match",
			fw:   evidence.Firewall{Rules: []evidence.FirewallRule{rule("raw", "PREROUTING", 1, "DROP", "", func(r *evidence.FirewallRule) { r.Dst = pfx("192.0.2.200/32") })}},
			sure: true,
		},
		{
			name: "INVALID drop does not match a NEW packet",
			fw:   evidence.Firewall{Rules: []evidence.FirewallRule{rule("filter", "INPUT", 1, "DROP", "", func(r *evidence.FirewallRule) { r.CtState = []string{"INVALID"} })}},
			sure: true,
		},
		{
			name: "accept before drop",
			fw: evidence.Firewall{Rules: []evidence.FirewallRule{
				rule("filter", "INPUT", 1, "ACCEPT", "", func(r *evidence.FirewallRule) { r.Proto = "tcp"; r.DPorts = []evidence.PortRange{{From: 80, To: 80}} }),
				rule("filter", "INPUT", 2, "DROP", "", nil),
			}},
			sure: true,
		},
		{
			name: "jump into a user chain that rejects",
			fw: evidence.Firewall{Rules: []evidence.FirewallRule{
				rule("filter", "INPUT", 1, "JUMP", "BLOCK", nil),
				rule("filter", "BLOCK", 1, "REJECT", "", func(r *evidence.FirewallRule) { r.Dst = pfx("192.0.2.0/24") }),
			}},
			dropped: true, sure: true, ruleNum: 1,
		},
		{
			name: "marked-packet drop is only possible",
			fw: evidence.Firewall{Rules: []evidence.FirewallRule{
				rule("filter", "INPUT", 1, "DROP", "", func(r *evidence.FirewallRule) { r.Mark = "0x8000/0x8000" }),
			}},
			sure: true,
		},
		{
			name:    "DROP policy with no accept",
			fw:      evidence.Firewall{Chains: []evidence.Chain{chain("filter", "INPUT", "DROP")}},
			dropped: true, sure: true,
		},
		{
			name: "return from user chain continues",
			fw: evidence.Firewall{Rules: []evidence.FirewallRule{
				rule("filter", "INPUT", 1, "JUMP", "X", nil),
				rule("filter", "X", 1, "RETURN", "", nil),
				rule("filter", "X", 2, "DROP", "", nil),
			}},
			sure: true,
		},
		{
			name: "NOTRACK in raw: an INVALID drop no longer matches",
			fw: evidence.Firewall{Rules: []evidence.FirewallRule{
				rule("raw", "PREROUTING", 1, "NOTRACK", "", func(r *evidence.FirewallRule) { r.Dst = pfx("192.0.2.100/32") }),
				rule("filter", "INPUT", 1, "DROP", "", func(r *evidence.FirewallRule) { r.CtState = []string{"INVALID", "NEW"} }),
			}},
			sure: true,
		},
		{
			name: "ip6tables rules do not see an IPv4 packet",
			fw: evidence.Firewall{Rules: []evidence.FirewallRule{
				rule("filter", "INPUT", 1, "REJECT", "", func(r *evidence.FirewallRule) { r.Tool = "ip6tables"; r.Family = "ip6" }),
			}},
			sure: true,
		},
		{
			name: "jump loop does not hang",
			fw: evidence.Firewall{Rules: []evidence.FirewallRule{
				rule("filter", "INPUT", 1, "JUMP", "A", nil),
				rule("filter", "A", 1, "JUMP", "A", nil),
			}},
			sure: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Walk(&tt.fw, pkt, "prerouting", "input")
			if v.Dropped != tt.dropped || v.Sure != tt.sure {
				t.Fatalf("got dropped=%v sure=%v (%+v)", v.Dropped, v.Sure, v)
			}
			if tt.ruleNum != 0 && (v.Rule == nil || v.Rule.Num != tt.ruleNum) {
				t.Errorf("dropping rule = %+v, want #%d", v.Rule, tt.ruleNum)
			}
		})
	}
}
