package rules

import (
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

// reportTraced reports the trace's findings of the pass's rule for s
// when the packets show NAT or FNAT, whose rewritten copies the rule's
// own reading does not follow (it knows DR and TUN), and it found none.
func reportTraced(p *Pass, s *topology.Service, id string, before int) {
	if len(p.Findings()) > before {
		return
	}
	r := p.PacketPath(s)
	if r == nil || r.Service.Mode != "nat" && r.Service.Mode != "fnat" {
		return
	}
	for _, f := range r.Findings {
		if f.ID == id {
			p.Report(f)
		}
	}
}
