package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/trace"
)

// pathDiagram is one picture of the packet's path, drawn as SVG in the
// HTML report and as a mermaid flowchart in Markdown: columns in path
// order, each holding one hop (a connection's capture point) or, when no
// capture shows a connection, the hosts of one role. Every string in it
// is raw input: each renderer escapes it for its own syntax.
type pathDiagram struct {
	Title   string
	Summary string // the connection's outcome in words; "" for a sketch
	Outcome string // trace's outcome; "" for a sketch
	Columns [][]pathNode
	// Sketch is true when no capture shows a connection: the columns are
	// the hosts by role, nothing on them was seen or not seen.
	Sketch bool
}

// Node states.
const (
	nodeSeen       = "seen"
	nodeNotSeen    = "not-seen"
	nodeNoCapture  = "no-capture" // a host no capture was taken on
	nodeNoPacket   = "no-packet"  // captured, with no packet of the service
	nodeBeyond     = "beyond"     // past the last capture point
	outcomeSuccess = "answered"   // trace's outcome of a connection that worked
	refusedPrefix  = "refused"    // the change of the hop that sent the RST
	maxDiagrams    = 3            // connections drawn; the others are counted
	maxSketchHosts = 6            // hosts of one role drawn in a sketch
	stepBeyond     = "beyond the captures"
)

// pathNode is one box of the diagram.
type pathNode struct {
	Step    string // "director forwards"; "" in a sketch
	Host    string
	Role    string
	Source  string // the capture file
	State   string // nodeSeen, nodeNotSeen, ...
	Frames  string // "#2,#4 (4)"
	Time    string // first → last
	Rewrite string // "MAC", "IPIP", "NAT", "FNAT" (Hop.Rewrite, upper case)
	Detail  string // what changed, or why it was not seen
	// LastSeen marks the last capture point the packet was seen at; Fault
	// the hop where it went missing (or was refused), or in a sketch a
	// host a root cause was found on, and Mark says which.
	LastSeen bool
	Fault    bool
	Mark     string // what Fault means here: "✗ died here", "root cause here"
	Causes   []pathCause
}

// pathCause is a root cause attached to the hop where the packet died.
type pathCause struct {
	ID, Host, Title string
	Severity        diagnosis.Severity
}

func (c pathCause) String() string { return c.ID + " on " + c.Host }

// rewriteLabel is how a hop's rewrite is named in the pictures.
func rewriteLabel(r string) string {
	switch r {
	case "":
		return ""
	case "mac":
		return "MAC"
	}
	return strings.ToUpper(r)
}

// pathDiagrams are the pictures of d's packet path: the connections that
// tell most (failures first, as the text report orders them), at most
// maxDiagrams; when the captures hold no connection, one sketch of the
// hosts by role with the root causes found on each.
func pathDiagrams(d *diagnosis.Diagnosis) (out []pathDiagram, more int) {
	causes := causeIndex(d)
	if p := d.PacketPath; p != nil && len(p.Flows) > 0 {
		order := telling(p.Flows)
		for i, fi := range order {
			if i == maxDiagrams {
				return out, len(order) - maxDiagrams
			}
			out = append(out, flowDiagram(&p.Flows[fi], causes))
		}
		return out, 0
	}
	if s, ok := sketch(d, causes); ok {
		out = append(out, s)
	}
	return out, 0
}

// telling orders flows as the text report picks them: one per outcome,
// failures first, then the rest, each in its order.
func telling(flows []trace.Flow) []int {
	idx := make([]int, len(flows))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return outcomeRank(flows[a].Outcome) - outcomeRank(flows[b].Outcome) })
	var first, rest []int
	shown := map[string]bool{}
	for _, i := range idx {
		if !shown[flows[i].Outcome] {
			shown[flows[i].Outcome] = true
			first = append(first, i)
		} else {
			rest = append(rest, i)
		}
	}
	return append(first, rest...)
}

// causeIndex resolves id@host keys to the findings' titles.
func causeIndex(d *diagnosis.Diagnosis) map[string]pathCause {
	m := map[string]pathCause{}
	for _, f := range d.Findings {
		if _, ok := m[f.Key()]; !ok {
			m[f.Key()] = pathCause{ID: f.ID, Host: f.Host, Title: f.Title, Severity: f.Severity}
		}
	}
	return m
}

func flowDiagram(f *trace.Flow, causes map[string]pathCause) pathDiagram {
	title := fmt.Sprintf("connection %d: %s %s → %s", f.ID, f.Proto, f.Client, f.VIP)
	if f.RealServer != "" {
		title += " (real server " + f.RealServer + ")"
	}
	if f.Mode != "" {
		title += " " + strings.ToUpper(f.Mode)
	}
	pd := pathDiagram{Title: title, Summary: f.Summary, Outcome: f.Outcome}
	// last is the hop the packet was last seen at: the tracer marks it;
	// otherwise the last hop seen.
	last := -1
	marked := slices.ContainsFunc(f.Hops, func(h trace.Hop) bool { return h.LastSeen })
	for i, h := range f.Hops {
		if (marked && h.LastSeen) || (!marked && h.Seen) {
			last = i
		}
	}
	nodes := make([]pathNode, len(f.Hops))
	for i, h := range f.Hops {
		n := pathNode{Step: h.Step, Host: h.Host, Role: h.Role, Source: h.Source, State: nodeNotSeen,
			Rewrite: rewriteLabel(h.Rewrite), Detail: h.Change, LastSeen: h.LastSeen}
		if h.Seen {
			n.State = nodeSeen
			if len(h.Frames) > 0 {
				n.Frames = frameList(h.Frames, h.Count)
			}
			n.Time = h.First
			if h.Last != "" && h.Last != h.First {
				n.Time += " → " + h.Last
			}
		}
		if !h.Seen || n.Detail == "" {
			if h.Note != "" {
				n.Detail = h.Note
			}
		}
		nodes[i] = n
	}
	died := -1
	if f.Outcome != outcomeSuccess {
		for i, h := range f.Hops {
			if f.Outcome == refusedPrefix && h.Seen && strings.HasPrefix(h.Change, refusedPrefix) {
				died = i
				break
			}
			if i > last && !h.Seen && died < 0 {
				died = i
			}
		}
		mark := "✗ died here"
		switch {
		case died >= 0 && f.Outcome == refusedPrefix:
			mark = "✗ refused here"
		case died < 0:
			// Seen at every capture point: it went missing past the last.
			nodes = append(nodes, pathNode{Step: stepBeyond, State: nodeBeyond, Detail: "no capture shows where it went"})
			died = len(nodes) - 1
			mark = "? not seen beyond"
		}
		nodes[died].Fault = true
		nodes[died].Mark = mark
		for _, k := range f.Causes {
			c, ok := causes[k]
			if !ok {
				id, host, _ := strings.Cut(k, "@")
				c = pathCause{ID: id, Host: host}
			}
			nodes[died].Causes = append(nodes[died].Causes, c)
		}
	}
	for _, n := range nodes {
		pd.Columns = append(pd.Columns, []pathNode{n})
	}
	return pd
}

// sketchRoles is the order a packet meets the roles in.
var sketchRoles = []string{"client", "router", "hypervisor", "director", "realserver"}

// sketch draws the hosts by role, in the order a packet meets them, with
// the root causes found on each: what can be shown of the path when no
// capture shows a connection.
func sketch(d *diagnosis.Diagnosis, causes map[string]pathCause) (pathDiagram, bool) {
	if len(d.Hosts) == 0 {
		return pathDiagram{}, false
	}
	captured := map[string]bool{}
	if d.PacketPath != nil {
		for _, pt := range d.PacketPath.Points {
			captured[pt.Host] = true
		}
	}
	pd := pathDiagram{Sketch: true, Title: "no capture shows a connection to the service: the hosts in the order a packet meets them"}
	roles := append(slices.Clone(sketchRoles), "")
	for _, role := range roles {
		var col []pathNode
		for _, h := range d.Hosts {
			known := slices.Contains(sketchRoles, h.Role)
			if (role != "" && h.Role != role) || (role == "" && known) {
				continue
			}
			if len(col) == maxSketchHosts {
				col[len(col)-1] = pathNode{Host: "…", Role: "more hosts", State: nodeNoCapture}
				break
			}
			n := pathNode{Host: h.Name, Role: h.Role, State: nodeNoCapture, Detail: "no capture"}
			if captured[h.Name] {
				n.State, n.Detail = nodeNoPacket, "captured: no packet of the service"
			}
			for _, f := range d.Findings {
				if f.Host == h.Name && (f.RootCause || len(f.CausedBy) == 0) && f.Severity != diagnosis.Info {
					n.Causes = append(n.Causes, causes[f.Key()])
					n.Fault, n.Mark = true, "root cause here"
				}
			}
			col = append(col, n)
		}
		if len(col) > 0 {
			pd.Columns = append(pd.Columns, col)
		}
	}
	return pd, true
}
