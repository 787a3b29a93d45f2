package evidence

import (
	"strconv"
	"strings"
)

// ConnRun is a run of connection-table lines (`ipvsadm -Lnc`) that the
// reader of a large file counted as it read them, so that their text was
// never held: a million-line table costs the memory of its groups, not of
// its 90 MB. The run stands in the document's text as one marker line
// (RunMarker); the table's parser merges it where the marker stands, as it
// would have counted the lines one by one.
type ConnRun struct {
	Lines int // the lines the run stands for, blank ones included
	Conns int
	// Groups in the order of their first line; each group's First.Line is
	// counted from the run's first line (0-based) and First.Text is that
	// line's text.
	Groups []*ConnGroup
}

// runMark opens a marker line. A NUL cannot be in the text of a case (the
// streaming reader replaces the NULs of a file), so a marker is never a
// line of the evidence itself.
const runMark = "\x00conn-run "

// RunMarker is the line that stands for the i-th run of a document, of n
// lines.
func RunMarker(i, n int) string {
	return runMark + strconv.Itoa(i) + " " + strconv.Itoa(n)
}

// ParseRunMarker reads a marker line: the run's index and its lines.
func ParseRunMarker(line string) (i, n int, ok bool) {
	rest, ok := strings.CutPrefix(line, runMark)
	if !ok {
		return 0, 0, false
	}
	a, b, ok := strings.Cut(strings.TrimSuffix(rest, "\r"), " ")
	if !ok {
		return 0, 0, false
	}
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || i < 0 || n < 1 {
		return 0, 0, false
	}
	return i, n, true
}

// Run returns the run a marker line of the document stands for.
func (d Doc) Run(line string) (*ConnRun, bool) {
	i, _, ok := ParseRunMarker(line)
	if !ok || i >= len(d.Runs) {
		return nil, false
	}
	return d.Runs[i], true
}
