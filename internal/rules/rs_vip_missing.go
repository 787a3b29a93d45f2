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
			fix := fixCmd(fmt.Sprintf("ip addr add %s/32 dev lo", s.VIP), "on %s", h.Name)
			if s.Mode == "tun" {
				holder = "tunl0"
				fix = fixCmd(fmt.Sprintf("ip addr add %s/32 dev tunl0 && ip link set tunl0 up", s.VIP), "on %s", h.Name)
			}
			// What decides is an absence: the addresses the host has,
			// where the VIP should be first, in the VIP's family.
			ev := addrBlock(h, holder, s.VIP.Is4())
			if len(ev) == 0 {
				ev = []evidence.Ref{wholeListing(h, evidence.KindAddrs, "no "+s.VIP.String()+" in it")}
			}
			p.Report(diagnosis.Finding{
				Severity: diagnosis.Critical,
				Host:     h.Name,
				Title:    fmt.Sprintf("%s does not own the VIP %s", h.Name, s.VIP),
				Explanation: fmt.Sprintf("In %s mode the director hands the packet to %s unchanged, still addressed to %s. "+
					"A host only accepts packets for its own addresses, so %s drops every connection scheduled to it "+
					"(the client sees timeouts on a share of its requests).", strings.ToUpper(s.Mode), h.Name, s.VIP, h.Name),
				Evidence: ev,
				Fix:      []string{fix, fixStep("persist it in the network configuration, with ARP suppressed (arp_ignore=1, arp_announce=2)")},
			})
		}
	},
}
