package report

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/trace"
)

// TraceSchema names the JSON form of `lvsdoctor trace`.
const TraceSchema = "lvsdoctor-trace/v1"

// TraceFormats lists what WriteTrace accepts.
var TraceFormats = []string{"text", "json"}

// TraceOptions tune the text form of a trace.
type TraceOptions struct {
	Options
	// Flows is how many connections are shown hop by hop (0: 3); the
	// others are counted by outcome.
	Flows int
}

// WriteTrace renders what `lvsdoctor trace` found.
func WriteTrace(w io.Writer, format string, r *trace.Result, o TraceOptions) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(struct {
			Schema string `json:"schema"`
			*trace.Result
		}{TraceSchema, r})
	case "text", "":
		return writeTraceText(w, r, o)
	}
	return fmt.Errorf("unknown format %q (want %s)", format, strings.Join(TraceFormats, ", "))
}

func writeTraceText(w io.Writer, r *trace.Result, o TraceOptions) error {
	p := newPainter(o.Options)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", p.c("1", "lvsdoctor trace:"), esc(traceService(r)))
	if r.Service.VIPFrom != "" {
		fmt.Fprintf(&b, "VIP found in the packets: %s\n", esc(r.Service.VIPFrom))
	}
	if r.Service.ModeWhy != "" {
		fmt.Fprintf(&b, "forwarding: %s\n", esc(r.Service.ModeWhy))
	}
	if r.Clock != "" {
		fmt.Fprintf(&b, "times: %s\n", esc(r.Clock))
	}
	b.WriteString("\n" + p.c("1", "CAPTURE POINTS") + "\n")
	for _, pt := range r.Points {
		line := fmt.Sprintf(" - %-12s %-10s %s", esc(pt.Host), esc(pt.Role), esc(pt.Source))
		if pt.First != "" {
			line += fmt.Sprintf("  %s–%s", esc(pt.First), esc(pt.Last))
		}
		line += fmt.Sprintf("  %d packets, %d followed", pt.Packets, pt.Followed)
		if pt.ClockOffset != "" {
			line += "  clock " + esc(pt.ClockOffset)
		}
		b.WriteString(line + "\n")
	}
	b.WriteString("\n")
	n := o.Flows
	if n == 0 {
		n = 3
	}
	if len(r.Flows) == 0 {
		b.WriteString("No connection to the service in the captures.\n\n")
	} else {
		fmt.Fprintf(&b, "%s %s\n\n", p.c("1", "CONNECTIONS"), outcomeLine(r.Summary.Outcomes, len(r.Flows)))
		writeFlows(&b, p, r.Flows, n)
	}
	if len(r.Findings) > 0 {
		b.WriteString(p.c("1", "FINDINGS") + "\n")
		writeFindings(&b, p, r.Findings, o.Options)
	}
	if len(r.Observations) > 0 {
		b.WriteString(p.c("1", "OBSERVED") + " (what the packets show that is no cause on its own)\n")
		writeFindings(&b, p, r.Observations, o.Options)
	}
	writeNotes(&b, p, r.Notes)
	writeProblems(&b, p, r.Problems, "captures", o.Verbose)
	_, err := io.WriteString(w, b.String())
	return err
}

func traceService(r *trace.Result) string {
	s := r.Service
	if s.VIP == "" {
		return "service unknown"
	}
	out := s.VIP
	if s.Port != 0 {
		if a, err := netip.ParseAddr(s.VIP); err == nil {
			out = netip.AddrPortFrom(a, s.Port).String()
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

// outcomeOrder puts failures first: they are what a reader looks for.
var outcomeOrder = []string{"looping", "not-forwarded", "lost-in-transit", "rs-not-replying", "reply-lost", "reply-bypassed-director", "refused", "incomplete", "answered"}

func outcomeRank(o string) int {
	for i, x := range outcomeOrder {
		if x == o {
			return i
		}
	}
	return len(outcomeOrder)
}

func outcomeLine(m map[string]int, total int) string {
	var parts []string
	for _, o := range outcomeOrder {
		if m[o] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", m[o], esc(o)))
		}
	}
	return fmt.Sprintf("%d followed: %s", total, strings.Join(parts, ", "))
}

// writeFlows shows up to n flows hop by hop, one per outcome first, the
// failures before the answered ones.
func writeFlows(b *strings.Builder, p painter, flows []trace.Flow, n int) {
	idx := make([]int, len(flows))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, c int) bool { return outcomeRank(flows[idx[a]].Outcome) < outcomeRank(flows[idx[c]].Outcome) })
	var pick []int
	shown := map[string]bool{}
	for _, i := range idx {
		if len(pick) < n && !shown[flows[i].Outcome] {
			pick = append(pick, i)
			shown[flows[i].Outcome] = true
		}
	}
	for _, i := range idx {
		if len(pick) >= n {
			break
		}
		if !contains(pick, i) {
			pick = append(pick, i)
		}
	}
	sort.SliceStable(pick, func(a, c int) bool {
		ra, rc := outcomeRank(flows[pick[a]].Outcome), outcomeRank(flows[pick[c]].Outcome)
		if ra != rc {
			return ra < rc
		}
		return pick[a] < pick[c]
	})
	for _, i := range pick {
		writeFlow(b, p, &flows[i], "")
	}
	if rest := len(flows) - len(pick); rest > 0 {
		counts := map[string]int{}
		for i := range flows {
			if !contains(pick, i) {
				counts[flows[i].Outcome]++
			}
		}
		fmt.Fprintf(b, "   … %s (use -o json for every hop of every connection)\n\n", outcomeLine(counts, rest))
	}
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// writeFlow renders one connection's hop-by-hop timeline.
func writeFlow(b *strings.Builder, p painter, f *trace.Flow, indent string) {
	mode := ""
	if f.Mode != "" {
		mode = "  " + esc(strings.ToUpper(f.Mode))
	}
	rs := ""
	if f.RealServer != "" {
		rs = " (real server " + esc(f.RealServer) + ")"
	}
	fmt.Fprintf(b, "%s%s %s %s → %s%s%s: %s\n", indent, p.c("1", fmt.Sprintf("connection %d", f.ID)), esc(f.Proto), esc(f.Client), esc(f.VIP), rs, mode, esc(f.Summary))
	for _, h := range f.Hops {
		mark := p.c("32", "✓")
		if !h.Seen {
			mark = p.c("31", "✗")
		}
		where := esc(h.Host)
		if h.Source != "" {
			where += " " + p.c("2", esc(h.Source))
		}
		line := fmt.Sprintf("%s  %s %-31s %s", indent, mark, esc(h.Step), where)
		if h.Seen && len(h.Frames) > 0 {
			line += " " + frameList(h.Frames, h.Count)
		}
		if h.First != "" {
			if h.Last != h.First {
				line += "  " + esc(h.First) + " → " + esc(h.Last)
			} else {
				line += "  " + esc(h.First)
			}
		}
		if h.LastSeen {
			line += "  " + p.c("1;33", "← last seen")
		}
		b.WriteString(line + "\n")
		detail := h.Change
		if !h.Seen && h.Note != "" {
			detail = h.Note
		} else if h.Note != "" && detail == "" {
			detail = h.Note
		}
		if detail != "" {
			for _, l := range wrap(esc(detail), p.wrapAt(len(indent)+9)) {
				fmt.Fprintf(b, "%s      %s\n", indent, l)
			}
		}
	}
	if f.LastSeen != nil {
		fmt.Fprintf(b, "%s   last seen: %s frame %d at %s (%s)\n", indent, esc(f.LastSeen.Source), f.LastSeen.Frame, esc(f.LastSeen.Time), esc(f.LastSeen.Step))
	}
	if len(f.LostBetween) == 2 {
		fmt.Fprintf(b, "%s   lost between %s and %s\n", indent, esc(f.LostBetween[0]), esc(f.LostBetween[1]))
	}
	b.WriteString("\n")
}

// frameList is "#12" or "#12,#15,#19" or "#12,#15,… (9)".
func frameList(frames []int, count int) string {
	var parts []string
	for i, f := range frames {
		if i == 4 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, fmt.Sprintf("#%d", f))
	}
	s := strings.Join(parts, ",")
	if count > 1 {
		s += fmt.Sprintf(" (%d)", count)
	}
	return s
}

// writeFindings renders findings as the diagnosis does.
func writeFindings(b *strings.Builder, p painter, fs []diagnosis.Finding, o Options) {
	maxEv := o.MaxEvidence
	if maxEv == 0 {
		maxEv = 8
	}
	for i, f := range fs {
		fmt.Fprintf(b, "%d. [%s] %s on %s\n", i+1, p.sev(f.Severity), p.c("1", esc(f.ID)), esc(f.Host))
		fmt.Fprintf(b, "   %s\n", esc(f.Title))
		for _, l := range wrap(esc(f.Explanation), p.wrapAt(3)) {
			fmt.Fprintf(b, "   %s\n", l)
		}
		b.WriteString("   evidence:\n")
		for j, e := range f.Evidence {
			if j == maxEv {
				fmt.Fprintf(b, "     … %d more (use -o json for all)\n", len(f.Evidence)-maxEv)
				break
			}
			fmt.Fprintf(b, "     %s  %s\n", p.c("2", esc(refLoc(e))), esc(e.Text))
		}
		if len(f.Fix) > 0 {
			b.WriteString("   fix:\n")
			for _, x := range f.Fix {
				fmt.Fprintf(b, "     %s\n", p.c("32", esc(x)))
			}
		}
		b.WriteString("\n")
	}
}

// writeCaseTimeline prints the packet path of a diagnosed case: the
// connection most telling of the failure, hop by hop.
func writeCaseTimeline(b *strings.Builder, p painter, tr *trace.Path) {
	if tr == nil || len(tr.Flows) == 0 {
		return
	}
	times := ""
	if tr.Clock != "" {
		times = ", times " + esc(tr.Clock)
	}
	fmt.Fprintf(b, "%s (from the captures%s; %s)\n", p.c("1", "PACKET PATH"), times, outcomeLine(tr.Summary.Outcomes, len(tr.Flows)))
	if tr.Service.ModeWhy != "" && tr.Service.Mode != "" {
		fmt.Fprintf(b, "   %s: %s\n", esc(strings.ToUpper(tr.Service.Mode)), esc(tr.Service.ModeWhy))
	}
	writeFlows(b, p, tr.Flows, 1)
}
