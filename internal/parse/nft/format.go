package nft

import (
	"regexp"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
)

var sniffRE = regexp.MustCompile(`(?m)^table (?:ip|ip6|inet|bridge|arp|netdev) \S+ \{`)

// Formats is what this package reads: `nft list ruleset` (text or -j
// JSON) and nftables.conf.
func Formats() []format.Format {
	return []format.Format{{
		Name:     "nft",
		MaxBytes: format.LargeOutput,
		Commands: format.Patterns(`^(?:\S*/)?nft\b.*\blist\b`),
		Files:    format.Patterns(`^nft`, `^nftables.*\.conf$`, `\.nft$`),
		Sniff: func(head string) bool {
			return sniffRE.MatchString(head) || LooksLikeJSON(head)
		},
		Apply: apply,
	}}
}

func apply(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	rs, probs := Parse(doc)
	h.AddFirewall(rs.Rules, rs.Chains)
	for _, x := range rs.Hidden {
		h.AddHidden(x)
	}
	ref := format.BlockRef(doc)
	h.MarkSeen(evidence.KindNFT, ref)
	h.MarkSeen(evidence.KindFirewall, ref)
	return probs
}
