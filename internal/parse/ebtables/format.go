package ebtables

import (
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/iptables"
)

// Formats is what this package reads: ebtables -L and ebtables-save.
func Formats() []format.Format {
	return []format.Format{{
		Name:     "ebtables",
		MaxBytes: format.LargeOutput,
		Commands: format.Patterns(
			`^(?:\S*/)?ebtables(?:-legacy|-nft)?(?:-save)?\b`,
		),
		Files: format.Patterns(`^ebtables`),
		Sniff: func(head string) bool { return iptables.EbtablesSniffRE.MatchString(head) },
		Apply: apply,
	}}
}

func apply(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	rs, probs := Parse(doc)
	h.AddFirewall(rs.Rules, rs.Chains)
	ref := format.BlockRef(doc)
	h.MarkSeen(evidence.KindEbtables, ref)
	h.MarkSeen(evidence.KindFirewall, ref)
	return probs
}
