package format

import (
	"fmt"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// Apply is what a Format does with a block.
type Apply = func(doc evidence.Doc, h *evidence.Host) []evidence.Problem

// Limited trims a markdown fence that closes output pasted into a ticket
// or wiki, and reports at most max problems of one block one by one, then
// one saying how many more "what" followed: prose pasted after an output
// would otherwise bury the report in a problem per line.
func Limited(apply Apply, max int, what string) Apply {
	return func(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
		if i := strings.Index(doc.Text, "```"); i >= 0 && (i == 0 || doc.Text[i-1] == '\n') {
			doc.Text = doc.Text[:i]
		}
		probs := apply(doc, h)
		if len(probs) <= max+1 {
			return probs
		}
		rest := probs[max]
		rest.Message = fmt.Sprintf("%d more %s (text pasted after the output?)", len(probs)-max, what)
		return append(probs[:max:max], rest)
	}
}

// BlockRef is the reference a whole block is cited by: its first line
// that is not blank, or the prompt line when the command printed nothing.
// The lines are walked, not split out: a block can be a million-line
// connection table.
func BlockRef(doc evidence.Doc) evidence.Ref {
	text, more := strings.TrimSuffix(doc.Text, "\n"), doc.Text != ""
	for i := 0; more; i++ {
		var l string
		l, text, more = strings.Cut(text, "\n")
		if l = strings.TrimSuffix(l, "\r"); strings.TrimSpace(l) != "" {
			r := doc.Ref(i, l)
			r.Text = strings.Clone(r.Text) // not the whole block kept alive by one line
			return r
		}
	}
	text = doc.Command
	if text == "" {
		text = "(empty output)"
	}
	r := doc.Ref(0, text)
	if doc.Command != "" && doc.Start > 1 {
		r.Line = doc.Start - 1 // the prompt line
	}
	return r
}

// Filtered reports whether the command's output went through a filter
// (grep, head, awk): what it printed is then only part of the table, and
// the absence of a fact in it proves nothing.
func Filtered(cmd string) bool { return strings.Contains(cmd, "|") }

// MarkComplete records the kinds on h, cited by the block, unless the
// output was Filtered.
func MarkComplete(h *evidence.Host, doc evidence.Doc, kinds ...evidence.Kind) {
	if Filtered(doc.Command) {
		return
	}
	for _, k := range kinds {
		h.MarkSeen(k, BlockRef(doc))
	}
}

// LimitedLines is Limited for tables of one fact a line (ip, ss, sysctl,
// counters): three lines not understood are reported one by one.
func LimitedLines(apply Apply) Apply { return Limited(apply, 3, "lines from here on not understood") }

// LimitedProblems is Limited for the system, kernel, libvirt and capture
// formats: twenty problems are reported one by one.
func LimitedProblems(apply Apply) Apply { return Limited(apply, 20, "problems from here on") }
