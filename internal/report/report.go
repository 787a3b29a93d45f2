// Package report renders a diagnosis for people (a terminal, a ticket) and
// for programs (the lvsdoctor/v1 JSON contract). All formats say the same
// things in the same order: root cause first.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/printable"
)

// Formats lists what Write accepts.
var Formats = []string{"text", "json", "yaml", "markdown", "html"}

// Options tune the human formats.
type Options struct {
	Color bool // ANSI colour on a terminal
	// MaxEvidence caps evidence lines per finding in text form (0: 8).
	MaxEvidence int
	// Verbose lists every input problem rather than a count, every note,
	// and each consequence in full.
	Verbose bool
	// Width is the terminal's width in columns, prose is wrapped to it
	// (0: 80).
	Width int
}

// esc makes one input-derived field safe for the human formats. The text
// and Markdown renderers call it on every string they did not write
// themselves (host and file names, evidence lines, and titles, notes and
// fixes, which rules build from them), field by field as it is written:
// the template's own newlines and colours stay, an input's cannot get in.
// JSON and YAML are left alone: their encoders escape, and programs need
// the exact bytes.
func esc(s string) string { return printable.String(s) }

// Write renders d in the named format.
func Write(w io.Writer, format string, d *diagnosis.Diagnosis, o Options) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(d)
	case "yaml":
		// Through JSON so that YAML keys are the contract's names.
		b, err := json.Marshal(d)
		if err != nil {
			return err
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		return enc.Encode(v)
	case "markdown", "md":
		return writeMarkdown(w, d)
	case "html":
		return writeHTML(w, d)
	case "text", "":
		return writeText(w, d, o)
	}
	return fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}

// painter styles the text report for the terminal it goes to: colour
// (ANSI, only on a terminal and without NO_COLOR) and the width prose is
// wrapped to.
type painter struct {
	on    bool
	width int
}

func newPainter(o Options) painter { return painter{on: o.Color, width: o.textWidth()} }

// textWidth is the width to wrap prose to: the terminal's, 80 when not
// known; never so narrow that a sentence becomes a column of words.
func (o Options) textWidth() int {
	switch {
	case o.Width <= 0:
		return 80
	case o.Width < minWidth:
		return minWidth
	}
	return o.Width
}

// minWidth is the narrowest the text report wraps to.
const minWidth = 40

// wrapAt is the width of prose indented by indent columns.
func (p painter) wrapAt(indent int) int { return max(p.width-indent-1, minWidth-indent) }

func (p painter) c(code, s string) string {
	if !p.on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (p painter) sev(s diagnosis.Severity) string {
	label := esc(strings.ToUpper(string(s)))
	switch s {
	case diagnosis.Critical:
		return p.c("1;31", label)
	case diagnosis.Warning:
		return p.c("1;33", label)
	}
	return p.c("36", label)
}

// findingGroup is a root cause with the findings it explains.
type findingGroup struct {
	lead         diagnosis.Finding
	consequences []diagnosis.Finding
}

// groupFindings groups findings as every human format shows them: each
// root cause with its consequences under it, in the diagnosis's order; a
// finding whose causes are not among the findings stands on its own.
func groupFindings(fs []diagnosis.Finding) []findingGroup {
	var groups []findingGroup
	at := map[string]int{}
	isLead := func(f diagnosis.Finding) bool { return f.RootCause || len(f.CausedBy) == 0 }
	for _, f := range fs {
		if isLead(f) {
			if _, ok := at[f.Key()]; !ok {
				at[f.Key()] = len(groups)
				groups = append(groups, findingGroup{lead: f})
			}
		}
	}
	for _, f := range fs {
		if isLead(f) {
			continue
		}
		placed := false
		for _, k := range f.CausedBy {
			if i, ok := at[k]; ok {
				groups[i].consequences = append(groups[i].consequences, f)
				placed = true
			}
		}
		if !placed {
			at[f.Key()] = len(groups)
			groups = append(groups, findingGroup{lead: f})
		}
	}
	return groups
}

func writeText(w io.Writer, d *diagnosis.Diagnosis, o Options) error {
	p := newPainter(o)
	maxEv := o.MaxEvidence
	if maxEv == 0 {
		maxEv = 8
	}
	var b strings.Builder
	// Line 1 is the answer: the root cause, where, and why in one line;
	// without findings, what the verdict rests on.
	fmt.Fprintf(&b, "%s %s\n", p.c("1", "lvsdoctor:"), p.c("1", esc(Headline(d))))
	fmt.Fprintf(&b, "service: %s\n", esc(serviceLine(d)))
	var hosts []string
	for _, h := range d.Hosts {
		hosts = append(hosts, esc(h.Name)+" ("+esc(h.Role)+")")
	}
	if len(hosts) > 0 {
		fmt.Fprintf(&b, "hosts: %s\n", strings.Join(hosts, ", "))
	}
	if a := AddressesLine(d); a != "" {
		for i, l := range wrap(esc(a), p.wrapAt(2)) {
			if i == 0 {
				fmt.Fprintf(&b, "%s\n", l)
			} else {
				fmt.Fprintf(&b, "  %s\n", l)
			}
		}
	}
	if c := ClockLine(d.Clock); c != "" {
		for i, l := range wrap(esc(c), p.wrapAt(2)) {
			if i == 0 {
				fmt.Fprintf(&b, "%s\n", l)
			} else {
				fmt.Fprintf(&b, "  %s\n", l)
			}
		}
	}
	b.WriteString("\n")
	timeline := d.PacketPath
	if len(d.Findings) == 0 {
		writeCaseTimeline(&b, p, timeline)
	}
	groups := groupFindings(d.Findings)
	critical := slices.ContainsFunc(groups, func(g findingGroup) bool { return g.lead.Severity == diagnosis.Critical })
	said := ""
	for i, g := range groups {
		// The critical root causes lead under ROOT CAUSE; the findings
		// that explain nothing critical follow under one heading.
		heading := "ROOT CAUSE"
		switch {
		case g.lead.Severity == diagnosis.Critical:
		case critical:
			heading = "ALSO FOUND"
		default:
			heading = "FOUND (nothing critical)"
		}
		if heading != said {
			b.WriteString(p.c("1", heading) + "\n")
			said = heading
		}
		f := g.lead
		fmt.Fprintf(&b, "%d. [%s] %s on %s\n", i+1, p.sev(f.Severity), p.c("1", esc(f.ID)), esc(f.Host))
		fmt.Fprintf(&b, "   %s\n", esc(f.Title))
		if f.SeverityFrom != "" {
			fmt.Fprintf(&b, "   %s\n", esc(f.SeverityFrom))
		}
		if len(f.CausedBy) > 0 {
			fmt.Fprintf(&b, "   consequence of: %s\n", esc(strings.Join(f.CausedBy, ", ")))
		}
		if f.Explanation != "" {
			for _, l := range wrap(esc(f.Explanation), p.wrapAt(3)) {
				fmt.Fprintf(&b, "   %s\n", l)
			}
		}
		writeEvidence(&b, p, "   ", f.Evidence, maxEv)
		if len(f.Fix) > 0 {
			b.WriteString("   fix:\n")
			for _, x := range f.Fix {
				fmt.Fprintf(&b, "     %s\n", p.c("32", esc(x)))
			}
		}
		for _, c := range g.consequences {
			writeConsequence(&b, p, c, o.Verbose, maxEv)
		}
		b.WriteString("\n")
		if i == 0 {
			writeCaseTimeline(&b, p, timeline)
		}
	}
	writeNextSteps(&b, p, d.NextSteps)
	if o.Verbose {
		writeNotes(&b, p, otherNotes(d))
	} else if n := len(otherNotes(d)); n > 0 {
		fmt.Fprintf(&b, "%d more %s: -v\n\n", n, plural(n, "note", "notes"))
	}
	writeProblems(&b, p, d.Problems, "evidence", o.Verbose)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeEvidence prints up to max evidence lines, the deciding one first.
func writeEvidence(b *strings.Builder, p painter, indent string, refs []evidence.Ref, max int) {
	if len(refs) == 0 {
		return
	}
	b.WriteString(indent + "evidence:\n")
	for j, e := range refs {
		if j == max {
			fmt.Fprintf(b, "%s  … %d more (use -o json for all)\n", indent, len(refs)-max)
			break
		}
		fmt.Fprintf(b, "%s  %s  %s\n", indent, p.c("2", esc(refLoc(e))), esc(e.Text))
	}
}

// writeConsequence prints a finding under the root cause that explains
// it: what it is and the line that shows it, not a cause of its own (its
// severity is its cause's). With -v, all of it.
func writeConsequence(b *strings.Builder, p painter, f diagnosis.Finding, verbose bool, maxEv int) {
	fmt.Fprintf(b, "   %s %s on %s: %s\n", p.c("1", "→ consequence"), p.c("1", esc(f.ID)), esc(f.Host), esc(f.Title))
	if !verbose {
		writeEvidence(b, p, "       ", f.Evidence, min(2, maxEv))
		return
	}
	if f.Explanation != "" {
		for _, l := range wrap(esc(f.Explanation), p.wrapAt(7)) {
			fmt.Fprintf(b, "       %s\n", l)
		}
	}
	writeEvidence(b, p, "       ", f.Evidence, maxEv)
	if len(f.Fix) > 0 {
		b.WriteString("       fix:\n")
		for _, x := range f.Fix {
			fmt.Fprintf(b, "         %s\n", p.c("32", esc(x)))
		}
	}
}

// writeNextSteps prints the commands that would settle most of what is
// left open, each runnable as printed.
func writeNextSteps(b *strings.Builder, p painter, steps []diagnosis.NextStep) {
	if len(steps) == 0 {
		return
	}
	b.WriteString(p.c("1", "NEXT STEPS") + " (what would settle the checks that could not run)\n")
	for i, s := range steps {
		when := ""
		if s.When != "" {
			when = ", " + s.When
		}
		fmt.Fprintf(b, "%d. on %s%s:\n", i+1, esc(s.On), esc(when))
		fmt.Fprintf(b, "     %s\n", p.c("32", esc(s.Command)))
		for _, l := range wrap(esc(s.Why), p.wrapAt(5)) {
			fmt.Fprintf(b, "     %s\n", l)
		}
	}
	b.WriteString("\n")
}

// otherNotes are the notes that are not next steps shown already.
func otherNotes(d *diagnosis.Diagnosis) []string {
	shown := map[string]bool{}
	for _, s := range d.NextSteps {
		shown[s.Note()] = true
	}
	var out []string
	for _, n := range d.Notes {
		if !shown[n] {
			out = append(out, n)
		}
	}
	return out
}

// upperFirst capitalises the first letter of a sentence.
func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// writeNotes prints the notes, wrapped, as a list.
func writeNotes(b *strings.Builder, p painter, notes []string) {
	if len(notes) == 0 {
		return
	}
	b.WriteString(p.c("1", "NOTES") + "\n")
	for _, n := range notes {
		// Escaped before wrapping: a newline in a note is an input's
		// (no rule writes one) and must not start a line.
		for i, l := range wrap(esc(n), p.wrapAt(3)) {
			if i == 0 {
				fmt.Fprintf(b, " - %s\n", l)
			} else {
				fmt.Fprintf(b, "   %s\n", l)
			}
		}
	}
	b.WriteString("\n")
}

// writeProblems prints the input problems, ten unless verbose; what names
// the input the rest of which was used ("evidence", "captures").
func writeProblems(b *strings.Builder, p painter, probs []evidence.Problem, what string, verbose bool) {
	if len(probs) == 0 {
		return
	}
	b.WriteString(p.c("1", "INPUT PROBLEMS") + " (the rest of the " + what + " was used)\n")
	for i, pr := range probs {
		if i == 10 && !verbose {
			fmt.Fprintf(b, " … %d more (use -v to list all)\n", len(probs)-10)
			break
		}
		fmt.Fprintf(b, " - %s\n", esc(pr.String()))
	}
}

func serviceLine(d *diagnosis.Diagnosis) string {
	s := d.Service
	if s.VIP == "" {
		return "service unknown"
	}
	out := s.VIP
	if s.Port != 0 {
		out = fmt.Sprintf("%s:%d", s.VIP, s.Port)
		if strings.Contains(s.VIP, ":") {
			out = fmt.Sprintf("[%s]:%d", s.VIP, s.Port) // IPv6, as ipvsadm prints it
		}
	}
	if s.Proto != "" {
		out = s.Proto + " " + out
	}
	if s.Mode != "" {
		out += " (" + strings.ToUpper(s.Mode) + ")"
	}
	return out
}

func refLoc(r evidence.Ref) string {
	if r.Line > 0 {
		return fmt.Sprintf("%s:%d", r.Source, r.Line)
	}
	return r.Source
}

// wrap breaks s into lines of at most width runes at spaces.
func wrap(s string, width int) []string {
	var out []string
	for _, para := range strings.Split(s, "\n") {
		words := strings.Fields(para)
		line := ""
		for _, w := range words {
			if line != "" && len([]rune(line))+1+len([]rune(w)) > width {
				out = append(out, line)
				line = w
				continue
			}
			if line == "" {
				line = w
			} else {
				line += " " + w
			}
		}
		if line != "" {
			out = append(out, line)
		}
	}
	return out
}

func writeMarkdown(w io.Writer, d *diagnosis.Diagnosis) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## lvsdoctor: %s\n\n", mdText(Headline(d)))
	fmt.Fprintf(&b, "Service: %s\n\n", mdText(serviceLine(d)))
	if c := ClockLine(d.Clock); c != "" {
		b.WriteString(mdText(upperFirst(c)) + "\n\n")
	}
	if len(d.Hosts) > 0 {
		b.WriteString("| host | role |\n|---|---|\n")
		for _, h := range d.Hosts {
			fmt.Fprintf(&b, "| %s | %s |\n", mdPlain(h.Name), mdPlain(h.Role))
		}
		b.WriteString("\n")
	}
	if len(d.Findings) == 0 {
		b.WriteString("**" + mdText(Verdict(d)) + "**\n\n")
		writeMarkdownPath(&b, d)
	}
	for i, g := range groupFindings(d.Findings) {
		f := g.lead
		fmt.Fprintf(&b, "### %d. %s (%s) on %s\n\n", i+1, mdCode(f.ID), mdPlain(string(f.Severity)), mdPlain(f.Host))
		fmt.Fprintf(&b, "**%s**\n\n", mdText(f.Title))
		if f.SeverityFrom != "" {
			b.WriteString(mdText(f.SeverityFrom) + "\n\n")
		}
		if len(f.CausedBy) > 0 {
			fmt.Fprintf(&b, "Consequence of: %s\n\n", mdText(strings.Join(f.CausedBy, ", ")))
		}
		if f.Explanation != "" {
			b.WriteString(mdText(f.Explanation) + "\n\n")
		}
		writeMarkdownEvidence(&b, f.Evidence)
		if len(f.Fix) > 0 {
			var fix []string
			for _, x := range f.Fix {
				fix = append(fix, esc(x))
			}
			b.WriteString("Fix:\n\n")
			mdBlock(&b, "sh", fix)
		}
		for _, c := range g.consequences {
			fmt.Fprintf(&b, "#### Consequence: %s on %s\n\n", mdCode(c.ID), mdPlain(c.Host))
			fmt.Fprintf(&b, "%s\n\n", mdText(c.Title))
			writeMarkdownEvidence(&b, c.Evidence)
		}
		if i == 0 {
			writeMarkdownPath(&b, d)
		}
	}
	if len(d.NextSteps) > 0 {
		b.WriteString("### Next steps\n\n")
		for i, s := range d.NextSteps {
			when := ""
			if s.When != "" {
				when = ", " + s.When
			}
			fmt.Fprintf(&b, "%d. On %s%s: %s\n\n", i+1, mdPlain(s.On), mdText(when), mdText(s.Why))
			mdBlock(&b, "sh", []string{esc(s.Command)})
		}
	}
	if notes := otherNotes(d); len(notes) > 0 {
		b.WriteString("### Notes\n\n")
		for _, n := range notes {
			fmt.Fprintf(&b, "- %s\n", mdText(n))
		}
		b.WriteString("\n")
	}
	if len(d.Problems) > 0 {
		b.WriteString("### Input problems\n\n")
		for _, p := range d.Problems {
			fmt.Fprintf(&b, "- %s\n", mdText(p.String()))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeMarkdownEvidence writes evidence lines as a code block, the
// deciding line first.
func writeMarkdownEvidence(b *strings.Builder, refs []evidence.Ref) {
	var ev []string
	for _, e := range refs {
		ev = append(ev, esc(refLoc(e))+"  "+esc(e.Text))
	}
	b.WriteString("Evidence:\n\n")
	mdBlock(b, "", ev)
}

// mdBlock writes lines (escaped already) as a fenced code block. The fence
// is longer than any backtick run in them, so no line can close it: inside,
// the lines are shown as they are, HTML and all, and never rendered.
func mdBlock(b *strings.Builder, info string, lines []string) {
	fence := strings.Repeat("`", max(3, longestRun(strings.Join(lines, "\n"), '`')+1))
	b.WriteString(fence + info + "\n")
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	b.WriteString(fence + "\n\n")
}

// mdCode writes s as one code span, its delimiters longer than any
// backtick run in it.
func mdCode(s string) string {
	s = esc(s)
	tick := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return tick + s + tick
}

func longestRun(s string, c byte) int {
	best, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	return best
}

// mdPlain escapes s for a table cell or a heading: nothing in it is
// markup. Besides what mdText escapes, backticks (a code span would keep
// a | from being escaped in a cell) and # (a trailing run of them closes
// a heading and is dropped).
func mdPlain(s string) string {
	return mdPunct(esc(s), true)
}

// mdText escapes s for running text, keeping the code spans it holds:
// rules quote commands as `ipvsadm -Ln`. A code span's content is shown
// literally, so it needs no escaping; outside spans, HTML (< > &), links
// ([ ]), table cells (|) and backslashes (which would undo an escape)
// are escaped. Emphasis characters (* _ ~) are left: they can only change
// the style, and escaping them would clutter every sysctl name.
func mdText(s string) string {
	s = esc(s)
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '`' {
			j := strings.IndexByte(s[i:], '`')
			if j < 0 {
				j = len(s) - i
			}
			b.WriteString(mdPunct(s[i:i+j], false))
			i += j
			continue
		}
		// A backtick string opens a code span closed by the next string
		// of the same length, as CommonMark reads it; unclosed, it is
		// literal text.
		n := runAt(s, i)
		if end := closingRun(s, i+n, n); end >= 0 {
			b.WriteString(s[i:end])
			i = end
			continue
		}
		b.WriteString(strings.Repeat("\\`", n))
		i += n
	}
	return b.String()
}

// runAt is the length of the backtick string at s[i].
func runAt(s string, i int) int {
	n := 0
	for i+n < len(s) && s[i+n] == '`' {
		n++
	}
	return n
}

// closingRun is the end of the first backtick string of length n at or
// after from, or -1.
func closingRun(s string, from, n int) int {
	for i := from; i < len(s); {
		if s[i] != '`' {
			i++
			continue
		}
		m := runAt(s, i)
		if m == n {
			return i + m
		}
		i += m
	}
	return -1
}

var (
	mdTextPunct  = strings.NewReplacer("\\", "\\\\", "[", "\\[", "]", "\\]", "|", "\\|", "<", "&lt;", ">", "&gt;", "&", "&amp;")
	mdPlainPunct = strings.NewReplacer("\\", "\\\\", "[", "\\[", "]", "\\]", "|", "\\|", "<", "&lt;", ">", "&gt;", "&", "&amp;", "`", "\\`", "#", "\\#")
)

func mdPunct(s string, plain bool) string {
	if plain {
		return mdPlainPunct.Replace(s)
	}
	return mdTextPunct.Replace(s)
}

// Verdict says in one line what a diagnosis without findings rests on:
// never a clean bill of health for evidence that was not understood.
func Verdict(d *diagnosis.Diagnosis) string {
	cv := d.Coverage
	mode := strings.ToUpper(d.Service.Mode)
	if mode == "" {
		mode = "any mode"
	}
	read := fmt.Sprintf("%d of %d blocks of input understood", cv.Understood, cv.Blocks)
	switch cv.Verdict {
	case diagnosis.VerdictNothingUsable:
		return fmt.Sprintf("NOTHING USABLE: no block of the input (%d) is evidence lvsdoctor understands (see INPUT PROBLEMS); "+
			"give the output of ipvsadm -Ln, ip addr, sysctl -a or keepalived.conf from the director and real servers", cv.Blocks)
	case diagnosis.VerdictNoService:
		return "NO CONCLUSION: no virtual service could be identified (" + read + "); give --vip VIP:PORT, " +
			"or add ipvsadm -Ln or keepalived.conf from a director"
	case diagnosis.VerdictPartial:
		return fmt.Sprintf("No cause found, but only %d of the %d checks for %s could run on what was given (%s): "+
			"the NOTES say what would settle the others", cv.ChecksRun, cv.Checks, mode, read)
	}
	return fmt.Sprintf("No problem found: %d of the %d checks for %s ran (%s)", cv.ChecksRun, cv.Checks, mode, read)
}

// AddressesLine says what the hidden addresses of the input (x.y.z.208,
// <public-ip>) were read as, which the service line and the findings show
// in their place; "" when none were hidden.
func AddressesLine(d *diagnosis.Diagnosis) string {
	var read []string
	for _, n := range d.Notes {
		_, rest, ok := strings.Cut(n, evidence.AnonymisedNote+" (")
		if !ok {
			continue
		}
		if list, _, ok := strings.Cut(rest, "); "); ok {
			read = append(read, list)
		}
	}
	if len(read) == 0 {
		return ""
	}
	return "addresses hidden in the input: " + strings.Join(read, ", ")
}

// ClockLine says in one line the zone every time of the report is in and
// what it rests on (the JSON's clock.basis says it at length); "" when
// the report shows no time.
func ClockLine(c *diagnosis.Clock) string {
	if c == nil {
		return ""
	}
	s := "times: " + c.Zone
	switch {
	case c.From != nil:
		s += ", " + c.From.Host + "'s local time (its tcpdump printout of a capture)"
	case c.Zone == "as printed":
		s += ", each host's local time (no zone in the evidence)"
	default:
		s += " (as captures keep them)"
	}
	if len(c.LogsAssumed) > 0 {
		s += "; " + strings.Join(c.LogsAssumed, ", ") + "'s log times assumed in it (no zone in " + plural(len(c.LogsAssumed), "its", "their") + " evidence)"
	}
	if c.Note != "" {
		s += "; " + c.Note
	}
	return s
}

// Headline is the one-line answer of a diagnosis: its leading root cause
// (ID, host, title), or the verdict when nothing was found.
func Headline(d *diagnosis.Diagnosis) string {
	if len(d.Findings) == 0 {
		return Verdict(d)
	}
	f := d.Findings[0]
	what := "ROOT CAUSE"
	if f.Severity != diagnosis.Critical {
		what = strings.ToUpper(string(f.Severity))
	}
	return fmt.Sprintf("%s %s on %s: %s", what, f.ID, f.Host, f.Title)
}
