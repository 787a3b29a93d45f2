package ifconfig

import (
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
)

var (
	sniffNewRe = regexp.MustCompile(`^\S+: flags=\d+<[A-Z0-9_,]*>\s+mtu \d+`)
	sniffOldRe = regexp.MustCompile(`^\S+\s+Link encap:`)
)

// Formats is what this package reads: ifconfig, old (net-tools 1.60) and
// new.
func Formats() []format.Format {
	return []format.Format{{
		Name: "ifconfig",
		// ifconfig, ifconfig -a, ifconfig eth0; not "ifconfig lo:0 VIP
		// up" (it prints nothing) nor -s (another table).
		Commands: format.Patterns(`^ifconfig(?:\s+-[av]+)*(?:\s+[A-Za-z0-9_.:@-]+)?\s*(?:\|.*)?$`),
		Files:    format.Patterns(`(?i)^ifconfig` + format.FileTail),
		Sniff: func(head string) bool {
			first := format.FirstLine(head)
			return sniffNewRe.MatchString(first) || sniffOldRe.MatchString(first)
		},
		Apply: format.LimitedLines(apply),
	}}
}

func apply(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	res, probs := Parse(doc)
	h.MergeLinks(res.Links)
	h.MergeAddrs(res.Addrs)
	h.SetCounters(res.Counters)
	// `ifconfig` without -a hides interfaces that are down, and `ifconfig
	// eth0` shows one: only the full listing is complete.
	f := strings.Fields(doc.Command)
	all := doc.Command == "" || len(f) == 1 || (len(f) == 2 && strings.HasPrefix(f[1], "-") && strings.Contains(f[1], "a"))
	if !all && len(res.Links) == 0 && len(res.Addrs) == 0 {
		return probs
	}
	if all {
		format.MarkComplete(h, doc, evidence.KindAddrs)
	}
	if all && (doc.Command == "" || strings.Contains(doc.Command, "-a")) {
		format.MarkComplete(h, doc, evidence.KindLinks)
	}
	if len(res.Counters) > 0 {
		h.MarkSeen(evidence.KindCounters, format.BlockRef(doc))
	}
	return probs
}
