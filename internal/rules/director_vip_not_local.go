package rules

import (
	"fmt"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

var directorVIPNotLocal = &Rule{
	ID:       "director.vip-not-local",
	Doc:      "No director owns the VIP, so the packets for it are never delivered locally where IPVS takes them.",
	Rank:     6,
	Needs:    []Need{{Role: evidence.RoleDirector, Kind: evidence.KindAddrs, Command: "ip addr"}},
	Explains: []string{"trace.director-not-forwarding"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if !s.VIP.IsValid() {
				continue
			}
			var checked []*evidence.Host
			owned := false
			for _, d := range p.Directors() {
				if !d.Has(evidence.KindAddrs) {
					continue
				}
				checked = append(checked, d)
				if d.IsLocal(s.VIP) {
					owned = true
				}
			}
			if owned || len(checked) == 0 {
				continue
			}
			for _, d := range checked {
				if len(s.IPVS) > 0 && s.IPVS[d.Name] == nil && s.Config[d.Name] == nil {
					continue // not a director of this service
				}
				// The director's own addresses show the VIP is not among
				// them: those of the interface keepalived puts it on first,
				// not the loopback's nor a container bridge's; with none to
				// show, the listing as a whole does.
				var ev, rest []evidence.Ref
				on := vrrpIface(d, s)
				for _, a := range d.Addrs {
					switch {
					case a.Iface == "lo" || containerIface(a.Iface) || a.Prefix.Addr().Is4() != s.VIP.Is4() || a.Prefix.Addr().IsLinkLocalUnicast():
					case on == "" || a.Iface == on:
						ev = append(ev, a.Ref)
					default:
						rest = append(rest, a.Ref)
					}
				}
				ev = append(ev, rest...)
				if len(ev) == 0 {
					ev = append(ev, wholeListing(d, evidence.KindAddrs, "the VIP "+s.VIP.String()+" is not in it"))
				}
				if kc := d.Keepalived; kc != nil {
					for _, vi := range kc.VRRPInstances {
						for _, v := range vi.VIPs {
							if v.Prefix.Addr() == s.VIP {
								ev = append(ev, v.Ref)
							}
						}
					}
				}
				for _, l := range d.Logs {
					if l.Kind == evidence.LogVRRPBackup || l.Kind == evidence.LogVRRPFault {
						ev = append(ev, l.Ref)
					}
				}
				p.Report(diagnosis.Finding{
					Severity: diagnosis.Critical,
					Host:     d.Name,
					Title:    fmt.Sprintf("the VIP %s is not an address of %s", s.VIP, d.Name),
					Explanation: "IPVS sees a packet only when it is delivered locally. None of the directors holds the VIP, so " +
						"the packets are not routed to IPVS (and nobody answers ARP for the VIP). keepalived adds the VIP only " +
						"in MASTER state.",
					Evidence: ev,
					Fix: []string{
						fixCmd("journalctl -u keepalived | grep -i -e 'entering master' -e 'entering backup' -e fault | tail -5", "on each director: its VRRP state; keepalived adds the VIP only as MASTER"),
						fixCmd("ip -o addr show to "+s.VIP.String(), "on the director that should be MASTER: must print the VIP's interface"),
					},
				})
			}
		}
	},
}

// vrrpIface is the interface d's keepalived puts s's VIP on, "" when its
// configuration does not say.
func vrrpIface(d *evidence.Host, s *topology.Service) string {
	if d.Keepalived == nil {
		return ""
	}
	for _, vi := range d.Keepalived.VRRPInstances {
		for _, v := range vi.VIPs {
			if v.Prefix.Addr() == s.VIP {
				return vi.Interface
			}
		}
	}
	return ""
}
