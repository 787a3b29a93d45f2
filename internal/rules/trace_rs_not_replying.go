package rules

import (
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var traceRSNotReplying = &Rule{
	ID:       "trace.rs-not-replying",
	Doc:      "A real server's capture shows the forwarded client packets arriving and no reply (no SYN-ACK, reset or ICMP) leaving.",
	Rank:     87,
	Requires: []Requirement{PacketPath},
	Needs: []Need{
		{Role: evidence.RoleRealServer, Kind: evidence.KindFrames, Command: Capture, When: WhileRetrying},
	},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			reportPath(p, s, nil)
		}
	},
}
