package firewalld

import (
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
)

var sniffRE = regexp.MustCompile(`\A[A-Za-z0-9_+.-]{1,64}(?: \([a-z, ]+\))?\n  target: \S+\n`)

// Formats is what this package reads: firewall-cmd --direct
// --get-all-rules and --get-all-passthroughs (first: its file names begin
// as the zone listings'), --list-all and --list-all-zones (also
// firewall-offline-cmd's, --zone=NAME).
func Formats() []format.Format {
	return []format.Format{{
		Name:     "firewall-cmd-direct",
		Commands: format.Patterns(`^(?:\S*/)?firewall-(?:offline-)?cmd\b.*\s--direct\b.*\s--get-all-(?:rules|passthroughs)\b`),
		Files:    format.Patterns(`^firewall-?cmd[-_]direct`+format.FileTail, `^direct[-_](?:rules|get-all-rules|passthroughs)`+format.FileTail),
		Sniff:    sniffDirect,
		Apply:    format.LimitedLines(applyDirect),
	}, {
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

// sniffDirect: every line is a direct rule or passthrough, with a rule's
// options (-j, -p, -s, -d) in it.
func sniffDirect(head string) bool {
	lines := format.CompleteLines(head)
	for _, l := range lines {
		d, ok := DirectOf(l)
		if !ok || !strings.Contains(" "+d.Args, " -j ") && !strings.Contains(" "+d.Args, " -p ") {
			return false
		}
	}
	return len(lines) > 0
}

func apply(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	zones, probs := Parse(doc)
	h.Firewall.FirewalldZones = append(h.Firewall.FirewalldZones, zones...)
	if len(zones) > 0 {
		h.MarkSeen(evidence.KindFirewalld, format.BlockRef(doc))
	}
	return probs
}
