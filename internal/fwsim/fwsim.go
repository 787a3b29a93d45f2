// Package fwsim walks a packet through a host's firewall rules the way
// netfilter would — base chains in hook and priority order, jumps and
// returns, first terminal verdict wins, then the policy — and says whether
// the packet is dropped, by which rule, and how sure that is.
package fwsim

import (
	"sort"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// Verdict of a walk.
type Verdict struct {
	Dropped bool
	// Sure is false when a rule on the way might or might not match
	// (marks, unparsed matches, unknown interface).
	Sure bool
	// Rule is the rule that dropped (nil when the policy did).
	Rule  *evidence.FirewallRule
	Chain *evidence.Chain // the base chain whose policy or rule decided
	// Path lists the jump rules that led to Rule.
	Path []*evidence.FirewallRule
	// Possible are drop rules that might match (MayMatch) but were not
	// taken as matching.
	Possible []*evidence.FirewallRule
	// UnknownSets are the ipset matches met on the way whose set's
	// members were not shown: the walk could not tell whether they hold
	// the packet's addresses.
	UnknownSets []SetUse
}

// SetUse is a rule's match on an ipset whose members are unknown.
type SetUse struct {
	Set  string
	Rule *evidence.FirewallRule
}

// chainKey identifies a chain across tools.
type chainKey struct{ tool, family, table, name string }

// Walk sends p through every base chain of the given hooks (e.g.
// "prerouting", "input"), in order, and returns the first drop.
func Walk(fw *evidence.Firewall, p evidence.Packet, hooks ...string) Verdict {
	rules := map[chainKey][]*evidence.FirewallRule{}
	for i := range fw.Rules {
		r := &fw.Rules[i]
		k := chainKey{r.Tool, family(r.Tool, r.Family), r.Table, r.Chain}
		rules[k] = append(rules[k], r)
	}
	for k := range rules {
		sort.SliceStable(rules[k], func(i, j int) bool { return rules[k][i].Num < rules[k][j].Num })
	}
	bases := baseChains(fw, rules)
	var possible []*evidence.FirewallRule
	var unknown []SetUse
	for _, hook := range hooks {
		for _, b := range bases {
			if b.Hook != hook {
				continue
			}
			if b.family == "bridge" || b.family == "arp" || b.family == "netdev" || !sameIPVersion(b.tool, b.family, p) {
				continue // not on this packet's path
			}
			w := walker{rules: rules, sets: fw.IPSets, packet: p, seen: map[chainKey]bool{}}
			res, rule, path := w.chain(b.chainKey, 0)
			possible = append(possible, w.possible...)
			unknown = append(unknown, w.unknownSets...)
			p = w.packet // a NOTRACK in raw changes what later tables see
			switch res {
			case resDrop:
				return Verdict{Dropped: true, Sure: !w.unsure, Rule: rule, Chain: b.chain, Path: path, Possible: possible, UnknownSets: unknown}
			case resAccept:
				continue
			}
			if strings.EqualFold(b.Policy, "DROP") {
				return Verdict{Dropped: true, Sure: !w.unsure, Chain: b.chain, Possible: possible, UnknownSets: unknown}
			}
		}
	}
	return Verdict{Sure: true, Possible: possible, UnknownSets: unknown}
}

type base struct {
	chainKey
	Hook, Policy string
	prio         int
	chain        *evidence.Chain // nil when only the chain's rules were shown
}

// Hook priorities of the iptables tables (include/uapi/linux/netfilter_ipv4.h).
var tablePrio = map[string]int{"raw": -300, "mangle": -150, "nat": -100, "filter": 0, "security": 50}

func family(tool, fam string) string {
	if fam == "" && (tool == "iptables" || tool == "") {
		return "ip"
	}
	return fam
}

func baseChains(fw *evidence.Firewall, rules map[chainKey][]*evidence.FirewallRule) []base {
	var out []base
	seen := map[chainKey]bool{}
	for i := range fw.Chains {
		c := &fw.Chains[i]
		hook := c.Hook
		if hook == "" && (c.Tool == "iptables" || c.Tool == "ip6tables") {
			hook = builtinHook(c.Name)
		}
		if hook == "" {
			continue
		}
		k := chainKey{c.Tool, family(c.Tool, c.Family), c.Table, c.Name}
		seen[k] = true
		prio := tablePrio[c.Table]
		out = append(out, base{chainKey: k, Hook: hook, Policy: c.Policy, prio: prio, chain: c})
	}
	// Rules whose chain header was not shown (a pasted fragment): iptables
	// built-in chains are still base chains.
	for k, rs := range rules {
		if seen[k] || len(rs) == 0 {
			continue
		}
		hook := rs[0].Hook
		if hook == "" && (k.tool == "iptables" || k.tool == "ip6tables") {
			hook = builtinHook(k.name)
		}
		if hook == "" {
			continue
		}
		out = append(out, base{chainKey: k, Hook: hook, prio: tablePrio[k.table]})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].prio != out[j].prio {
			return out[i].prio < out[j].prio
		}
		return out[i].tool+out[i].table+out[i].name < out[j].tool+out[j].table+out[j].name
	})
	return out
}

func builtinHook(chain string) string {
	switch chain {
	case "PREROUTING":
		return "prerouting"
	case "INPUT":
		return "input"
	case "FORWARD":
		return "forward"
	case "OUTPUT":
		return "output"
	case "POSTROUTING":
		return "postrouting"
	}
	return ""
}

type result int

const (
	resContinue result = iota // fell off the end (policy applies)
	resAccept
	resDrop
	resReturn
)

type walker struct {
	rules  map[chainKey][]*evidence.FirewallRule
	sets   map[string]evidence.IPSet
	packet evidence.Packet
	// unknownSets are set matches that made a rule MayMatch.
	unknownSets []SetUse
	seen        map[chainKey]bool
	unsure      bool
	possible    []*evidence.FirewallRule
}

func (w *walker) chain(k chainKey, depth int) (result, *evidence.FirewallRule, []*evidence.FirewallRule) {
	if depth > 32 || w.seen[k] {
		return resContinue, nil, nil // loops are the kernel's to refuse, not ours to follow
	}
	w.seen[k] = true
	defer delete(w.seen, k)
	for _, r := range w.rules[k] {
		m := r.MatchPacketSets(w.packet, w.sets)
		if m == evidence.NoMatch {
			continue
		}
		if m == evidence.MayMatch {
			for _, sm := range r.Sets {
				if !sm.Known(w.sets) {
					w.unknownSets = append(w.unknownSets, SetUse{Set: sm.Name, Rule: r})
				}
			}
		}
		verdict := strings.ToUpper(r.Verdict)
		if m == evidence.MayMatch {
			// Skipping a rule that might have accepted the packet makes any
			// later drop uncertain.
			if verdict == "ACCEPT" || verdict == "JUMP" || verdict == "GOTO" {
				w.unsure = true
			}
			if r.Drops() {
				w.possible = append(w.possible, r)
			}
			if verdict == "JUMP" || verdict == "GOTO" {
				// Follow it: a drop inside counts only as possible.
				if res, rule, _ := w.chain(chainKey{k.tool, k.family, k.table, r.Target}, depth+1); res == resDrop && rule != nil {
					w.possible = append(w.possible, rule)
				}
			}
			continue
		}
		switch verdict {
		case "ACCEPT":
			return resAccept, r, nil
		case "DROP", "REJECT":
			return resDrop, r, nil
		case "RETURN":
			return resReturn, nil, nil
		case "JUMP", "GOTO":
			res, rule, path := w.chain(chainKey{k.tool, k.family, k.table, r.Target}, depth+1)
			switch res {
			case resAccept, resDrop:
				return res, rule, append([]*evidence.FirewallRule{r}, path...)
			}
			if verdict == "GOTO" {
				return resReturn, nil, nil
			}
		}
		if verdict == "NOTRACK" {
			// Untracked packets are never NEW or INVALID to conntrack.
			w.packet.CtState = "UNTRACKED"
		}
		// Non-terminal targets (MARK, LOG, CT, NOTRACK, counter) go on.
	}
	return resContinue, nil, nil
}

// sameIPVersion reports whether a chain of tool/family sees packet p:
// iptables and nft family ip see IPv4, ip6tables and ip6 see IPv6, inet
// both.
func sameIPVersion(tool, family string, p evidence.Packet) bool {
	a := p.Dst
	if !a.IsValid() {
		a = p.Src
	}
	if !a.IsValid() {
		return true
	}
	v6 := a.Is6() && !a.Is4In6()
	switch {
	case tool == "ip6tables" || family == "ip6":
		return v6
	case tool == "iptables" || family == "ip":
		return !v6
	}
	return true
}
