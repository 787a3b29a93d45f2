package engine

import (
	"slices"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/trace"
)

// linkFlowCauses sets each failed connection's Causes: the root causes
// of the trace.* findings that cite its packets (trace.lost-in-transit
// cites the hops it saw, and is a consequence of, say, a hypervisor's
// filter). Only trace.* findings say what became of a connection; others
// may cite its packets for another reason (net.tunnel-mtu, their size). So
// the packet path says why a packet died where it died, as the findings
// do, with no second opinion. When no finding cites a failed connection
// (the packets alone show nothing wrong: a cloud's anti-spoofing drops
// the frames beyond the last capture), the leading root cause is linked
// to the failed connections that pass its host.
func linkFlowCauses(p *trace.Path, fs []diagnosis.Finding) {
	if p == nil || len(fs) == 0 {
		return
	}
	byKey := map[string]*diagnosis.Finding{}
	for i := range fs {
		if _, ok := byKey[fs[i].Key()]; !ok {
			byKey[fs[i].Key()] = &fs[i]
		}
	}
	linked := false
	for i := range p.Flows {
		fl := &p.Flows[i]
		fl.Causes = nil
		if fl.Outcome == "answered" {
			continue
		}
		cited := map[evidence.Ref]bool{}
		for _, h := range fl.Hops {
			for _, e := range h.Evidence {
				cited[e] = true
			}
		}
		for j := range fs {
			if strings.HasPrefix(fs[j].ID, "trace.") && slices.ContainsFunc(fs[j].Evidence, func(e evidence.Ref) bool { return cited[e] }) {
				for _, k := range rootsOf(&fs[j], byKey) {
					if !slices.Contains(fl.Causes, k) {
						fl.Causes = append(fl.Causes, k)
					}
				}
			}
		}
		linked = linked || len(fl.Causes) > 0
	}
	if linked {
		// A finding cites a few of the connections that failed alike
		// (the same outcome, at the same place, to the same real
		// server): the others failed for the same reason.
		alike := map[string][]string{}
		for _, fl := range p.Flows {
			if len(fl.Causes) > 0 {
				if _, ok := alike[failedAt(&fl)]; !ok {
					alike[failedAt(&fl)] = fl.Causes
				}
			}
		}
		for i := range p.Flows {
			fl := &p.Flows[i]
			if fl.Outcome != "answered" && len(fl.Causes) == 0 {
				fl.Causes = slices.Clone(alike[failedAt(fl)])
			}
		}
		return
	}
	lead := fs[0]
	if !lead.RootCause && len(lead.CausedBy) > 0 {
		return
	}
	for i := range p.Flows {
		fl := &p.Flows[i]
		if fl.Outcome != "answered" && slices.ContainsFunc(fl.Hops, func(h trace.Hop) bool { return h.Host == lead.Host }) {
			fl.Causes = []string{lead.Key()}
		}
	}
}

// rootsOf follows CausedBy from f to the findings nothing explains.
func rootsOf(f *diagnosis.Finding, byKey map[string]*diagnosis.Finding) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(f *diagnosis.Finding, depth int)
	walk = func(f *diagnosis.Finding, depth int) {
		if seen[f.Key()] || depth > len(byKey) {
			return
		}
		seen[f.Key()] = true
		if len(f.CausedBy) == 0 {
			out = append(out, f.Key())
			return
		}
		for _, k := range f.CausedBy {
			if c, ok := byKey[k]; ok {
				walk(c, depth+1)
			}
		}
	}
	walk(f, 0)
	return out
}

// failedAt says how and where a connection failed: its outcome, the real
// server, where it was last seen and between which points it was lost.
func failedAt(fl *trace.Flow) string {
	k := fl.Outcome + "\x00" + fl.RealServer + "\x00" + strings.Join(fl.LostBetween, ",")
	if fl.LastSeen != nil {
		k += "\x00" + fl.LastSeen.Host + "\x00" + fl.LastSeen.Step
	}
	return k
}
