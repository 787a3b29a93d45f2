// Package engine runs the rules over a case and ranks what they find:
// the root cause first, its consequences after it and linked to it.
package engine

import (
	"fmt"
	"net/netip"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/rules"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
	"github.com/lvsdoctor/lvsdoctor/internal/trace"
)

// Run diagnoses c with the given rules (rules.All() in production).
func Run(c *evidence.Case, hints topology.Hints, rs []*rules.Rule) *diagnosis.Diagnosis {
	d, _ := RunWithPath(c, hints, rs)
	return d
}

// RunWithPath is Run that also returns the packet tracer's whole result
// for the diagnosed service (its notes and capture problems besides the
// path the diagnosis carries); nil when the case has no captures. It is
// what `lvsdoctor trace` shows of a case, so that the two never disagree.
func RunWithPath(c *evidence.Case, hints topology.Hints, rs []*rules.Rule) (*diagnosis.Diagnosis, *trace.Result) {
	// One clock for the whole report, before any rule cites a packet.
	zone, clock := caseClock(c)
	t := topology.Resolve(c, hints)
	d := &diagnosis.Diagnosis{Schema: diagnosis.Schema, Findings: []diagnosis.Finding{}, Notes: []string{}, Clock: clock}
	missing := newMissing()
	paths := newPacketPaths(c, zone)
	var path *trace.Result
	res := rules.Results{PacketPath: paths.of}
	for _, r := range rs {
		if applies(t, r) {
			d.Coverage.Checks++
			if runnable(t, r) {
				d.Coverage.ChecksRun++
			}
		}
		p := rules.NewPass(r, t, res)
		if err := runSafely(r, p); err != nil {
			d.Notes = append(d.Notes, err.Error())
			continue
		}
		if len(p.Findings()) == 0 && !runnable(t, r) {
			// Without what the rule reads, what the logs say on their own
			// (rules/logged_messages.go).
			p.ReportLogged()
		}
		d.Findings = append(d.Findings, p.Findings()...)
		d.Notes = append(d.Notes, p.Notes()...)
		if len(p.Findings()) == 0 {
			missing.check(t, r)
		}
	}
	d.Findings = Rank(dedupeFindings(d.Findings), rs)
	d.Problems = c.Problems
	if len(t.Services) > 0 {
		s := t.Services[0]
		d.Service = diagnosis.Service{Proto: s.Proto, Port: s.Port, Mode: s.Mode}
		if s.VIP.IsValid() {
			d.Service.VIP = s.VIP.String()
		}
		if path = paths.of(s); path != nil {
			d.PacketPath = &path.Path
			linkFlowCauses(d.PacketPath, d.Findings)
		}
	}
	steps := missing.steps(t, path)
	if len(steps) > 0 {
		d.NextSteps = steps[:min(len(steps), diagnosis.MaxNextSteps)]
	}
	d.Notes = append(serviceNotes(t), append(d.Notes, stepNotes(steps)...)...)
	d.Notes = append(d.Notes, c.Notes...)
	d.Notes = dedupe(d.Notes)
	d.Coverage.Blocks, d.Coverage.Understood = c.Read.Blocks, c.Read.Understood
	d.Coverage.Service = len(t.Services) > 0
	d.Coverage.Verdict = verdict(d)
	for _, h := range c.Hosts {
		role := string(h.Role)
		if role == "" {
			role = "unknown"
		}
		d.Hosts = append(d.Hosts, diagnosis.Host{Name: h.Name, Role: role})
	}
	if d.Hosts == nil {
		d.Hosts = []diagnosis.Host{}
	}
	return d, path
}

// packetPaths computes each service's packet path once per case, for
// the rules that require it and for the diagnosis.
type packetPaths struct {
	c      *evidence.Case
	frames bool
	zone   *time.Location // the report's, which the path's times are shown in
	done   map[pathKey]*trace.Result
}

type pathKey struct {
	vip         netip.Addr
	port        uint16
	proto, mode string
}

func newPacketPaths(c *evidence.Case, zone *time.Location) *packetPaths {
	pp := &packetPaths{c: c, zone: zone, done: map[pathKey]*trace.Result{}}
	for _, h := range c.Hosts {
		pp.frames = pp.frames || len(h.Frames) > 0
	}
	return pp
}

// of is s's path; nil when the case has no captures or s no VIP.
func (pp *packetPaths) of(s *topology.Service) *trace.Result {
	if !pp.frames || !s.VIP.IsValid() {
		return nil
	}
	k := pathKey{s.VIP, s.Port, s.Proto, s.Mode}
	if r, ok := pp.done[k]; ok {
		return r
	}
	cfg := trace.Config{VIP: s.VIP, Port: s.Port, Proto: s.Proto, Mode: s.Mode, Client: pp.c.Client.Addr, Zone: pp.zone}
	r := trace.FromFrames(pp.c.Hosts, cfg)
	pp.done[k] = r
	return r
}

// runSafely keeps one broken rule from costing the user the others.
func runSafely(r *rules.Rule, p *rules.Pass) (err error) {
	defer func() {
		if x := recover(); x != nil {
			err = fmt.Errorf("internal error in rule %s (%v); other rules still ran. Please report this with the case: %s",
				r.ID, x, firstFrames(debug.Stack()))
		}
	}()
	r.Run(p)
	return nil
}

func firstFrames(stack []byte) string {
	lines := strings.Split(string(stack), "\n")
	for i, l := range lines {
		if strings.Contains(l, "/internal/rules/") && i+1 < len(lines) {
			return strings.TrimSpace(lines[i+1])
		}
	}
	return ""
}

func serviceNotes(t *topology.Topology) []string {
	var out []string
	if len(t.Services) == 0 {
		out = append(out, "no virtual service identified: give --vip/--port/--proto, or add `ipvsadm -Ln` or keepalived.conf from a director")
	} else if len(t.Services) > 1 {
		var names []string
		for _, s := range t.Services {
			names = append(names, s.String())
		}
		out = append(out, fmt.Sprintf("%d virtual services checked (%s); give --vip/--port to focus on one", len(t.Services), strings.Join(names, ", ")))
	}
	if len(t.RoleInferred) > 0 {
		var names []string
		for n := range t.RoleInferred {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			h := t.Case.Lookup(n)
			how := fmt.Sprintf("write the role in %s/role to say otherwise", n)
			if !hasFolder(h) {
				how = fmt.Sprintf("to say otherwise, put its outputs in a folder %s/ with a file `role`", n)
			}
			out = append(out, fmt.Sprintf("%s taken as %s because %s (%s)", n, h.Role, t.RoleInferred[n], how))
		}
	}
	return out
}

// applies reports whether r concerns a service of t (every rule does
// while no service is known).
func applies(t *topology.Topology, r *rules.Rule) bool {
	ok := len(t.Services) == 0
	for _, s := range t.Services {
		ok = ok || r.AppliesTo(s.Mode)
	}
	return ok
}

// runnable reports whether the evidence r needs was given: on some host
// of each role it needs, where hosts of that role are in the case (a
// hypervisor or client is only needed when there is one; directors and
// real servers always are).
func runnable(t *topology.Topology, r *rules.Rule) bool {
	for _, n := range r.Needs {
		hosts := t.Case.HostsWithRole(n.Role)
		if len(hosts) == 0 {
			if n.Role == evidence.RoleDirector || n.Role == evidence.RoleRealServer {
				return false
			}
			continue
		}
		// An output that says it left part of the evidence out does not
		// let the check run whole.
		if !slices.ContainsFunc(hosts, func(h *evidence.Host) bool { return settled(t, h, n) && len(h.HiddenOf(n.Kind)) == 0 }) {
			return false
		}
	}
	return true
}

// verdict sums up what a diagnosis rests on.
func verdict(d *diagnosis.Diagnosis) string {
	cv := d.Coverage
	switch {
	case cv.Understood == 0 && len(d.Findings) == 0:
		return diagnosis.VerdictNothingUsable
	case len(d.Findings) > 0:
		return diagnosis.VerdictFindings
	case !cv.Service:
		return diagnosis.VerdictNoService
	case cv.ChecksRun*2 < cv.Checks:
		return diagnosis.VerdictPartial
	}
	return diagnosis.VerdictNoProblem
}

// hasFolder reports whether h's evidence came from a folder of its own
// (a case directory's host folder), not from a pasted transcript: only a
// folder can hold the role file.
func hasFolder(h *evidence.Host) bool {
	for _, refs := range h.Seen {
		for _, r := range refs {
			if strings.HasPrefix(r.Source, h.Name+"/") {
				return true
			}
		}
	}
	return false
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	out := s[:0]
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// dedupeFindings drops a finding that repeats another's cause, host and
// title (a rule run for several services may find one fault per service).
func dedupeFindings(fs []diagnosis.Finding) []diagnosis.Finding {
	seen := map[string]bool{}
	out := fs[:0]
	for _, f := range fs {
		k := f.ID + "\x00" + f.Host + "\x00" + f.Title
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, f)
	}
	return out
}
