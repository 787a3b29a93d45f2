package rules

import (
	"fmt"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/firewalld"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

// firewalldZoneDrop judges the VIP's port against the firewalld zone of
// the interface holding the VIP on h, when firewall-cmd --list-all is all
// that shows h's firewall (with the rules themselves, the walk decides).
func firewalldZoneDrop(p *Pass, h *evidence.Host, s *topology.Service) {
	if h.Has(evidence.KindFirewall) || !h.Has(evidence.KindFirewalld) || !s.VIP.IsValid() || s.Port == 0 {
		return
	}
	iface := ""
	for _, a := range h.Addrs {
		if a.Prefix.Addr() == s.VIP {
			iface = a.Iface
		}
	}
	if iface == "" {
		return
	}
	z, ok := firewalld.ZoneOf(h.Firewall.FirewalldZones, iface)
	if !ok {
		p.Notef("on %s, no firewalld zone listed holds %s (the VIP's interface): `firewall-cmd --get-zone-of-interface=%s; firewall-cmd --list-all-zones` settles whether it lets %s/%d in",
			h.Name, iface, iface, s.Proto, s.Port)
		return
	}
	switch firewalld.Allows(z, s.Proto, s.Port) {
	case evidence.Matches:
		return
	case evidence.MayMatch:
		p.Notef("on %s, firewalld zone %s (%s) opens %s/%d only if a rich rule or a service of unlisted ports does: `nft list ruleset` shows what firewalld made of it",
			h.Name, z.Name, iface, s.Proto, s.Port)
		return
	}
	ev := []evidence.Ref{z.Ref}
	p.Report(diagnosis.Finding{
		Severity: diagnosis.Critical,
		Host:     h.Name,
		Title:    fmt.Sprintf("firewalld zone %s (target %s) of %s on %s does not open %s/%d", z.Name, z.Target, iface, h.Name, s.Proto, s.Port),
		Explanation: fmt.Sprintf("%s holds the VIP %s and is in firewalld zone %s, whose services, ports and target do not let a new "+
			"connection to %s/%d in: firewalld rejects the client's packets before IPVS sees them.", iface, s.VIP, z.Name, s.Proto, s.Port),
		Evidence: ev,
		Fix: []string{fmt.Sprintf("firewall-cmd --zone=%s --add-port=%d/%s && firewall-cmd --runtime-to-permanent   # after checking the zone is the right one",
			z.Name, s.Port, s.Proto)},
	})
}
