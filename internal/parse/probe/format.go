package probe

import (
	"regexp"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
)

// sniffRe finds the lines only these tools print; curl's verbose lines may
// follow its progress meter on the same line.
var sniffRe = regexp.MustCompile(`\*\s+Trying [0-9a-fA-F.:\[\]]+\.\.\.|\* Connected to \S+ \(|(?m)^(?:PING \S+ \([0-9a-fA-F.:]+\) \d+\(\d+\) bytes of data\.|ARPING \S+|curl: \(\d+\) |Connection to \S+ \d+ port \[\w+/[^\]]*\] succeeded!|nc: connect to \S+ port \d+|Ncat: (?:Connected|Connection|Version)|telnet: (?:Unable to connect|connect to address))`)

// Formats is what this package reads: what curl, ping, arping, nc/ncat and
// telnet printed when the user tried the service.
func Formats() []format.Format {
	return []format.Format{{
		Name:     "probe",
		MaxBytes: format.LargeOutput,
		Commands: format.Patterns(`^curl\b`, `^ping6?\b`, `^arping\b`, `^nc\b`, `^ncat\b`, `^netcat\b`, `^telnet\b`),
		Files:    format.Patterns(`(?i)^(?:curl|ping|arping|nc|ncat|telnet)(?:[-_][^.]*)?\.(?:txt|log|out)$`),
		Sniff:    func(head string) bool { return sniffRe.MatchString(head) },
		Apply:    format.LimitedProblems(apply),
	}}
}

func apply(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	obs, probs := Parse(doc)
	h.Observations = append(h.Observations, obs...)
	ref := format.BlockRef(doc)
	if len(obs) > 0 {
		ref = obs[0].Ref
	}
	h.MarkSeen(evidence.KindObserved, ref)
	return probs
}
