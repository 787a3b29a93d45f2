package rules

import (
	"fmt"
	"net/netip"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var rsNoReturnRoute = &Rule{
	ID:       "rs.no-return-route",
	Modes:    []string{"dr", "tun"},
	Doc:      "DR/TUN: the real server answers clients directly and needs a route to them.",
	Rank:     15,
	Needs:    []Need{{Role: evidence.RoleRealServer, Kind: evidence.KindRoutes, Command: "ip route"}},
	Explains: []string{"trace.rs-not-replying"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if !directRouting(s) {
				continue
			}
			for _, h := range p.RealServersOf(s) {
				if !h.Has(evidence.KindRoutes) || len(h.Routes) == 0 {
					continue
				}
				probe := p.Case.Client.Addr
				if !probe.IsValid() {
					probe = netip.IPv4Unspecified()
				}
				// Replies leave from the VIP: source rules may route them.
				if dev, _ := routeOutFrom(h, s.VIP, probe); dev != "" {
					continue
				}
				sev := diagnosis.Warning
				what := "no default route"
				if p.Case.Client.Addr.IsValid() {
					sev = diagnosis.Critical
					what = "no route to the client " + p.Case.Client.Addr.String()
				}
				p.Report(diagnosis.Finding{
					Severity:    sev,
					Host:        h.Name,
					Title:       fmt.Sprintf("%s has %s", h.Name, what),
					Explanation: "In DR and TUN modes the real server sends its replies straight to the client. Without a route to the client's network the replies cannot leave.",
					Evidence:    mainRoutesRefs(h, probe.Is4()),
					Fix:         returnRouteFix(p, h, probe),
				})
			}
		}
	},
}

// mainRoutesRefs cites the main-table routes of one family: what the host
// does route, which lacks the default; the routes listing when it is empty.
func mainRoutesRefs(h *evidence.Host, v4 bool) []evidence.Ref {
	var refs []evidence.Ref
	for _, r := range h.Routes {
		if r.Table == "main" && r.Dst.Addr().Is4() == v4 && len(refs) < 4 {
			refs = append(refs, r.Ref)
		}
	}
	if len(refs) == 0 {
		refs = append(refs, seenRef(h, evidence.KindRoutes))
	}
	return refs
}

// returnRouteFix gives h a route back to the clients: via the gateway a
// host of the case on h's subnet uses, which the evidence shows; else
// the command that finds it.
func returnRouteFix(p *Pass, h *evidence.Host, client netip.Addr) []string {
	dst := "default"
	if client.IsValid() && !client.IsUnspecified() {
		dst = netip.PrefixFrom(client, client.BitLen()).String()
	}
	for _, a := range h.Addrs {
		if a.Iface == "lo" || a.Prefix.Bits() >= a.Prefix.Addr().BitLen() {
			continue
		}
		for _, o := range p.Case.Hosts {
			for _, r := range o.Routes {
				if o != h && r.Dst.Bits() == 0 && r.Gateway.IsValid() && a.Prefix.Masked().Contains(r.Gateway) {
					return []string{fixCmd(fmt.Sprintf("ip route add %s via %s", dst, r.Gateway), "on %s: %s's gateway on the same subnet (%s); a route to the client networks will do too", h.Name, o.Name, a.Prefix.Masked())}
				}
			}
		}
	}
	return []string{fixStep("on %s: ip route add %s via the router of its subnet (another host of the subnet shows it: ip route show default)", h.Name, dst)}
}
