package firewalld

import (
	"regexp"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
)

var sniffRE = regexp.MustCompile(`\A[A-Za-z0-9_+.-]{1,64}(?: \([a-z, ]+\))?\n  target: \S+\n`)

// Formats is what this package reads: firewall-cmd --list-all and
// --list-all-zones (also firewall-offline-cmd's, --zone=NAME).
func Formats() []format.Format {
	return []format.Format{{
		Name:     "firewall-cmd",
		Commands: format.Patterns(`^(?:\S*/)?firewall-(?:offline-)?cmd\b.*\s--list-all(?:-zones)?\b`),
		Files:    format.Patterns(`^firewall-?cmd`+format.FileTail, `^firewalld`+format.FileTail),
		Sniff: func(head string) bool {
			for len(head) > 0 && (head[0] == '\n' || head[0] == '\r') {
				head = head[1:]
			}
			return sniffRE.MatchString(head)
		},
		Apply: format.LimitedLines(apply),
	}}
}

func apply(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	zones, probs := Parse(doc)
	h.Firewall.FirewalldZones = append(h.Firewall.FirewalldZones, zones...)
	if len(zones) > 0 {
		h.MarkSeen(evidence.KindFirewalld, format.BlockRef(doc))
	}
	return probs
}
