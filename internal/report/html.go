package report

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
)

// The HTML report is one file to attach to a ticket: it must open
// offline, load nothing and run nothing. So the style is inline, the
// diagram is inline SVG drawn here, there is no script, and the
// Content-Security-Policy forbids every load (default-src 'none') but
// the one style element, by its hash: a string of the evidence that got
// past the escaping still could not fetch or run anything.

//go:embed html.tmpl
var htmlSource string

//go:embed html.css
var htmlCSS string

var htmlTemplate = template.Must(template.New("report").Parse(htmlSource))

// htmlCSP is the page's policy: nothing from anywhere, the style by hash.
var htmlCSP = func() string {
	sum := sha256.Sum256([]byte(htmlCSS))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; " +
		"img-src 'none'; font-src 'none'; connect-src 'none'; script-src 'none'; object-src 'none'; " +
		"frame-src 'none'; base-uri 'none'; form-action 'none'"
}()

// htmlPage is what the template shows; every string in it was made
// printable (esc), and html/template escapes it for where it goes.
type htmlPage struct {
	CSP, Title    string
	CSS           template.CSS
	Class         string // the verdict's colour
	Headline      string
	Service       string
	Hosts         string
	Coverage      string
	Clock         string
	ModeWhy       string
	Diagrams      []htmlDiagram
	MoreFlows     int
	Roots         []htmlFinding
	Others        []htmlFinding
	Observations  []htmlFinding
	NextSteps     []htmlStep
	Notes         [][]htmlSpan
	Problems      []string
	Schema        string
	FindingsCount int
}

type htmlFinding struct {
	ID, Host, Severity, Title string
	SeverityFrom, CausedBy    string
	Explanation               []htmlSpan
	Evidence                  []htmlEvidence
	MoreEvidence              int
	Fix                       string
	Consequences              []htmlFinding
}

// htmlStep is a next step: where, when, the command, why.
type htmlStep struct {
	On, When, Command, Why string
}

type htmlEvidence struct {
	Loc, Text string
	Deciding  bool
}

type htmlDiagram struct {
	Title, Summary string
	Sketch         bool
	SVG            svgDiagram
	Hops           []htmlHop
}

type htmlHop struct {
	Step, Where, Source, State, Frames, Time, Rewrite, Detail, Mark string
	Causes                                                          []string
}

// maxHTMLEvidence caps the evidence lines of one finding (the JSON has
// them all).
const maxHTMLEvidence = 40

func writeHTML(w io.Writer, d *diagnosis.Diagnosis) error {
	p := htmlPage{
		CSP: htmlCSP, CSS: template.CSS(htmlCSS), Schema: esc(d.Schema),
		Headline: esc(Headline(d)), Service: esc(serviceLine(d)), FindingsCount: len(d.Findings),
	}
	p.Title = "lvsdoctor: " + p.Headline
	p.Class = verdictClass(d)
	var hosts []string
	for _, h := range d.Hosts {
		hosts = append(hosts, esc(h.Name)+" ("+esc(h.Role)+")")
	}
	p.Hosts = strings.Join(hosts, ", ")
	p.Clock = esc(ClockLine(d.Clock))
	cv := d.Coverage
	p.Coverage = fmt.Sprintf("%d of %d blocks of input understood; %d of the %d checks for the service's mode could run",
		cv.Understood, cv.Blocks, cv.ChecksRun, cv.Checks)
	if pp := d.PacketPath; pp != nil && pp.Service.Mode != "" && pp.Service.ModeWhy != "" {
		p.ModeWhy = esc(strings.ToUpper(pp.Service.Mode) + ": " + pp.Service.ModeWhy)
	}
	diagrams, more := pathDiagrams(d)
	p.MoreFlows = more
	for _, pd := range diagrams {
		p.Diagrams = append(p.Diagrams, htmlDiagramOf(pd))
	}
	p.Roots, p.Others = htmlFindings(d.Findings)
	if d.PacketPath != nil {
		for _, o := range d.PacketPath.Observations {
			p.Observations = append(p.Observations, htmlFindingOf(o))
		}
	}
	for _, s := range d.NextSteps {
		p.NextSteps = append(p.NextSteps, htmlStep{On: esc(s.On), When: esc(s.When), Command: esc(s.Command), Why: esc(s.Why)})
	}
	for _, n := range otherNotes(d) {
		p.Notes = append(p.Notes, spans(n))
	}
	for _, pr := range d.Problems {
		p.Problems = append(p.Problems, esc(pr.String()))
	}
	var b bytes.Buffer
	if err := htmlTemplate.Execute(&b, p); err != nil {
		return err
	}
	// Evidence may quote a URL (a curl line, a log): it is text, and
	// html/template keeps it text, but a file attached to a ticket should
	// not even look as if it referred to a network resource. An entity
	// reads the same in the browser.
	_, err := io.WriteString(w, strings.ReplaceAll(b.String(), "://", ":&#47;/"))
	return err
}

// htmlSpan is a piece of prose: plain text, or a command the rules
// quote in backticks, shown as code.
type htmlSpan struct {
	Text string
	Code bool
}

// spans splits s at its backtick code spans (as the rules write them:
// one backtick each side; an unclosed one stays text).
func spans(s string) []htmlSpan {
	s = esc(s)
	var out []htmlSpan
	for s != "" {
		i := strings.IndexByte(s, '`')
		j := -1
		if i >= 0 {
			j = strings.IndexByte(s[i+1:], '`')
		}
		if i < 0 || j < 0 {
			out = append(out, htmlSpan{Text: s})
			break
		}
		if i > 0 {
			out = append(out, htmlSpan{Text: s[:i]})
		}
		if j > 0 {
			out = append(out, htmlSpan{Text: s[i+1 : i+1+j], Code: true})
		}
		s = s[i+2+j:]
	}
	return out
}

// verdictClass colours the verdict: the leading finding's severity, ok
// for a clean bill, inconclusive for the rest.
func verdictClass(d *diagnosis.Diagnosis) string {
	if len(d.Findings) > 0 {
		return string(d.Findings[0].Severity)
	}
	if d.Coverage.Verdict == diagnosis.VerdictNoProblem {
		return "ok"
	}
	return "inconclusive"
}

// htmlFindings groups findings as the text report does: each root cause
// with its consequences under it; a finding whose causes are not among
// the findings goes with the others.
func htmlFindings(fs []diagnosis.Finding) (roots, others []htmlFinding) {
	rootKeys := map[string]int{}
	for _, f := range fs {
		if f.RootCause || len(f.CausedBy) == 0 {
			if _, ok := rootKeys[f.Key()]; !ok {
				rootKeys[f.Key()] = len(roots)
				roots = append(roots, htmlFindingOf(f))
			}
		}
	}
	for _, f := range fs {
		if f.RootCause || len(f.CausedBy) == 0 {
			continue
		}
		placed := false
		for _, k := range f.CausedBy {
			if i, ok := rootKeys[k]; ok {
				roots[i].Consequences = append(roots[i].Consequences, htmlFindingOf(f))
				placed = true
			}
		}
		if !placed {
			others = append(others, htmlFindingOf(f))
		}
	}
	return roots, others
}

func htmlFindingOf(f diagnosis.Finding) htmlFinding {
	h := htmlFinding{ID: esc(f.ID), Host: esc(f.Host), Severity: esc(string(f.Severity)), Title: esc(f.Title),
		SeverityFrom: esc(f.SeverityFrom), Explanation: spans(f.Explanation), CausedBy: esc(strings.Join(f.CausedBy, ", "))}
	for i, e := range f.Evidence {
		if i == maxHTMLEvidence {
			h.MoreEvidence = len(f.Evidence) - i
			break
		}
		h.Evidence = append(h.Evidence, htmlEvidence{Loc: esc(refLoc(e)), Text: esc(e.Text), Deciding: i == 0})
	}
	var fix []string
	for _, x := range f.Fix {
		fix = append(fix, esc(x))
	}
	h.Fix = strings.Join(fix, "\n")
	return h
}

func htmlDiagramOf(pd pathDiagram) htmlDiagram {
	hd := htmlDiagram{Title: esc(pd.Title), Summary: esc(pd.Summary), Sketch: pd.Sketch, SVG: layoutSVG(pd)}
	if pd.Sketch {
		return hd
	}
	for _, col := range pd.Columns {
		for _, n := range col {
			h := htmlHop{Step: esc(n.Step), Where: esc(hostRole(n)), Source: esc(n.Source), State: stateText(n),
				Frames: esc(n.Frames), Time: esc(n.Time), Rewrite: esc(n.Rewrite), Detail: esc(n.Detail), Mark: esc(n.Mark)}
			if n.LastSeen {
				h.Mark = strings.TrimPrefix(h.Mark+" · last seen", " · ")
			}
			for _, c := range n.Causes {
				h.Causes = append(h.Causes, esc(c.String()+": "+c.Title))
			}
			hd.Hops = append(hd.Hops, h)
		}
	}
	return hd
}

func hostRole(n pathNode) string {
	switch {
	case n.Host == "":
		return ""
	case n.Role == "" || n.Role == "unknown":
		return n.Host
	}
	return n.Host + " (" + n.Role + ")"
}

func stateText(n pathNode) string {
	switch n.State {
	case nodeSeen:
		return "✓ seen"
	case nodeNotSeen:
		return "✗ not seen"
	case nodeNoPacket:
		return "○ captured, no packet"
	case nodeBeyond:
		return "? no capture"
	}
	return "○ no capture"
}

// svgDiagram is a pathDiagram laid out: boxes, texts and arrows with
// their coordinates, for the template to draw.
type svgDiagram struct {
	W, H  int
	Label string // the SVG's accessible name
	Nodes []svgNode
	Edges []svgEdge
}

type svgNode struct {
	X, Y, W, H int
	BaseH      int // the box without its causes
	Class      string
	Tip        string // the whole text, shown on hover (SVG title)
	Texts      []svgText
	Badge      *svgBadge
	SepY, SepX int // the line above the causes (SepY 0: none), and its end
}

type svgText struct {
	X, Y        int
	Class, Text string
}

type svgBadge struct {
	X, Y, W, H int
	Text       svgText
}

type svgEdge struct {
	Points, Head     string // the line's and the arrowhead's points
	Class, HeadClass string
}

// Geometry of the diagram, in pixels.
const (
	svgNodeW   = 200
	svgBaseH   = 92 // a hop's box; a sketch's host box is as tall as its text
	svgColGap  = 40
	svgRowGap  = 30
	svgPad     = 14
	svgTop     = 24 // room above a box for "last seen" and its mark
	svgLine    = 15
	svgChars   = 29 // characters of 12px text that fit a box
	svgMono    = 29 // of 10.5px monospace
	svgSmall   = 33 // of 10.5px text
	svgCause   = 26 // of 11.5px bold
	svgPerRow  = 5  // hops on one row; a longer path goes on below
	causeLines = 3  // lines of a cause's title
)

// layoutSVG places the columns left to right, svgPerRow to a row (the
// arrow from a row's last hop goes round to the next row's first), each
// column's boxes one under the other, and an arrow from every box of a
// column to every box of the next.
func layoutSVG(pd pathDiagram) svgDiagram {
	sd := svgDiagram{Label: esc("packet path: " + pd.Title)}
	type placed struct{ x, y, mid int }
	var cols [][]placed
	rowY, rowBottom := svgTop, 0
	for c, col := range pd.Columns {
		if c > 0 && c%svgPerRow == 0 {
			rowY = rowBottom + svgRowGap + svgTop
		}
		x := svgPad + (c%svgPerRow)*(svgNodeW+svgColGap)
		y := rowY
		var pc []placed
		for _, n := range col {
			sn := nodeSVG(n, x, y, pd.Sketch)
			sd.Nodes = append(sd.Nodes, sn)
			pc = append(pc, placed{x, y, y + min(sn.BaseH, svgBaseH)/2})
			y += sn.H + svgRowGap
			rowBottom = max(rowBottom, sn.Y+sn.H)
		}
		cols = append(cols, pc)
	}
	for c := 0; c+1 < len(cols); c++ {
		wraps := (c+1)%svgPerRow == 0
		for _, a := range cols[c] {
			for bi, b := range cols[c+1] {
				kind := ""
				if pd.Sketch {
					kind = " sketch"
				} else if st := pd.Columns[c+1][bi].State; st == nodeNotSeen || st == nodeBeyond {
					kind = " lost"
				}
				x1, y1, x2, y2 := a.x+svgNodeW, a.mid, b.x-2, b.mid
				pts := fmt.Sprintf("%d,%d %d,%d", x1, y1, x2-8, y2)
				if wraps {
					// Round to the next row: right, down between the rows,
					// back left, down and into the first box.
					gapY := b.y - svgTop - svgRowGap/2
					pts = fmt.Sprintf("%d,%d %d,%d %d,%d %d,%d %d,%d %d,%d",
						x1, y1, x1+svgColGap/3, y1, x1+svgColGap/3, gapY, svgPad/3, gapY, svgPad/3, y2, x2-8, y2)
				}
				head := fmt.Sprintf("%d,%d %d,%d %d,%d", x2, y2, x2-9, y2-5, x2-9, y2+5)
				sd.Edges = append(sd.Edges, svgEdge{Points: pts, Class: "edge" + kind, HeadClass: "head" + kind, Head: head})
			}
		}
	}
	n := min(len(pd.Columns), svgPerRow)
	sd.W = svgPad*2 + n*svgNodeW + max(0, n-1)*svgColGap
	sd.H = rowBottom + svgPad
	return sd
}

// nodeSVG lays out one box: step, host, capture, state, what changed,
// then the causes found there.
func nodeSVG(n pathNode, x, y int, sketch bool) svgNode {
	sn := svgNode{X: x, Y: y, W: svgNodeW, Class: "node " + n.State}
	if n.Fault {
		sn.Class += " fault"
	}
	tx := x + 8
	line := y + 18
	add := func(class, s string, width int) {
		sn.Texts = append(sn.Texts, svgText{X: tx, Y: line, Class: class, Text: clip(esc(s), width)})
		line += svgLine
	}
	var tip []string
	if !sketch {
		for _, l := range wrapChars(esc(n.Step), svgChars-6, 2) { // room for the rewrite badge
			add("t-step", l, svgChars-5)
		}
		tip = append(tip, n.Step)
	}
	if hr := hostRole(n); hr != "" {
		cls := ""
		if sketch {
			cls = "t-step"
		}
		add(cls, hr, svgChars)
		tip = append(tip, hr)
	}
	if n.Source != "" {
		add("t-src", n.Source, svgMono)
		tip = append(tip, n.Source)
	}
	state := stateText(n)
	if n.Frames != "" {
		state += " " + n.Frames
	}
	stateClass := map[string]string{nodeSeen: "t-seen", nodeNotSeen: "t-not-seen"}[n.State]
	if stateClass == "" {
		stateClass = "t-muted"
	}
	add(stateClass, state, svgChars)
	tip = append(tip, state)
	if n.Detail != "" && !(sketch && n.State != nodeSeen) {
		add("t-detail", n.Detail, svgSmall)
		tip = append(tip, n.Detail)
	}
	base := line - y - 4
	if !sketch {
		base = max(svgBaseH, line-y-8) // hops of one row line up
	}
	sn.H, sn.BaseH = base, base
	if n.Rewrite != "" {
		w := 12 + 7*utf8.RuneCountInString(n.Rewrite)
		sn.Badge = &svgBadge{X: x + svgNodeW - w - 6, Y: y + 6, W: w, H: 16,
			Text: svgText{X: x + svgNodeW - w, Y: y + 18, Class: "t-badge", Text: esc(n.Rewrite)}}
		tip = append(tip, "rewrite: "+n.Rewrite)
	}
	var above []string
	if n.LastSeen {
		above = append(above, "last seen")
	}
	if n.Mark != "" {
		above = append(above, n.Mark)
	}
	if len(above) > 0 {
		cls := "t-flag"
		if n.Fault {
			cls = "t-mark"
		}
		sn.Texts = append(sn.Texts, svgText{X: x + 2, Y: y - 8, Class: cls, Text: esc(strings.Join(above, " · "))})
	}
	if len(n.Causes) > 0 {
		sn.SepY, sn.SepX = y+base, x+svgNodeW
		line = y + base + 16
		for _, c := range n.Causes {
			for _, l := range wrapChars(esc("cause: "+c.String()), svgCause, 3) {
				add("t-cause", l, svgCause)
			}
			for _, l := range wrapChars(esc(c.Title), svgSmall, causeLines) {
				add("t-cause-title", l, svgSmall+2)
			}
			tip = append(tip, "cause: "+c.String()+": "+c.Title)
			line += 4
		}
		sn.H = line - y - 6
	}
	sn.Tip = esc(strings.Join(tip, "\n"))
	return sn
}

// clip shortens s to n characters, marking the cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// wrapChars breaks s into at most lines lines of width characters, at
// spaces or after the punctuation cause IDs and paths are made of; the
// last line is clipped.
func wrapChars(s string, width, lines int) []string {
	var out []string
	r := []rune(s)
	for len(r) > 0 && len(out) < lines {
		if len(r) <= width {
			out = append(out, string(r))
			r = nil
			break
		}
		if len(out) == lines-1 {
			out = append(out, clip(string(r), width))
			r = nil
			break
		}
		cut := width
		for i := width; i > width/2; i-- {
			if r[i] == ' ' {
				cut = i
				break
			}
			if c := r[i-1]; c == '.' || c == '-' || c == '/' || c == ',' || c == ':' {
				cut = i
				break
			}
		}
		out = append(out, strings.TrimRight(string(r[:cut]), " "))
		r = []rune(strings.TrimLeft(string(r[cut:]), " "))
	}
	return out
}
