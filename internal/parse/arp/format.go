package arp

import (
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
)

var sniffARe = regexp.MustCompile(`^\S+ \([0-9a-fA-F.:]+\) at \S+`)

// Formats is what this package reads: arp -n (a table) and arp -a (BSD
// style lines).
func Formats() []format.Format {
	return []format.Format{{
		Name:     "arp",
		MaxBytes: format.LargeOutput,
		Commands: format.Patterns(`^arp(?:\s+(?:-[anve]+|-i\s+\S+|-H\s+\S+|--numeric|--all|--verbose|[0-9A-Za-z_][\w.:-]*))*\s*(?:\|.*)?$`),
		Files:    format.Patterns(`(?i)^arp` + format.FileTail),
		Sniff:    sniff,
		Apply:    format.LimitedLines(apply),
	}}
}

func sniff(head string) bool {
	first := format.FirstLine(head)
	if strings.HasPrefix(first, "Address") && strings.Contains(first, "HWtype") && strings.Contains(first, "HWaddress") {
		return true
	}
	return format.AllMatch(head, sniffARe)
}

func apply(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	n, probs := Parse(doc)
	h.Neighbors = append(h.Neighbors, n...)
	format.MarkComplete(h, doc, evidence.KindNeighbors)
	return probs
}
