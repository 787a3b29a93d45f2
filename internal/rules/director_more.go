package rules

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

// ---------------------------------------------------------------------------
// director.ipvs-unavailable

var ipvsUnavailable = &Rule{
	ID: "director.ipvs-unavailable",
	Doc: "The director's kernel has no working IPVS: ipvsadm, /proc/net/ip_vs or keepalived say it cannot be " +
		"initialised, or the ip_vs module is not loaded on a director that should forward.",
	Rank:     2,
	Needs:    []Need{{Role: evidence.RoleDirector, Kind: evidence.KindIPVS, Command: "ipvsadm -Ln"}},
	Explains: []string{"trace.director-not-forwarding", "director.no-virtual-service", "director.no-available-realserver", "director.config-drift"},
	Run: func(p *Pass) {
		for _, d := range dmIPVSHosts(p) {
			dmCheckIPVS(p, d)
		}
	},
}

// dmIPVSHosts lists the directors, and hosts of unknown role on which
// someone ran ipvsadm and was told IPVS is missing (they meant a director).
func dmIPVSHosts(p *Pass) []*evidence.Host {
	var out []*evidence.Host
	for _, h := range p.Case.Hosts {
		switch h.Role {
		case evidence.RoleDirector:
			out = append(out, h)
		case evidence.RoleUnknown:
			for _, l := range h.Logs {
				if l.Kind == evidence.LogIPVSInitFailed {
					out = append(out, h)
					break
				}
			}
		}
	}
	return out
}

// dmConfigured reports whether d is meant to forward: its keepalived.conf
// defines virtual servers, or a service under diagnosis names it.
func dmConfigured(p *Pass, d *evidence.Host) (bool, evidence.Ref) {
	if kc := d.Keepalived; kc != nil && len(kc.VirtualServers) > 0 {
		return true, kc.VirtualServers[0].Ref
	}
	for _, s := range p.Services() {
		if kv := s.Config[d.Name]; kv != nil {
			return true, kv.Ref
		}
	}
	return false, evidence.Ref{}
}

func dmCheckIPVS(p *Pass, d *evidence.Host) {
	var fails, loaded []evidence.LogEvent
	for _, l := range d.Logs {
		switch l.Kind {
		case evidence.LogIPVSInitFailed:
			fails = append(fails, l)
		case evidence.LogIPVSLoaded:
			loaded = append(loaded, l)
		}
	}
	hasServices := d.IPVS != nil && len(d.IPVS.Services) > 0
	tableShown := d.IPVS != nil && (hasServices || d.Has(evidence.KindIPVS) || d.Has(evidence.KindIPVSConns) ||
		d.Has(evidence.KindIPVSStats) || !d.IPVS.TableRef.IsZero())
	_, modLoaded := d.Kernel.Modules["ip_vs"]
	lsmodLacks := d.Has(evidence.KindModules) && d.Kernel.Modules != nil && !modLoaded
	configured, confRef := dmConfigured(p, d)

	if len(fails) == 0 {
		if !lsmodLacks || !configured || tableShown || len(loaded) > 0 {
			return
		}
		ev := []evidence.Ref{seenRef(d, evidence.KindModules), confRef}
		if d.Kernel.Release != "" {
			ev = append(ev, d.Kernel.Ref)
		}
		p.Report(diagnosis.Finding{
			Severity: diagnosis.Warning,
			Host:     d.Name,
			Title:    fmt.Sprintf("the ip_vs module is not loaded on %s, which keepalived should make a director", d.Name),
			Explanation: fmt.Sprintf("%s's keepalived.conf defines virtual servers, which live in the kernel's IPVS module (ip_vs), "+
				"but the module list shows no ip_vs. Unless this kernel has IPVS built in, there is no virtual service: "+
				"packets for the VIP are delivered to the director itself and nothing is forwarded.", d.Name),
			Evidence: ev,
			Fix: []string{
				"cat /proc/net/ip_vs; modinfo ip_vs   # 'filename: (builtin)' means IPVS is built in and this is no fault",
				"modprobe ip_vs && systemctl restart keepalived",
			},
		})
		return
	}
	if hasServices {
		p.Notef("%s: IPVS failed to initialise once (%s), but %s's IPVS table has services, so IPVS works now",
			d.Name, fails[0].Ref, d.Name)
		return
	}
	last := fails[len(fails)-1]
	recovered := tableShown || modLoaded
	for _, l := range loaded {
		if l.Ref.Source == last.Ref.Source && l.Ref.Line > last.Ref.Line {
			recovered = true
		}
	}
	var ev []evidence.Ref
	for i, f := range fails {
		if i == 3 {
			break
		}
		ev = append(ev, f.Ref)
	}
	blocked := false
	for _, f := range fails {
		if strings.Contains(f.Ref.Text, "/bin/false") || strings.Contains(f.Ref.Text, "/bin/true") {
			blocked = true
		}
	}
	fix := []string{
		"modprobe ip_vs && cat /proc/net/ip_vs   # must print the IPVS table header",
		"if modprobe fails: look for `install ip_vs /bin/false` or `blacklist ip_vs` in /etc/modprobe.d/, " +
			"install the kernel's extra modules (kernel-modules-extra, linux-modules-extra-$(uname -r)), or boot a kernel built with CONFIG_IP_VS",
		"systemctl restart keepalived   # so that it installs its virtual servers",
	}
	if blocked {
		fix[1] = "remove the `install ip_vs /bin/false` line from /etc/modprobe.d/ (it forbids loading IPVS), then modprobe ip_vs"
	}
	if recovered {
		if !configured {
			p.Notef("%s: IPVS failed to initialise once (%s) and is there now; nothing on %s says it should forward", d.Name, last.Ref, d.Name)
			return
		}
		ev = append(ev, tableRef(d), confRef)
		for _, l := range loaded {
			ev = append(ev, l.Ref)
			break
		}
		p.Report(diagnosis.Finding{
			Severity: diagnosis.Warning,
			Host:     d.Name,
			Title:    fmt.Sprintf("keepalived on %s could not initialise IPVS, and the IPVS table has no service", d.Name),
			Explanation: fmt.Sprintf("The log shows IPVS missing when keepalived started. IPVS is available now, but keepalived "+
				"does not retry: the virtual servers of %s's keepalived.conf were never installed, so IPVS forwards nothing.", d.Name),
			Evidence: ev,
			Fix:      []string{"systemctl restart keepalived", "ipvsadm -Ln   # the virtual servers must be listed", "make ip_vs load at boot: echo ip_vs > /etc/modules-load.d/ipvs.conf"},
		})
		return
	}
	if lsmodLacks {
		ev = append(ev, seenRef(d, evidence.KindModules))
	}
	if d.Kernel.Release != "" {
		ev = append(ev, d.Kernel.Ref)
	}
	if configured {
		ev = append(ev, confRef)
	}
	p.Report(diagnosis.Finding{
		Severity: diagnosis.Critical,
		Host:     d.Name,
		Title:    fmt.Sprintf("%s's kernel has no working IPVS (%s)", d.Name, dmClip(orName(last.Detail, last.Ref.Text), 80)),
		Explanation: "Virtual services live in the kernel's IPVS module (ip_vs). It cannot be used on this host: the module " +
			"is not loaded and cannot be loaded, or the kernel was built without it. keepalived cannot install its virtual " +
			"servers and ipvsadm has no table, so packets for the VIP are delivered to the director itself and never forwarded.",
		Evidence: ev,
		Fix:      fix,
	})
}

func dmClip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// ---------------------------------------------------------------------------
// director.dr-rs-not-on-link

var drRSNotOnLink = &Rule{
	ID:    "director.dr-rs-not-on-link",
	Modes: []string{"dr"},
	Doc: "DR forwards by rewriting the destination MAC only: every DR real server must be on a subnet directly " +
		"attached to the director (reached without a gateway).",
	Rank:     7,
	Needs:    []Need{{Role: evidence.RoleDirector, Kind: evidence.KindRoutes, Command: "ip route"}},
	Explains: []string{"trace.director-not-forwarding", "trace.lost-in-transit"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if s.Mode != "" && s.Mode != "dr" {
				continue
			}
			for _, d := range p.Directors() {
				var fs []diagnosis.Finding
				var rips []string
				for _, rr := range dmDRDests(s, d) {
					if f := dmCheckOnLink(p, s, d, rr.addr, rr.ref); f != nil {
						fs = append(fs, *f)
						rips = append(rips, rr.addr.String())
					}
				}
				dmReportMerged(p, fs, fmt.Sprintf("DR real servers %s are not on a subnet attached to %s", strings.Join(rips, ", "), d.Name))
			}
		}
	},
}

type dmDest struct {
	addr netip.Addr
	ref  evidence.Ref
}

// dmDRDests lists the real servers d forwards to by DR for s: from its
// IPVS table when shown, else from its keepalived virtual_server.
func dmDRDests(s *topology.Service, d *evidence.Host) []dmDest {
	var out []dmDest
	if vs := s.IPVS[d.Name]; vs != nil {
		for _, rs := range vs.Dests {
			if rs.Method == evidence.MethodRoute {
				out = append(out, dmDest{rs.Addr, rs.Ref})
			}
		}
		return out
	}
	if kv := s.Config[d.Name]; kv != nil && kv.LbKind == "DR" {
		for _, rs := range kv.RealServers {
			out = append(out, dmDest{rs.Addr, rs.Ref})
		}
	}
	return out
}

// dmOnLink says whether d reaches rip without a gateway. strong is false
// when only addresses were shown (a link route could exist unseen).
func dmOnLink(d *evidence.Host, rip netip.Addr) (on, known, strong bool, why string, ev []evidence.Ref) {
	for _, r := range d.Routes {
		if r.Table != "get" || !r.Dst.IsValid() || r.Dst.Addr() != rip {
			continue
		}
		switch {
		case r.Type != "" && r.Type != "unicast":
			return false, true, true, "`ip route get` finds no route (" + r.Type + ")", []evidence.Ref{r.Ref}
		case r.Gateway.IsValid():
			return false, true, true, "it is reached through the gateway " + r.Gateway.String(), []evidence.Ref{r.Ref}
		default:
			return true, true, true, "", nil
		}
	}
	if d.Has(evidence.KindRoutes) {
		_, r := routeOut(d, rip)
		switch {
		case r == nil:
			return false, true, true, "it has no route to it at all", []evidence.Ref{seenRef(d, evidence.KindRoutes)}
		case r.Gateway.IsValid():
			return false, true, true, "it is reached through the gateway " + r.Gateway.String(), []evidence.Ref{r.Ref}
		default:
			return true, true, true, "", nil
		}
	}
	if d.Has(evidence.KindAddrs) {
		for _, a := range d.Addrs {
			if a.Iface == "lo" || a.Prefix.Bits() >= a.Prefix.Addr().BitLen() {
				continue
			}
			if a.Prefix.Masked().Contains(rip) {
				return true, true, false, "", nil
			}
		}
		for _, a := range d.Addrs {
			if a.Iface != "lo" && a.Prefix.Addr().Is4() == rip.Is4() && a.Scope != "link" {
				ev = append(ev, a.Ref)
			}
		}
		if len(ev) == 0 {
			ev = []evidence.Ref{seenRef(d, evidence.KindAddrs)}
		}
		return false, true, false, "none of its addresses is on the real server's subnet", ev
	}
	return false, false, false, "", nil
}

func dmCheckOnLink(p *Pass, s *topology.Service, d *evidence.Host, rip netip.Addr, destRef evidence.Ref) *diagnosis.Finding {
	if !rip.IsValid() || d.IsLocal(rip) {
		return nil
	}
	on, known, strong, why, ev := dmOnLink(d, rip)
	if on {
		return nil
	}
	if !known {
		p.Notef("run `ip route` (or `ip route get %s`) on %s: in DR mode the real server must be on one of its links", rip, d.Name)
		return nil
	}
	sev := diagnosis.Critical
	if !strong || !p.IsActive(s, d) {
		sev = diagnosis.Warning
	}
	if !strong {
		p.Notef("`ip route get %s` on %s would confirm that the real server is off-link", rip, d.Name)
	}
	return &diagnosis.Finding{
		Severity: sev,
		Host:     d.Name,
		Title:    fmt.Sprintf("DR real server %s is not on a subnet attached to %s: %s", rip, d.Name, why),
		Explanation: fmt.Sprintf("In DR mode the director forwards the client's packet unchanged (still addressed to the VIP) "+
			"and only rewrites the destination MAC to the real server's, which it must find by ARP on one of its own "+
			"links. %s is not on such a link, so the frame goes to a router or nowhere: the router sends a packet for the "+
			"VIP back towards the director or drops it, and %s never sees it.", rip, rip),
		Evidence: append([]evidence.Ref{destRef}, ev...),
		Fix: []string{
			fmt.Sprintf("put %s and the real servers on one L2 segment (give %s an address in %s's subnet)", d.Name, d.Name, rip),
			"or forward by TUN (lb_kind TUN, VIP on the real servers' tunl0) or NAT/FNAT, which route across subnets",
		},
	}
}

// dmReportMerged reports fs as one finding. The engine links a cause to
// its consequences by cause ID and host, so a rule that explains others
// gives each host one finding per service, listing every item.
func dmReportMerged(p *Pass, fs []diagnosis.Finding, title string) {
	switch len(fs) {
	case 0:
		return
	case 1:
		p.Report(fs[0])
		return
	}
	m := fs[0]
	m.Title = title
	m.Evidence = nil
	m.Fix = nil
	var parts, common []string
	seenFix := map[string]int{}
	for _, f := range fs {
		for _, x := range f.Fix {
			seenFix[x]++
		}
	}
	for _, f := range fs {
		if f.Severity.Rank() < m.Severity.Rank() {
			m.Severity = f.Severity
		}
		parts = append(parts, f.Title)
		m.Evidence = append(m.Evidence, f.Evidence...)
		for _, x := range f.Fix {
			switch n := seenFix[x]; {
			case n == len(fs):
				common = append(common, x) // said once, after the specific fixes
				seenFix[x] = -1
			case n > 0:
				m.Fix = append(m.Fix, x)
				seenFix[x] = -1
			}
		}
	}
	m.Fix = append(m.Fix, common...)
	m.Explanation = fs[0].Explanation + " In detail: " + strings.Join(parts, "; ") + "."
	p.Report(m)
}

// ---------------------------------------------------------------------------
// director.conn-reuse-delay

var connReuseDelay = &Rule{
	ID: "director.conn-reuse-delay",
	Doc: "conn_reuse_mode=1 with IPVS conntrack=1 on kernels before 5.9 drops the first SYN of a reused client " +
		"port, giving ~1 s connection delays.",
	Rank: 40,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindSysctl, Command: "sysctl -a"},
		{Role: evidence.RoleDirector, Kind: evidence.KindUname, Command: "uname -a"},
	},
	Run: func(p *Pass) {
		for _, d := range p.Directors() {
			mode, mref, ok := d.SysctlInt("net.ipv4.vs.conn_reuse_mode")
			if !ok || mode&1 == 0 {
				continue
			}
			ct, cref, ok := d.SysctlInt("net.ipv4.vs.conntrack")
			if !ok || ct != 1 {
				continue
			}
			maj, mnr, ok := dmKernelVersion(d.Kernel.Release)
			if !ok {
				p.Notef("%s has conn_reuse_mode=1 and vs.conntrack=1: run `uname -r` there (kernels before 5.9 drop the first SYN of reused ports)", d.Name)
				continue
			}
			if maj > 5 || (maj == 5 && mnr >= 9) {
				continue
			}
			p.Report(diagnosis.Finding{
				Severity: diagnosis.Warning,
				Host:     d.Name,
				Title:    fmt.Sprintf("%s (kernel %s) drops the first SYN of reused client ports: conn_reuse_mode=1 with vs.conntrack=1", d.Name, d.Kernel.Release),
				Explanation: "When a new connection arrives from a client address and port that still has an IPVS connection entry " +
					"(TIME_WAIT, common behind NAT and with busy clients), conn_reuse_mode=1 makes IPVS expire the old entry and " +
					"reschedule. Before Linux 5.9, with net.ipv4.vs.conntrack=1 it does so by dropping that SYN: the client " +
					"retransmits after one second, so a share of connections see ~1 s delays (more under load). Distribution " +
					"kernels may carry the upstream fix (\"ipvs: allow connection reuse for unconfirmed conntrack\").",
				Evidence: []evidence.Ref{mref, cref, d.Kernel.Ref},
				Fix: []string{
					"upgrade to a kernel with the fix (5.9 or later, or a distribution kernel that backported it)",
					"or, if nothing needs conntrack for IPVS traffic (no NAT/iptables state on it): sysctl -w net.ipv4.vs.conntrack=0",
					"or sysctl -w net.ipv4.vs.conn_reuse_mode=0 (reused ports then stick to the old real server)",
				},
			})
		}
	},
}

// dmKernelVersion reads major and minor from a release such as
// "4.18.0-348.el8.x86_64" or "5.10.0-60.18.0.50.oe2203.aarch64".
func dmKernelVersion(rel string) (int, int, bool) {
	rel = strings.TrimSpace(rel)
	parts := strings.SplitN(rel, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	maj, err := strconv.Atoi(parts[0])
	if err != nil {
		return 0, 0, false
	}
	mn := parts[1]
	for i, c := range mn {
		if c < '0' || c > '9' {
			mn = mn[:i]
			break
		}
	}
	mnr, err := strconv.Atoi(mn)
	if err != nil {
		return 0, 0, false
	}
	return maj, mnr, true
}

// ---------------------------------------------------------------------------
// director.stale-connection

var staleConnection = &Rule{
	ID: "director.stale-connection",
	Doc: "IPVS connection entries or persistence templates keep pointing at a real server that was removed or has " +
		"weight 0 (expire_nodest_conn=0, expire_quiescent_template=0).",
	Rank: 16,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindIPVSConns, Command: "ipvsadm -Lnc"},
	},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			for _, d := range p.Directors() {
				vs := s.IPVS[d.Name]
				if vs == nil || d.IPVS == nil || len(d.IPVS.Conns) == 0 || !d.Has(evidence.KindIPVS) {
					continue
				}
				dmCheckStale(p, s, d, vs)
			}
		}
	},
}

// dmConnOf reports whether connection group g belongs to service vs.
func dmConnOf(g *evidence.ConnGroup, vs *evidence.VirtualService) bool {
	if vs.Proto == "FWM" {
		return false // entries show the packet's address, not the mark
	}
	if !strings.EqualFold(g.Proto, vs.Proto) || g.Virtual.Addr() != vs.Addr {
		return false
	}
	return g.Virtual.Port() == vs.Port || (g.Template && g.Virtual.Port() == 0)
}

// dmLive counts entries of g that still carry traffic (not closing).
func dmLive(g *evidence.ConnGroup) int {
	if len(g.States) == 0 {
		return g.Count
	}
	n := 0
	for st, c := range g.States {
		switch strings.ToUpper(st) {
		case "TIME_WAIT", "FIN_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "CLOSING":
		default:
			n += c
		}
	}
	return n
}

// dmDeadEvidence returns lines saying the real server rip failed its
// health check on d (log lines, or inhibit_on_failure having zeroed it).
func dmDeadEvidence(d *evidence.Host, rip netip.Addr) []evidence.Ref {
	var out []evidence.Ref
	for _, l := range d.Logs {
		if (l.Kind == evidence.LogCheckFailed || l.Kind == evidence.LogRSRemoved) && dmSubjectAddr(l.Subject) == rip {
			out = append(out, l.Ref)
			if len(out) == 3 {
				break
			}
		}
	}
	return out
}

// dmSubjectAddr reads the address of a log subject ("10.0.0.1:80",
// "[2001:db8::1]:80", "10.0.0.1").
func dmSubjectAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return a.Unmap()
	}
	return netip.Addr{}
}

func dmCheckStale(p *Pass, s *topology.Service, d *evidence.Host, vs *evidence.VirtualService) {
	nodest, nref, nok := d.SysctlInt("net.ipv4.vs.expire_nodest_conn")
	quiesc, qref, qok := d.SysctlInt("net.ipv4.vs.expire_quiescent_template")
	type stale struct {
		rip   netip.Addr
		tmpl  bool
		count int
		refs  []evidence.Ref
		dest  *evidence.RealServer
	}
	byKey := map[string]*stale{}
	var order []string
	for _, g := range d.IPVS.Conns {
		if !dmConnOf(g, vs) {
			continue
		}
		var dest *evidence.RealServer
		for _, rs := range vs.Dests {
			if rs.Addr == g.Dest.Addr() && (rs.Port == g.Dest.Port() || rs.Port == 0 || g.Dest.Port() == 0) {
				dest = rs
				break
			}
		}
		n := 0
		switch {
		case dest == nil && !g.Template:
			// Templates to a removed server expire on their next use; live
			// connections are dropped until they time out.
			if nok && nodest != 0 {
				continue
			}
			n = dmLive(g)
		case dest != nil && dest.Weight == 0 && g.Template:
			if qok && quiesc != 0 {
				continue
			}
			n = g.Count
		}
		if n == 0 {
			continue
		}
		k := fmt.Sprintf("%s/%v", g.Dest.Addr(), g.Template)
		st := byKey[k]
		if st == nil {
			st = &stale{rip: g.Dest.Addr(), tmpl: g.Template, dest: dest}
			byKey[k] = st
			order = append(order, k)
		}
		st.count += n
		if len(st.refs) < 3 {
			st.refs = append(st.refs, g.First)
		}
	}
	for _, k := range order {
		st := byKey[k]
		ev := append([]evidence.Ref{vs.Ref}, st.refs...)
		if st.tmpl {
			dead := dmDeadEvidence(d, st.rip)
			if kv := s.Config[d.Name]; kv != nil {
				for _, r := range kv.RealServers {
					if r.Addr == st.rip && r.InhibitOnFailure && r.Weight > 0 {
						// keepalived zeroes it only when its check fails
						dead = append(dead, r.Ref)
					}
				}
			}
			sev := diagnosis.Warning
			if len(dead) > 0 {
				sev = diagnosis.Critical
			}
			ev = append(ev, st.dest.Ref)
			ev = append(ev, dead...)
			if qok {
				ev = append(ev, qref)
			}
			p.Report(diagnosis.Finding{
				Severity: sev,
				Host:     d.Name,
				Title:    fmt.Sprintf("%d persistence template(s) on %s keep clients of %s on %s, which has weight 0", st.count, d.Name, vs.Key(), st.rip),
				Explanation: fmt.Sprintf("%s is persistent: a template pins each client to the real server it got first. %s now has "+
					"weight 0 (quiesced, or zeroed by keepalived's inhibit_on_failure after a failed check), but with "+
					"net.ipv4.vs.expire_quiescent_template=0 the templates stay valid and keep sending those clients' new "+
					"connections to it for as long as they keep connecting.", vs.Key(), st.rip),
				Evidence: ev,
				Fix: []string{
					"sysctl -w net.ipv4.vs.expire_quiescent_template=1   # persist it in /etc/sysctl.d/",
					"shorten persistence_timeout if clients must move faster",
				},
			})
			continue
		}
		if nok {
			ev = append(ev, nref)
		}
		p.Report(diagnosis.Finding{
			Severity: diagnosis.Warning,
			Host:     d.Name,
			Title:    fmt.Sprintf("%d IPVS connection(s) on %s still point at %s, which is no longer a real server of %s", st.count, d.Name, st.rip, vs.Key()),
			Explanation: fmt.Sprintf("The real server %s was removed from %s, but connection entries to it remain. With "+
				"net.ipv4.vs.expire_nodest_conn=0 IPVS silently drops every further packet of those connections until the "+
				"entries time out (15 minutes for established TCP, 5 for UDP): the clients hang instead of reconnecting.", st.rip, vs.Key()),
			Evidence: ev,
			Fix: []string{
				"sysctl -w net.ipv4.vs.expire_nodest_conn=1   # persist it in /etc/sysctl.d/",
				"ipvsadm -Lnc | grep " + st.rip.String() + "   # the entries must disappear",
			},
		})
	}
}

// ---------------------------------------------------------------------------
// director.backup-forwarding-loop

var backupForwardingLoop = &Rule{
	ID:    "director.backup-forwarding-loop",
	Modes: []string{"dr", "tun"},
	Doc: "DR/TUN: the VRRP backup director also has the IPVS service and, receiving VIP packets (it is a real server " +
		"too), schedules them again, bouncing them between the directors (needs backup_only=1).",
	Rank:     11,
	Needs:    []Need{{Role: evidence.RoleDirector, Kind: evidence.KindSysctl, Command: "sysctl -a"}},
	Explains: []string{"trace.rs-not-replying"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if !directRouting(s) || !s.VIP.IsValid() || len(s.IPVS) < 2 {
				continue
			}
			var masters, backups []*evidence.Host
			for _, d := range p.Directors() {
				if s.IPVS[d.Name] == nil || !d.Has(evidence.KindAddrs) {
					continue
				}
				if dmHoldsVIP(d, s.VIP) {
					masters = append(masters, d)
				} else {
					backups = append(backups, d)
				}
			}
			if len(masters) == 0 {
				continue
			}
			for _, b := range backups {
				dmCheckLoop(p, s, b, masters)
			}
		}
	},
}

// dmHoldsVIP reports whether d holds vip on a real interface (as the VRRP
// master does), not on lo as a real server would.
func dmHoldsVIP(d *evidence.Host, vip netip.Addr) bool {
	for _, a := range d.AddrsOf(vip) {
		if !vipHolder(a.Iface) && !vipHolder(a.Label) {
			return true
		}
	}
	return false
}

// dmReceivesVIP returns why h gets packets for s's VIP from a director: it
// owns a RIP of s, or holds the VIP on lo like a real server.
func dmReceivesVIP(s *topology.Service, h *evidence.Host) []evidence.Ref {
	var out []evidence.Ref
	for _, rip := range s.RIPs {
		for _, a := range h.AddrsOf(rip) {
			if a.Iface != "lo" {
				out = append(out, a.Ref)
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	for _, a := range h.AddrsOf(s.VIP) {
		if vipHolder(a.Iface) {
			out = append(out, a.Ref)
		}
	}
	return out
}

// dmBounced returns frames of s's traffic that the backup b sent to a
// master: packets IPVS on b scheduled back.
func dmBounced(s *topology.Service, b *evidence.Host, masters []*evidence.Host) []evidence.Ref {
	bm := hostMACs(b)
	mm := map[string]bool{}
	for _, m := range masters {
		for k := range hostMACs(m) {
			mm[k] = true
		}
	}
	if len(bm) == 0 || len(mm) == 0 {
		return nil
	}
	var out []evidence.Ref
	for _, h := range append([]*evidence.Host{b}, masters...) {
		for i := range h.Frames {
			f := &h.Frames[i]
			if _, ok := vipPacket(f, s); !ok {
				continue
			}
			if bm[strings.ToLower(f.SrcMAC)] && mm[strings.ToLower(f.DstMAC)] {
				out = append(out, f.Ref)
				if len(out) == 3 {
					return out
				}
			}
		}
	}
	return out
}

func dmCheckLoop(p *Pass, s *topology.Service, b *evidence.Host, masters []*evidence.Host) {
	bo, bref, bok := b.SysctlInt("net.ipv4.vs.backup_only")
	if bok && bo != 0 {
		return
	}
	bounced := dmBounced(s, b, masters)
	bRS := dmReceivesVIP(s, b)
	var mRS []evidence.Ref
	for _, m := range masters {
		mRS = append(mRS, dmReceivesVIP(s, m)...)
	}
	sev := diagnosis.Warning
	switch {
	case len(bounced) > 0:
		sev = diagnosis.Critical
	case len(bRS) > 0 && len(mRS) > 0 && bok:
		sev = diagnosis.Critical
	case len(bRS) > 0:
	default:
		return
	}
	if !bok {
		p.Notef("run `sysctl net.ipv4.vs.backup_only` on %s: 0 there lets it re-schedule what the master forwards to it", b.Name)
	}
	ev := []evidence.Ref{s.IPVS[b.Name].Ref}
	if bok {
		ev = append(ev, bref)
	}
	ev = append(ev, bounced...)
	ev = append(ev, bRS...)
	ev = append(ev, mRS...)
	what := "it is also a real server of the service"
	if len(bounced) > 0 {
		what = "the captures show it sending VIP packets back to the master"
	}
	p.Report(diagnosis.Finding{
		Severity: sev,
		Host:     b.Name,
		Title:    fmt.Sprintf("backup director %s has the IPVS service of %s with backup_only=0 and %s", b.Name, s, what),
		Explanation: fmt.Sprintf("keepalived installs the virtual servers on the backup director too. In %s mode the VIP packets the "+
			"master forwards to %s (a real server as well) still carry the VIP, so IPVS on %s schedules them again — to "+
			"the master when it is a real server too, which forwards them back: the packets loop between the directors and "+
			"the connection never completes. net.ipv4.vs.backup_only=1 turns IPVS off while the host is a backup.", strings.ToUpper(s.Mode), b.Name, b.Name),
		Evidence: ev,
		Fix: []string{
			fmt.Sprintf("on %s: sysctl -w net.ipv4.vs.backup_only=1 (and on every director: it only acts while the IPVS sync daemon runs as backup — set lvs_sync_daemon in keepalived)", b.Name),
			"or mark client traffic with iptables (-j MARK on packets from the clients' MAC/interface) and use fwmark virtual servers, so re-forwarded packets are not balanced again",
		},
	})
}

// ---------------------------------------------------------------------------
// director.rp-filter-drops-clients

var rpFilterDropsClients = &Rule{
	ID: "director.rp-filter-drops-clients",
	Doc: "Strict rp_filter (effective 1) on the interface where the director receives VIP traffic drops client " +
		"packets whose route back leaves by another interface (two-armed directors).",
	Rank: 10,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindSysctl, Command: "sysctl -a"},
		{Role: evidence.RoleDirector, Kind: evidence.KindRoutes, Command: "ip route"},
	},
	Explains: []string{"trace.director-not-forwarding"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if !s.VIP.IsValid() {
				continue
			}
			for _, d := range p.ActiveDirectors(s) {
				dmCheckDirectorRP(p, s, d)
			}
		}
	},
}

// dmVIPIface is the interface where d receives s's client packets: where
// the VIP is configured, else where its captures saw them arrive.
func dmVIPIface(d *evidence.Host, s *topology.Service) (string, []evidence.Ref) {
	for _, a := range d.AddrsOf(s.VIP) {
		if !vipHolder(a.Iface) {
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

func dmCheckDirectorRP(p *Pass, s *topology.Service, d *evidence.Host) {
	if !d.Has(evidence.KindSysctl) || !d.Has(evidence.KindRoutes) {
		return
	}
	in, inRefs := dmVIPIface(d, s)
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
		Fix: []string{
			fmt.Sprintf("sysctl -w net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.%s.rp_filter=2   # loose mode; persist both in /etc/sysctl.d/", in),
			fmt.Sprintf("or route the clients back through %s", in),
		},
	})
}

// ---------------------------------------------------------------------------
// director.health-check-mismatch

var healthCheckMismatch = &Rule{
	ID: "director.health-check-mismatch",
	Doc: "A keepalived health check probes another port or address than the real server's service, so real " +
		"servers are removed while they serve, or stay in while the service is dead.",
	Rank: 7,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindKeepalived, Command: "cat /etc/keepalived/keepalived.conf"},
	},
	Explains: []string{"director.no-available-realserver"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			for _, d := range p.Directors() {
				kv := s.Config[d.Name]
				if kv == nil {
					continue
				}
				var fs []diagnosis.Finding
				for _, r := range kv.RealServers {
					if f := dmCheckHealth(p, s, d, kv, r); f != nil {
						fs = append(fs, *f)
					}
				}
				dmReportMerged(p, fs, fmt.Sprintf("the health checks of %d real servers of %s on %s probe something other than the service", len(fs), s, d.Name))
			}
		}
	},
}

func dmCheckProto(c *evidence.KCheck) string {
	switch c.Type {
	case "TCP_CHECK", "HTTP_GET", "SSL_GET", "SMTP_CHECK":
		return "tcp"
	case "UDP_CHECK", "DNS_CHECK":
		return "udp"
	}
	return ""
}

// dmOutOfTable returns evidence that d's IPVS took rip out: the table
// lacks it or gives it weight 0, or the log says keepalived removed it.
func dmOutOfTable(s *topology.Service, d *evidence.Host, rip netip.Addr) []evidence.Ref {
	var out []evidence.Ref
	if vs := s.IPVS[d.Name]; vs != nil && d.Has(evidence.KindIPVS) {
		found := false
		for _, rs := range vs.Dests {
			if rs.Addr == rip {
				found = true
				if rs.Weight == 0 {
					out = append(out, rs.Ref)
				}
			}
		}
		if !found {
			out = append(out, vs.Ref)
		}
	}
	for _, l := range d.Logs {
		if l.Kind == evidence.LogRSRemoved && dmSubjectAddr(l.Subject) == rip {
			out = append(out, l.Ref)
			break
		}
	}
	return out
}

func dmCheckHealth(p *Pass, s *topology.Service, d *evidence.Host, kv *evidence.KVirtualServer, r *evidence.KRealServer) *diagnosis.Finding {
	c := r.Check
	if c == nil {
		return nil
	}
	proto := dmCheckProto(c)
	if proto == "" {
		return nil
	}
	portDiff := c.ConnectPort != 0 && r.Port != 0 && c.ConnectPort != r.Port
	ipDiff := c.ConnectIP.IsValid() && c.ConnectIP != r.Addr
	if !portDiff && !ipDiff {
		return nil
	}
	checkPort := r.Port
	if c.ConnectPort != 0 {
		checkPort = c.ConnectPort
	}
	svcProto := strings.ToLower(kv.Proto)
	if svcProto == "" {
		svcProto = s.Proto
	}
	rs := p.Topo.HostOwning(r.Addr)
	var fails []evidence.Ref
	for _, l := range d.Logs {
		if l.Kind == evidence.LogCheckFailed {
			if a := dmSubjectAddr(l.Subject); a == r.Addr || (ipDiff && a == c.ConnectIP) {
				fails = append(fails, l.Ref)
				if len(fails) == 3 {
					break
				}
			}
		}
	}
	out := dmOutOfTable(s, d, r.Addr)
	ev := []evidence.Ref{c.Ref, r.Ref}
	sev := diagnosis.Warning
	var what, why string
	switch {
	case ipDiff:
		what = fmt.Sprintf("probes %s instead of the real server %s", c.ConnectIP, r.Addr)
		why = fmt.Sprintf("The check's connect_ip sends the probe to %s, so %s's state follows another host: it is removed "+
			"when that host fails, and kept while %s itself is dead.", c.ConnectIP, r.Addr, r.Addr)
		if len(out) > 0 && len(fails) > 0 {
			sev = diagnosis.Critical
		}
	case rs != nil && rs.Has(evidence.KindListeners):
		checkOK := len(listenersOn(rs, proto, checkPort)) > 0
		svcOK := svcProto != "" && len(listenersOn(rs, svcProto, r.Port)) > 0
		switch {
		case checkOK && svcOK:
			return nil // a dedicated health port that is served: deliberate
		case !checkOK && svcOK:
			what = fmt.Sprintf("probes port %d, where nothing listens on %s; the service is on port %d", checkPort, rs.Name, r.Port)
			why = fmt.Sprintf("The check connects to port %d, and %s listens on port %d but not on %d, so the check always "+
				"fails and keepalived takes a working real server out of the service (or gives it weight 0).", checkPort, rs.Name, r.Port, checkPort)
			if len(out) > 0 {
				sev = diagnosis.Critical
			}
		case checkOK && !svcOK:
			what = fmt.Sprintf("probes port %d, which answers, while the service port %d has no listener on %s", checkPort, r.Port, rs.Name)
			why = "The check passes on the other port, so keepalived keeps a real server whose service is down in the table " +
				"and IPVS keeps sending clients to it."
		default:
			what = fmt.Sprintf("probes port %d instead of the service port %d", checkPort, r.Port)
			why = fmt.Sprintf("Nothing listens on either port on %s; the check cannot tell whether the service is up.", rs.Name)
		}
		ev = append(ev, seenRef(rs, evidence.KindListeners))
	case len(fails) > 0:
		what = fmt.Sprintf("probes port %d instead of the service port %d, and the probes fail", checkPort, r.Port)
		why = fmt.Sprintf("The check connects to port %d, not to the port the service uses (%d): keepalived judges the real "+
			"server by something clients never use, and the log shows those probes failing.", checkPort, r.Port)
	default:
		p.Notef("the health check of %s on %s probes port %d, the service is on %d: run `ss -lnt` on the real server to tell a dedicated health port from a mistake",
			r.Addr, d.Name, checkPort, r.Port)
		return nil
	}
	ev = append(ev, fails...)
	ev = append(ev, out...)
	return &diagnosis.Finding{
		Severity:    sev,
		Host:        d.Name,
		Title:       fmt.Sprintf("the %s of real server %s (%s) %s", c.Type, r.Addr, s, what),
		Explanation: why,
		Evidence:    ev,
		Fix: []string{
			fmt.Sprintf("in keepalived.conf on %s, make the check probe the service: connect_port %d (or drop connect_port/connect_ip) in the real_server %s block", d.Name, r.Port, r.Addr),
			"systemctl reload keepalived",
		},
	}
}

// ---------------------------------------------------------------------------
// director.config-drift

var configDrift = &Rule{
	ID:       "director.config-drift",
	Explains: []string{"net.icmp-unreachable", "trace.director-not-forwarding"},
	Doc:      "The running IPVS table differs from the director's keepalived.conf (missing or extra services or real servers, another scheduler or forwarding method).",
	Rank:     13,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindIPVS, Command: "ipvsadm -Sn"},
		{Role: evidence.RoleDirector, Kind: evidence.KindKeepalived, Command: "cat /etc/keepalived/keepalived.conf"},
	},
	Run: func(p *Pass) {
		for _, d := range p.Directors() {
			kc := d.Keepalived
			if d.IPVS == nil || kc == nil || len(kc.VirtualServers) == 0 || !d.Has(evidence.KindIPVS) || !d.Has(evidence.KindKeepalived) {
				continue
			}
			dmCheckDrift(p, d, kc)
		}
	},
}

// dmMethodOf is the IPVS forwarding method keepalived uses for lb_kind.
func dmMethodOf(kind string) string {
	switch kind {
	case "DR":
		return evidence.MethodRoute
	case "TUN":
		return evidence.MethodTunnel
	case "FNAT":
		return evidence.MethodFullNat
	}
	return evidence.MethodMasq // NAT, and what keepalived uses for none or an unknown one
}

type dmConfKey struct {
	proto string // upper case; "" when the config says none
	addr  netip.Addr
	port  uint16
	mark  uint32
	ref   evidence.Ref
}

func dmConfKeys(kc *evidence.KeepalivedConfig, kv *evidence.KVirtualServer) []dmConfKey {
	switch {
	case kv.FWMark != 0:
		return []dmConfKey{{mark: kv.FWMark, ref: kv.Ref}}
	case kv.Group != "":
		var out []dmConfKey
		for _, e := range kc.VSGroups[kv.Group] {
			out = append(out, dmConfKey{proto: kv.Proto, addr: e.Addr, port: e.Port, mark: e.FWMark, ref: e.Ref})
		}
		return out
	case kv.Addr.IsValid():
		return []dmConfKey{{proto: kv.Proto, addr: kv.Addr, port: kv.Port, ref: kv.Ref}}
	}
	return nil
}

func (k dmConfKey) matches(vs *evidence.VirtualService) bool {
	if k.mark != 0 {
		return vs.Proto == "FWM" && vs.FWMark == k.mark
	}
	if vs.Proto == "FWM" || vs.Addr != k.addr || vs.Port != k.port {
		return false
	}
	return k.proto == "" || strings.EqualFold(k.proto, vs.Proto)
}

func (k dmConfKey) String() string {
	if k.mark != 0 {
		return "FWM " + strconv.FormatUint(uint64(k.mark), 10)
	}
	return strings.TrimSpace(k.proto + " " + netip.AddrPortFrom(k.addr, k.port).String())
}

func dmCheckDrift(p *Pass, d *evidence.Host, kc *evidence.KeepalivedConfig) {
	var diffs []string
	var ev []evidence.Ref
	matched := map[*evidence.VirtualService]bool{}
	logsSeen := d.Has(evidence.KindLogs)
	ghost := false
	for _, kv := range kc.VirtualServers {
		for _, k := range dmConfKeys(kc, kv) {
			var vs *evidence.VirtualService
			for _, t := range d.IPVS.Services {
				if k.matches(t) {
					vs = t
					break
				}
			}
			if vs == nil {
				diffs = append(diffs, fmt.Sprintf("keepalived.conf defines %s, the running table has no such service", k))
				ev = append(ev, k.ref)
				continue
			}
			matched[vs] = true
			if kv.LbAlgo != "" && vs.Scheduler != "" && !strings.EqualFold(kv.LbAlgo, vs.Scheduler) {
				diffs = append(diffs, fmt.Sprintf("%s runs scheduler %s, keepalived.conf says %s", vs.Key(), vs.Scheduler, kv.LbAlgo))
				ev = append(ev, vs.Ref)
			}
			d1, e1, g := dmDriftRS(p, d, kv, vs, logsSeen)
			diffs = append(diffs, d1...)
			ev = append(ev, e1...)
			ghost = ghost || g
		}
	}
	for _, t := range d.IPVS.Services {
		if !matched[t] && !dmKubeProxyService(d, t) {
			diffs = append(diffs, fmt.Sprintf("the running table has %s, which keepalived.conf does not define (a manual ipvsadm rule?)", t.Key()))
			ev = append(ev, t.Ref)
		}
	}
	if len(diffs) == 0 {
		return
	}
	ev = append([]evidence.Ref{tableRef(d)}, ev...)
	ev = append(ev, kc.Ref)
	if kc.Ref.Text == "" {
		ev[len(ev)-1].Text = "(keepalived.conf)"
	}
	shown := diffs
	if len(shown) > 6 {
		shown = append(shown[:6:6], fmt.Sprintf("and %d more", len(diffs)-6))
	}
	sev := diagnosis.Warning
	if ghost {
		sev = diagnosis.Critical
		diffs = append(diffs, "a real server outside keepalived.conf is never health-checked: if it is down, its share of the connections fails")
	}
	p.Report(diagnosis.Finding{
		Severity: sev,
		Host:     d.Name,
		Title:    fmt.Sprintf("the running IPVS table of %s differs from its keepalived.conf (%d difference(s))", d.Name, len(diffs)),
		Explanation: "keepalived installs what its configuration says; a table that differs was changed by hand (ipvsadm " +
			"leftovers), by another tool, or keepalived has not loaded the current file (not reloaded, or it rejected it). " +
			"What runs is not what the configuration promises, and the next reload or failover changes the traffic: " +
			strings.Join(shown, "; ") + ".",
		Evidence: ev,
		Fix: []string{
			"ipvsadm -Sn > /tmp/ipvs.before   # keep a copy",
			"remove the manual entries (ipvsadm -D/-d) or put them in keepalived.conf, then systemctl reload keepalived",
		},
	})
}

// dmDriftRS compares the real servers of one virtual server. A real
// server missing from the table is drift only when its health check did
// not fail (keepalived removes failed ones); with inhibit_on_failure a
// failed one stays at weight 0.
func dmDriftRS(p *Pass, d *evidence.Host, kv *evidence.KVirtualServer, vs *evidence.VirtualService, logsSeen bool) ([]string, []evidence.Ref, bool) {
	var diffs []string
	var ev []evidence.Ref
	want := dmMethodOf(kv.LbKind)
	used := map[*evidence.RealServer]bool{}
	missing := 0
	for _, r := range kv.RealServers {
		var dest *evidence.RealServer
		for _, x := range vs.Dests {
			if x.Addr == r.Addr && (x.Port == r.Port || kv.LbKind == "DR" || kv.LbKind == "TUN") && !used[x] {
				dest = x
				break
			}
		}
		if dest == nil {
			missing++
			if dead := dmDeadEvidence(d, r.Addr); len(dead) > 0 && !r.InhibitOnFailure {
				continue // removed by its failing check: not drift
			}
			if !logsSeen && !r.InhibitOnFailure {
				p.Notef("real server %s of %s is not in %s's table; its health check may have removed it — add `journalctl -u keepalived` to tell",
					r.Addr, vs.Key(), d.Name)
				continue
			}
			diffs = append(diffs, fmt.Sprintf("real server %s of %s is in keepalived.conf but not in the running table", r.Addr, vs.Key()))
			ev = append(ev, r.Ref)
			continue
		}
		used[dest] = true
		if dest.Method != "" && dest.Method != evidence.MethodLocal && dest.Method != want {
			diffs = append(diffs, fmt.Sprintf("%s forwards to %s by %s, keepalived.conf says lb_kind %s (%s)", vs.Key(), dest.Addr, dest.Method, orName(kv.LbKind, "none, i.e. NAT"), want))
			ev = append(ev, dest.Ref)
			if !kv.LbKindRef.IsZero() {
				ev = append(ev, kv.LbKindRef)
			}
		}
	}
	if missing == len(kv.RealServers) && len(kv.RealServers) > 0 {
		// Every configured server is out: what remains is the sorry
		// server, not a manual leftover.
		return diffs, ev, false
	}
	// An unlisted server with weight that the director cannot reach: a
	// leftover nobody health-checks, which gets its share of the
	// connections although it is gone.
	ghost := false
	for _, x := range vs.Dests {
		if !used[x] {
			diffs = append(diffs, fmt.Sprintf("%s has real server %s, which keepalived.conf does not list", vs.Key(), netip.AddrPortFrom(x.Addr, x.Port)))
			ev = append(ev, x.Ref)
			if x.Weight > 0 {
				if ref, dead := dmUnreachable(d, x.Addr); dead {
					ghost = true
					ev = append(ev, ref)
				}
			}
		}
	}
	return diffs, ev, ghost
}

// ---------------------------------------------------------------------------
// director.conntrack-table-full, rs.conntrack-table-full

var directorConntrackFull = &Rule{
	ID:    "director.conntrack-table-full",
	Doc:   "The director's connection tracking table is full (or nearly): new flows are dropped.",
	Rank:  14,
	Needs: []Need{{Role: evidence.RoleDirector, Kind: evidence.KindConntrack, Command: "sysctl net.netfilter.nf_conntrack_count net.netfilter.nf_conntrack_max"}},
	Run: func(p *Pass) {
		for _, d := range p.Directors() {
			dmCheckConntrack(p, d)
		}
	},
}

var rsConntrackFull = &Rule{
	ID:    "rs.conntrack-table-full",
	Doc:   "A real server's connection tracking table is full (or nearly): new flows are dropped.",
	Rank:  14,
	Needs: []Need{{Role: evidence.RoleRealServer, Kind: evidence.KindConntrack, Command: "sysctl net.netfilter.nf_conntrack_count net.netfilter.nf_conntrack_max"}},
	Run: func(p *Pass) {
		for _, h := range p.RealServers() {
			dmCheckConntrack(p, h)
		}
	},
}

func dmCheckConntrack(p *Pass, h *evidence.Host) {
	ct := h.Conntrack
	countKnown := !ct.CountRef.IsZero()
	maxKnown := !ct.MaxRef.IsZero() && ct.Max > 0
	var logs []evidence.Ref
	for _, l := range h.Logs {
		if l.Kind == evidence.LogConntrackFull {
			logs = append(logs, l.Ref)
		}
	}
	var ctrs []evidence.Ref
	var earlyDrop int64
	for _, name := range []string{"conntrack.drop", "conntrack.early_drop", "conntrack.insert_failed"} {
		if c, ok := h.Counters[name]; ok && c.Value > 0 {
			ctrs = append(ctrs, c.Ref)
			if name == "conntrack.early_drop" {
				earlyDrop = c.Value
			}
		}
	}
	fill := -1.0
	if countKnown && maxKnown {
		fill = float64(ct.Count) / float64(ct.Max)
	}
	sev := diagnosis.Severity("")
	var state string
	switch {
	case fill >= 1:
		sev, state = diagnosis.Critical, fmt.Sprintf("is full (%d of %d entries)", ct.Count, ct.Max)
	case len(logs) > 0 && (fill < 0 || fill >= 0.5):
		sev, state = diagnosis.Critical, "is full: the kernel logs \"table full, dropping packet\""
		if fill >= 0 {
			state += fmt.Sprintf(" (%d of %d entries now)", ct.Count, ct.Max)
		}
	case len(logs) > 0:
		sev, state = diagnosis.Warning, fmt.Sprintf("was full (the kernel logged dropped packets); %d of %d entries now", ct.Count, ct.Max)
	case fill >= 0.9:
		sev, state = diagnosis.Warning, fmt.Sprintf("is %.0f%% full (%d of %d entries)", fill*100, ct.Count, ct.Max)
	case earlyDrop > 0:
		sev, state = diagnosis.Warning, fmt.Sprintf("has been full: conntrack -S counts %d early drops", earlyDrop)
	default:
		return
	}
	var ev []evidence.Ref
	if countKnown {
		ev = append(ev, ct.CountRef)
	}
	if maxKnown {
		ev = append(ev, ct.MaxRef)
	}
	if len(logs) > 3 {
		logs = append(logs[:2:2], logs[len(logs)-1])
	}
	ev = append(ev, logs...)
	ev = append(ev, ctrs...)
	what := "the director"
	if h.Role == evidence.RoleRealServer {
		what = "the real server"
	}
	newMax := "<2x the current max>"
	if maxKnown {
		newMax = strconv.FormatInt(ct.Max*2, 10)
	}
	fix := []string{
		"sysctl -w net.netfilter.nf_conntrack_max=" + newMax + "   # and raise nf_conntrack_buckets (hashsize) to max/4; persist in /etc/sysctl.d/",
	}
	if h.Role == evidence.RoleDirector {
		fix = append(fix, "exempt VIP traffic from tracking: iptables -t raw -A PREROUTING -d <VIP> -j NOTRACK (DR/TUN directors need no conntrack for it)")
	} else {
		fix = append(fix, "exempt the service from tracking (iptables -t raw -A PREROUTING -p tcp --dport <port> -j NOTRACK, and OUTPUT --sport) if no stateful rule needs it")
	}
	var explains []string
	if sev == diagnosis.Critical && h.Role == evidence.RoleDirector {
		// The director's own health checks need entries too: with the
		// table full they fail and keepalived removes every real server.
		explains = []string{"director.no-available-realserver", "director.health-check-mismatch", "trace.director-not-forwarding"}
	}
	p.Report(diagnosis.Finding{
		Explains: explains,
		Severity: sev,
		Host:     h.Name,
		Title:    fmt.Sprintf("the conntrack table of %s %s", h.Name, state),
		Explanation: fmt.Sprintf("Every new flow through %s needs a connection tracking entry. When the table reaches "+
			"nf_conntrack_max the kernel drops the packets of new flows (\"nf_conntrack: table full, dropping packet\"): "+
			"clients see random timeouts on new connections while established ones keep working.", what),
		Evidence: ev,
		Fix:      fix,
	})
}

// dmUnreachable reports whether d's neighbour table shows rip unresolved
// (FAILED/INCOMPLETE): the director cannot deliver to it.
func dmUnreachable(d *evidence.Host, rip netip.Addr) (evidence.Ref, bool) {
	for _, n := range d.Neighbors {
		if n.IP == rip && (strings.EqualFold(n.State, "FAILED") || strings.EqualFold(n.State, "INCOMPLETE")) {
			return n.Ref, true
		}
	}
	return evidence.Ref{}, false
}

// dmKubeProxyService reports whether a service belongs to kube-proxy in
// IPVS mode, which puts its service addresses on the kube-ipvs0 dummy:
// they share the table with keepalived's without being drift.
func dmKubeProxyService(d *evidence.Host, vs *evidence.VirtualService) bool {
	kube := false
	for _, a := range d.Addrs {
		if strings.HasPrefix(a.Iface, "kube-ipvs") {
			kube = true
			if a.Prefix.Addr() == vs.Addr {
				return true
			}
		}
	}
	if !kube || d.Keepalived == nil {
		return false
	}
	// NodePorts sit on the node's own addresses: with kube-proxy present,
	// a service on an address that no vrrp_instance floats is its.
	for _, vi := range d.Keepalived.VRRPInstances {
		for _, v := range vi.VIPs {
			if v.Prefix.Addr() == vs.Addr {
				return false
			}
		}
	}
	return true
}
