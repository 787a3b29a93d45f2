package rules

import (
	"fmt"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

var traceDirectorNotForwarding = &Rule{
	ID:       "trace.director-not-forwarding",
	Doc:      "The director's capture shows client packets for the VIP arriving and no forwarded copy leaving.",
	Rank:     80,
	Requires: []Requirement{PacketPath},
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindFrames, Command: "tcpdump -e -n -i <iface> host <VIP>"},
	},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			before := len(p.Findings())
			for _, d := range p.ActiveDirectors(s) {
				v := viewDirector(d, s)
				if len(v.in) == 0 || len(v.out) > 0 {
					continue
				}
				if tracedForwards(p, s, d) {
					continue // copies the view above does not know (NAT to unknown RIPs, FNAT)
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
			reportTraced(p, s, "trace.director-not-forwarding", before)
		}
	},
}

// tracedForwards reports whether the trace shows director d forwarding
// s's connections (a copy leaving it, in any mode).
func tracedForwards(p *Pass, s *topology.Service, d *evidence.Host) bool {
	r := p.PacketPath(s)
	if r == nil {
		return false
	}
	for _, f := range r.Flows {
		for _, h := range f.Hops {
			if h.Seen && h.Host == d.Name && h.Step == "director forwards" {
				return true
			}
		}
	}
	return false
}
