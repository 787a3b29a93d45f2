package rules

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

var directorRPFilterDropsClients = &Rule{
	ID: "director.rp-filter-drops-clients",
	Doc: "Strict rp_filter (effective 1) on the interface where the director receives VIP traffic drops client " +
		"packets whose route back leaves by another interface (two-armed directors).",
	Rank: 10,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindSysctl, Command: "sysctl -a"},
		{Role: evidence.RoleDirector, Kind: evidence.KindRoutes, Command: "ip route"},
	},
	Explains: []string{"trace.director-not-forwarding", "kernel.drop"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if !s.VIP.IsValid() {
				continue
			}
			for _, d := range p.ActiveDirectors(s) {
				checkDirectorRP(p, s, d)
			}
		}
	},
}

// vipIface is the interface where d receives s's client packets: where
// the VIP is configured, else where its captures saw them arrive.
func vipIface(d *evidence.Host, s *topology.Service) (string, []evidence.Ref) {
	for _, a := range d.AddrsOf(s.VIP) {
		if !arpSilentIface(a.Iface) {
			return a.Iface, []evidence.Ref{a.Ref}
		}
	}
	v := viewDirector(d, s)
	for _, f := range v.in {
		if f.Iface != "" && f.Iface != "any" {
			return f.Iface, []evidence.Ref{f.Ref}
		}
	}
	return "", nil
}

func checkDirectorRP(p *Pass, s *topology.Service, d *evidence.Host) {
	if !d.Has(evidence.KindSysctl) || !d.Has(evidence.KindRoutes) {
		return
	}
	in, inRefs := vipIface(d, s)
	if in == "" {
		return
	}
	eff := d.EffectiveConf("rp_filter", in)
	if !eff.Known || eff.Value != 1 {
		return
	}
	probe := p.Case.Client.Addr
	who := "the client " + probe.String()
	if !probe.IsValid() {
		probe = netip.IPv4Unspecified()
		who = "clients (default route)"
	}
	if probe.Is4() != s.VIP.Is4() {
		return
	}
	out, route := routeOut(d, probe)
	if out == "" || out == in {
		return
	}
	ev := append([]evidence.Ref(nil), eff.Refs...)
	ev = append(ev, route.Ref)
	ev = append(ev, inRefs...)
	for _, name := range []string{"TcpExt.IPReversePathFilter", "TcpExtIPReversePathFilter"} {
		if c, ok := d.Counters[name]; ok && c.Value > 0 {
			ev = append(ev, c.Ref)
		}
	}
	for _, l := range d.Logs {
		if l.Kind == evidence.LogMartianSource && (l.Subject == in || strings.Contains(l.Ref.Text, " "+in)) {
			ev = append(ev, l.Ref)
			break
		}
	}
	p.Report(diagnosis.Finding{
		Severity: diagnosis.Critical,
		Host:     d.Name,
		Title:    fmt.Sprintf("strict rp_filter on %s's %s drops client packets for the VIP: the route back to %s leaves by %s", d.Name, in, who, out),
		Explanation: fmt.Sprintf("Client packets for %s arrive on %s, where the kernel applies max(conf.all, conf.%s).rp_filter = 1: "+
			"strict reverse-path filtering drops a packet when the route back to its source does not leave by the interface "+
			"it came in on. %s routes %s out of %s, so the packets are dropped before IPVS sees them (counted as "+
			"IPReversePathFilter, logged as martian source with log_martians=1). Directors with one arm towards the clients "+
			"and another towards the real servers hit this whenever the clients' route is on the other arm.", s.VIP, in, in, d.Name, who, out),
		Evidence: ev,
		Fix: append(sysctlFix(fmt.Sprintf("on %s: loose mode, on all and %s (the kernel takes the maximum)", d.Name, in),
			"net.ipv4.conf.all.rp_filter=2", "net.ipv4.conf."+in+".rp_filter=2"),
			fixStep("or route %s back through %s (ip route add ... dev %s)", who, in, in)),
	})
}
