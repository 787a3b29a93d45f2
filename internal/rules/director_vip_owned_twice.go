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
				Fix:      vrrpPeerFix(owners),
			})
		}
	},
}

// vrrpPeerFix lets each director hear the others' VRRP adverts, and has
// the settings that must match compared.
func vrrpPeerFix(ds []*evidence.Host) []string {
	var fix []string
	for _, d := range ds {
		for _, peer := range ds {
			if peer == d {
				continue
			}
			if ip := directorIP(peer); ip.IsValid() {
				fix = append(fix, fixCmd(fmt.Sprintf("iptables -I INPUT -p vrrp -s %s -j ACCEPT", ip), "on %s: let %s's VRRP adverts in (or list it in unicast_peer)", d.Name, peer.Name))
			}
		}
	}
	if len(fix) == 0 {
		fix = append(fix, fixCmd("iptables -I INPUT -p vrrp -j ACCEPT", "on each director: let the peer's VRRP adverts in (or configure unicast_peer)"))
	}
	return append(fix, fixCmd("grep -E 'state|interface|virtual_router_id|unicast_peer|priority' /etc/keepalived/keepalived.conf", "on each director: the interface and virtual_router_id must match"))
}
