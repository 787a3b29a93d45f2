package rules

import (
	"fmt"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var traceLostInTransit = &Rule{
	ID:       "trace.lost-in-transit",
	Doc:      "A packet the director forwarded never reached the next capture point (bridge or real server).",
	Rank:     85,
	Requires: []Requirement{PacketPath},
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindFrames, Command: "tcpdump -e -n -i <iface> host <client>"},
		{Role: evidence.RoleRealServer, Kind: evidence.KindFrames, Command: "tcpdump -e -n -i <iface> host <client>"},
	},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			before := len(p.Findings())
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
			reportTraced(p, s, "trace.lost-in-transit", before)
		}
	},
}
