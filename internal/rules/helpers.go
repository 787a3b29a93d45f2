package rules

import (
	"net/netip"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

// destFor returns the IPVS destination for rip in any director's table.
func destFor(s *topology.Service, rip netip.Addr) *evidence.RealServer {
	for _, vs := range s.IPVS {
		for _, d := range vs.Dests {
			if d.Addr == rip {
				return d
			}
		}
	}
	return nil
}
