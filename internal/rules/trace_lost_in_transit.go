package rules

import (
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var traceLostInTransit = &Rule{
	ID:       "trace.lost-in-transit",
	Doc:      "A packet the director forwarded never reached the next capture point (bridge or real server).",
	Rank:     85,
	Requires: []Requirement{PacketPath},
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindFrames, Command: Capture, When: WhileRetrying},
		{Role: evidence.RoleRealServer, Kind: evidence.KindFrames, Command: Capture, When: WhileRetrying},
	},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			reportPath(p, s, nil)
		}
	},
}
