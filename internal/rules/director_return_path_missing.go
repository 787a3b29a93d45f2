package rules

import (
	"fmt"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var directorReturnPathMissing = &Rule{
	ID:    "director.return-path-missing",
	Modes: []string{"nat", "fnat"},
	Doc:   "NAT/FNAT: IPVS counts packets in and none out, so the real servers' replies never come back through the director.",
	Rank:  50,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindIPVSStats, Command: "ipvsadm -Ln --stats"},
	},
	Explains: []string{"trace.reply-lost"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if s.Mode != "nat" && s.Mode != "fnat" {
				continue
			}
			for _, d := range p.ActiveDirectors(s) {
				vs := s.IPVS[d.Name]
				if vs == nil || vs.Stats == nil || vs.Stats.InPkts == 0 || vs.Stats.OutPkts != 0 {
					continue
				}
				// The counters decide: the stats lines that hold them first,
				// then the listing the service was read from.
				ev := []evidence.Ref{statsRef(vs.Stats, vs.Ref)}
				for _, rs := range vs.Dests {
					if rs.Stats != nil && rs.Stats.InPkts > 0 {
						ev = append(ev, statsRef(rs.Stats, rs.Ref))
					}
				}
				if vs.Stats.Ref.IsZero() || vs.Stats.Ref != vs.Ref {
					ev = append(ev, vs.Ref)
				}
				p.Report(diagnosis.Finding{
					Severity: diagnosis.Critical,
					Host:     d.Name,
					Title:    fmt.Sprintf("%s: %d packets in, 0 out — no reply comes back through %s", s, vs.Stats.InPkts, d.Name),
					Explanation: fmt.Sprintf("In %s mode every reply of the real servers must pass the director, which rewrites it back "+
						"to the VIP. IPVS forwarded %d packets to the real servers and saw no reply at all: the replies take another "+
						"path or never leave the real servers.", strings.ToUpper(s.Mode), vs.Stats.InPkts),
					Evidence: ev,
					Fix: []string{
						"NAT: make the director (DIP) the real servers' default gateway",
						"FNAT: make sure the local addresses are the director's own and routed back to it",
					},
				})
			}
		}
	},
}

// statsRef is the line of the counters, or of the entry when the
// counters' line is not known (merged from another listing).
func statsRef(st *evidence.Stats, entry evidence.Ref) evidence.Ref {
	if st != nil && !st.Ref.IsZero() {
		return st.Ref
	}
	return entry
}
