package rules

import (
	"net/netip"
	"sort"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

// receivingIface is where forwarded client packets enter a real server:
// tunl0 (or the ipip device holding the VIP) in TUN mode; in DR, the
// interface holding the real server's address.
func receivingIface(p *Pass, s *topology.Service, h *evidence.Host) string {
	if s.Mode == "tun" {
		for _, a := range h.AddrsOf(s.VIP) {
			if a.Iface != "lo" {
				return a.Iface
			}
		}
		for _, l := range h.Links {
			if l.Kind == "ipip" || strings.HasPrefix(l.Name, "tunl") {
				return l.Name
			}
		}
		return "tunl0"
	}
	if rip, ok := p.RIPOf(s, h); ok {
		for _, a := range h.AddrsOf(rip) {
			return a.Iface
		}
	}
	return ""
}

// routeOut returns the interface the host routes dst through (longest
// prefix of the main table), with the route.
func routeOut(h *evidence.Host, dst netip.Addr) (string, *evidence.Route) {
	return routeIn(h, "main", dst)
}

// routeOutFrom is routeOut for a packet from src: it follows the policy
// rules (`ip rule`) the way the kernel does, in priority order, the first
// table with a matching route winning. Only "from all" and "from PREFIX"
// selectors are understood; a rule with other selectors (iif, fwmark,
// tos...) is skipped, which errs towards the main table.
func routeOutFrom(h *evidence.Host, src, dst netip.Addr) (string, *evidence.Route) {
	if len(h.RouteRule) == 0 || !src.IsValid() {
		return routeOut(h, dst)
	}
	rules := append([]evidence.IPRule(nil), h.RouteRule...)
	sort.SliceStable(rules, func(i, j int) bool { return rules[i].Priority < rules[j].Priority })
	for _, r := range rules {
		sel := strings.Fields(r.Selector)
		if len(sel) != 2 || sel[0] != "from" {
			continue
		}
		if sel[1] != "all" {
			pfx, err := netip.ParsePrefix(sel[1])
			if err != nil {
				a, err2 := netip.ParseAddr(sel[1])
				if err2 != nil {
					continue
				}
				pfx = netip.PrefixFrom(a, a.BitLen())
			}
			if !pfx.Contains(src) {
				continue
			}
		}
		if r.Table == "local" {
			continue
		}
		if dev, rt := routeIn(h, r.Table, dst); rt != nil {
			return dev, rt
		}
	}
	return routeOut(h, dst)
}

// routeIn looks dst up in one routing table (longest prefix).
func routeIn(h *evidence.Host, table string, dst netip.Addr) (string, *evidence.Route) {
	var best *evidence.Route
	for i := range h.Routes {
		r := &h.Routes[i]
		t := r.Table
		if t == "" || t == "254" {
			t = "main"
		}
		if t != table {
			continue
		}
		if r.Type != "" && r.Type != "unicast" {
			continue
		}
		if !r.Dst.IsValid() || !r.Dst.Contains(dst) {
			continue
		}
		if best == nil || r.Dst.Bits() > best.Dst.Bits() {
			best = r
		}
	}
	if best == nil {
		return "", nil
	}
	return best.Dev, best
}
