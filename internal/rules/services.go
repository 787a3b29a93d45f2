package rules

import (
	"net/netip"
	"sort"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

// destFor returns the IPVS destination for rip, from the directors'
// tables in name order, so that two disagreeing tables give one answer.
func destFor(s *topology.Service, rip netip.Addr) *evidence.RealServer {
	names := make([]string, 0, len(s.IPVS))
	for n := range s.IPVS {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, d := range s.IPVS[n].Dests {
			if d.Addr == rip {
				return d
			}
		}
	}
	return nil
}

// directRouting reports whether s forwards by DR or TUN, where the real
// servers answer the clients themselves.
func directRouting(s *topology.Service) bool { return s.Mode == "dr" || s.Mode == "tun" }

// svcHost is a real server of a service.
type svcHost struct {
	s *topology.Service
	h *evidence.Host
}

// directPairs lists the real servers of every DR/TUN service with a known
// VIP: the hosts that must hold the VIP themselves.
func directPairs(p *Pass) []svcHost {
	var out []svcHost
	for _, s := range p.Services() {
		if !directRouting(s) || !s.VIP.IsValid() {
			continue
		}
		for _, h := range p.RealServersOf(s) {
			out = append(out, svcHost{s, h})
		}
	}
	return out
}

// rsPort is the port the real server h must serve for s.
func rsPort(p *Pass, s *topology.Service, h *evidence.Host) uint16 {
	if rip, ok := p.RIPOf(s, h); ok {
		if d := destFor(s, rip); d != nil && d.Port != 0 {
			return d.Port
		}
	}
	return s.Port
}

// listensOnServicePort reports whether h's listings (a filtered one:
// `ss -lnup | grep 52002`) show a socket on a service's port: then
// whether the application listens, and on which address, is known.
func listensOnServicePort(t *topology.Topology, h *evidence.Host) bool {
	p := &Pass{Topo: t, Case: t.Case}
	for _, s := range t.Services {
		if s.Proto != "" && len(listenersOn(h, s.Proto, rsPort(p, s, h))) > 0 {
			return true
		}
	}
	return false
}

// listenersOn lists h's sockets listening on port with proto.
func listenersOn(h *evidence.Host, proto string, port uint16) []evidence.Listener {
	var out []evidence.Listener
	for _, l := range h.Listeners {
		if strings.EqualFold(l.Proto, proto) && l.Port == port {
			out = append(out, l)
		}
	}
	return out
}
