package rules

import (
	"sync"

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
// was last seen. The packet-path rules (trace.*) read the captures their
// own way first, tuned on printouts; where that finds nothing, or cannot
// see NAT and FNAT copies, the trace speaks.
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
