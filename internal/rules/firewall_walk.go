package rules

import (
	"fmt"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/fwsim"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

// clientPacket is the client's first packet of s (a NEW connection to the
// VIP), as the firewall simulator walks it.
func clientPacket(p *Pass, s *topology.Service) evidence.Packet {
	return evidence.Packet{Proto: s.Proto, Src: p.Case.Client.Addr, Dst: s.VIP, DPort: s.Port, CtState: "NEW"}
}

// noteUnknownSets says which ipsets the walk met without their members:
// a DROP through a set (keepalived's vrrp_strict, kube-proxy) drops the
// packet only if the set holds its address, which is not assumed either
// way.
func noteUnknownSets(p *Pass, h *evidence.Host, v fwsim.Verdict, pkt evidence.Packet) {
	seen := map[string]bool{}
	for _, u := range v.UnknownSets {
		if seen[u.Set] {
			continue
		}
		seen[u.Set] = true
		what := "the ipset output was not given"
		if h.Has(evidence.KindIPSets) {
			what = "the ipset output given does not list its members"
		}
		p.Notef("on %s, %s/%s rule %d (%s) matches through ipset %q, whose members are unknown (%s): "+
			"whether it holds %s is not decided; `ipset list %s` settles it",
			h.Name, u.Rule.Table, u.Rule.Chain, u.Rule.Num, strings.ToLower(u.Rule.Verdict), u.Set, what, pkt.Dst, u.Set)
	}
}

// firewallDrop walks the client's packet through h's rules and reports a
// drop as a finding of the running rule.
func firewallDrop(p *Pass, h *evidence.Host, s *topology.Service, pkt evidence.Packet, what string) {
	if !h.Has(evidence.KindFirewall) {
		return
	}
	v := fwsim.Walk(&h.Firewall, pkt, "prerouting", "input")
	noteUnknownSets(p, h, v, pkt)
	if !v.Dropped {
		return
	}
	var ev []evidence.Ref
	for _, j := range v.Path {
		ev = append(ev, j.Ref)
	}
	sev := diagnosis.Critical
	var title, rule string
	if v.Rule != nil {
		ev = append(ev, v.Rule.Ref)
		rule = fmt.Sprintf("%s %s/%s rule %d", v.Rule.Tool, v.Rule.Table, v.Rule.Chain, v.Rule.Num)
		title = fmt.Sprintf("%s %s %s traffic on %s", rule, strings.ToLower(v.Rule.Verdict)+"s", what, h.Name)
		if v.Rule.Counters && v.Rule.Pkts > 0 {
			title += fmt.Sprintf(" (%d packets so far)", v.Rule.Pkts)
		} else if !v.Sure {
			sev = diagnosis.Warning
		}
	} else {
		if v.Chain != nil {
			ev = append(ev, v.Chain.Ref)
			rule = fmt.Sprintf("the %s policy of %s/%s", v.Chain.Policy, v.Chain.Table, v.Chain.Name)
		}
		title = fmt.Sprintf("%s drops %s traffic on %s (no rule accepts it)", rule, what, h.Name)
		if !v.Sure {
			sev = diagnosis.Warning
		}
	}
	fix := []string{}
	if v.Rule != nil && v.Rule.Tool == "iptables" {
		fix = append(fix, fmt.Sprintf("iptables -t %s -D %s %d   # after checking why it is there", orName(v.Rule.Table, "filter"), v.Rule.Chain, v.Rule.Num))
	} else if v.Rule != nil && v.Rule.Tool == "nft" {
		fix = append(fix, fmt.Sprintf("nft -a list chain %s %s %s; nft delete rule %s %s %s handle <N>", v.Rule.Family, v.Rule.Table, v.Rule.Chain, v.Rule.Family, v.Rule.Table, v.Rule.Chain))
	} else {
		fix = append(fix, "accept the service's traffic before the policy applies")
	}
	p.Report(diagnosis.Finding{
		Severity: sev,
		Host:     h.Name,
		Title:    title,
		Explanation: fmt.Sprintf("A packet from the client to %s passes the %s hooks on %s, and %s discards it before it "+
			"reaches %s. Rules left behind after a failover (a DROP that only the backup should have) are a classic.",
			s, "prerouting/input", h.Name, orName(rule, "a rule"), what),
		Evidence: ev,
		Fix:      fix,
	})
}
