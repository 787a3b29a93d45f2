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

// Peers compared. Two real servers of one service (or two directors) are
// built alike; when the evidence shows one of them working and the other
// not, what differs between them is where to look first. This rule finds
// which peer works from what the directors saw (connection states,
// counters) and lists what differs in the outputs both peers gave: the
// kernel, the sysctls that shape forwarding, the rules that drop, the
// VIPs they hold, their IPVS tables. Differences that must be there (own
// addresses, host names, counters that run) are not suspects. It proves
// no cause: it ranks after every cause a rule proves.
var peerDiffers = &Rule{
	ID: "peer.differs",
	Doc: "Of two peers (directors or real servers of one service), one works and one does not, and their kernel, " +
		"sysctls, firewall rules, VIPs or IPVS tables differ: what differs is the suspect.",
	Rank:     60,
	Requires: []Requirement{PacketPath},
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindIPVSConns, Command: "ipvsadm -Lnc"},
		{Role: evidence.RoleRealServer, Kind: evidence.KindSysctl, Command: "sysctl -a"},
	},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			// Real servers are compared within one view: the same
			// director's table, or the captures.
			done := map[[2]*evidence.Host]bool{}
			for _, view := range realServerStates(p, s) {
				comparePeers(p, s, view, done)
			}
			comparePeers(p, s, directorStates(p, s), done)
		}
	},
}

// peerState is whether a peer works, and the line that shows it.
type peerState struct {
	host  *evidence.Host
	works bool
	ref   evidence.Ref
	what  string // "its connections reach ESTABLISHED", ...
}

// realServerStates reads each real server's state from the directors'
// views of s: connection entries (ESTABLISHED: the handshake completed
// through it; only SYN_RECV: it never answered) and, where replies pass
// the director (NAT, FNAT), its counters.
func realServerStates(p *Pass, s *topology.Service) [][]peerState {
	var views [][]peerState
	for _, d := range p.Directors() {
		vs := s.IPVS[d.Name]
		if vs == nil || d.IPVS == nil {
			continue
		}
		var out []peerState
		seen := map[*evidence.Host]bool{}
		for _, rs := range vs.Dests {
			h := p.Topo.HostOwning(rs.Addr)
			if h == nil || h == d || seen[h] || h.Role != evidence.RoleRealServer {
				continue
			}
			if st, ok := destState(d, s, vs, rs); ok {
				st.host = h
				seen[h] = true
				out = append(out, st)
			}
		}
		views = append(views, out)
	}
	// Captures: a connection the tracer followed to a real server, and
	// whether it was answered.
	var out []peerState
	seen := map[*evidence.Host]bool{}
	if path := p.PacketPath(s); path != nil {
		for _, f := range path.Flows {
			a, err := netip.ParseAddr(f.RealServer)
			if ap, err2 := netip.ParseAddrPort(f.RealServer); err2 == nil {
				a, err = ap.Addr(), nil
			}
			if err != nil {
				continue
			}
			h := p.Topo.HostOwning(a)
			if h == nil || seen[h] || h.Role != evidence.RoleRealServer {
				continue
			}
			var ref evidence.Ref
			for _, hop := range f.Hops {
				if hop.Seen && len(hop.Evidence) > 0 {
					ref = hop.Evidence[0]
				}
			}
			if ref.IsZero() {
				continue
			}
			switch f.Outcome {
			case "answered":
				seen[h] = true
				out = append(out, peerState{host: h, works: true, ref: ref, what: "a captured connection to it was answered"})
			case "rs-not-replying", "lost-in-transit", "reply-lost":
				seen[h] = true
				out = append(out, peerState{host: h, works: false, ref: ref, what: "a captured connection to it was not answered (" + f.Outcome + ")"})
			}
		}
	}
	return append(views, out)
}

// handshakes counts the connections of the groups keep selects (never
// persistence templates) that completed the TCP handshake and those still
// in SYN_RECV, with the first line of each. A connection past the
// handshake (closing included) proves the path worked both ways.
func handshakes(conns []*evidence.ConnGroup, keep func(*evidence.ConnGroup) bool) (est, syn int, estRef, synRef evidence.Ref) {
	for _, g := range conns {
		if g.Template || !keep(g) {
			continue
		}
		for state, n := range g.States {
			switch strings.ToUpper(state) {
			case "ESTABLISHED", "FIN_WAIT", "TIME_WAIT", "CLOSE_WAIT", "LAST_ACK":
				est += n
				if estRef.IsZero() {
					estRef = g.First
				}
			case "SYN_RECV":
				syn += n
				if synRef.IsZero() {
					synRef = g.First
				}
			}
		}
	}
	return est, syn, estRef, synRef
}

// destState says whether real server rs of vs on director d works.
func destState(d *evidence.Host, s *topology.Service, vs *evidence.VirtualService, rs *evidence.RealServer) (peerState, bool) {
	if s.Proto == "tcp" || strings.EqualFold(vs.Proto, "TCP") {
		est, syn, estRef, synRef := handshakes(d.IPVS.Conns, func(g *evidence.ConnGroup) bool {
			return g.Dest.Addr() == rs.Addr && (rs.Port == 0 || g.Dest.Port() == rs.Port) &&
				(g.Virtual.Addr() == vs.Addr || !vs.Addr.IsValid())
		})
		switch {
		case est > 0:
			return peerState{works: true, ref: estRef, what: fmt.Sprintf("%d of its connections through %s completed the handshake", est, d.Name)}, true
		case syn >= 2:
			return peerState{works: false, ref: synRef, what: fmt.Sprintf("its %d connections through %s stay in SYN_RECV: the handshake never completes", syn, d.Name)}, true
		}
	}
	if (s.Mode == "nat" || s.Mode == "fnat") && rs.Stats != nil && rs.Stats.InPkts > 0 {
		if rs.Stats.OutPkts > 0 {
			return peerState{works: true, ref: rs.Stats.Ref, what: fmt.Sprintf("its replies pass %s (OutPkts %d)", d.Name, rs.Stats.OutPkts)}, true
		}
		if rs.Stats.InPkts >= 3 {
			return peerState{works: false, ref: rs.Stats.Ref, what: fmt.Sprintf("%s sent it %d packets and no reply came back", d.Name, rs.Stats.InPkts)}, true
		}
	}
	return peerState{}, false
}

// directorStates reads each director's state from its own counters for
// s: one that took the clients' packets and saw replies (NAT, FNAT) or
// completed connections works; one that took packets and saw none did
// not. A director that took no packets (a backup) is no peer here.
func directorStates(p *Pass, s *topology.Service) []peerState {
	var out []peerState
	for _, d := range p.Directors() {
		vs := s.IPVS[d.Name]
		if vs == nil || d.IPVS == nil {
			continue
		}
		est, syn, estRef, synRef := handshakes(d.IPVS.Conns, func(g *evidence.ConnGroup) bool {
			return !vs.Addr.IsValid() || g.Virtual.Addr() == vs.Addr
		})
		switch {
		case est > 0:
			out = append(out, peerState{host: d, works: true, ref: estRef, what: fmt.Sprintf("%d of its connections completed the handshake", est)})
		case syn >= 2:
			out = append(out, peerState{host: d, works: false, ref: synRef, what: fmt.Sprintf("its %d connections stay in SYN_RECV", syn)})
		case (s.Mode == "nat" || s.Mode == "fnat") && vs.Stats != nil && vs.Stats.InPkts >= 3:
			if vs.Stats.OutPkts > 0 {
				out = append(out, peerState{host: d, works: true, ref: vs.Stats.Ref, what: fmt.Sprintf("replies pass it (OutPkts %d)", vs.Stats.OutPkts)})
			} else {
				out = append(out, peerState{host: d, works: false, ref: vs.Stats.Ref, what: fmt.Sprintf("it forwarded %d packets and saw no reply", vs.Stats.InPkts)})
			}
		}
	}
	return out
}

// peerDiff is one thing that differs: the failing peer's line first.
type peerDiff struct {
	what        string
	bad, good   evidence.Ref
	badV, goodV string
}

// comparePeers reports, for the first failing peer with a working one,
// what differs between them.
func comparePeers(p *Pass, s *topology.Service, states []peerState, done map[[2]*evidence.Host]bool) {
	var good, bad *peerState
	for i := range states {
		st := &states[i]
		if st.works && good == nil {
			good = st
		}
		if !st.works && bad == nil {
			bad = st
		}
	}
	if good == nil || bad == nil || done[[2]*evidence.Host{bad.host, good.host}] {
		return
	}
	done[[2]*evidence.Host{bad.host, good.host}] = true
	diffs := peerDiffs(p, s, bad.host, good.host)
	if len(diffs) == 0 {
		p.Notef("%s fails (%s) while its peer %s works (%s), and the outputs both gave show no difference that matters: "+
			"compare what was not given (uname -r, sysctl -a, iptables-save -c, ip addr) on both", bad.host.Name, bad.what, good.host.Name, good.what)
		return
	}
	var names []string
	ev := []evidence.Ref{}
	for _, d := range diffs {
		names = append(names, fmt.Sprintf("%s: %s on %s, %s on %s", d.what, d.badV, bad.host.Name, d.goodV, good.host.Name))
		ev = append(ev, d.bad, d.good)
	}
	ev = append(ev, bad.ref, good.ref)
	shown := names
	if len(shown) > 5 {
		shown = append(shown[:5:5], fmt.Sprintf("and %d more", len(names)-5))
	}
	if len(ev) > 14 {
		ev = ev[:14]
	}
	var fix []string
	for _, d := range diffs {
		if len(fix) == 3 {
			break
		}
		fix = append(fix, fixStep("on %s: %s as on %s (%s), or know why it must differ", bad.host.Name, d.what, good.host.Name, d.goodV))
	}
	fix = append(fix, fixCmd("ipvsadm -Lnc", "then: %s's connections reach ESTABLISHED as %s's do", bad.host.Name, good.host.Name))
	p.ReportMinor(diagnosis.Finding{
		Severity: diagnosis.Warning,
		Host:     bad.host.Name,
		Title:    fmt.Sprintf("%s fails where its peer %s works, and differs from it in %d way(s): %s", bad.host.Name, good.host.Name, len(diffs), diffs[0].what),
		Explanation: fmt.Sprintf("%s and %s serve %s alike, but %s fails (%s) while %s works (%s). What differs between "+
			"them is the first suspect: %s. Outputs that differ between any two hosts (names, own addresses, counters, "+
			"memory-sized tables) are left out.", bad.host.Name, good.host.Name, s, bad.host.Name, bad.what, good.host.Name, good.what,
			strings.Join(shown, "; ")),
		Evidence: ev,
		Fix:      fix,
	})
}

// peerDiffs lists what differs between two peers in the outputs both gave.
func peerDiffs(p *Pass, s *topology.Service, bad, good *evidence.Host) []peerDiff {
	var out []peerDiff
	if bad.Kernel.Release != "" && good.Kernel.Release != "" && bad.Kernel.Release != good.Kernel.Release {
		out = append(out, peerDiff{what: "the running kernel", bad: bad.Kernel.Ref, good: good.Kernel.Ref, badV: bad.Kernel.Release, goodV: good.Kernel.Release})
	}
	out = append(out, sysctlDiffs(bad, good)...)
	out = append(out, dropRuleDiffs(bad, good)...)
	out = append(out, vipDiffs(p, bad, good)...)
	out = append(out, routeDiffs(p, s, bad, good)...)
	if bad.Role == evidence.RoleDirector {
		out = append(out, tableDiffs(s, bad, good)...)
	}
	return out
}

// peerSysctls are the settings that change how a host forwards, accepts
// or answers the service's packets. Others differ between any two hosts
// for reasons that do not matter here (memory-sized tables, counters,
// random seeds, host names).
var peerSysctls = []string{
	"net.ipv4.ip_forward", "net.ipv4.ip_nonlocal_bind", "net.ipv4.vs.", "net.ipv4.tcp_timestamps", "net.ipv4.tcp_tw_recycle",
	"net.ipv4.tcp_tw_reuse", "net.ipv4.tcp_syncookies", "net.ipv4.tcp_window_scaling", "net.ipv4.tcp_sack", "net.ipv4.tcp_ecn",
	"net.ipv4.tcp_mtu_probing", "net.bridge.bridge-nf-call-", "net.netfilter.nf_conntrack_max", "net.netfilter.nf_conntrack_tcp_be_liberal",
	"net.netfilter.nf_conntrack_tcp_loose",
}

// peerConf are the per-interface settings compared, as the kernel applies
// them on each interface both peers have (conf/all combined in).
var peerConf = []string{"rp_filter", "arp_ignore", "arp_announce", "accept_local", "route_localnet", "forwarding", "proxy_arp", "arp_filter"}

func sysctlDiffs(bad, good *evidence.Host) []peerDiff {
	var out []peerDiff
	var keys []string
	for k := range bad.Sysctls {
		if _, ok := good.Sysctls[k]; !ok || strings.HasPrefix(k, "net.ipv4.conf.") {
			continue
		}
		for _, pre := range peerSysctls {
			if strings.HasPrefix(k, pre) {
				keys = append(keys, k)
				break
			}
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		b, g := bad.Sysctls[k], good.Sysctls[k]
		if strings.Join(strings.Fields(b.Value), " ") != strings.Join(strings.Fields(g.Value), " ") {
			out = append(out, peerDiff{what: k, bad: b.Ref, good: g.Ref, badV: b.Value, goodV: g.Value})
		}
	}
	// Per interface: the interfaces both have, by name (lo, eth0), and
	// the one each reaches the other peers through when their names
	// differ is left to the all/default keys above the kernel's formula.
	ifaces := map[string]bool{"all": true}
	for k := range bad.Sysctls {
		if rest, ok := strings.CutPrefix(k, "net.ipv4.conf."); ok {
			if i := strings.LastIndexByte(rest, '.'); i > 0 {
				iface := rest[:i]
				if _, ok := good.Sysctls[k]; ok && iface != "default" {
					ifaces[iface] = true
				}
			}
		}
	}
	var names []string
	for i := range ifaces {
		names = append(names, i)
	}
	sort.Strings(names)
	for _, name := range peerConf {
		merged := map[evidence.Ref]int{} // the failing peer's line -> its diff in out
		for _, iface := range names {
			if iface == "all" {
				continue
			}
			eb, eg := bad.EffectiveConf(name, iface), good.EffectiveConf(name, iface)
			if !eb.Known || !eg.Known || !eb.Exact || !eg.Exact || eb.Value == eg.Value {
				continue
			}
			d := peerDiff{what: fmt.Sprintf("%s on %s (as the kernel applies it)", name, iface),
				badV: fmt.Sprint(eb.Value), goodV: fmt.Sprint(eg.Value)}
			if len(eb.Refs) > 0 {
				d.bad = eb.Refs[len(eb.Refs)-1]
				for _, r := range eb.Refs {
					if v, ok := bad.Sysctls[sysctlKeyOf(r)]; ok && strings.TrimSpace(v.Value) == fmt.Sprint(eb.Value) {
						d.bad = r
					}
				}
			}
			if len(eg.Refs) > 0 {
				d.good = eg.Refs[len(eg.Refs)-1]
			}
			// The working peer's line of the same key, where it has it:
			// all against all, not all against eth0.
			if g, ok := good.Sysctls[sysctlKeyOf(d.bad)]; ok && !d.bad.IsZero() {
				d.good = g.Ref
			}
			if i, ok := merged[d.bad]; ok && !d.bad.IsZero() && out[i].badV == d.badV && out[i].goodV == d.goodV {
				// one line of the failing peer sets it on several
				// interfaces: one difference
				out[i].what = strings.Replace(out[i].what, " (as", ", "+iface+" (as", 1)
				continue
			}
			merged[d.bad] = len(out)
			out = append(out, d)
		}
	}
	return out
}

// sysctlKeyOf reads the key of a sysctl line a Ref quotes.
func sysctlKeyOf(r evidence.Ref) string {
	k, _, _ := strings.Cut(r.Text, "=")
	return strings.TrimSpace(k)
}

// dropRuleDiffs lists the rules that drop or reject on the failing peer
// and that the working one does not have (by their text, counters aside).
func dropRuleDiffs(bad, good *evidence.Host) []peerDiff {
	if !bad.Has(evidence.KindFirewall) || !good.Has(evidence.KindFirewall) {
		return nil
	}
	has := map[string]bool{}
	for i := range good.Firewall.Rules {
		has[ruleShape(&good.Firewall.Rules[i])] = true
	}
	var out []peerDiff
	for i := range bad.Firewall.Rules {
		r := &bad.Firewall.Rules[i]
		if !r.Drops() || has[ruleShape(r)] {
			continue
		}
		out = append(out, peerDiff{what: fmt.Sprintf("a %s rule in %s %s", r.Verdict, r.Table, r.Chain), bad: r.Ref,
			good: seenRef(good, evidence.KindFirewall), badV: "present", goodV: "absent"})
		if len(out) == 3 {
			break
		}
	}
	return out
}

// ruleShape is a rule without its counters and position.
func ruleShape(r *evidence.FirewallRule) string {
	return strings.Join([]string{r.Tool, r.Table, r.Chain, r.Proto, fmt.Sprint(r.Src), fmt.Sprint(r.Dst), r.InIface, r.OutIface,
		fmt.Sprint(r.DPorts), fmt.Sprint(r.CtState), r.Mark, fmt.Sprint(r.Sets), strings.Join(r.Extra, " "), r.Verdict, r.Target}, "|")
}

// vipDiffs lists the service addresses (VIPs) one peer holds and the
// other does not: own addresses must differ, shared ones must not.
func vipDiffs(p *Pass, bad, good *evidence.Host) []peerDiff {
	if !bad.Has(evidence.KindAddrs) || !good.Has(evidence.KindAddrs) {
		return nil
	}
	var out []peerDiff
	for _, v := range p.Topo.VIPs() {
		b, g := bad.AddrsOf(v), good.AddrsOf(v)
		switch {
		case len(g) > 0 && len(b) == 0:
			out = append(out, peerDiff{what: "the VIP " + v.String(), bad: seenRef(bad, evidence.KindAddrs), good: g[0].Ref,
				badV: "absent", goodV: "on " + g[0].Iface})
		case len(g) > 0 && len(b) > 0 && g[0].Iface != b[0].Iface && (g[0].Iface == "lo" || b[0].Iface == "lo"):
			out = append(out, peerDiff{what: "the VIP " + v.String(), bad: b[0].Ref, good: g[0].Ref,
				badV: "on " + b[0].Iface, goodV: "on " + g[0].Iface})
		}
	}
	return out
}

// tableDiffs lists what two directors' IPVS services for s differ in:
// scheduler, real servers, forwarding method.
func tableDiffs(s *topology.Service, bad, good *evidence.Host) []peerDiff {
	b, g := s.IPVS[bad.Name], s.IPVS[good.Name]
	if b == nil || g == nil {
		return nil
	}
	var out []peerDiff
	if b.Scheduler != g.Scheduler {
		out = append(out, peerDiff{what: "the scheduler of " + b.Key(), bad: b.Ref, good: g.Ref, badV: b.Scheduler, goodV: g.Scheduler})
	}
	dests := func(vs *evidence.VirtualService) map[netip.Addr]*evidence.RealServer {
		m := map[netip.Addr]*evidence.RealServer{}
		for _, d := range vs.Dests {
			m[d.Addr] = d
		}
		return m
	}
	bd, gd := dests(b), dests(g)
	for _, x := range g.Dests {
		y := bd[x.Addr]
		switch {
		case y == nil:
			out = append(out, peerDiff{what: "real server " + x.Addr.String(), bad: b.Ref, good: x.Ref, badV: "absent", goodV: "present"})
		case y.Method != x.Method:
			out = append(out, peerDiff{what: "the forwarding method to " + x.Addr.String(), bad: y.Ref, good: x.Ref, badV: y.Method, goodV: x.Method})
		}
	}
	for _, y := range b.Dests {
		if gd[y.Addr] == nil {
			out = append(out, peerDiff{what: "real server " + y.Addr.String(), bad: y.Ref, good: g.Ref, badV: "present", goodV: "absent"})
		}
	}
	return out
}

// routeDiffs lists a default gateway, or an MTU of the interface that
// carries the peer's own service address, that differ: both shape where
// and how the replies go.
func routeDiffs(p *Pass, s *topology.Service, bad, good *evidence.Host) []peerDiff {
	var out []peerDiff
	gw := func(h *evidence.Host) *evidence.Route {
		for i := range h.Routes {
			r := &h.Routes[i]
			if (r.Table == "" || r.Table == "main") && r.Dst.Bits() == 0 && r.Dst.Addr().Is4() && r.Gateway.IsValid() {
				return r
			}
		}
		return nil
	}
	if bad.Has(evidence.KindRoutes) && good.Has(evidence.KindRoutes) {
		b, g := gw(bad), gw(good)
		switch {
		case b != nil && g != nil && b.Gateway != g.Gateway:
			out = append(out, peerDiff{what: "the default gateway", bad: b.Ref, good: g.Ref, badV: b.Gateway.String(), goodV: g.Gateway.String()})
		case b == nil && g != nil:
			out = append(out, peerDiff{what: "the default gateway", bad: seenRef(bad, evidence.KindRoutes), good: g.Ref, badV: "none", goodV: g.Gateway.String()})
		}
	}
	if bad.Role != evidence.RoleRealServer {
		return out
	}
	mtu := func(h *evidence.Host) *evidence.Link {
		rip, ok := p.RIPOf(s, h)
		if !ok {
			return nil
		}
		for _, a := range h.AddrsOf(rip) {
			for i := range h.Links {
				if l := &h.Links[i]; l.Name == a.Iface && l.MTU > 0 {
					return l
				}
			}
		}
		return nil
	}
	if b, g := mtu(bad), mtu(good); b != nil && g != nil && b.MTU != g.MTU {
		out = append(out, peerDiff{what: "the MTU of the interface of its real server address", bad: b.Ref, good: g.Ref,
			badV: fmt.Sprint(b.MTU), goodV: fmt.Sprint(g.MTU)})
	}
	return out
}
