package rules

import (
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var traceReplyLost = &Rule{
	ID:       "trace.reply-lost",
	Doc:      "A real server sent its reply to the client, and the client's capture of the same connection never shows it.",
	Rank:     90,
	Requires: []Requirement{PacketPath},
	Needs: []Need{
		{Role: evidence.RoleClient, Kind: evidence.KindFrames, Command: Capture, When: WhileRetrying},
	},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			reportPath(p, s, nil)
		}
	},
}
