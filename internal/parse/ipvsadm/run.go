package ipvsadm

import (
	"slices"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// RunFolder counts a run of connection-table lines into groups as they
// are read, keeping no line's text but each group's first: the reader of
// a large file (intake) hands it every line, and the lines it takes stand
// in the document as one evidence.ConnRun. It takes only the lines
// ParseConns's fast path reads (scanFast: numeric IPv4, ipvsadm's six
// columns, a known state, an expiry of digits and colons), and blank
// lines within the run; so merging the run gives what reading its lines
// one by one gives. Goroutines reading a large text ahead (speculation)
// use it too.
type RunFolder struct {
	byText map[string]*runColumns
	byKey  map[connKey]*runGroup
	groups []*runGroup
	lines  int
	conns  int
	full   bool // the bounds on columns or groups were met: take no more
}

// runColumns is one text of the virtual and destination columns.
type runColumns struct {
	v, d   uint64
	groups [len(protoNames)][2]*runGroup
}

// runGroup is a group as one run saw it.
type runGroup struct {
	key   connKey
	proto uint8
	line  int    // its first line, counted from the run's
	text  string // and that line's text
	n     int
	known [len(knownStates)]int
	// unanswered: SYN_RECV entries, their lines counted from the run's
	unanswered []evidence.ConnEntry
}

// NewRunFolder returns an empty run.
func NewRunFolder() *RunFolder {
	return &RunFolder{byText: map[string]*runColumns{}, byKey: map[connKey]*runGroup{}}
}

// Lines is the number of lines taken so far.
func (f *RunFolder) Lines() int { return f.lines }

// Take counts line into the run, or returns false when the run cannot
// hold it (it is read the general way). The line may be a slice of a
// buffer the caller reuses: what is kept is copied.
func (f *RunFolder) Take(line string) bool {
	if skipBlank(line, 0) == len(line) {
		f.lines++
		return true
	}
	if f.full {
		return false
	}
	l, ok := scanFast(line)
	si := stateIndex(l.state)
	if !ok || si < 0 || !l.clock {
		return false
	}
	c := f.byText[l.cols]
	if c == nil {
		v, d, ok := readColumns(l.cols)
		if !ok {
			return false
		}
		if len(f.byText) >= maxColumns {
			f.full = true
			return false
		}
		c = &runColumns{v: v, d: d}
		f.byText[strings.Clone(l.cols)] = c
	}
	g := c.groups[l.proto][l.tmpl]
	if g == nil {
		k := l.key(v4(c.v), v4(c.d))
		if g = f.byKey[k]; g == nil {
			if len(f.groups) >= maxConnGroups {
				f.full = true
				return false
			}
			g = &runGroup{key: k, proto: l.proto, line: f.lines, text: strings.Clone(line)}
			f.byKey[k] = g
			f.groups = append(f.groups, g)
		}
		c.groups[l.proto][l.tmpl] = g
	}
	g.n++
	g.known[si]++
	if l.state == "SYN_RECV" && len(g.unanswered) < evidence.MaxUnanswered {
		if c, ok := clientOf(line); ok {
			g.unanswered = append(g.unanswered, evidence.ConnEntry{Client: c, Ref: evidence.Ref{Line: f.lines, Text: strings.Clone(line)}})
		}
	}
	f.conns++
	f.lines++
	return true
}

// Run is what the run counted, as evidence.
func (f *RunFolder) Run() *evidence.ConnRun {
	run := &evidence.ConnRun{Lines: f.lines, Conns: f.conns}
	for _, g := range f.groups {
		states := make(map[string]int, 2)
		for si, n := range g.known {
			if n > 0 {
				states[knownStates[si]] = n
			}
		}
		run.Groups = append(run.Groups, &evidence.ConnGroup{
			Proto: protoNames[g.proto], Virtual: g.key.v, Dest: g.key.d, Template: g.key.tmpl,
			States: states, Count: g.n, First: evidence.Ref{Line: g.line, Text: g.text},
			Unanswered: slices.Clone(g.unanswered),
		})
	}
	return run
}

// merge adds a run to the table; the run's first line is line i of the
// document.
func (t *connTable) merge(run *evidence.ConnRun, i int) {
	t.ipvs.TotalConns += run.Conns
	for _, g := range run.Groups {
		acc := t.group(connKey{g.Virtual, g.Dest, protoID(g.Proto), g.Template}, g.Proto, i+g.First.Line, g.First.Text)
		if acc == nil {
			t.dropped += g.Count - 1 // group counted the first
			continue
		}
		acc.g.Count += g.Count
		for _, u := range g.Unanswered {
			if len(acc.g.Unanswered) < evidence.MaxUnanswered {
				acc.g.Unanswered = append(acc.g.Unanswered, evidence.ConnEntry{Client: u.Client, Ref: t.doc.Ref(i+u.Ref.Line, u.Ref.Text)})
			}
		}
		for st, n := range g.States {
			if si := stateIndex(st); si >= 0 {
				acc.known[si] += n
			} else {
				acc.count(st) // not made by a RunFolder
			}
		}
	}
}

// IsRunLine reports whether a RunFolder takes line (a blank line aside).
func IsRunLine(line string) bool {
	l, ok := scanFast(line)
	if !ok || stateIndex(l.state) < 0 || !l.clock {
		return false
	}
	_, _, ok = readColumns(l.cols)
	return ok
}

// Absorb adds what o counted, the run's next lines, to f: what taking
// them one by one would have given. False (and f unchanged) when f could
// not hold o's groups; the lines are then to be taken one by one.
func (f *RunFolder) Absorb(o *RunFolder) bool {
	if f.full {
		return false
	}
	added := 0
	for _, g := range o.groups {
		if f.byKey[g.key] == nil {
			added++
		}
	}
	if len(f.groups)+added > maxConnGroups {
		return false
	}
	for _, g := range o.groups {
		if mine := f.byKey[g.key]; mine != nil {
			mine.n += g.n
			for si, n := range g.known {
				mine.known[si] += n
			}
			for _, u := range g.unanswered {
				if len(mine.unanswered) < evidence.MaxUnanswered {
					u.Ref.Line += f.lines
					mine.unanswered = append(mine.unanswered, u)
				}
			}
			continue
		}
		ng := *g
		ng.line += f.lines
		ng.unanswered = nil
		for _, u := range g.unanswered {
			u.Ref.Line += f.lines
			ng.unanswered = append(ng.unanswered, u)
		}
		f.byKey[g.key] = &ng
		f.groups = append(f.groups, &ng)
	}
	f.lines += o.lines
	f.conns += o.conns
	return true
}
