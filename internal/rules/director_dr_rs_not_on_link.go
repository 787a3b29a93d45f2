package rules

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

var directorDRRSNotOnLink = &Rule{
	ID:    "director.dr-rs-not-on-link",
	Modes: []string{"dr"},
	Doc: "DR forwards by rewriting the destination MAC only: every DR real server must be on a subnet directly " +
		"attached to the director (reached without a gateway).",
	Rank:     7,
	Needs:    []Need{{Role: evidence.RoleDirector, Kind: evidence.KindRoutes, Command: "ip route"}},
	Explains: []string{"trace.director-not-forwarding", "trace.lost-in-transit", "kernel.drop"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if s.Mode != "" && s.Mode != "dr" {
				continue
			}
			for _, d := range p.Directors() {
				var fs []diagnosis.Finding
				var rips []string
				for _, rr := range drDests(s, d) {
					if f := checkOnLink(p, s, d, rr.addr, rr.ref); f != nil {
						fs = append(fs, *f)
						rips = append(rips, rr.addr.String())
					}
				}
				reportMerged(p, fs, fmt.Sprintf("DR real servers %s are not on a subnet attached to %s", strings.Join(rips, ", "), d.Name))
			}
		}
	},
}

type drDest struct {
	addr netip.Addr
	ref  evidence.Ref
}

// drDests lists the real servers d forwards to by DR for s: from its
// IPVS table when shown, else from its keepalived virtual_server.
func drDests(s *topology.Service, d *evidence.Host) []drDest {
	var out []drDest
	if vs := s.IPVS[d.Name]; vs != nil {
		for _, rs := range vs.Dests {
			if rs.Method == evidence.MethodRoute {
				out = append(out, drDest{rs.Addr, rs.Ref})
			}
		}
		return out
	}
	if kv := s.Config[d.Name]; kv != nil && kv.LbKind == "DR" {
		for _, rs := range kv.RealServers {
			out = append(out, drDest{rs.Addr, rs.Ref})
		}
	}
	return out
}

// reachesOnLink says whether d reaches rip without a gateway. strong is false
// when only addresses were shown (a link route could exist unseen).
func reachesOnLink(d *evidence.Host, rip netip.Addr) (on, known, strong bool, why string, ev []evidence.Ref) {
	for _, r := range d.Routes {
		if r.Table != "get" || !r.Dst.IsValid() || r.Dst.Addr() != rip {
			continue
		}
		switch {
		case r.Type != "" && r.Type != "unicast":
			return false, true, true, "`ip route get` finds no route (" + r.Type + ")", []evidence.Ref{r.Ref}
		case r.Gateway.IsValid():
			return false, true, true, "it is reached through the gateway " + r.Gateway.String(), []evidence.Ref{r.Ref}
		default:
			return true, true, true, "", nil
		}
	}
	if d.Has(evidence.KindRoutes) {
		_, r := routeOut(d, rip)
		switch {
		case r == nil:
			return false, true, true, "it has no route to it at all", []evidence.Ref{seenRef(d, evidence.KindRoutes)}
		case r.Gateway.IsValid():
			return false, true, true, "it is reached through the gateway " + r.Gateway.String(), []evidence.Ref{r.Ref}
		default:
			return true, true, true, "", nil
		}
	}
	if d.Has(evidence.KindAddrs) {
		for _, a := range d.Addrs {
			if a.Iface == "lo" || a.Prefix.Bits() >= a.Prefix.Addr().BitLen() {
				continue
			}
			if a.Prefix.Masked().Contains(rip) {
				return true, true, false, "", nil
			}
		}
		for _, a := range d.Addrs {
			if a.Iface != "lo" && a.Prefix.Addr().Is4() == rip.Is4() && a.Scope != "link" {
				ev = append(ev, a.Ref)
			}
		}
		if len(ev) == 0 {
			ev = []evidence.Ref{seenRef(d, evidence.KindAddrs)}
		}
		return false, true, false, "none of its addresses is on the real server's subnet", ev
	}
	return false, false, false, "", nil
}

func checkOnLink(p *Pass, s *topology.Service, d *evidence.Host, rip netip.Addr, destRef evidence.Ref) *diagnosis.Finding {
	if !rip.IsValid() || d.IsLocal(rip) {
		return nil
	}
	on, known, strong, why, ev := reachesOnLink(d, rip)
	if on {
		return nil
	}
	if !known {
		p.Notef("run `ip route` (or `ip route get %s`) on %s: in DR mode the real server must be on one of its links", rip, d.Name)
		return nil
	}
	sev := diagnosis.Critical
	if !strong || !p.IsActive(s, d) {
		sev = diagnosis.Warning
	}
	if !strong {
		p.Notef("`ip route get %s` on %s would confirm that the real server is off-link", rip, d.Name)
	}
	return &diagnosis.Finding{
		Severity: sev,
		Host:     d.Name,
		Title:    fmt.Sprintf("DR real server %s is not on a subnet attached to %s: %s", rip, d.Name, why),
		Explanation: fmt.Sprintf("In DR mode the director forwards the client's packet unchanged (still addressed to the VIP) "+
			"and only rewrites the destination MAC to the real server's, which it must find by ARP on one of its own "+
			"links. %s is not on such a link, so the frame goes to a router or nowhere: the router sends a packet for the "+
			"VIP back towards the director or drops it, and %s never sees it.", rip, rip),
		Evidence: append([]evidence.Ref{destRef}, ev...),
		Fix: []string{
			fixStep("put %s and the real servers on one L2 segment: give %s an address in %s's subnet, on the link that reaches it", d.Name, d.Name, rip),
			fixStep("or forward by TUN (lb_kind TUN, the VIP on the real servers' tunl0) or NAT/FNAT, which route across subnets"),
		},
	}
}
