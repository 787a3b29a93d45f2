package rules

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

var rsVIPWideNetmask = &Rule{
	ID:    "rs.vip-wide-netmask",
	Modes: []string{"dr", "tun"},
	Doc: "A DR/TUN real server holds the VIP on lo with a netmask wider than a host's: the kernel makes the whole " +
		"subnet local on lo, and the real server can no longer reach (or answer) its neighbours in it.",
	Rank:     11,
	Needs:    []Need{{Role: evidence.RoleRealServer, Kind: evidence.KindAddrs, Command: "ip addr"}},
	Explains: []string{"trace.rs-not-replying", "trace.reply-lost", "rs.no-return-route"},
	Run: func(p *Pass) {
		for _, x := range directPairs(p) {
			s, h := x.s, x.h
			for _, a := range h.AddrsOf(s.VIP) {
				// IPv4 only: for an IPv6 prefix on lo the kernel adds an
				// ordinary route beside the NIC's (checked in a netns),
				// not a local one that takes the subnet.
				if a.Iface != "lo" && !strings.HasPrefix(a.Label, "lo:") || !a.Prefix.Addr().Is4() || a.Prefix.Bits() >= 32 || a.Prefix.Bits() < 0 {
					continue
				}
				reportWideVIP(p, s, h, a)
			}
		}
	},
}

// reportWideVIP reports the VIP a on h's lo with a subnet's netmask: the
// neighbours of h in that subnet (its gateway, the client, the
// directors, its own RIP's network) are what it breaks.
func reportWideVIP(p *Pass, s *topology.Service, h *evidence.Host, a evidence.Addr) {
	subnet := a.Prefix.Masked()
	ev := []evidence.Ref{a.Ref}
	for _, r := range h.Routes {
		if r.Table == "local" && r.Type == "local" && r.Dst == subnet && r.Dev == "lo" {
			ev = append(ev, r.Ref)
		}
	}
	var hit []string
	seen := map[netip.Addr]bool{}
	note := func(addr netip.Addr, what string) {
		if addr.IsValid() && subnet.Contains(addr) && addr != s.VIP && !seen[addr] {
			seen[addr] = true
			hit = append(hit, what+" "+addr.String())
		}
	}
	for _, r := range h.Routes {
		if r.Gateway.IsValid() && (r.Table == "" || r.Table == "main") {
			note(r.Gateway, "its gateway")
		}
	}
	for _, x := range h.Addrs {
		if x.Iface != "lo" && x.Prefix.Addr().Is4() == subnet.Addr().Is4() && x.Prefix.Overlaps(subnet) && x.Prefix.Addr().IsGlobalUnicast() {
			hit = append(hit, "its own segment "+x.Prefix.Masked().String()+" (on "+x.Iface+")")
			break
		}
	}
	note(p.Case.Client.Addr, "the client")
	for _, d := range p.Directors() {
		for _, x := range d.Addrs {
			if x.Prefix.Addr() != s.VIP && x.Iface != "lo" {
				note(x.Prefix.Addr(), d.Name+"'s")
			}
		}
	}
	sev := diagnosis.Warning
	expl := fmt.Sprintf("%s holds the VIP as %s on lo. For an address on the loopback device the kernel adds a `local` route "+
		"for its whole subnet (local %s dev lo in table local), so %s takes every address of %s as its own: packets to them "+
		"loop into lo instead of leaving. A VIP on lo must be a /%d.", h.Name, a.Prefix, subnet, h.Name, subnet, a.Prefix.Addr().BitLen())
	if len(hit) > 0 {
		sev = diagnosis.Critical
		expl += fmt.Sprintf(" In that subnet are %s: %s cannot reach them, and its replies to them never leave.", strings.Join(hit, ", "), h.Name)
	} else {
		expl += " Nothing the case shows lies in that subnet, so the service may still work; any neighbour there is unreachable."
	}
	bits := a.Prefix.Addr().BitLen()
	p.Report(diagnosis.Finding{
		Severity:    sev,
		Host:        h.Name,
		Title:       fmt.Sprintf("the VIP is %s on %s's lo: the whole subnet %s is local there", a.Prefix, h.Name, subnet),
		Explanation: expl,
		Evidence:    ev,
		Fix: []string{
			fixCmd(fmt.Sprintf("ip addr add %s/%d dev lo && ip addr del %s dev lo", s.VIP, bits, a.Prefix), "on %s: the VIP as a host address", h.Name),
			fixStep("and where it is configured (ifcfg-lo:0 NETMASK=255.255.255.255, netplan or /etc/network/interfaces): a /%d", bits),
			fixCmd("ip route show table local", "must show no route for %s on lo", subnet),
		},
	})
}
