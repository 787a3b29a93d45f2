package rules

import (
	"fmt"
	"sync"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
	"github.com/lvsdoctor/lvsdoctor/internal/trace"
)

// traceCache keeps the packet trace of the case being diagnosed: the
// four packet-path rules share it.
var traceCache struct {
	sync.Mutex
	c   *evidence.Case
	res map[traceKey]*trace.Result
}

type traceKey struct {
	vip         string
	port        uint16
	proto, mode string
}

// traced follows s's packets through the case's captures with the
// packet tracer, which recognises the copies LVS forwards in every mode
// (NAT's and FNAT's rewritten ones too) and tells where each connection
// was last seen. The rules below read the captures their own way first,
// tuned on printouts; where that finds nothing, or cannot see NAT and
// FNAT copies, the trace speaks.
func traced(p *Pass, s *topology.Service) *trace.Result {
	if !s.VIP.IsValid() {
		return nil
	}
	frames := 0
	for _, h := range p.Case.Hosts {
		frames += len(h.Frames)
	}
	if frames == 0 {
		return nil
	}
	k := traceKey{s.VIP.String(), s.Port, s.Proto, s.Mode}
	traceCache.Lock()
	defer traceCache.Unlock()
	if traceCache.c != p.Case {
		traceCache.c, traceCache.res = p.Case, map[traceKey]*trace.Result{}
	}
	if r, ok := traceCache.res[k]; ok {
		return r
	}
	cfg := trace.Config{VIP: s.VIP, Port: s.Port, Proto: s.Proto, Mode: s.Mode}
	if c := p.Case.Client.Addr; c.IsValid() {
		cfg.Client = c
	}
	r := trace.FromFrames(p.Case.Hosts, cfg)
	traceCache.res[k] = r
	return r
}

// tracedForwards reports whether the trace shows director d forwarding
// s's connections (a copy leaving it, in any mode).
func tracedForwards(p *Pass, s *topology.Service, d *evidence.Host) bool {
	r := traced(p, s)
	if r == nil {
		return false
	}
	for _, f := range r.Flows {
		for _, h := range f.Hops {
			if h.Seen && h.Host == d.Name && h.Step == "director forwards" {
				return true
			}
		}
	}
	return false
}

// reportTraced reports the trace's findings of the pass's rule for s
// when the packets show NAT or FNAT, whose rewritten copies the rule's
// own reading does not follow (it knows DR and TUN), and it found none.
func reportTraced(p *Pass, s *topology.Service, id string, before int) {
	if len(p.Findings()) > before {
		return
	}
	r := traced(p, s)
	if r == nil || r.Service.Mode != "nat" && r.Service.Mode != "fnat" {
		return
	}
	for _, f := range r.Findings {
		if f.ID == id {
			p.Report(f)
		}
	}
}

var directorNotForwarding = &Rule{
	ID:   "trace.director-not-forwarding",
	Doc:  "The director's capture shows client packets for the VIP arriving and no forwarded copy leaving.",
	Rank: 80,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindFrames, Command: "tcpdump -e -n -i <iface> host <VIP>"},
	},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			before := len(p.Findings())
			for _, d := range p.ActiveDirectors(s) {
				v := viewDirector(d, s)
				if len(v.in) == 0 || len(v.out) > 0 {
					continue
				}
				if tracedForwards(p, s, d) {
					continue // copies the view above does not know (NAT to unknown RIPs, FNAT)
				}
				p.Report(diagnosis.Finding{
					Severity: diagnosis.Critical,
					Host:     d.Name,
					Title:    fmt.Sprintf("%d client packet(s) for %s reached %s and none was forwarded to a real server", len(v.in), s, d.Name),
					Explanation: "The capture on the director shows the client's packets arriving for the VIP, " +
						"but no copy leaving towards a real server (no rewritten MAC in DR, no IPIP packet in TUN). " +
						"IPVS did not take the packet: look at the director's IPVS table, VIP, firewall and kernel.",
					Evidence: firstRefs(v.in, 4),
					Fix:      []string{"check the causes ranked above; then `ipvsadm -Lnc` and `ipvsadm -Ln --stats` while the client retries"},
				})
			}
			reportTraced(p, s, "trace.director-not-forwarding", before)
		}
	},
}

var lostInTransitRule = &Rule{
	ID:   "trace.lost-in-transit",
	Doc:  "A packet the director forwarded never reached the next capture point (bridge or real server).",
	Rank: 85,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindFrames, Command: "tcpdump -e -n -i <iface> host <client>"},
		{Role: evidence.RoleRealServer, Kind: evidence.KindFrames, Command: "tcpdump -e -n -i <iface> host <client>"},
	},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			before := len(p.Findings())
			for _, l := range lostInTransit(p, s) {
				ev := []evidence.Ref{l.frame.Ref}
				if l.alive != nil {
					ev = append(ev, l.alive.Ref)
				}
				p.Report(diagnosis.Finding{
					Severity: diagnosis.Critical,
					Host:     l.point.Name,
					Title:    fmt.Sprintf("packet forwarded by %s (%s) never reached %s", l.director.Name, l.key, l.point.Name),
					Explanation: fmt.Sprintf("%s sent the packet on towards the real server, and %s's capture, which was running "+
						"(it shows other traffic from the same side), never saw it. Something between the two dropped it: "+
						"a hypervisor filter, a switch ACL, or a cloud network's anti-spoofing.", l.director.Name, l.point.Name),
					Evidence: ev,
					Fix:      []string{"find what lies between " + l.director.Name + " and " + l.point.Name + " (see the causes ranked above)"},
				})
			}
			reportTraced(p, s, "trace.lost-in-transit", before)
		}
	},
}
