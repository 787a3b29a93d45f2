package rules

import (
	"net/netip"
	"sort"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

// destFor returns the IPVS destination for rip, from the directors'
// tables in name order, so that two disagreeing tables give one answer.
func destFor(s *topology.Service, rip netip.Addr) *evidence.RealServer {
	names := make([]string, 0, len(s.IPVS))
	for n := range s.IPVS {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, d := range s.IPVS[n].Dests {
			if d.Addr == rip {
				return d
			}
		}
	}
	return nil
}
