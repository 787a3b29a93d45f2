package rules

import (
	"fmt"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
	"net/netip"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var rsNATGatewayWrong = &Rule{
	ID:       "rs.nat-gateway-wrong",
	Modes:    []string{"nat"},
	Doc:      "NAT: the real server's replies must go back through the director (default route via its DIP).",
	Rank:     10,
	Needs:    []Need{{Role: evidence.RoleRealServer, Kind: evidence.KindRoutes, Command: "ip route"}},
	Explains: []string{"director.return-path-missing", "trace.reply-lost"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if s.Mode != "nat" {
				continue
			}
			for _, h := range p.RealServersOf(s) {
				if !h.Has(evidence.KindRoutes) {
					continue
				}
				probe := p.Case.Client.Addr
				if !probe.IsValid() {
					probe = netip.IPv4Unspecified()
				}
				// NAT replies leave from the RIP: source rules may route them.
				rip, _ := p.RIPOf(s, h)
				_, r := routeOutFrom(h, rip, probe)
				if r != nil && r.Gateway.IsValid() {
					// The gateway must be the director carrying the traffic
					// (it holds the floating DIP); a backup's own address
					// sends replies where IPVS is not translating them.
					if gw := p.Topo.HostOwning(r.Gateway); gw != nil && gw.Role == evidence.RoleDirector && p.IsActive(s, gw) {
						continue
					}
					if len(p.Directors()) == 0 {
						continue // cannot tell whose address the gateway is
					}
				}
				ev := []evidence.Ref{seenRef(h, evidence.KindRoutes)}
				title := fmt.Sprintf("%s has no route back to the clients through the director", h.Name)
				if r != nil {
					ev = []evidence.Ref{r.Ref}
					if r.Gateway.IsValid() {
						title = fmt.Sprintf("%s routes replies via %s, not via the director", h.Name, r.Gateway)
					}
				}
				p.Report(diagnosis.Finding{
					Severity: diagnosis.Critical,
					Host:     h.Name,
					Title:    title,
					Explanation: "In NAT mode the director rewrites the destination to the real server and must see the reply to " +
						"rewrite its source back to the VIP. A reply that leaves by another gateway reaches the client from the " +
						"RIP, which the client's TCP stack rejects.",
					Evidence: ev,
					Fix:      natGatewayFix(p, s, h),
				})
			}
		}
	},
}

// natGatewayFix routes h's replies via the active director's address on
// h's subnet (the floating DIP when the directors share one).
func natGatewayFix(p *Pass, s *topology.Service, h *evidence.Host) []string {
	rip, _ := p.RIPOf(s, h)
	for _, d := range p.ActiveDirectors(s) {
		for _, a := range d.Addrs {
			if a.Iface != "lo" && rip.IsValid() && a.Prefix.Bits() < a.Prefix.Addr().BitLen() && a.Prefix.Masked().Contains(rip) && !p.Topo.IsVIP(a.Prefix.Addr()) {
				return []string{fixCmd("ip route replace default via "+a.Prefix.Addr().String(), "on %s: the replies must go back through %s, which rewrites them to the VIP", h.Name, d.Name)}
			}
		}
	}
	return []string{fixStep("on %s: ip route replace default via the active director's address on %s's subnet (ip -o -4 addr on the director; the floating one when the directors share one)", h.Name, h.Name)}
}
