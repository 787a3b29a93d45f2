package rules

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
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

var rpFilterStrict = &Rule{
	ID:    "rs.rp-filter-strict",
	Modes: []string{"dr", "tun"},
	Doc: "Strict reverse-path filtering (effective rp_filter=1) on the interface where forwarded packets arrive drops " +
		"them when the route back to the client leaves by another interface (always so for tunl0 in TUN mode).",
	Rank: 10,
	Needs: []Need{
		{Role: evidence.RoleRealServer, Kind: evidence.KindSysctl, Command: "sysctl -a"},
		{Role: evidence.RoleRealServer, Kind: evidence.KindRoutes, Command: "ip route"},
	},
	Explains: []string{"trace.rs-not-replying", "rs.app-not-listening"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if s.Mode != "tun" && s.Mode != "dr" {
				continue
			}
			for _, h := range p.RealServersOf(s) {
				checkRPFilter(p, s, h)
			}
		}
	},
}

func checkRPFilter(p *Pass, s *topology.Service, h *evidence.Host) {
	in := receivingIface(p, s, h)
	if in == "" || !h.Has(evidence.KindSysctl) {
		return
	}
	eff := h.EffectiveConf("rp_filter", in)
	if !eff.Known || eff.Value != 1 {
		return
	}
	client := p.Case.Client.Addr
	probe := client
	if !probe.IsValid() {
		probe = netip.MustParseAddr("0.0.0.0") // the default route stands for an unknown client
	}
	// The kernel checks the reverse path as a route from the packet's
	// destination (the VIP) back to its source, source rules included.
	out, route := routeOutFrom(h, s.VIP, probe)
	if s.Mode == "dr" && (out == "" || out == in) {
		return // symmetric routing: strict mode passes
	}
	if s.Mode == "tun" && out == in {
		return // someone routes clients back through the tunnel
	}
	ev := append([]evidence.Ref(nil), eff.Refs...)
	if route != nil {
		ev = append(ev, route.Ref)
	}
	for _, a := range h.AddrsOf(s.VIP) {
		ev = append(ev, a.Ref)
	}
	for _, name := range []string{"TcpExt.IPReversePathFilter", "TcpExtIPReversePathFilter"} {
		if c, ok := h.Counters[name]; ok && c.Value > 0 {
			ev = append(ev, c.Ref)
		}
	}
	for _, l := range h.Logs {
		if l.Kind == evidence.LogMartianSource && (l.Subject == in || strings.Contains(l.Ref.Text, in)) {
			ev = append(ev, l.Ref)
			break
		}
	}
	why := fmt.Sprintf("the route back to the client leaves by %s", orName(out, "another interface"))
	if s.Mode == "tun" {
		why = fmt.Sprintf("after IPIP decapsulation the client's packet appears on %s, but the route back to the client leaves by %s",
			in, orName(out, "the physical interface"))
	}
	p.Report(diagnosis.Finding{
		Severity: diagnosis.Critical,
		Host:     h.Name,
		Title:    fmt.Sprintf("strict rp_filter on %s drops the forwarded packets (effective rp_filter=1)", in),
		Explanation: fmt.Sprintf("The kernel uses max(conf.all, conf.%s) = 1, strict reverse-path filtering: a packet is "+
			"dropped when the route back to its source does not leave by the interface it came in on. Here %s, so every "+
			"client packet is dropped before it reaches the application (counted as IPReversePathFilter, logged as martian "+
			"source when log_martians is on).", in, why),
		Evidence: ev,
		Fix: []string{
			fmt.Sprintf("sysctl -w net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.%s.rp_filter=2   # or 0", in),
			"persist it in /etc/sysctl.d/ (both all and the interface: the kernel takes the maximum)",
		},
	})
}
