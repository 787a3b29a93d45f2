package format

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// TestBlockRef: the block's reference is its first line that is not
// blank, as doc.Lines() numbers them; with none, the prompt line.
func TestBlockRef(t *testing.T) {
	ref := func(doc evidence.Doc) evidence.Ref {
		for i, l := range doc.Lines() {
			if strings.TrimSpace(l) != "" {
				return doc.Ref(i, l)
			}
		}
		if doc.Command == "" {
			return evidence.Ref{Host: doc.Host, Source: doc.Source, Line: max(doc.Start, 1), Text: "(empty output)"}
		}
		return evidence.Ref{Host: doc.Host, Source: doc.Source, Line: max(doc.Start-1, 1), Text: doc.Command}
	}
	for _, text := range []string{"", "\n", "\n\n", " \r\n\t\nIPVS connection entries\r\nTCP 1\n", "a", "a\n", "\n\n  x  \n", "\r", "\r\n\r\n"} {
		for _, start := range []int{0, 1, 5} {
			for _, cmd := range []string{"ipvsadm -Lnc", ""} {
				doc := evidence.Doc{Host: "h", Source: "s", Start: start, Command: cmd, Text: text}
				if got, want := BlockRef(doc), ref(doc); got != want {
					t.Errorf("BlockRef(%q, start %d, command %q) = %+v, want %+v", text, start, cmd, got, want)
				}
			}
		}
	}
}

func TestLimited(t *testing.T) {
	apply := func(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
		var probs []evidence.Problem
		for i, l := range doc.Lines() {
			probs = append(probs, doc.Problemf(i, "not understood: %s", l))
		}
		return probs
	}
	doc := evidence.Doc{Source: "s", Start: 1, Text: "a\nb\nc\nd\ne\nf\n```\ng\n"}
	probs := LimitedLines(apply)(doc, evidence.NewHost("h"))
	var got []string
	for _, p := range probs {
		got = append(got, fmt.Sprintf("%d %s", p.Line, p.Message))
	}
	want := "1 not understood: a|2 not understood: b|3 not understood: c|4 3 more lines from here on not understood (text pasted after the output?)"
	if strings.Join(got, "|") != want {
		t.Errorf("got %q\nwant %q", strings.Join(got, "|"), want)
	}
	if probs := LimitedProblems(apply)(doc, evidence.NewHost("h")); len(probs) != 6 {
		t.Errorf("20 problems allowed, the fence ends the output: got %d", len(probs))
	}
}
