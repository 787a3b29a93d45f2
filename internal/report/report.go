// Package report renders a diagnosis for people (a terminal, a ticket) and
// for programs (the lvsdoctor/v1 JSON contract). All formats say the same
// things in the same order: root cause first.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// Formats lists what Write accepts.
var Formats = []string{"text", "json", "yaml", "markdown"}

// Options tune the human formats.
type Options struct {
	Color bool // ANSI colour on a terminal
	// MaxEvidence caps evidence lines per finding in text form (0: 8).
	MaxEvidence int
	// Verbose lists every input problem rather than a count.
	Verbose bool
	// Case, when given, lets the text form show the packet path its
	// captures trace under the root cause (see timeline.go).
	Case *evidence.Case
}

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
	case "text", "":
		return writeText(w, d, o)
	}
	return fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}

type painter struct{ on bool }

func (p painter) c(code, s string) string {
	if !p.on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (p painter) sev(s diagnosis.Severity) string {
	label := strings.ToUpper(string(s))
	switch s {
	case diagnosis.Critical:
		return p.c("1;31", label)
	case diagnosis.Warning:
		return p.c("1;33", label)
	}
	return p.c("36", label)
}

func writeText(w io.Writer, d *diagnosis.Diagnosis, o Options) error {
	p := painter{o.Color}
	maxEv := o.MaxEvidence
	if maxEv == 0 {
		maxEv = 8
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", p.c("1", "lvsdoctor:"), serviceLine(d))
	var hosts []string
	for _, h := range d.Hosts {
		hosts = append(hosts, h.Name+" ("+h.Role+")")
	}
	if len(hosts) > 0 {
		fmt.Fprintf(&b, "hosts: %s\n", strings.Join(hosts, ", "))
	}
	b.WriteString("\n")
	timeline := caseTimeline(d, o.Case)
	if len(d.Findings) == 0 {
		b.WriteString("No problem found in the evidence given.\n\n")
		writeCaseTimeline(&b, p, timeline)
	}
	for i, f := range d.Findings {
		if i == 0 && f.Severity == diagnosis.Critical {
			b.WriteString(p.c("1", "ROOT CAUSE") + "\n")
		} else if i == 1 || (i == 0 && f.Severity != diagnosis.Critical) {
			b.WriteString(p.c("1", "ALSO FOUND") + "\n")
		}
		fmt.Fprintf(&b, "%d. [%s] %s on %s\n", i+1, p.sev(f.Severity), p.c("1", f.ID), f.Host)
		fmt.Fprintf(&b, "   %s\n", f.Title)
		if len(f.CausedBy) > 0 {
			fmt.Fprintf(&b, "   consequence of: %s\n", strings.Join(f.CausedBy, ", "))
		}
		if f.Explanation != "" {
			for _, l := range wrap(f.Explanation, 76) {
				fmt.Fprintf(&b, "   %s\n", l)
			}
		}
		b.WriteString("   evidence:\n")
		for j, e := range f.Evidence {
			if j == maxEv {
				fmt.Fprintf(&b, "     … %d more (use -o json for all)\n", len(f.Evidence)-maxEv)
				break
			}
			fmt.Fprintf(&b, "     %s  %s\n", p.c("2", refLoc(e)), e.Text)
		}
		if len(f.Fix) > 0 {
			b.WriteString("   fix:\n")
			for _, x := range f.Fix {
				fmt.Fprintf(&b, "     %s\n", p.c("32", x))
			}
		}
		b.WriteString("\n")
		if i == 0 {
			writeCaseTimeline(&b, p, timeline)
		}
	}
	writeNotes(&b, p, d.Notes)
	writeProblems(&b, p, d.Problems, "evidence", o.Verbose)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeNotes prints the notes, wrapped, as a list.
func writeNotes(b *strings.Builder, p painter, notes []string) {
	if len(notes) == 0 {
		return
	}
	b.WriteString(p.c("1", "NOTES") + "\n")
	for _, n := range notes {
		for i, l := range wrap(n, 76) {
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
		fmt.Fprintf(b, " - %s\n", pr.String())
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
	fmt.Fprintf(&b, "## lvsdoctor: %s\n\n", serviceLine(d))
	if len(d.Hosts) > 0 {
		b.WriteString("| host | role |\n|---|---|\n")
		for _, h := range d.Hosts {
			fmt.Fprintf(&b, "| %s | %s |\n", mdEscape(h.Name), h.Role)
		}
		b.WriteString("\n")
	}
	if len(d.Findings) == 0 {
		b.WriteString("No problem found in the evidence given.\n\n")
	}
	for i, f := range d.Findings {
		fmt.Fprintf(&b, "### %d. `%s` (%s) on %s\n\n", i+1, f.ID, f.Severity, mdEscape(f.Host))
		fmt.Fprintf(&b, "**%s**\n\n", mdEscape(f.Title))
		if len(f.CausedBy) > 0 {
			fmt.Fprintf(&b, "Consequence of: %s\n\n", mdEscape(strings.Join(f.CausedBy, ", ")))
		}
		if f.Explanation != "" {
			b.WriteString(mdEscape(f.Explanation) + "\n\n")
		}
		b.WriteString("Evidence:\n\n```\n")
		for _, e := range f.Evidence {
			fmt.Fprintf(&b, "%s  %s\n", refLoc(e), strings.ReplaceAll(e.Text, "```", "'''"))
		}
		b.WriteString("```\n\n")
		if len(f.Fix) > 0 {
			b.WriteString("Fix:\n\n```sh\n")
			for _, x := range f.Fix {
				b.WriteString(strings.ReplaceAll(x, "```", "'''") + "\n")
			}
			b.WriteString("```\n\n")
		}
	}
	if len(d.Notes) > 0 {
		b.WriteString("### Notes\n\n")
		for _, n := range d.Notes {
			fmt.Fprintf(&b, "- %s\n", mdEscape(n))
		}
		b.WriteString("\n")
	}
	if len(d.Problems) > 0 {
		b.WriteString("### Input problems\n\n")
		for _, p := range d.Problems {
			fmt.Fprintf(&b, "- %s\n", mdEscape(p.String()))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdEscape keeps evidence from breaking the ticket's layout.
func mdEscape(s string) string {
	r := strings.NewReplacer("|", "\\|", "<", "&lt;", ">", "&gt;")
	return r.Replace(s)
}
