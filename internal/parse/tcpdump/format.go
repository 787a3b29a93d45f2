package tcpdump

import (
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
)

var (
	packetSniffRe = regexp.MustCompile(`(?m)^\S{0,3}(?:\d{4}-\d{2}-\d{2} )?\d{1,2}:\d{2}:\d{2}\.\d{6,9} (?:IP6? |ARP, |[0-9a-fA-F]{1,2}(?::[0-9a-fA-F]{1,2}){5}\s*>|[A-Za-z][\w.@-]*\s+(?:In|Out|B|M|P)\s|\s?(?:In|Out) [0-9a-fA-F]{2}:)`)
	headerSniffRe = regexp.MustCompile(`(?m)^(?:tcpdump: )?listening on \S+, link-type `)
)

// Formats is what this package reads: tcpdump's text output.
func Formats() []format.Format {
	return []format.Format{{
		Name:     "tcpdump",
		MaxBytes: format.LargeOutput,
		Commands: format.Patterns(`^tcpdump\b`),
		Files:    format.Patterns(`(?i)^tcpdump` + format.FileTail),
		Sniff:    Sniff,
		Apply:    format.LimitedProblems(apply),
	}}
}

// Sniff reports whether head looks like tcpdump output.
func Sniff(head string) bool {
	return headerSniffRe.MatchString(head) || len(packetSniffRe.FindAllStringIndex(head, 2)) == 2 ||
		len(format.FirstLines(head, 2)) == 1 && packetSniffRe.MatchString(head)
}

func apply(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	frames, probs := Parse(doc)
	if len(frames) == 0 && writesFile(doc.Command) {
		// tcpdump -w FILE prints only its header: the packets are in the file.
		return probs
	}
	h.Frames = append(h.Frames, frames...)
	ref := format.BlockRef(doc)
	if len(frames) > 0 {
		ref = frames[0].Ref
	}
	h.MarkSeen(evidence.KindFrames, ref)
	return probs
}

// writesFile reports whether a tcpdump command line saves to a file (-w
// FILE, -wFILE, or -w ending a group of flags such as -nnw FILE).
func writesFile(cmd string) bool {
	for _, f := range strings.Fields(cmd) {
		if len(f) >= 2 && f[0] == '-' && f[1] != '-' && strings.Contains(f, "w") {
			return true
		}
	}
	return false
}
