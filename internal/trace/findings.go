package trace

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/finding"
)

// Observation IDs: what the packets show that is not a cause on its own
// (the causes are the catalog's trace.* and net.* IDs). They go in the
// path's Observations, never among the findings.
const (
	observationPrefix = "packet."

	ObsSYNRetransmit = "packet.syn-retransmit"
	ObsReset         = "packet.reset"
	ObsHealthCheck   = "packet.health-check"
	ObsVRRP          = "packet.vrrp"
	ObsVRRPTwoMaster = "packet.vrrp-two-masters"
	ObsClockSkew     = "packet.clock-skew"
	ObsLoop          = "packet.forwarding-loop"
	ObsARPUnanswered = "packet.vip-arp-unanswered"
)

// findings turns the flows and what was gathered beside them into
// findings, each citing the packets.
func (t *Tracer) findings(r *Result) {
	add := func(f finding.Finding) {
		var ev []evidence.Ref
		seen := map[evidence.Ref]bool{}
		for _, e := range f.Evidence {
			if e.IsZero() || seen[e] {
				continue
			}
			seen[e] = true
			ev = append(ev, e)
		}
		if len(ev) == 0 {
			r.Notes = append(r.Notes, f.ID+": "+f.Title+" (no packet to show for it)")
			return
		}
		f.Evidence = ev
		if f.Fix == nil {
			f.Fix = []string{}
		}
		if strings.HasPrefix(f.ID, observationPrefix) {
			r.Observations = append(r.Observations, f)
			return
		}
		r.Findings = append(r.Findings, f)
	}
	svc := t.serviceName()
	t.flowFindings(r, svc, add)
	t.icmpFindings(svc, add)
	t.arpFindings(add)
	t.vrrpFindings(r, add)
	t.checkFindings(add)
	for _, ps := range t.points {
		if ps.skewSet && abs(ps.skew) >= int64(skewWorthSaying) {
			ref, _ := ps.after(ps.first, 0)
			add(finding.Finding{
				ID: ObsClockSkew, Severity: finding.Info, Host: ps.Host,
				Title: fmt.Sprintf("%s's clock is %s from the reference capture's", ps.Host, fmtDur(ps.skew)),
				Explanation: "The same packets carry times that differ by this much between the captures (the median of the sure matches, " +
					"by IP ID and TCP timestamp). The timeline takes it out before ordering the hops and deciding whether a capture ran.",
				Evidence: []evidence.Ref{ref},
			})
		}
	}
	sort.SliceStable(r.Findings, func(i, j int) bool {
		return r.Findings[i].Severity.Rank() < r.Findings[j].Severity.Rank()
	})
	sort.SliceStable(r.Observations, func(i, j int) bool {
		return r.Observations[i].Severity.Rank() < r.Observations[j].Severity.Rank()
	})
}

func (t *Tracer) serviceName() string {
	s := "the service"
	if t.cfg.VIP.IsValid() {
		s = t.cfg.VIP.String()
		if t.cfg.Port != 0 {
			s = netip.AddrPortFrom(t.cfg.VIP, t.cfg.Port).String()
		}
	}
	return s
}

// group is flows of one outcome at one place.
type group struct {
	key   string
	flows []*Flow
}

func groupFlows(r *Result, outcome string, key func(*Flow) string) []*group {
	by := map[string]*group{}
	var out []*group
	for i := range r.Flows {
		f := &r.Flows[i]
		if f.Outcome != outcome {
			continue
		}
		k := key(f)
		g := by[k]
		if g == nil {
			g = &group{key: k}
			by[k] = g
			out = append(out, g)
		}
		g.flows = append(g.flows, f)
	}
	return out
}

// hopRefs returns the evidence of the hops of f that match.
func hopRefs(f *Flow, n int, match func(*Hop) bool) []evidence.Ref {
	var out []evidence.Ref
	for i := range f.Hops {
		h := &f.Hops[i]
		if !match(h) {
			continue
		}
		for _, e := range h.Evidence {
			if len(out) < n {
				out = append(out, e)
			}
		}
	}
	return out
}

func (t *Tracer) pointOf(host, source string) *pointState {
	for _, ps := range t.points {
		if ps.Host == host && (source == "" || ps.Source == source) {
			return ps
		}
	}
	return nil
}

// proofAfter is a frame of the point's capture taken a second after the
// flow's last sighting there or before: the capture was running.
// proofNotSeen cites, for the first hop of f at host that did not see its
// packets, the frame of host's capture right after them: the capture ran
// then, and did not see them.
func (t *Tracer) proofNotSeen(f *Flow, host string) []evidence.Ref {
	for i := range f.Hops {
		if h := &f.Hops[i]; h.Host == host && !h.Seen {
			if p, ok := t.proofAfter(h, f); ok {
				return []evidence.Ref{p}
			}
			return nil
		}
	}
	return nil
}

func (t *Tracer) proofAfter(h *Hop, f *Flow) (evidence.Ref, bool) {
	ps := t.pointOf(h.Host, h.Source)
	if ps == nil {
		return evidence.Ref{}, false
	}
	return ps.after(f.first+ps.skew, int64(time.Second))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func (t *Tracer) flowFindings(r *Result, svc string, add func(finding.Finding)) {
	lastHost := func(f *Flow) string {
		if f.LastSeen != nil {
			return f.LastSeen.Host
		}
		return ""
	}
	for _, g := range groupFlows(r, "not-forwarded", lastHost) {
		f0 := g.flows[0]
		var ev []evidence.Ref
		for _, f := range g.flows[:min(3, len(g.flows))] {
			ev = append(ev, hopRefs(f, 2, func(h *Hop) bool { return h.Seen && h.Step == "director receives" })...)
		}
		for i := range f0.Hops {
			if h := &f0.Hops[i]; h.Host == g.key && h.Seen {
				if p, ok := t.proofAfter(h, f0); ok {
					ev = append(ev, p)
				}
				break
			}
		}
		add(finding.Finding{
			ID: "trace.director-not-forwarding", Severity: finding.Critical, Host: g.key,
			Title: fmt.Sprintf("%s for %s reached %s and none was forwarded to a real server", plural(len(g.flows), "client connection", "client connections"), svc, g.key),
			Explanation: "The capture on the director shows the client's packets arriving for the VIP, and no copy leaving towards a real server " +
				"(no rewritten MAC in DR, no IPIP packet in TUN, no rewritten address in NAT/FNAT) while the capture ran on. IPVS did not take " +
				"the packet: look at the director's IPVS table, VIP, firewall and kernel.",
			Evidence: ev,
			Fix:      []string{fixLine("ipvsadm -Lnc; ipvsadm -Ln --stats; nstat -az | grep -i -e drop -e IpExt", "on "+g.key+" while the client retries: what IPVS and the kernel count")},
		})
	}
	pair := func(f *Flow) string { return strings.Join(f.LostBetween, "\x00") }
	for _, g := range groupFlows(r, "lost-in-transit", pair) {
		f0 := g.flows[0]
		if len(f0.LostBetween) != 2 {
			continue
		}
		from, to := f0.LostBetween[0], f0.LostBetween[1]
		var ev []evidence.Ref
		for _, f := range g.flows[:min(3, len(g.flows))] {
			if f.LastSeen != nil {
				ev = append(ev, hopRefs(f, 2, func(h *Hop) bool { return h.LastSeen })...)
			}
		}
		ev = append(ev, t.proofNotSeen(f0, to)...)
		add(finding.Finding{
			ID: "trace.lost-in-transit", Severity: finding.Critical, Host: to,
			Title: fmt.Sprintf("%s for %s left %s and never reached %s", plural(len(g.flows), "connection's packets", "connections' packets"), svc, from, to),
			Explanation: fmt.Sprintf("The packets were last seen at %s (%s) and %s's capture, which was running then (its frame after them is cited), "+
				"never shows them, under any rewriting LVS does. Whatever lies between %s and %s dropped them: a hypervisor filter "+
				"(libvirt nwfilter, ebtables, a bridge firewall), a switch ACL, or a cloud network's anti-spoofing.",
				from, f0.LastSeen.Step, to, from, to),
			Evidence: ev,
			Fix:      t.transitFix(from, to),
		})
	}
	rsHost := func(f *Flow) string {
		for _, h := range f.Hops {
			if h.Step == "real server receives" && h.Seen || h.Step == "director answers itself" {
				return h.Host
			}
		}
		return f.origin
	}
	for _, g := range groupFlows(r, "looping", lastHost) {
		var ev []evidence.Ref
		for _, f := range g.flows[:min(3, len(g.flows))] {
			ev = append(ev, hopRefs(f, 3, func(h *Hop) bool { return h.Seen && h.Count >= 4 })...)
		}
		add(finding.Finding{
			ID: ObsLoop, Severity: finding.Critical, Host: g.key,
			Title: fmt.Sprintf("%s for %s went round in a forwarding loop", plural(len(g.flows), "connection's packets", "connections' packets"), svc),
			Explanation: "The same packet is seen again and again, its TTL counting down, until a router drops it (ICMP time exceeded). In DR the " +
				"director sends the packet to the real server's MAC on a shared link: when the real server is not on the director's link, the packet " +
				"goes to the gateway instead, which routes it back to the director (the VIP is on it).",
			Evidence: ev,
			Fix:      []string{"# put the real servers on the director's link (DR needs one L2 segment), or forward by TUN or NAT to remote real servers"},
		})
	}
	for _, g := range groupFlows(r, "rs-not-replying", rsHost) {
		var ev []evidence.Ref
		for _, f := range g.flows[:min(3, len(g.flows))] {
			ev = append(ev, hopRefs(f, 2, func(h *Hop) bool { return h.Seen && h.Step == "real server receives" })...)
		}
		f0 := g.flows[0]
		for i := range f0.Hops {
			if h := &f0.Hops[i]; h.Host == g.key && h.Seen {
				if p, ok := t.proofAfter(h, f0); ok {
					ev = append(ev, p)
				}
				break
			}
		}
		add(finding.Finding{
			ID: "trace.rs-not-replying", Severity: finding.Critical, Host: g.key,
			Title: fmt.Sprintf("%s received %s for %s and answered none", g.key, plural(len(g.flows), "client connection", "client connections"), svc),
			Explanation: fmt.Sprintf("%s's capture shows the client's packets arriving as the director forwarded them, and nothing going back: "+
				"no SYN-ACK, no reset, no ICMP error, while the capture ran on. %s dropped them before the application answered: its kernel "+
				"(VIP not on lo, rp_filter, martian source, IPIP not decapsulated), its firewall, or the application.", g.key, g.key),
			Evidence: ev,
			Fix:      []string{fixLine("nstat -az | grep -i -e drop -e martian -e PathFilter; ip addr show lo; sysctl -a 2>/dev/null | grep -e rp_filter -e arp_ignore", "on "+g.key+" while the client retries: where its kernel drops them")},
		})
	}
	for _, g := range groupFlows(r, "reply-lost", func(f *Flow) string { return strings.Join(f.LostBetween, "\x00") }) {
		f0 := g.flows[0]
		host := ""
		if f0.LastSeen != nil {
			host = f0.LastSeen.Host
		}
		var ev []evidence.Ref
		for _, f := range g.flows[:min(3, len(g.flows))] {
			ev = append(ev, hopRefs(f, 2, func(h *Hop) bool { return h.LastSeen })...)
		}
		to := "the client"
		if len(f0.LostBetween) == 2 {
			to = f0.LostBetween[1]
			ev = append(ev, t.proofNotSeen(f0, to)...)
		}
		add(finding.Finding{
			ID: "trace.reply-lost", Severity: finding.Critical, Host: host,
			Title: fmt.Sprintf("the replies to %s for %s left %s and never reached %s", plural(len(g.flows), "connection", "connections"), svc, host, to),
			Explanation: "The real server answered: the reply is in the capture at " + host + ". " + to + "'s capture, running at the time, never shows it. " +
				"In DR and TUN the reply goes straight to the client with the VIP as its source, past the director: a router or firewall that saw " +
				"only half of the connection, anti-spoofing that refuses the VIP as a source, or the wrong gateway drops it. In NAT it must come back " +
				"through the director.",
			Evidence: ev,
			Fix: []string{
				fixLine("ip route get "+clientOf(f0)+" from "+t.cfg.VIP.String(), "on "+host+": the reply's way out"),
				"# then capture on each hop of that way to find where the reply disappears",
			},
		})
	}
	for _, g := range groupFlows(r, "reply-bypassed-director", rsHost) {
		var ev []evidence.Ref
		for _, f := range g.flows[:min(3, len(g.flows))] {
			ev = append(ev, hopRefs(f, 2, func(h *Hop) bool {
				return h.Seen && h.stage == stageReplied && (h.Role == string(evidence.RoleRealServer) || h.Role == string(evidence.RoleClient))
			})...)
		}
		host := g.key
		if host == "" {
			host = "the real server"
		}
		add(finding.Finding{
			ID: "trace.reply-lost", Severity: finding.Critical, Host: g.key,
			Title: fmt.Sprintf("%s's replies to %s for %s went around the director: the client got them from the real server's address", host, plural(len(g.flows), "connection", "connections"), svc),
			Explanation: "In NAT (and FNAT) the reply must pass through the director, which puts the VIP back as its source. These replies reached the " +
				"client straight from the real server's own address: the client's TCP does not know that address and discards them (it retransmits " +
				"its SYN, or resets). The real server's route to the client does not go through the director.",
			Evidence: ev,
			Fix: []string{
				fixLine("ip route get "+clientOf(g.flows[0]), "on "+host+": must leave via the director's (floating) address"),
				"# make the director's address on the real servers' network their default gateway: ip route replace default via (that address)",
			},
		})
	}
	for _, g := range groupFlows(r, "refused", rsHost) {
		var ev []evidence.Ref
		for _, f := range g.flows[:min(3, len(g.flows))] {
			ev = append(ev, hopRefs(f, 2, func(h *Hop) bool { return h.Seen && h.stage >= stageReplied && strings.Contains(h.Change, "RST") })...)
		}
		host := g.key
		if host == "" {
			host = "the real server"
		}
		expl := "The forwarded packet arrived and the real server's kernel answered with a reset: nothing listens on the VIP's port there " +
			"(the application is stopped, or bound to the real server's own address rather than the VIP or 0.0.0.0)."
		fix := []string{fixLine("ss -lntp", "on "+host+": is the service bound to 0.0.0.0 or the VIP?")}
		if pt := t.pointOf(g.key, ""); pt != nil && pt.Role == evidence.RoleDirector {
			expl = "The director holds the VIP, and its own TCP stack answered the client with a reset: IPVS did not take the packet, so no " +
				"virtual service matches the VIP, port and protocol (or it has no real server and keepalived is not set to drop)."
			fix = []string{fixLine("ipvsadm -Ln", "on "+host+": is there a virtual service for the VIP and port?")}
		}
		add(finding.Finding{
			ID: ObsReset, Severity: finding.Warning, Host: g.key,
			Title:       fmt.Sprintf("%s refused %s for %s with a reset", host, plural(len(g.flows), "connection", "connections"), svc),
			Explanation: expl,
			Evidence:    ev,
			Fix:         fix,
		})
	}
	// Retransmitted SYNs: the client's side of every failure above.
	var retx []*Flow
	n := 0
	for i := range r.Flows {
		if f := &r.Flows[i]; f.SYNs > 1 {
			retx = append(retx, f)
			n += f.SYNs - 1
		}
	}
	if len(retx) > 0 {
		var ev []evidence.Ref
		for _, f := range retx[:min(2, len(retx))] {
			ev = append(ev, hopRefs(f, 3, func(h *Hop) bool { return h.Seen && h.stage == stageSent })...)
		}
		add(finding.Finding{
			ID: ObsSYNRetransmit, Severity: finding.Warning, Host: hostOfRef(ev),
			Title: fmt.Sprintf("the client retransmitted the SYN of %s for %s (%s)", plural(len(retx), "connection", "connections"), svc, plural(n, "retransmission", "retransmissions")),
			Explanation: "A SYN is sent again when no SYN-ACK came back within a second (then 2, 4, 8 s): the connection attempts timed out. " +
				"The hop timeline shows where each was last seen.",
			Evidence: ev,
		})
	}
}

func hostOfRef(ev []evidence.Ref) string {
	if len(ev) > 0 {
		return ev[0].Host
	}
	return ""
}

func (t *Tracer) icmpFindings(svc string, add func(finding.Finding)) {
	type key struct {
		sender netip.Addr
		text   string
	}
	by := map[key][]icmpSeen{}
	var order []key
	for _, e := range t.icmp {
		k := key{e.sender, e.text}
		if by[k] == nil {
			order = append(order, k)
		}
		by[k] = append(by[k], e)
	}
	for _, k := range order {
		es := by[k]
		e := es[0]
		var ev []evidence.Ref
		for _, x := range es[:min(4, len(es))] {
			ev = append(ev, x.ref)
		}
		host := t.points[e.point].Host
		if e.typ == 3 && e.code == 4 && (e.tunnel || t.tunMode()) {
			add(finding.Finding{
				ID: "net.tunnel-mtu", Severity: finding.Critical, Host: host,
				Title: fmt.Sprintf("%s says the tunnelled packets for %s are too big (%s)", e.sender, svc, k.text),
				Explanation: fmt.Sprintf("IPIP adds 20 bytes to every packet the director forwards. Full-size client packets with DF set no longer fit "+
					"the path (MTU %d), and %s answered with ICMP \"fragmentation needed\". If that ICMP is filtered on its way back, large transfers "+
					"through the VIP stall while small requests work.", e.mtu, e.sender),
				Evidence: ev,
				Fix: []string{
					fixLine("iptables -t mangle -A POSTROUTING -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1440", "on the real servers: announce an MSS whose packets fit the tunnel (or raise the MTU of the path)"),
					"# and let ICMP type 3 code 4 (fragmentation needed) through every firewall on the way",
				},
			})
			continue
		}
		sev := finding.Warning
		if e.conn != nil || e.toClient {
			sev = finding.Critical
		}
		about := svc
		if e.conn != nil {
			about = e.conn.client.String() + " → " + e.conn.vip.String()
		}
		add(finding.Finding{
			ID: "net.icmp-unreachable", Severity: sev, Host: host,
			Title: fmt.Sprintf("%s answered the traffic for %s with ICMP \"%s\" (%s)", e.sender, about, k.text, plural(len(es), "time", "times")),
			Explanation: fmt.Sprintf("The ICMP error's source, %s, is the hop that refused the packet; its type says why: no route (net/host "+
				"unreachable), a firewall's REJECT (admin prohibited), no listener (port unreachable), or a packet too big for the path "+
				"(fragmentation needed).", e.sender),
			Evidence: ev,
			Fix:      []string{fixLine("ip route; iptables-save -c | grep -i reject; nft list ruleset | grep -i reject", "on "+e.sender.String()+": its routes to the destination, its firewall's REJECT rules")},
		})
	}
}

func (t *Tracer) tunMode() bool {
	for _, c := range t.conns {
		if len(c.tunnels) > 0 {
			return true
		}
	}
	return t.cfg.Mode == "tun"
}

// arpFindings reports addresses that two MACs answer for at the same
// time (a failover's handover, one MAC after the other, is not one).
func (t *Tracer) arpFindings(add func(finding.Finding)) {
	if t.arp.vipAsked > 0 && len(t.arp.by[t.cfg.VIP]) == 0 && len(t.conns) == 0 {
		add(finding.Finding{
			ID: ObsARPUnanswered, Severity: finding.Critical, Host: hostOfRef(t.arp.vipRefs),
			Title: fmt.Sprintf("nobody answers ARP for the VIP %s (%s, no reply)", t.cfg.VIP, plural(t.arp.vipAsked, "request", "requests")),
			Explanation: "The client (or its router) asks who has the VIP and no host answers: no director holds the VIP on this link, so no packet " +
				"for the service is ever sent. keepalived did not become MASTER, or the VIP is not configured.",
			Evidence: t.arp.vipRefs,
			Fix:      []string{fixLine("ip -o addr show to "+t.cfg.VIP.String()+"; journalctl -u keepalived | tail -20", "on each director: who holds the VIP, and why not")},
		})
	}
	slack := int64(time.Second)
	for _, ip := range t.arp.order {
		ms := t.arp.by[ip]
		if len(ms) < 2 {
			continue
		}
		var macs []mac
		for m := range ms {
			macs = append(macs, m)
		}
		sort.Slice(macs, func(i, j int) bool { return ms[macs[i]].first < ms[macs[j]].first })
		var clash []mac
		for i := range macs {
			for j := i + 1; j < len(macs); j++ {
				a, b := ms[macs[i]], ms[macs[j]]
				if b.first <= a.last+slack && a.first <= b.last+slack {
					clash = append(clash, macs[i], macs[j])
				}
			}
		}
		if len(clash) == 0 {
			continue
		}
		sev := finding.Warning
		what := ip.String()
		if t.cfg.VIP.IsValid() && ip == t.cfg.VIP {
			sev, what = finding.Critical, "the VIP "+ip.String()
		}
		var ev []evidence.Ref
		var names []string
		seen := map[mac]bool{}
		for _, m := range clash {
			if seen[m] {
				continue
			}
			seen[m] = true
			ev = append(ev, ms[m].ref)
			names = append(names, t.macName(m))
		}
		add(finding.Finding{
			ID: "net.arp-conflict", Severity: sev, Host: t.points[ms[clash[0]].point].Host,
			Title:       fmt.Sprintf("%d MACs answer ARP for %s at the same time: %s", len(names), what, strings.Join(names, ", ")),
			Explanation: "Clients and routers send the VIP's packets to whichever MAC answered last: some go to a real server (which should never answer for the VIP) or a second director, not to the active director.",
			Evidence:    ev,
			Fix: []string{
				fixLine("sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2", "on every real server (and the same for the interface holding its address): never answer ARP for the VIP"),
				fixLine("ip -o addr show to "+t.cfg.VIP.String(), "on each director: only one may hold the VIP"),
			},
		})
	}
}

func (t *Tracer) vrrpFindings(r *Result, add func(finding.Finding)) {
	if len(t.vrrp.order) == 0 {
		if len(t.points) > 0 && t.hasRole(evidence.RoleDirector) {
			r.Notes = append(r.Notes, "no VRRP advert in any capture: keepalived's adverts (IP protocol 112) were not captured, or VRRP is not used (unicast peers are captured only between the directors)")
		}
		return
	}
	type sender struct {
		src         netip.Addr
		vrid        uint8
		prio        uint8
		count       int
		first, last int64
		points      []string
		ref         evidence.Ref
	}
	by := map[[2]any]*sender{}
	var order []*sender
	for _, k := range t.vrrp.order {
		s := t.vrrp.by[k]
		key := [2]any{k.src, k.vrid}
		x := by[key]
		if x == nil {
			x = &sender{src: k.src, vrid: k.vrid, prio: s.prio, first: s.first, last: s.last, ref: s.ref}
			by[key] = x
			order = append(order, x)
		}
		x.count += s.count
		x.first, x.last = min(x.first, s.first), max(x.last, s.last)
		x.points = append(x.points, t.points[k.point].Host)
	}
	var lines []string
	var ev []evidence.Ref
	for _, x := range order {
		lines = append(lines, fmt.Sprintf("%s (vrid %d, prio %d): %d adverts, seen at %s", x.src, x.vrid, x.prio, x.count, strings.Join(x.points, ", ")))
		ev = append(ev, x.ref)
	}
	var missing []string
	for _, ps := range t.points {
		if ps.Role != evidence.RoleDirector {
			continue
		}
		got := false
		for _, k := range t.vrrp.order {
			got = got || t.points[k.point] == ps
		}
		if !got {
			missing = append(missing, ps.Host)
		}
	}
	expl := "The adverts say which director is MASTER for each virtual router: " + strings.Join(lines, "; ") + "."
	if len(missing) > 0 {
		expl += " No advert at all in the capture of " + strings.Join(missing, ", ") + ": the peer's adverts do not reach it (a firewall, an ACL, multicast filtered), and a director that hears no MASTER takes the VIP itself."
	}
	sev := finding.Info
	if len(missing) > 0 {
		sev = finding.Warning
	}
	add(finding.Finding{ID: ObsVRRP, Severity: sev, Host: hostOfRef(ev), Title: fmt.Sprintf("VRRP adverts from %s", plural(len(order), "sender", "senders")), Explanation: expl, Evidence: ev})
	// Two senders of one virtual router advertising at once: two masters.
	for i, a := range order {
		for _, b := range order[i+1:] {
			if a.vrid != b.vrid || a.src == b.src {
				continue
			}
			overlap := min(a.last, b.last) - max(a.first, b.first)
			if overlap < int64(3*time.Second) || a.count < 3 || b.count < 3 {
				continue // a handover: one stops, the other starts
			}
			add(finding.Finding{
				ID: ObsVRRPTwoMaster, Severity: finding.Warning, Host: hostOfRef([]evidence.Ref{b.ref}),
				Title: fmt.Sprintf("%s and %s both advertise virtual router %d at the same time: two MASTERs", a.src, b.src, a.vrid),
				Explanation: "A BACKUP stops advertising once it hears a higher-priority MASTER. Both advertising for " + fmtDur(overlap) +
					" means at least one does not hear the other (VRRP blocked one way) and both hold the VIP: clients reach whichever answered ARP last.",
				Evidence: []evidence.Ref{a.ref, b.ref},
				Fix: []string{
					fixLine("iptables -I INPUT -p vrrp -j ACCEPT", "on both directors: let the peer's VRRP adverts (IP protocol 112, or the unicast peers') in"),
					fixLine("journalctl -u keepalived | grep -i 'entering master'", "on both: which one became MASTER, and when"),
				},
			})
		}
	}
}

func (t *Tracer) hasRole(r evidence.Role) bool {
	for _, ps := range t.points {
		if ps.Role == r {
			return true
		}
	}
	return false
}

func (t *Tracer) checkFindings(add func(finding.Finding)) {
	// One finding per checking host, naming what it checks.
	type checker struct {
		from  netip.Addr
		to    []string
		count int
		point int
		ev    []evidence.Ref
	}
	var checkers []*checker
	byFrom := map[netip.Addr]*checker{}
	for _, k := range t.checks.order {
		s := t.checks.patterns[k]
		c := byFrom[k.from]
		if c == nil {
			c = &checker{from: k.from, point: s.point}
			byFrom[k.from] = c
			checkers = append(checkers, c)
		}
		c.to = append(c.to, k.to.String())
		c.count += s.count
		if len(c.ev) < 3 {
			c.ev = append(c.ev, s.ref)
		}
	}
	for _, c := range checkers {
		add(finding.Finding{
			ID: ObsHealthCheck, Severity: finding.Info, Host: t.points[c.point].Host,
			Title: fmt.Sprintf("%s connects to %s and resets each connection right after the handshake (%s): health checks, benign",
				c.from, strings.Join(c.to, ", "), plural(c.count, "time", "times")),
			Explanation: "keepalived's TCP_CHECK (and many load-balancer probes) open a connection to the real server and close it at once with a reset. " +
				"These resets are expected and say the real server's port is open.",
			Evidence: c.ev,
		})
	}
	type key struct {
		from netip.Addr
		to   netip.AddrPort
	}
	by := map[key][]resetSeen{}
	var order []key
	for _, r := range t.checks.resets {
		k := key{r.from, netip.AddrPortFrom(r.to.Addr(), 0)}
		if by[k] == nil {
			order = append(order, k)
		}
		by[k] = append(by[k], r)
	}
	for _, k := range order {
		rs := by[k]
		var ev []evidence.Ref
		for _, r := range rs[:min(3, len(rs))] {
			ev = append(ev, r.ref)
		}
		add(finding.Finding{
			ID: ObsReset, Severity: finding.Info, Host: t.points[rs[0].point].Host,
			Title:       fmt.Sprintf("%s refused connections from %s with a reset (%s)", k.from, k.to.Addr(), plural(len(rs), "time", "times")),
			Explanation: "A reset answering a SYN: nothing listens on that port. If the connecting host is a director, its health check fails and the real server is taken out of the table.",
			Evidence:    ev,
		})
	}
}

// fixLine is a fix as the rules write them: a command, then as a shell
// comment where to run it and what it shows (rules/fixes.go).
func fixLine(cmd, comment string) string { return cmd + "   # " + comment }

// clientOf is the client address of f.
func clientOf(f *Flow) string {
	if ap, err := netip.ParseAddrPort(f.Client); err == nil {
		return ap.Addr().String()
	}
	return f.Client
}

// transitFix looks for what dropped the packets between from and to: on
// a hypervisor of the case, its bridge filters and their counters; in a
// cloud, the ports' anti-spoofing.
func (t *Tracer) transitFix(from, to string) []string {
	for _, h := range []string{to, from} {
		if pt := t.pointOf(h, ""); pt != nil && pt.Role == evidence.RoleHypervisor {
			return []string{
				fixLine("ebtables -t nat -L --Lc; ebtables -L --Lc; nft list ruleset", "on "+h+" while the client retries: the filter whose counter grows dropped them"),
				fixLine("virsh list --name | xargs -rn1 virsh dumpxml | grep -E 'name>|filterref'", "on "+h+": the VMs' interface filters (libvirt nwfilter)"),
			}
		}
	}
	return []string{
		"# on each host that bridges or routes between " + from + " and " + to + " (a hypervisor, a firewall), while the client retries:",
		fixLine("ebtables -t nat -L --Lc; iptables-save -c; nft list ruleset", "the filter whose counter grows dropped them"),
		"# in a cloud: the anti-spoofing of " + from + "'s port (openstack port show, aws ec2 describe-network-interfaces: source/dest check)",
	}
}
