package rules

import (
	"fmt"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var directorVIPOwnedTwice = &Rule{
	ID:    "director.vip-owned-twice",
	Doc:   "Two directors hold the VIP at once (VRRP split brain).",
	Rank:  12,
	Needs: []Need{{Role: evidence.RoleDirector, Kind: evidence.KindAddrs, Command: "ip addr"}},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if !s.VIP.IsValid() {
				continue
			}
			var owners []*evidence.Host
			var ev []evidence.Ref
			for _, d := range p.Directors() {
				for _, a := range d.AddrsOf(s.VIP) {
					if a.Iface == "lo" {
						continue // a director that is also a real server
					}
					owners = append(owners, d)
					ev = append(ev, a.Ref)
					break
				}
			}
			if len(owners) < 2 {
				continue
			}
			for _, d := range owners {
				for _, l := range d.Logs {
					if l.Kind == evidence.LogVRRPMaster {
						ev = append(ev, l.Ref)
					}
				}
			}
			names := make([]string, len(owners))
			for i, o := range owners {
				names[i] = o.Name
			}
			p.Report(diagnosis.Finding{
				Severity: diagnosis.Critical,
				Host:     owners[0].Name,
				Title:    fmt.Sprintf("the VIP %s is up on %s at once", s.VIP, strings.Join(names, " and ")),
				Explanation: "Both directors are VRRP MASTER: each answers ARP for the VIP and the network sends clients to " +
					"either, so connections break when the ARP entry flips. It happens when VRRP adverts do not reach the peer.",
				Evidence: ev,
				Fix:      []string{"let VRRP (IP protocol 112) through between the directors, or configure unicast_peer", "check virtual_router_id, auth and interface match on both"},
			})
		}
	},
}
