// Package evidence is the one typed model that every source of evidence
// (case directories, pasted transcripts, live collection, captures, kernel
// tracing) fills and every rule reads. Each fact carries a Ref back to the
// exact host, source file and line it came from, so a finding can always
// cite what it stands on.
package evidence

import (
	"fmt"
	"strings"
)

// Ref is the provenance of one fact: which host showed it, in which source
// (a path relative to the case root, or a live source such as "live:netlink"),
// at which 1-based line, with the text of that line.
type Ref struct {
	Host   string `json:"host"`
	Source string `json:"source"`
	// Line is 0 when the reference is to the whole source.
	Line int    `json:"line"`
	Text string `json:"text"`
}

func (r Ref) String() string {
	if r.Line > 0 {
		return fmt.Sprintf("%s:%d", r.Source, r.Line)
	}
	return r.Source
}

// IsZero reports whether r points nowhere.
func (r Ref) IsZero() bool { return r.Source == "" && r.Text == "" }

// maxRefText bounds the text kept per reference: a hostile file with a
// megabyte-long line must not be copied into every report.
const maxRefText = 400

// Doc is one block of text handed to a parser: a whole file, or one
// command's output cut out of a transcript. Start is the line number, in
// Source, of the first line of Text, so parsers can cite source lines
// without knowing where the block came from.
type Doc struct {
	Host    string
	Source  string
	Start   int
	Command string // the command line that produced Text, when known
	Text    string
	// Include resolves an include pattern (keepalived's `include`) to the
	// documents it names, as far as the source can: a case directory looks
	// the files up in the host's folder; a pasted transcript cannot. Nil
	// when includes cannot be resolved at all.
	Include func(pattern string) ([]Doc, error)
	// Runs are the connection-table runs the marker lines of Text stand
	// for (ConnRun), in the order of their index; nil for most documents.
	Runs []*ConnRun
}

// Lines splits the document into lines, without trailing carriage returns.
func (d Doc) Lines() []string {
	if d.Text == "" {
		return nil
	}
	lines := strings.Split(strings.TrimSuffix(d.Text, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// Ref returns the provenance of the i-th (0-based) line of the document.
func (d Doc) Ref(i int, text string) Ref {
	start := d.Start
	if start < 1 {
		start = 1
	}
	return Ref{Host: d.Host, Source: d.Source, Line: start + i, Text: clip(strings.TrimSpace(text))}
}

// Problemf records that line i (0-based) of the document could not be
// understood; the parser goes on with the rest.
func (d Doc) Problemf(i int, format string, args ...any) Problem {
	line := 0
	if i >= 0 {
		start := d.Start
		if start < 1 {
			start = 1
		}
		line = start + i
	}
	return Problem{Host: d.Host, Source: d.Source, Line: line, Message: fmt.Sprintf(format, args...)}
}

func clip(s string) string { return Clip(s, maxRefText) }

// Clip cuts s to at most n bytes, on a rune boundary (so that JSON and the
// terminal get valid UTF-8), marking the cut with an ellipsis: what every
// message quoting the evidence uses, so that a hostile megabyte-long line
// costs a report nothing.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// Problem is input that could not be used: a garbled line, an unknown file,
// a truncated capture. Problems are reported, never fatal.
type Problem struct {
	Host    string `json:"host,omitempty"`
	Source  string `json:"source"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.Source, p.Line, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.Source, p.Message)
}
