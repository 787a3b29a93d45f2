package rules

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/fwsim"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/firewalld"
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

// noteHiddenFirewall says what of h's firewall its outputs left out: a
// table they do not show may drop pkt, so "no rule drops it" is not
// concluded from them.
func noteHiddenFirewall(p *Pass, h *evidence.Host, pkt evidence.Packet) {
	for _, x := range h.HiddenOf(evidence.KindFirewall) {
		p.Notef("on %s, the output left out %s (%s:%d %q): whether a rule there drops %s is not decided; `%s` shows it",
			h.Name, x.What, x.Ref.Source, x.Ref.Line, evidence.Clip(strings.TrimSpace(x.Ref.Text), 80), pkt.Dst, orName(x.Command, "the full listing"))
	}
}

// firewallDrop walks the client's packet through h's rules and reports a
// drop as a finding of the running rule.
func firewallDrop(p *Pass, h *evidence.Host, s *topology.Service, pkt evidence.Packet, what string) {
	whole := h.Has(evidence.KindFirewall)
	if !whole && !h.Has(evidence.KindFirewalldDirect) {
		return
	}
	v := fwsim.Walk(&h.Firewall, pkt, "prerouting", "input")
	noteUnknownSets(p, h, v, pkt)
	if whole && (!v.Dropped || !v.Sure) {
		noteHiddenFirewall(p, h, pkt)
	}
	if !v.Dropped || !whole && v.Rule == nil {
		// firewalld's direct rules alone: one that drops decides (they
		// run before the zones); the rest is the zones' to say.
		return
	}
	// The rule that drops decides (or the chain whose policy does); the
	// jumps that lead to it follow.
	var ev []evidence.Ref
	if v.Rule != nil {
		ev = append(ev, v.Rule.Ref)
	} else if v.Chain != nil {
		ev = append(ev, v.Chain.Ref)
	}
	for _, j := range v.Path {
		ev = append(ev, j.Ref)
	}
	sev := diagnosis.Critical
	var title, rule string
	if v.Rule != nil {
		rule = fmt.Sprintf("%s %s/%s rule %d", v.Rule.Tool, v.Rule.Table, v.Rule.Chain, v.Rule.Num)
		if d, ok := firewalld.DirectOf(v.Rule.Ref.Text); ok && !d.Passthrough {
			rule = fmt.Sprintf("firewalld's direct rule %s %s %s (priority %s)", d.Family, d.Table, d.Chain, d.Priority)
		}
		title = fmt.Sprintf("%s %s %s traffic on %s", rule, strings.ToLower(v.Rule.Verdict)+"s", what, h.Name)
		if v.Rule.Counters && v.Rule.Pkts > 0 {
			title += fmt.Sprintf(" (%d packets so far)", v.Rule.Pkts)
		} else if !v.Sure {
			sev = diagnosis.Warning
		}
	} else {
		if v.Chain != nil {
			rule = fmt.Sprintf("the %s policy of %s/%s", v.Chain.Policy, v.Chain.Table, v.Chain.Name)
		}
		title = fmt.Sprintf("%s drops %s traffic on %s (no rule accepts it)", rule, what, h.Name)
		if !v.Sure {
			sev = diagnosis.Warning
		}
	}
	fix := firewallFix(h, v, pkt)
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

// nftHandleRe finds the handle `nft -a` prints at the end of a rule.
var nftHandleRe = regexp.MustCompile(`#\s*handle\s+(\d+)\s*$`)

// nftJSONHandleRe finds a rule's handle in `nft -j` output.
var nftJSONHandleRe = regexp.MustCompile(`"handle"\s*:\s*(\d+)`)

// nftCounterRe finds a rule's counter statement, whose numbers grow.
var nftCounterRe = regexp.MustCompile(`\bcounter\b`)

// firewallFix removes the rule that drops pkt on h, or accepts pkt before
// the policy that does; in the tool that holds it.
func firewallFix(h *evidence.Host, v fwsim.Verdict, pkt evidence.Packet) []string {
	if v.Rule != nil {
		if d, ok := firewalld.DirectOf(v.Rule.Ref.Text); ok && !d.Passthrough {
			rule := strings.Join([]string{d.Family, d.Table, d.Chain, d.Priority, d.Args}, " ")
			return []string{
				fixCmd("firewall-cmd --direct --remove-rule "+rule, "on %s, after checking why it is there (firewalld's direct rule)", h.Name),
				fixCmd("firewall-cmd --permanent --direct --remove-rule "+rule, "and from the saved configuration"),
			}
		}
	}
	switch {
	case v.Rule != nil && (v.Rule.Tool == "iptables" || v.Rule.Tool == "ip6tables"):
		return []string{fixCmd(fmt.Sprintf("%s -t %s -D %s %d", v.Rule.Tool, orName(v.Rule.Table, "filter"), v.Rule.Chain, v.Rule.Num),
			"on %s, after checking why it is there (rule %d now: %s -t %s -L %s -n --line-numbers)", h.Name, v.Rule.Num, v.Rule.Tool, orName(v.Rule.Table, "filter"), v.Rule.Chain)}
	case v.Rule != nil && v.Rule.Tool == "nft":
		chain := fmt.Sprintf("%s %s %s", v.Rule.Family, v.Rule.Table, v.Rule.Chain)
		m := nftHandleRe.FindStringSubmatch(v.Rule.Ref.Text)
		if m == nil {
			m = nftJSONHandleRe.FindStringSubmatch(v.Rule.Ref.Text) // nft -j
		}
		if m != nil {
			return []string{fixCmd("nft delete rule "+chain+" handle "+m[1], "on %s, after checking why it is there", h.Name)}
		}
		// Grep for what does not change: not the handle, not the counters.
		text := strings.TrimSpace(nftHandleRe.ReplaceAllString(v.Rule.Ref.Text, ""))
		if strings.HasPrefix(text, "{") {
			return []string{
				fixCmd("nft -a list chain "+chain, "on %s: the rule that drops, its handle at the end of its line", h.Name),
				fixStep("then, after checking why it is there: nft delete rule %s handle (that number)", chain),
			}
		}
		if i := nftCounterRe.FindStringIndex(text); i != nil {
			text = strings.TrimSpace(text[:i[0]])
		}
		return []string{
			fixCmd(fmt.Sprintf("nft -a list chain %s | grep -F %s", chain, shellQuote(clip(text, 60))), "on %s: the rule, its handle at the end of the line", h.Name),
			fixStep("then, after checking why it is there: nft delete rule %s handle (that number)", chain),
		}
	case v.Chain != nil:
		proto := pkt.Proto
		if proto == "" {
			proto = "tcp"
		}
		if v.Chain.Tool == "nft" {
			fam := "ip"
			if pkt.Dst.Is6() {
				fam = "ip6"
			}
			return []string{fixCmd(fmt.Sprintf("nft insert rule %s %s %s %s daddr %s %s dport %d accept", v.Chain.Family, v.Chain.Table, v.Chain.Name, fam, pkt.Dst, proto, pkt.DPort),
				"on %s: accept the service before the %s policy applies", h.Name, strings.ToLower(v.Chain.Policy))}
		}
		tool := orName(v.Chain.Tool, "iptables")
		return []string{fixCmd(fmt.Sprintf("%s -t %s -I %s -p %s -d %s --dport %d -j ACCEPT", tool, orName(v.Chain.Table, "filter"), v.Chain.Name, proto, pkt.Dst, pkt.DPort),
			"on %s: accept the service before the %s policy applies", h.Name, v.Chain.Policy)}
	}
	return []string{fixStep("accept the service's traffic on %s before the rule or policy that drops it", h.Name)}
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
