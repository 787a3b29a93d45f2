package rules

import (
	"fmt"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

var directorFNATLocalAddressNotLocal = &Rule{
	ID:    "director.fnat-local-address-not-local",
	Modes: []string{"fnat"},
	Doc:   "FNAT: the local addresses (local_address_group) a virtual server uses as source towards the real servers must be this director's own.",
	Rank:  10,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindKeepalived, Command: "cat /etc/keepalived/keepalived.conf"},
		{Role: evidence.RoleDirector, Kind: evidence.KindAddrs, Command: "ip addr"},
	},
	Explains: []string{"director.return-path-missing", "trace.rs-not-replying", "trace.reply-lost"},
	Run: func(p *Pass) {
		for _, d := range p.Directors() {
			kc := d.Keepalived
			if kc == nil {
				continue
			}
			if !d.Has(evidence.KindAddrs) {
				for _, vs := range kc.VirtualServers {
					if vs.LaddrGroup != "" {
						p.Notef("run `ip addr` on %s to check that local_address_group %s holds its own addresses", d.Name, vs.LaddrGroup)
						break
					}
				}
				continue
			}
			done := map[string]bool{}
			for _, vs := range kc.VirtualServers {
				g := vs.LaddrGroup
				if g == "" || done[g] {
					continue
				}
				done[g] = true
				entries, ok := kc.LocalAddrGroups[g]
				if !ok {
					continue // keepalived.config-invalid reports the dangling name
				}
				var foreign []evidence.KAddrRange
				for _, e := range entries {
					if !rangeHasLocal(d, e) {
						foreign = append(foreign, e)
					}
				}
				if len(foreign) == 0 {
					continue
				}
				sev := diagnosis.Critical
				why := ""
				switch {
				case len(foreign) < len(entries):
					// Some usable LIPs remain: part of the connections fail.
					sev, why = diagnosis.Warning, " Other addresses of the group are local, so only the connections given these fail."
				case !activeForAny(p, d):
					// A backup: a trap for the next failover rather than
					// today's outage.
					sev, why = diagnosis.Warning, fmt.Sprintf(" %s does not carry the service now (it does not hold the VIP): this breaks it at the next failover.", d.Name)
				}
				// The deciding line is the group's entry that is not local;
				// then who owns it, the group's name, and the director's own
				// addresses (what the group should hold).
				var ev []evidence.Ref
				var names, owners []string
				for _, e := range foreign {
					ev = append(ev, e.Ref)
					names = append(names, rangeString(e))
					if h := p.Topo.HostOwning(e.From); h != nil && h != d {
						owners = append(owners, fmt.Sprintf("%s belongs to %s", e.From, h.Name))
						ev = append(ev, h.AddrsOf(e.From)[0].Ref)
					}
				}
				ev = append(ev, vs.LaddrRef)
				var own []string
				for _, a := range d.Addrs {
					if a.Iface != "lo" && a.Prefix.Addr().Is4() && !p.Topo.IsVIP(a.Prefix.Addr()) && !containerIface(a.Iface) {
						ev = append(ev, a.Ref)
						own = append(own, a.Prefix.Addr().String())
					}
				}
				var svc *topology.Service
				for _, s := range p.Services() {
					if s.VIP == vs.Addr {
						svc = s
					}
				}
				ownSay := d.Name + "'s own address(es)"
				if len(own) > 0 {
					ownSay = strings.Join(own, ", ") + " (" + d.Name + "'s own)"
				}
				expl := fmt.Sprintf("In FNAT the director rewrites the source of each forwarded packet to a local address (LIP) "+
					"from local_address_group %s, and the real server answers to that address. %s is not an address of %s, so the "+
					"replies go elsewhere (or nowhere): the connection never completes and IPVS counts packets in and none out.",
					g, strings.Join(names, ", "), d.Name)
				if len(owners) > 0 {
					expl += " " + upperFirst(strings.Join(owners, "; ")) + ": the group was filled with the peer's addresses."
				}
				p.Report(diagnosis.Finding{
					Severity:    sev,
					Host:        d.Name,
					Title:       fmt.Sprintf("local_address_group %s holds %s, which is not an address of %s", g, strings.Join(names, ", "), d.Name),
					Explanation: expl + why,
					Evidence:    ev,
					Fix: []string{
						fixStep("in keepalived.conf on %s: local_address_group %s must hold %s, not %s", d.Name, g, ownSay, strings.Join(names, ", ")),
						keepalivedApply(p, svc, d, "the virtual server is installed again with its new local addresses"),
						fixCmd("ipvsadm -Ln --stats", "OutPkts must grow"),
					},
				})
			}
		}
	},
}

func rangeHasLocal(h *evidence.Host, r evidence.KAddrRange) bool {
	for _, a := range h.Addrs {
		if r.Contains(a.Prefix.Addr()) {
			return true
		}
	}
	return false
}

func rangeString(r evidence.KAddrRange) string {
	if r.From == r.To || !r.To.IsValid() {
		return r.From.String()
	}
	return r.From.String() + "-" + r.To.String()
}

// activeForAny reports whether d carries the traffic of any service.
func activeForAny(p *Pass, d *evidence.Host) bool {
	for _, s := range p.Services() {
		if p.IsActive(s, d) {
			return true
		}
	}
	return false
}
