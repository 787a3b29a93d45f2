package ipset

import (
	"regexp"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
)

var (
	listSniffRE = regexp.MustCompile(`\AName: \S+\nType: (?:hash|bitmap|list):[a-z,]+\n`)
	saveSniffRE = regexp.MustCompile(`\Acreate \S+ (?:hash|bitmap|list):[a-z,]+(?: |\n)`)
)

// Formats is what this package reads: `ipset list` (-t, -n, one set) and
// `ipset save`.
func Formats() []format.Format {
	return []format.Format{{
		Name:     "ipset",
		MaxBytes: format.LargeOutput,
		Commands: format.Patterns(`^(?:\S*/)?ipset\s+(?:(?:-\S+\s+)*)(?:list|-L|save|-S|-l|-s)\b`),
		Files:    format.Patterns(`^ipsets?`+format.FileTail, `^ipsets?\.(?:conf|save|rules)$`),
		Sniff: func(head string) bool {
			head = trimLeadingBlank(head)
			return listSniffRE.MatchString(head) || saveSniffRE.MatchString(head)
		},
		Apply: format.LimitedLines(apply),
	}}
}

func trimLeadingBlank(s string) string {
	for len(s) > 0 && (s[0] == '\n' || s[0] == '\r' || s[0] == ' ') {
		s = s[1:]
	}
	return s
}

func apply(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	sets, probs := Parse(doc)
	h.AddIPSets(sets)
	if len(sets) > 0 {
		h.MarkSeen(evidence.KindIPSets, format.BlockRef(doc))
	}
	return probs
}
