package firewalld

import (
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/iptables"
)

// directRuleRE is one line of `firewall-cmd --direct --get-all-rules`:
// family, table, chain, priority and the iptables arguments
// (firewalld's direct.py prints them so); directPassRE one of
// --get-all-passthroughs: family and a whole iptables command line.
var (
	directRuleRE = regexp.MustCompile(`^(ipv4|ipv6|eb) (\S+) (\S+) (-?\d+) (\S.*)$`)
	directPassRE = regexp.MustCompile(`^(ipv4|ipv6|eb) (-\S.*)$`)
)

// Direct is one direct rule as firewall-cmd printed it.
type Direct struct {
	Family, Table, Chain, Priority, Args string
	Passthrough                          bool
}

// DirectOf reads the direct rule a line of --get-all-rules or
// --get-all-passthroughs is (a rule's Ref.Text).
func DirectOf(line string) (Direct, bool) {
	line = strings.TrimSpace(line)
	if m := directRuleRE.FindStringSubmatch(line); m != nil {
		return Direct{Family: m[1], Table: m[2], Chain: m[3], Priority: m[4], Args: m[5]}, true
	}
	if m := directPassRE.FindStringSubmatch(line); m != nil {
		return Direct{Family: m[1], Args: m[2], Passthrough: true}, true
	}
	return Direct{}, false
}

// ParseDirect reads `firewall-cmd --direct --get-all-rules` and
// --get-all-passthroughs into firewall rules, each cited by its own line.
// The rules are iptables rules in the chain named: firewalld runs a
// built-in chain's direct rules (its CHAIN_direct) before its zones'.
// Bridge (eb) rules filter frames, not the IP packets walked here.
func ParseDirect(doc evidence.Doc) ([]evidence.FirewallRule, []evidence.Problem) {
	lines := doc.Lines()
	rewritten := make([]string, len(lines))
	for i, l := range lines {
		d, ok := DirectOf(l)
		switch {
		case strings.TrimSpace(l) == "":
		case !ok:
			rewritten[i] = l // not understood: the iptables parser says so
		case d.Family == "eb":
		case d.Passthrough:
			rewritten[i] = toolOf(d.Family) + " " + d.Args
		default:
			rewritten[i] = toolOf(d.Family) + " -t " + d.Table + " -A " + d.Chain + " " + d.Args
		}
	}
	rs, probs := iptables.ParseSave(evidence.Doc{Host: doc.Host, Source: doc.Source, Start: doc.Start, Text: strings.Join(rewritten, "\n")})
	for i := range rs.Rules {
		r := &rs.Rules[i]
		if k := r.Ref.Line - max(doc.Start, 1); k >= 0 && k < len(lines) {
			r.Ref.Text = lines[k]
		}
	}
	return rs.Rules, probs
}

func toolOf(family string) string {
	if family == "ipv6" {
		return "ip6tables"
	}
	return "iptables"
}

func applyDirect(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	rules, probs := ParseDirect(doc)
	h.AddFirewall(rules, nil)
	if len(probs) == 0 || len(rules) > 0 {
		h.MarkSeen(evidence.KindFirewalldDirect, format.BlockRef(doc))
	}
	return probs
}
