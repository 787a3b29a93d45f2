package intake

import (
	"regexp"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/droptrace"
)

// kernelKinds lists the formats of kernel tracing: `lvsdoctor watch`
// output (and the droptrace prototype's, the same lines).
func kernelKinds() []Kind {
	return []Kind{{
		Name:     "watch",
		MaxBytes: largeOutput,
		Commands: re(`^(?:\S*/)?lvsdoctor\s+watch\b`, `^(?:\S*/)?droptrace\b`),
		Files:    re(`(?i)^(?:lvsdoctor[-_])?(?:watch|droptrace|drops)(?:[-_][^.]*)?\.(?:txt|log|out)$`),
		Sniff:    func(head string) bool { return watchSniffRE.MatchString(head) },
		Apply:    sysLimit(applyWatch),
	}}
}

var watchSniffRE = regexp.MustCompile(`(?m)^\d[\d:.]*\s+kfree_skb\s+reason=[A-Z_]+`)

func applyWatch(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	r, probs := droptrace.ParseWatch(doc)
	h.Drops = append(h.Drops, r.Drops...)
	h.DropStats = append(h.DropStats, r.Stats...)
	ref := sysDocRef(doc)
	switch {
	case len(r.Drops) > 0:
		ref = r.Drops[0].Ref
	case len(r.Stats) > 0:
		ref = r.Stats[0].Ref
	}
	h.MarkSeen(evidence.KindDrops, ref)
	return probs
}
