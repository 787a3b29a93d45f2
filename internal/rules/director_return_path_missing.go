package rules

import (
	"fmt"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
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
					Fix:      returnPathFix(s, d),
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

// returnPathFix brings the replies back through d, for s's mode only: in
// NAT the real servers' default route goes via the director; in FNAT the
// replies go to the local addresses, which must be d's and routed to it.
func returnPathFix(s *topology.Service, d *evidence.Host) []string {
	var rips []string
	for _, r := range s.RIPs {
		rips = append(rips, r.String())
	}
	on := "on each real server"
	if len(rips) > 0 && len(rips) <= 4 {
		on = "on " + strings.Join(rips, ", ")
	}
	if s.Mode == "nat" {
		for _, r := range s.RIPs {
			for _, a := range d.Addrs {
				if a.Iface != "lo" && a.Prefix.Bits() < a.Prefix.Addr().BitLen() && a.Prefix.Masked().Contains(r) {
					return []string{fixCmd("ip route replace default via "+a.Prefix.Addr().String(), "%s: the replies must go back through %s (its address on their subnet)", on, d.Name)}
				}
			}
		}
		return []string{fixStep("%s: ip route replace default via %s's address on their subnet (ip -o -4 addr show on %s)", on, d.Name, d.Name)}
	}
	var lips []string
	if kc := d.Keepalived; kc != nil {
		if kv := s.Config[d.Name]; kv != nil {
			for _, r := range kc.LocalAddrGroups[kv.LaddrGroup] {
				lips = append(lips, r.From.String())
			}
		}
	}
	if len(lips) == 0 {
		return []string{fixStep("the local addresses (local_address_group in keepalived.conf on %s) must be %s's own, and %s must route them back to it (ip route get on each)", d.Name, d.Name, on)}
	}
	return []string{
		fixCmd("ip -o addr show to "+lips[0], "on %s: must print an interface: a local address that is not %s's own gets no reply", d.Name, d.Name),
		fixCmd("ip route get "+lips[0], "%s: the replies to the local address must lead back to %s", on, d.Name),
	}
}
