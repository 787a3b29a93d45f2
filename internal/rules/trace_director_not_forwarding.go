package rules

import (
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var traceDirectorNotForwarding = &Rule{
	ID:       "trace.director-not-forwarding",
	Doc:      "The director's capture shows client packets for the VIP arriving and no forwarded copy leaving.",
	Rank:     80,
	Requires: []Requirement{PacketPath},
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindFrames, Command: Capture, When: WhileRetrying},
	},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			// A director that does not hold the VIP (a backup that clients
			// reach through a stale ARP entry) is not expected to forward:
			// what sends the packets there is the cause, not its silence.
			reportPath(p, s, func(host string) bool {
				d := p.Case.Lookup(host)
				return d == nil || p.IsActive(s, d)
			})
		}
	},
}
