package rules

import (
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

// reportPath reports the packet path's findings of the pass's cause for
// s: the packet-path rules say what the one path computed for the case
// shows, so that diagnose and trace never disagree.
// A rule may narrow the hosts the cause applies to (onHost nil: all).
func reportPath(p *Pass, s *topology.Service, onHost func(string) bool) {
	r := p.PacketPath(s)
	if r == nil {
		return
	}
	for _, f := range r.Findings {
		if f.ID == p.rule.ID && (onHost == nil || onHost(f.Host)) {
			p.Report(f)
		}
	}
}
