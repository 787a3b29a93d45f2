package report

import (
	"fmt"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
)

// writeMarkdownPath writes the packet path as the HTML report draws it,
// one mermaid flowchart per connection shown (a sketch of the hosts by
// role when no capture shows one).
func writeMarkdownPath(b *strings.Builder, d *diagnosis.Diagnosis) {
	diagrams, more := pathDiagrams(d)
	if len(diagrams) == 0 {
		return
	}
	b.WriteString("### Packet path\n\n")
	for _, pd := range diagrams {
		line := pd.Title
		if pd.Summary != "" {
			line += ": " + pd.Summary
		}
		b.WriteString(mdText(line) + "\n\n")
		// No label can hold a backtick (mermaidLabel encodes it), so the
		// fence cannot be closed from inside.
		b.WriteString("```mermaid\n" + mermaidFlowchart(pd) + "```\n\n")
	}
	if more > 0 {
		fmt.Fprintf(b, "%d more connections (`lvsdoctor diagnose -o json` lists every hop of every one).\n\n", more)
	}
}

// mermaidFlowchart is one diagram as a mermaid flowchart. Node IDs are
// the renderer's own (n0, n1, c0...); only labels carry input, encoded by
// mermaidLabel.
func mermaidFlowchart(pd pathDiagram) string {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	b.WriteString("  classDef seen fill:#eef7ef,stroke:#1f7a34\n")
	b.WriteString("  classDef notseen fill:#fff,stroke:#b3261e,stroke-dasharray:6 4\n")
	b.WriteString("  classDef nocapture fill:#fff,stroke:#5f6b76,stroke-dasharray:6 4\n")
	b.WriteString("  classDef fault stroke:#b3261e,stroke-width:3px\n")
	b.WriteString("  classDef cause fill:#fdecea,stroke:#b3261e\n")
	ids := make([][]string, len(pd.Columns))
	k, nc := 0, 0
	var classes []string
	for c, col := range pd.Columns {
		for _, n := range col {
			id := fmt.Sprintf("n%d", k)
			k++
			ids[c] = append(ids[c], id)
			fmt.Fprintf(&b, "  %s[\"%s\"]\n", id, mermaidNodeLabel(n, pd.Sketch))
			cls := map[string]string{nodeSeen: "seen", nodeNotSeen: "notseen"}[n.State]
			if cls == "" {
				cls = "nocapture"
			}
			classes = append(classes, fmt.Sprintf("  class %s %s\n", id, cls))
			if n.Fault {
				classes = append(classes, fmt.Sprintf("  class %s fault\n", id))
			}
			for _, cause := range n.Causes {
				cid := fmt.Sprintf("c%d", nc)
				nc++
				fmt.Fprintf(&b, "  %s[\"%s\"]\n  %s --- %s\n", cid,
					mermaidLabel("cause: "+cause.String())+"<br/>"+mermaidLabel(clip(cause.Title, 60)), id, cid)
				classes = append(classes, fmt.Sprintf("  class %s cause\n", cid))
			}
		}
	}
	for c := 0; c+1 < len(ids); c++ {
		for _, a := range ids[c] {
			for bi, bID := range ids[c+1] {
				arrow := "-->"
				switch st := pd.Columns[c+1][bi].State; {
				case pd.Sketch:
					arrow = "-.->"
				case st == nodeNotSeen || st == nodeBeyond:
					arrow = "-. lost .->"
				}
				fmt.Fprintf(&b, "  %s %s %s\n", a, arrow, bID)
			}
		}
	}
	for _, c := range classes {
		b.WriteString(c)
	}
	return b.String()
}

// mermaidNodeLabel is a box's text, line by line as the SVG has it.
func mermaidNodeLabel(n pathNode, sketch bool) string {
	var lines []string
	if n.Mark != "" || n.LastSeen {
		var above []string
		if n.LastSeen {
			above = append(above, "last seen")
		}
		if n.Mark != "" {
			above = append(above, n.Mark)
		}
		lines = append(lines, "<b>"+mermaidLabel(strings.Join(above, " · "))+"</b>")
	}
	if !sketch {
		lines = append(lines, "<b>"+mermaidLabel(n.Step)+"</b>")
	}
	if hr := hostRole(n); hr != "" {
		lines = append(lines, mermaidLabel(hr))
	}
	if n.Source != "" {
		lines = append(lines, mermaidLabel(n.Source))
	}
	state := stateText(n)
	if n.Frames != "" {
		state += " " + n.Frames
	}
	lines = append(lines, mermaidLabel(state))
	if n.Rewrite != "" {
		lines = append(lines, mermaidLabel("rewrite: "+n.Rewrite))
	}
	return strings.Join(lines, "<br/>")
}

// mermaidLabel encodes s for a quoted mermaid label: made printable,
// then every character but letters, digits and harmless punctuation as
// mermaid's #NNN; entity, so no quote, bracket, pipe, backtick, HTML
// or newline of a hostile host name can end the label, the statement or
// the Markdown block.
func mermaidLabel(s string) string {
	var b strings.Builder
	for _, r := range esc(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			strings.ContainsRune(" .,:/_-@()+=*?!'", r):
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, "#%d;", r)
		}
	}
	return b.String()
}
