package rules

import (
	"fmt"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var rsVIPOnPhysicalInterface = &Rule{
	ID:       "rs.vip-on-physical-interface",
	Modes:    []string{"dr", "tun"},
	Doc:      "A DR/TUN real server holds the VIP on a physical interface, where it answers ARP for it and fights the director.",
	Rank:     12,
	Needs:    []Need{{Role: evidence.RoleRealServer, Kind: evidence.KindAddrs, Command: "ip addr"}},
	Explains: []string{"net.arp-conflict", "rs.arp-not-suppressed", "net.vip-dad-failed"},
	Run: func(p *Pass) {
		for _, x := range directPairs(p) {
			s, h := x.s, x.h
			for _, a := range h.AddrsOf(s.VIP) {
				if arpSilentIface(a.Iface) || arpSilentIface(a.Label) || virtualLink(h, a.Iface) {
					continue
				}
				p.Report(diagnosis.Finding{
					Severity: diagnosis.Critical,
					Host:     h.Name,
					Title:    fmt.Sprintf("the VIP %s is on %s's physical interface %s", s.VIP, h.Name, a.Iface),
					Explanation: "On a real NIC the VIP is announced and answered in ARP like any address, so the clients' " +
						"gateway may learn the real server's MAC for the VIP and bypass the director. It belongs on lo " +
						"(DR) or tunl0 (TUN) as a /32, with ARP suppressed.",
					Evidence: []evidence.Ref{a.Ref},
					Fix:      vipToSilentIface(s, h, a),
				})
			}
		}
	},
}

// virtualLink reports whether iface is a software device that answers no
// ARP on the wire (an ipip or gre tunnel, a dummy), whatever its name.
func virtualLink(h *evidence.Host, iface string) bool {
	l, ok := h.Link(iface)
	if !ok {
		return false
	}
	switch l.Kind {
	case "ipip", "dummy", "gre", "ip6tnl", "sit", "loopback", "none":
		return true
	}
	return false
}

// vipToSilentIface moves the VIP from a NIC to where it answers no ARP:
// lo in DR, tunl0 in TUN.
func vipToSilentIface(s *topology.Service, h *evidence.Host, a evidence.Addr) []string {
	to := "lo"
	if s.Mode == "tun" {
		to = "tunl0"
	}
	return []string{
		fixCmd(fmt.Sprintf("ip addr add %s/32 dev %s", s.VIP, to), "on %s", h.Name),
		fixCmd(fmt.Sprintf("ip addr del %s dev %s", a.Prefix, a.Iface), "then off the NIC; and in the network configuration"),
	}
}
