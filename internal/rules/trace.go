package rules

import (
	"fmt"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var directorNotForwarding = &Rule{
	ID:   "trace.director-not-forwarding",
	Doc:  "The director's capture shows client packets for the VIP arriving and no forwarded copy leaving.",
	Rank: 80,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindFrames, Command: "tcpdump -e -n -i <iface> host <VIP>"},
	},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			for _, d := range p.ActiveDirectors(s) {
				v := viewDirector(d, s)
				if len(v.in) == 0 || len(v.out) > 0 {
					continue
				}
				p.Report(diagnosis.Finding{
					Severity: diagnosis.Critical,
					Host:     d.Name,
					Title:    fmt.Sprintf("%d client packet(s) for %s reached %s and none was forwarded to a real server", len(v.in), s, d.Name),
					Explanation: "The capture on the director shows the client's packets arriving for the VIP, " +
						"but no copy leaving towards a real server (no rewritten MAC in DR, no IPIP packet in TUN). " +
						"IPVS did not take the packet: look at the director's IPVS table, VIP, firewall and kernel.",
					Evidence: firstRefs(v.in, 4),
					Fix:      []string{"check the causes ranked above; then `ipvsadm -Lnc` and `ipvsadm -Ln --stats` while the client retries"},
				})
			}
		}
	},
}

var lostInTransitRule = &Rule{
	ID:   "trace.lost-in-transit",
	Doc:  "A packet the director forwarded never reached the next capture point (bridge or real server).",
	Rank: 85,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindFrames, Command: "tcpdump -e -n -i <iface> host <client>"},
		{Role: evidence.RoleRealServer, Kind: evidence.KindFrames, Command: "tcpdump -e -n -i <iface> host <client>"},
	},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			for _, l := range lostInTransit(p, s) {
				ev := []evidence.Ref{l.frame.Ref}
				if l.alive != nil {
					ev = append(ev, l.alive.Ref)
				}
				p.Report(diagnosis.Finding{
					Severity: diagnosis.Critical,
					Host:     l.point.Name,
					Title:    fmt.Sprintf("packet forwarded by %s (%s) never reached %s", l.director.Name, l.key, l.point.Name),
					Explanation: fmt.Sprintf("%s sent the packet on towards the real server, and %s's capture, which was running "+
						"(it shows other traffic from the same side), never saw it. Something between the two dropped it: "+
						"a hypervisor filter, a switch ACL, or a cloud network's anti-spoofing.", l.director.Name, l.point.Name),
					Evidence: ev,
					Fix:      []string{"find what lies between " + l.director.Name + " and " + l.point.Name + " (see the causes ranked above)"},
				})
			}
		}
	},
}
