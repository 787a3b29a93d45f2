package rules

import (
	"fmt"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var rsVIPMissing = &Rule{
	ID:       "rs.vip-missing",
	Modes:    []string{"dr", "tun"},
	Doc:      "In DR/TUN every real server must own the VIP (on lo, tunl0 or a dummy), or its kernel discards the forwarded packets.",
	Rank:     10,
	Needs:    []Need{{Role: evidence.RoleRealServer, Kind: evidence.KindAddrs, Command: "ip addr"}},
	Explains: []string{"trace.rs-not-replying", "rs.arp-not-suppressed"},
	Run: func(p *Pass) {
		for _, x := range directPairs(p) {
			s, h := x.s, x.h
			if !h.Has(evidence.KindAddrs) || h.IsLocal(s.VIP) {
				continue
			}
			holder := "lo"
			fix := fmt.Sprintf("ip addr add %s/32 dev lo", s.VIP)
			if s.Mode == "tun" {
				holder = "tunl0"
				fix = fmt.Sprintf("ip addr add %s/32 dev tunl0 && ip link set tunl0 up", s.VIP)
			}
			ev := addrRefsOn(h, holder)
			if len(ev) == 0 {
				ev = []evidence.Ref{seenRef(h, evidence.KindAddrs)}
			}
			p.Report(diagnosis.Finding{
				Severity: diagnosis.Critical,
				Host:     h.Name,
				Title:    fmt.Sprintf("%s does not own the VIP %s", h.Name, s.VIP),
				Explanation: fmt.Sprintf("In %s mode the director hands the packet to %s unchanged, still addressed to %s. "+
					"A host only accepts packets for its own addresses, so %s drops every connection scheduled to it "+
					"(the client sees timeouts on a share of its requests).", strings.ToUpper(s.Mode), h.Name, s.VIP, h.Name),
				Evidence: ev,
				Fix:      []string{fix, "persist it in the network configuration, with ARP suppression (arp_ignore=1, arp_announce=2)"},
			})
		}
	},
}
