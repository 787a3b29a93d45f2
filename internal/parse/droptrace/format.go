package droptrace

import (
	"regexp"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
)

var watchSniffRE = regexp.MustCompile(`(?m)^\d[\d:.]*\s+kfree_skb\s+reason=[A-Z_]+`)

// Formats is what this package reads: `lvsdoctor watch` output (and the
// droptrace prototype's, the same lines).
func Formats() []format.Format {
	return []format.Format{{
		Name:     "watch",
		MaxBytes: format.LargeOutput,
		Commands: format.Patterns(`^(?:\S*/)?lvsdoctor\s+watch\b`, `^(?:\S*/)?droptrace\b`),
		Files:    format.Patterns(`(?i)^(?:lvsdoctor[-_])?(?:watch|droptrace|drops)(?:[-_][^.]*)?\.(?:txt|log|out)$`),
		Sniff:    func(head string) bool { return watchSniffRE.MatchString(head) },
		Apply:    format.LimitedProblems(applyWatch),
	}}
}

func applyWatch(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	r, probs := ParseWatch(doc)
	h.Drops = append(h.Drops, r.Drops...)
	h.DropStats = append(h.DropStats, r.Stats...)
	ref := format.BlockRef(doc)
	switch {
	case len(r.Drops) > 0:
		ref = r.Drops[0].Ref
	case len(r.Stats) > 0:
		ref = r.Stats[0].Ref
	}
	h.MarkSeen(evidence.KindDrops, ref)
	return probs
}
