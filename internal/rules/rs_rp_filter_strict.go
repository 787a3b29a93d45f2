package rules

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

var rsRPFilterStrict = &Rule{
	ID:    "rs.rp-filter-strict",
	Modes: []string{"dr", "tun"},
	Doc: "Strict reverse-path filtering (effective rp_filter=1) on the interface where forwarded packets arrive drops " +
		"them when the route back to the client leaves by another interface (always so for tunl0 in TUN mode).",
	Rank: 10,
	Needs: []Need{
		{Role: evidence.RoleRealServer, Kind: evidence.KindSysctl, Command: "sysctl -a"},
		{Role: evidence.RoleRealServer, Kind: evidence.KindRoutes, Command: "ip route"},
	},
	Explains: []string{"trace.rs-not-replying", "rs.app-not-listening", "kernel.drop"},
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
		Fix: sysctlFix(fmt.Sprintf("on %s: loose mode (or 0), on all and %s: the kernel takes the maximum", h.Name, in),
			"net.ipv4.conf.all.rp_filter=2", "net.ipv4.conf."+in+".rp_filter=2"),
	})
}
