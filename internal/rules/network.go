package rules

import (
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/fwsim"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

// macOwner returns the case host one of whose interfaces has mac.
func macOwner(p *Pass, mac string) *evidence.Host {
	mac = strings.ToLower(mac)
	for _, h := range p.Case.Hosts {
		if hostMACs(h)[mac] {
			return h
		}
	}
	return nil
}

// vipHolders are the directors that hold s's VIP on a real interface.
func vipHolders(p *Pass, s *topology.Service) []*evidence.Host {
	var out []*evidence.Host
	for _, d := range p.Directors() {
		for _, a := range d.AddrsOf(s.VIP) {
			if a.Iface != "lo" {
				out = append(out, d)
				break
			}
		}
	}
	return out
}

func macLabel(p *Pass, mac string) string {
	if h := macOwner(p, mac); h != nil {
		return fmt.Sprintf("%s (%s)", mac, h.Name)
	}
	return mac
}

// ---------------------------------------------------------------- ARP

// arpAnswer is one MAC seen answering (or announcing) ARP for the VIP.
type arpAnswer struct {
	mac  string
	host *evidence.Host // where it was seen
	ref  evidence.Ref
	src  string  // capture file
	t    float64 // frame time, when known
	hasT bool
	garp bool // an announcement, not an answer
}

var arpConflict = &Rule{
	ID:   "net.arp-conflict",
	Doc:  "More than one MAC answers ARP for the VIP (captures, arping, or a real server's MAC in a neighbour table).",
	Rank: 50,
	Needs: []Need{
		{Role: evidence.RoleClient, Kind: evidence.KindNeighbors, Command: "ip neigh"},
	},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if s.VIP.IsValid() {
				checkARPConflict(p, s)
			}
		}
	},
}

func checkARPConflict(p *Pass, s *topology.Service) {
	var answers []arpAnswer
	for _, h := range p.Case.Hosts {
		for i := range h.Frames {
			f := &h.Frames[i]
			if f.Proto != "arp" || f.ARPIP != s.VIP {
				continue
			}
			a := arpAnswer{host: h, ref: f.Ref, src: f.Ref.Source}
			switch {
			case f.ARPOp == "reply" && f.ARPMAC != "":
				a.mac = strings.ToLower(f.ARPMAC)
			case f.ARPOp == "request" && f.Src == s.VIP && f.SrcMAC != "":
				a.mac, a.garp = strings.ToLower(f.SrcMAC), true // gratuitous ARP
			default:
				continue
			}
			a.t, a.hasT = frameSeconds(f)
			answers = append(answers, a)
		}
	}
	byMAC := map[string][]arpAnswer{}
	var macs []string
	for _, a := range answers {
		if _, ok := byMAC[a.mac]; !ok {
			macs = append(macs, a.mac)
		}
		byMAC[a.mac] = append(byMAC[a.mac], a)
	}
	var ev []evidence.Ref
	conflict := map[string]bool{}
	var where *evidence.Host
	// Replies from a host that is not a director (a real server) are a
	// conflict whenever they happen; two directors' replies only when they
	// answer the same request (close in time), not one after the other
	// across a failover, and not their gratuitous ARPs (a backup that is
	// preempted a moment after it took over announces the VIP too).
	for _, m := range macs {
		if o := macOwner(p, m); o != nil && o.Role != evidence.RoleDirector {
			conflict[m] = true
			ev = append(ev, byMAC[m][0].ref)
			where = o
		}
	}
	if len(conflict) > 0 {
		for _, m := range macs {
			if !conflict[m] {
				conflict[m] = true
				ev = append(ev, byMAC[m][0].ref)
				break
			}
		}
	} else if a, b, ok := closeAnswers(answers, 1.0); ok {
		conflict[a.mac], conflict[b.mac] = true, true
		ev = append(ev, a.ref, b.ref)
		where = a.host
	}
	// arping: several MACs answered one run.
	for _, h := range p.Case.Hosts {
		for _, o := range h.Observations {
			if o.Kind != "arp-conflict" || o.Target != s.VIP {
				continue
			}
			for _, m := range strings.Split(o.MAC, ",") {
				if m = strings.ToLower(strings.TrimSpace(m)); m != "" {
					conflict[m] = true
				}
			}
			ev = append(ev, o.Ref)
			if where == nil {
				where = h
			}
		}
	}
	// Neighbour tables that learnt a real server's MAC for the VIP.
	rsMACs := map[string]*evidence.Host{}
	for _, h := range p.RealServers() {
		for m := range hostMACs(h) {
			rsMACs[m] = h
		}
	}
	for _, h := range p.Case.Hosts {
		if h.Role == evidence.RoleRealServer || h.Role == evidence.RoleDirector {
			continue
		}
		for _, n := range h.Neighbors {
			if n.IP != s.VIP || n.MAC == "" {
				continue
			}
			if rs := rsMACs[strings.ToLower(n.MAC)]; rs != nil {
				conflict[strings.ToLower(n.MAC)] = true
				ev = append(ev, n.Ref)
				where = rs
			}
		}
	}
	if len(ev) == 0 || (len(conflict) < 2 && !anyNonDirector(p, conflict)) {
		return
	}
	if len(conflict) == 1 {
		// The real server's answer competes with the director's.
		for _, d := range vipHolders(p, s) {
			for _, a := range d.AddrsOf(s.VIP) {
				if l, ok := d.Link(a.Iface); ok && l.MAC != "" {
					conflict[strings.ToLower(l.MAC)] = true
				}
			}
		}
	}
	var labels []string
	for m := range conflict {
		labels = append(labels, macLabel(p, m))
		if o := macOwner(p, m); o != nil && o.Role == evidence.RoleRealServer {
			where = o
		}
	}
	sort.Strings(labels)
	host := ev[0].Host
	if where != nil {
		host = where.Name
	}
	p.Report(diagnosis.Finding{
		Severity: diagnosis.Critical,
		Host:     host,
		Title:    fmt.Sprintf("more than one MAC answers ARP for the VIP %s: %s", s.VIP, strings.Join(labels, ", ")),
		Explanation: "Clients and their gateway learn the VIP's MAC from whichever ARP reply they see last. Only the active " +
			"director may answer: when a real server does too, part of the traffic (or all of it, until the entry changes) " +
			"goes straight to that server and bypasses IPVS; when two directors answer, VRRP has split.",
		Evidence: ev,
		Fix: []string{
			"on the real servers: sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2, and keep the VIP on lo as /32",
			fmt.Sprintf("then, on the active director: arping -U -c 3 -I <iface> %s   # correct the neighbours' entries", s.VIP),
		},
	})
}

// anyNonDirector reports whether one of macs belongs to a host that is not
// a director: such a host must never answer ARP for the VIP.
func anyNonDirector(p *Pass, macs map[string]bool) bool {
	for m := range macs {
		if o := macOwner(p, m); o != nil && o.Role != evidence.RoleDirector {
			return true
		}
	}
	return false
}

// closeAnswers finds two answers from different MACs in one capture
// within gap seconds of each other.
func closeAnswers(as []arpAnswer, gap float64) (arpAnswer, arpAnswer, bool) {
	for i := range as {
		for j := i + 1; j < len(as); j++ {
			a, b := as[i], as[j]
			if a.mac == b.mac || a.src != b.src || !a.hasT || !b.hasT || a.garp || b.garp {
				continue
			}
			if math.Abs(a.t-b.t) <= gap {
				return a, b, true
			}
		}
	}
	return arpAnswer{}, arpAnswer{}, false
}

var staleARP = &Rule{
	ID:   "net.stale-arp",
	Doc:  "A client or gateway maps the VIP to a MAC that is neither the active director's nor a real server's (the old master's after a failover).",
	Rank: 35,
	Needs: []Need{
		{Role: evidence.RoleClient, Kind: evidence.KindNeighbors, Command: "ip neigh"},
	},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if s.VIP.IsValid() {
				checkStaleARP(p, s)
			}
		}
	},
}

func checkStaleARP(p *Pass, s *topology.Service) {
	active := vipHolders(p, s)
	if len(active) == 0 {
		return // director.vip-not-local
	}
	good := map[string]bool{}
	for _, d := range active {
		for m := range hostMACs(d) {
			good[m] = true
		}
	}
	rs := map[string]bool{}
	for _, h := range p.RealServers() {
		for m := range hostMACs(h) {
			rs[m] = true
		}
	}
	for _, h := range p.Case.Hosts {
		if h.Role != evidence.RoleClient && h.Role != evidence.RoleRouter {
			continue
		}
		var bad *evidence.Neighbor
		for i := range h.Neighbors {
			n := &h.Neighbors[i]
			m := strings.ToLower(n.MAC)
			if n.IP == s.VIP && m != "" && !good[m] && !rs[m] {
				bad = n
				break
			}
		}
		var sent []*evidence.Frame
		if onLink(h, s.VIP) {
			for i := range h.Frames {
				f := &h.Frames[i]
				if _, ok := vipPacket(f, s); !ok || f.Inner != nil || f.DstMAC == "" || f.Dir == "in" {
					continue
				}
				m := strings.ToLower(f.DstMAC)
				if !good[m] && !rs[m] && (bad == nil || m == strings.ToLower(bad.MAC)) {
					sent = append(sent, f)
				}
			}
		}
		if bad == nil && len(sent) == 0 {
			continue
		}
		if len(good) == 0 {
			p.Notef("%s maps the VIP %s to a MAC; `ip link` from %s would tell whether it is the active director's", h.Name, s.VIP, active[0].Name)
			continue
		}
		mac := ""
		var ev []evidence.Ref
		if bad != nil {
			mac = strings.ToLower(bad.MAC)
			ev = append(ev, bad.Ref)
		} else {
			mac = strings.ToLower(sent[0].DstMAC)
		}
		ev = append(ev, firstRefs(sent, 2)...)
		for _, d := range active {
			for _, a := range d.AddrsOf(s.VIP) {
				ev = append(ev, a.Ref)
				if l, ok := d.Link(a.Iface); ok {
					ev = append(ev, l.Ref)
				}
			}
		}
		owner := macOwner(p, mac)
		sev := diagnosis.Warning
		whose := "no host of the case"
		if owner != nil {
			whose = owner.Name
			if owner.Role == evidence.RoleDirector {
				sev = diagnosis.Critical
				whose = owner.Name + ", a director that does not hold the VIP now"
			}
		}
		for _, d := range p.Directors() {
			n := 0
			for i := len(d.Logs) - 1; i >= 0 && n < 2; i-- {
				switch d.Logs[i].Kind {
				case evidence.LogVRRPMaster, evidence.LogVRRPBackup, evidence.LogVRRPFault, evidence.LogGARPSent:
					ev = append(ev, d.Logs[i].Ref)
					n++
				}
			}
		}
		names := make([]string, len(active))
		for i, d := range active {
			names[i] = d.Name
		}
		fix := []string{
			fmt.Sprintf("on %s: ip neigh flush to %s   # or arp -d %s", h.Name, s.VIP, s.VIP),
			fmt.Sprintf("on %s: arping -U -c 3 -I <iface> %s   # announce the VIP again", names[0], s.VIP),
			"keepalived: vrrp_garp_master_refresh 60 and vrrp_garp_master_repeat 5 in global_defs, so the master keeps announcing",
		}
		if bad != nil && strings.EqualFold(bad.State, "PERMANENT") {
			fix = append([]string{fmt.Sprintf("on %s: remove the static entry (ip neigh del %s dev %s)", h.Name, s.VIP, bad.Dev)}, fix...)
		}
		p.Report(diagnosis.Finding{
			Severity: sev,
			Host:     h.Name,
			Title:    fmt.Sprintf("%s maps the VIP %s to %s, not to the active director %s", h.Name, s.VIP, mac, strings.Join(names, ", ")),
			Explanation: fmt.Sprintf("The VIP is up on %s, but %s still sends the traffic for it to %s (%s). After a failover the "+
				"new master announces itself with gratuitous ARP; a neighbour that missed or ignored it (locktime, a static entry, "+
				"a switch or router with long ARP timeouts) keeps the old entry and delivers to a host that no longer serves the VIP.",
				strings.Join(names, ", "), h.Name, mac, whose),
			Evidence: ev,
			Fix:      fix,
		})
	}
}

// onLink reports whether h has a connected subnet holding a (so that it
// ARPs for a itself); false when its addresses are unknown.
func onLink(h *evidence.Host, a netip.Addr) bool {
	for _, x := range h.Addrs {
		if x.Iface != "lo" && x.Prefix.Bits() < 32 && x.Prefix.Masked().Contains(a) {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------- VRRP

// vrrpGroup is 224.0.0.18, where VRRP adverts go without unicast_peer.
var vrrpGroup = netip.MustParseAddr("224.0.0.18")

// vrrpInstances returns d's VRRP instances that carry s's VIP (all of
// them when none names it).
func vrrpInstances(d *evidence.Host, s *topology.Service) []*evidence.VRRPInstance {
	if d.Keepalived == nil {
		return nil
	}
	var with []*evidence.VRRPInstance
	for _, vi := range d.Keepalived.VRRPInstances {
		for _, v := range vi.VIPs {
			if v.Prefix.Addr() == s.VIP {
				with = append(with, vi)
				break
			}
		}
	}
	if len(with) > 0 {
		return with
	}
	return d.Keepalived.VRRPInstances
}

// lastVRRPState returns d's last logged VRRP state change.
func lastVRRPState(d *evidence.Host) *evidence.LogEvent {
	for i := len(d.Logs) - 1; i >= 0; i-- {
		switch d.Logs[i].Kind {
		case evidence.LogVRRPMaster, evidence.LogVRRPBackup, evidence.LogVRRPFault:
			return &d.Logs[i]
		}
	}
	return nil
}

// splitBrain returns the evidence that two directors are MASTER for s at once.
func splitBrain(p *Pass, s *topology.Service) ([]evidence.Ref, []*evidence.Host) {
	var ev []evidence.Ref
	var masters []*evidence.Host
	if hs := vipHolders(p, s); len(hs) >= 2 {
		for _, d := range hs {
			for _, a := range d.AddrsOf(s.VIP) {
				if a.Iface != "lo" {
					ev = append(ev, a.Ref)
					break
				}
			}
		}
		return ev, hs
	}
	for _, d := range p.Directors() {
		if l := lastVRRPState(d); l != nil && l.Kind == evidence.LogVRRPMaster {
			masters = append(masters, d)
			ev = append(ev, l.Ref)
		}
	}
	if len(masters) >= 2 {
		return ev, masters
	}
	return nil, nil
}

// peerAddr is the address peer sends its adverts from.
func peerAddr(peer *evidence.Host, iface string) netip.Addr {
	if peer.Keepalived != nil {
		for _, vi := range peer.Keepalived.VRRPInstances {
			if vi.UnicastSrc.IsValid() {
				return vi.UnicastSrc
			}
		}
	}
	for _, a := range peer.Addrs {
		if a.Prefix.Addr().Is4() && a.Iface != "lo" && a.Prefix.Bits() < 32 && !a.Secondary && (iface == "" || a.Iface == iface) {
			return a.Prefix.Addr()
		}
	}
	return directorIP(peer)
}

var vrrpBlocked = &Rule{
	ID:   "net.vrrp-blocked",
	Doc:  "VRRP adverts (IP protocol 112) do not reach a director: its firewall drops them, or the unicast_peer lists do not match, so both become MASTER.",
	Rank: 11,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindFirewall, Command: "iptables-save -c; nft list ruleset"},
		{Role: evidence.RoleDirector, Kind: evidence.KindKeepalived, Command: "cat /etc/keepalived/keepalived.conf"},
	},
	Explains: []string{"director.vip-owned-twice", "net.arp-conflict"},
	Run: func(p *Pass) {
		if len(p.Directors()) < 2 {
			return
		}
		for _, s := range p.Services() {
			if s.VIP.IsValid() {
				checkVRRPBlocked(p, s)
			}
		}
	},
}

// vrrpBlock is why d does not hear its peer.
type vrrpBlock struct {
	d, peer *evidence.Host
	why     string
	sure    bool
	ev      []evidence.Ref
	fix     []string
}

func checkVRRPBlocked(p *Pass, s *topology.Service) {
	sbEv, _ := splitBrain(p, s)
	for _, d := range p.Directors() {
		for _, l := range d.Logs {
			if l.Kind == evidence.LogVRRPBadAuth || l.Kind == evidence.LogVRRPBadPacket {
				if len(sbEv) > 0 {
					p.Notef("%s receives its peer's VRRP adverts but rejects them (%s): authentication or VRID differ, VRRP is not blocked", d.Name, l.Ref)
				}
				return
			}
		}
	}
	var blocks []vrrpBlock
	for _, d := range p.Directors() {
		for _, peer := range p.Directors() {
			if peer == d {
				continue
			}
			blocks = append(blocks, vrrpBlocksFor(p, s, d, peer)...)
		}
	}
	if len(blocks) == 0 {
		if len(sbEv) > 0 {
			p.Notef("two directors are MASTER for %s and no firewall rule or unicast_peer mismatch explains it: capture `tcpdump -n -i <iface> vrrp` on both to see whose adverts are missing", s.VIP)
		}
		return
	}
	seen := map[string]bool{}
	for _, b := range blocks {
		if seen[b.d.Name+b.why] {
			continue
		}
		seen[b.d.Name+b.why] = true
		sev := diagnosis.Warning
		if len(sbEv) > 0 && b.sure {
			sev = diagnosis.Critical
		}
		ev := append(b.ev, sbEv...)
		state := "If the peer is MASTER, " + b.d.Name + " cannot hear it and takes the VIP too (split brain)."
		if len(sbEv) > 0 {
			state = "Both are MASTER now: the VIP is up twice and clients reach either."
		}
		p.Report(diagnosis.Finding{
			Severity: sev,
			Host:     b.d.Name,
			Title:    fmt.Sprintf("VRRP adverts from %s do not reach %s: %s", b.peer.Name, b.d.Name, b.why),
			Explanation: fmt.Sprintf("keepalived stays BACKUP only while it hears the master's adverts (IP protocol 112, to %s "+
				"or to the unicast peers). %s %s", vrrpGroup, upperFirst(b.why)+".", state),
			Evidence: ev,
			Fix:      b.fix,
		})
	}
}

func vrrpBlocksFor(p *Pass, s *topology.Service, d, peer *evidence.Host) []vrrpBlock {
	var out []vrrpBlock
	insts := vrrpInstances(d, s)
	iface := ""
	var peers []netip.Addr
	var instRef evidence.Ref
	if len(insts) > 0 {
		iface, peers, instRef = insts[0].Interface, insts[0].UnicastPeers, insts[0].Ref
	}
	src := peerAddr(peer, "")
	if iface == "" {
		iface = ifaceFacing(d, src, s.VIP)
	}
	// 1. d's firewall drops the adverts.
	if d.Has(evidence.KindFirewall) {
		pkt := evidence.Packet{Proto: "112", Src: src, Dst: vrrpGroup, InIface: iface, CtState: "NEW"}
		if len(peers) > 0 {
			pkt.Dst = peerAddr(d, iface)
		}
		if v := fwsim.Walk(&d.Firewall, pkt, "prerouting", "input"); v.Dropped {
			b := vrrpBlock{d: d, peer: peer, sure: v.Sure}
			for _, j := range v.Path {
				b.ev = append(b.ev, j.Ref)
			}
			if v.Rule != nil {
				b.ev = append(b.ev, v.Rule.Ref)
				b.why = fmt.Sprintf("%s %s/%s rule %d %ss IP protocol 112", v.Rule.Tool, orName(v.Rule.Table, "filter"), v.Rule.Chain, v.Rule.Num, strings.ToLower(v.Rule.Verdict))
			} else if v.Chain != nil {
				b.ev = append(b.ev, v.Chain.Ref)
				b.why = fmt.Sprintf("the %s policy of %s/%s drops IP protocol 112 (no rule accepts VRRP)", v.Chain.Policy, v.Chain.Table, v.Chain.Name)
			}
			if !instRef.IsZero() {
				b.ev = append(b.ev, instRef)
			}
			in := ""
			if iface != "" {
				in = " -i " + iface
			}
			b.fix = []string{
				fmt.Sprintf("on %s: iptables -I INPUT%s -p vrrp -j ACCEPT   # nft: ip protocol vrrp accept", d.Name, in),
				"firewalld: firewall-cmd --permanent --add-rich-rule='rule protocol value=\"vrrp\" accept' && firewall-cmd --reload",
			}
			if b.why != "" {
				out = append(out, b)
			}
		}
	}
	// 2. unicast peers that do not name the peer, or one side unicast and
	// the other multicast.
	var peerInsts []*evidence.VRRPInstance
	if peer.Keepalived != nil {
		peerInsts = vrrpInstances(peer, s)
	}
	if len(insts) > 0 && len(peerInsts) > 0 {
		pi := peerInsts[0]
		switch {
		case len(pi.UnicastPeers) > 0 && d.Has(evidence.KindAddrs) && !namesHost(pi.UnicastPeers, d, insts[0].UnicastSrc):
			out = append(out, vrrpBlock{d: d, peer: peer, sure: true,
				why: fmt.Sprintf("%s sends its adverts only to its unicast_peer list, which names no address of %s", peer.Name, d.Name),
				ev:  append([]evidence.Ref{pi.Ref}, addrRefsOn(d, iface)...),
				fix: []string{fmt.Sprintf("list %s's address in unicast_peer on %s (and %s's on %s), then reload keepalived on both", d.Name, peer.Name, peer.Name, d.Name)}})
		case len(peers) > 0 && len(pi.UnicastPeers) == 0:
			out = append(out, vrrpBlock{d: d, peer: peer, sure: true,
				why: fmt.Sprintf("%s uses unicast_peer and does not join the VRRP group, while %s sends multicast adverts", d.Name, peer.Name),
				ev:  []evidence.Ref{instRef, pi.Ref},
				fix: []string{fmt.Sprintf("configure matching unicast_peer/unicast_src_ip on %s, or remove unicast_peer on %s", peer.Name, d.Name)}})
		}
	}
	return out
}

// ifaceFacing is the interface of d on the subnet of peer, else the one
// holding the VIP: where VRRP adverts arrive when the config is not shown.
func ifaceFacing(d *evidence.Host, peer, vip netip.Addr) string {
	for _, a := range d.Addrs {
		if a.Iface != "lo" && peer.IsValid() && a.Prefix.Bits() < 32 && a.Prefix.Masked().Contains(peer) {
			return a.Iface
		}
	}
	for _, a := range d.AddrsOf(vip) {
		if a.Iface != "lo" {
			return a.Iface
		}
	}
	return ""
}

// namesHost reports whether peers holds an address of h (or its unicast source).
func namesHost(peers []netip.Addr, h *evidence.Host, src netip.Addr) bool {
	for _, a := range peers {
		if h.IsLocal(a) || (src.IsValid() && a == src) {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------- ICMP

var (
	icmpAddrRe  = regexp.MustCompile(`\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}`)
	icmpPortRe  = regexp.MustCompile(`(tcp|udp|sctp) port (\d+)`)
	icmpMTURe   = regexp.MustCompile(`mtu (\d+)`)
	icmpProtoRe = regexp.MustCompile(`protocol (\d+) unreachable`)
)

// icmpUnreach is an ICMP destination-unreachable frame decoded from
// tcpdump's text: "host 192.0.2.100 unreachable - admin prohibited
// filter", "192.0.2.100 tcp port 80 unreachable", "192.0.2.100
// unreachable - need to frag (mtu 1480)".
type icmpUnreach struct {
	frame *evidence.Frame
	host  *evidence.Host // the capture's host
	about netip.Addr     // the original packet's destination
	port  uint16
	kind  string // "frag", "prohibited", "port", "protocol", "host", "net", "other"
	mtu   int
}

func decodeUnreach(h *evidence.Host, f *evidence.Frame) (icmpUnreach, bool) {
	t := strings.ToLower(f.ICMP)
	if f.Proto != "icmp" || !strings.Contains(t, "unreachable") {
		return icmpUnreach{}, false
	}
	u := icmpUnreach{frame: f, host: h, kind: "other"}
	if a, err := netip.ParseAddr(icmpAddrRe.FindString(t)); err == nil {
		u.about = a
	}
	if m := icmpPortRe.FindStringSubmatch(t); m != nil {
		n, _ := strconv.Atoi(m[2])
		u.port = uint16(n)
	}
	switch {
	case strings.Contains(t, "need to frag"):
		u.kind = "frag"
		if m := icmpMTURe.FindStringSubmatch(t); m != nil {
			u.mtu, _ = strconv.Atoi(m[1])
		}
	case strings.Contains(t, "prohibited"):
		u.kind = "prohibited"
	case u.port != 0 || strings.Contains(t, " port "):
		u.kind = "port"
	case icmpProtoRe.MatchString(t):
		u.kind = "protocol"
	case strings.HasPrefix(t, "host "):
		u.kind = "host"
	case strings.HasPrefix(t, "net "):
		u.kind = "net"
	}
	return u, true
}

// answersService reports whether u refuses a packet of s's flow: one to
// the VIP or a RIP, on the service's port when the ICMP names one.
func answersService(p *Pass, s *topology.Service, u icmpUnreach) bool {
	if !u.about.IsValid() {
		return false
	}
	hit := u.about == s.VIP
	for _, r := range s.RIPs {
		if u.about == r {
			hit = true
		}
	}
	if !hit {
		return false
	}
	if u.port == 0 || u.port == s.Port {
		return true
	}
	if u.about != s.VIP {
		for _, h := range p.RealServersOf(s) {
			if h.IsLocal(u.about) && rsPort(p, s, h) == u.port {
				return true
			}
		}
	}
	return false
}

// icmpSender names the host that sent an ICMP frame.
func icmpSender(p *Pass, f *evidence.Frame) (string, *evidence.Host) {
	if h := p.Topo.HostOwning(f.Src); h != nil && !p.Topo.IsVIP(f.Src) {
		return fmt.Sprintf("%s (%s)", f.Src, h.Name), h
	}
	if f.SrcMAC != "" {
		if h := macOwner(p, f.SrcMAC); h != nil {
			return fmt.Sprintf("%s (%s)", f.Src, h.Name), h
		}
	}
	return f.Src.String(), nil
}

var icmpWhat = map[string]string{
	"prohibited": "a firewall on the sender rejects the packet (REJECT --reject-with icmp-host-prohibited / icmp-admin-prohibited, or a router ACL)",
	"port":       "the sender has no socket on that port (UDP), or a REJECT rule answers with its default icmp-port-unreachable",
	"protocol":   "the sender does not speak the packet's IP protocol (IPIP without the ipip module or tunl0)",
	"host":       "the sender cannot reach the destination: nobody answered its ARP for the next hop, or a REJECT with icmp-host-unreachable",
	"net":        "the sender has no route to the destination's network",
	"frag":       "the packet is larger than the next link's MTU and may not be fragmented (DF)",
	"other":      "the sender refused to deliver the packet",
}

var icmpUnreachable = &Rule{
	ID:   "net.icmp-unreachable",
	Doc:  "An ICMP destination-unreachable (host, net, port, protocol, admin-prohibited, frag-needed) answers the service's packets; its sender names the hop that refused them.",
	Rank: 70,
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if s.VIP.IsValid() {
				checkICMPUnreachable(p, s)
			}
		}
	},
}

func checkICMPUnreachable(p *Pass, s *topology.Service) {
	type group struct {
		sender string
		host   *evidence.Host
		us     []icmpUnreach
	}
	var groups []*group
	byKey := map[string]*group{}
	for _, h := range p.Case.Hosts {
		for i := range h.Frames {
			u, ok := decodeUnreach(h, &h.Frames[i])
			if !ok || !answersService(p, s, u) {
				continue
			}
			if u.kind == "frag" && s.Mode == "tun" {
				continue // net.tunnel-mtu
			}
			name, sh := icmpSender(p, u.frame)
			k := u.frame.Src.String() + "|" + u.kind
			g := byKey[k]
			if g == nil {
				g = &group{sender: name, host: sh}
				byKey[k] = g
				groups = append(groups, g)
			}
			g.us = append(g.us, u)
		}
	}
	// What the test commands printed.
	var obs []evidence.Ref
	var obsHost *evidence.Host
	for _, h := range p.Case.Hosts {
		for _, o := range h.Observations {
			switch o.Kind {
			case "no-route", "host-unreachable", "net-unreachable":
			default:
				continue
			}
			if o.Target != s.VIP || (o.Port != 0 && s.Port != 0 && o.Port != s.Port) {
				continue
			}
			obs = append(obs, o.Ref)
			if obsHost == nil {
				obsHost = h
			}
		}
	}
	for _, g := range groups {
		u := g.us[0]
		host := u.host.Name
		if g.host != nil {
			host = g.host.Name
		}
		sev := diagnosis.Critical
		if u.kind == "frag" {
			sev = diagnosis.Warning
		}
		var ev []evidence.Ref
		for i, x := range g.us {
			if i == 3 {
				break
			}
			ev = append(ev, x.frame.Ref)
		}
		ev = append(ev, obs...)
		what := u.about.String()
		if u.port != 0 {
			what = netip.AddrPortFrom(u.about, u.port).String()
		}
		p.Report(diagnosis.Finding{
			Severity: sev,
			Host:     host,
			Title:    fmt.Sprintf("%s answers packets to %s with ICMP \"%s\" (%d seen)", g.sender, what, u.frame.ICMP, len(g.us)),
			Explanation: fmt.Sprintf("The capture on %s shows an ICMP destination-unreachable from %s for the service's packets: "+
				"%s. That hop is where the traffic stops; the client sees it as \"No route to host\" or \"Connection refused\" "+
				"instead of a timeout.", u.host.Name, g.sender, icmpWhat[u.kind]),
			Evidence: ev,
			Fix:      icmpFix(u, g.sender, s),
		})
	}
	if len(groups) == 0 && len(obs) > 0 {
		// A symptom without the hop that caused it: context for the
		// causes found elsewhere, not a cause of its own.
		p.Report(diagnosis.Finding{
			Severity: diagnosis.Warning,
			Host:     obsHost.Name,
			Title:    fmt.Sprintf("the test from %s to %s failed with \"No route to host\" (an ICMP unreachable or a failed ARP)", obsHost.Name, s),
			Explanation: "EHOSTUNREACH means the connection was refused by an ICMP host-unreachable or admin-prohibited error " +
				"(a REJECT rule on the way or on the director/real server), or that the client's own ARP for the VIP (or its " +
				"gateway) got no answer. Which hop sent it is not in the evidence.",
			Evidence: obs,
			Fix: []string{
				fmt.Sprintf("on %s while retrying: tcpdump -n -e 'icmp or arp'   # the ICMP's source names the hop", obsHost.Name),
				fmt.Sprintf("on %s: ip neigh show %s   # FAILED/INCOMPLETE means nobody answers ARP for the VIP", obsHost.Name, s.VIP),
			},
		})
	}
}

func icmpFix(u icmpUnreach, sender string, s *topology.Service) []string {
	switch u.kind {
	case "prohibited", "port":
		return []string{
			fmt.Sprintf("on %s: iptables-save -c | grep -i reject; nft list ruleset | grep -i reject   # find the rule that answers, allow %s before it", sender, s),
			"if nothing rejects: start the service on that port (ss -lnup / ss -lntp)",
		}
	case "protocol":
		return []string{fmt.Sprintf("on %s: modprobe ipip && ip link set tunl0 up", sender)}
	case "host":
		return []string{fmt.Sprintf("on %s: ip neigh show %s; ip route get %s   # who should answer ARP for it", sender, u.about, u.about)}
	case "net":
		return []string{fmt.Sprintf("on %s: ip route get %s   # add the missing route", sender, u.about)}
	case "frag":
		return []string{"let ICMP fragmentation-needed through to the client (PMTU discovery needs it), or lower the MTU/MSS"}
	}
	return []string{fmt.Sprintf("inspect %s's routing and firewall for %s", sender, u.about)}
}

// ---------------------------------------------------------------- TUN MTU

var mssRe = regexp.MustCompile(`\bmss (\d+)`)

func frameMSS(f *evidence.Frame) int {
	if m := mssRe.FindStringSubmatch(f.Ref.Text); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

var tunnelMTU = &Rule{
	ID:    "net.tunnel-mtu",
	Modes: []string{"tun"},
	Doc:   "TUN adds a 20-byte IPIP header: full-size client segments (MSS 1460 on 1500-byte links) no longer fit, and only ICMP frag-needed (PMTU discovery) saves the connection.",
	Rank:  30,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindLinks, Command: "ip -d link"},
	},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if s.Mode == "tun" && s.VIP.IsValid() {
				checkTunnelMTU(p, s)
			}
		}
	},
}

func checkTunnelMTU(p *Pass, s *topology.Service) {
	// ICMP frag-needed about the service's packets, wherever captured.
	var frags []icmpUnreach
	for _, h := range p.Case.Hosts {
		for i := range h.Frames {
			if u, ok := decodeUnreach(h, &h.Frames[i]); ok && u.kind == "frag" && answersService(p, s, u) {
				frags = append(frags, u)
			}
		}
	}
	// The director's link towards the real servers.
	var d *evidence.Host
	var link evidence.Link
	for _, x := range p.ActiveDirectors(s) {
		dev := ""
		for _, rip := range s.RIPs {
			if dev, _ = routeOut(x, rip); dev != "" {
				break
			}
		}
		if dev == "" {
			for _, a := range x.Addrs {
				if a.Prefix.Addr() == directorIP(x) {
					dev = a.Iface
				}
			}
		}
		if l, ok := x.Link(dev); ok && l.MTU > 0 {
			d, link = x, l
			break
		}
	}
	// The MSS of the service's handshakes: the real server's SYN-ACK
	// bounds what the client sends; without it, the client's SYN stands in.
	var synFrame, synackFrame *evidence.Frame
	for _, h := range p.Case.Hosts {
		for i := range h.Frames {
			f := &h.Frames[i]
			pk := innerOf(f)
			if !strings.Contains(pk.Flags, "S") || frameMSS(f) == 0 {
				continue
			}
			if _, toVIP := vipPacket(f, s); toVIP && synFrame == nil {
				synFrame = f
			} else if pk.Src == s.VIP && pk.SPort == s.Port && synackFrame == nil {
				synackFrame = f
			}
		}
	}
	mssFrame := synackFrame
	if mssFrame == nil {
		mssFrame = synFrame
	}
	mss := 0
	if mssFrame != nil {
		mss = frameMSS(mssFrame)
	}
	tooBig := d != nil && mss > 0 && mss+40+20 > link.MTU
	if len(frags) == 0 && !tooBig {
		return
	}
	var ev []evidence.Ref
	host := ""
	if d != nil {
		host = d.Name
		ev = append(ev, link.Ref)
	}
	if mssFrame != nil && tooBig {
		ev = append(ev, mssFrame.Ref)
	}
	for _, h := range p.RealServersOf(s) {
		for _, l := range h.Links {
			if (l.Kind == "ipip" || strings.HasPrefix(l.Name, "tunl")) && l.MTU > 1480 {
				ev = append(ev, l.Ref)
			}
		}
	}
	sev := diagnosis.Warning
	lost := ""
	for i, u := range frags {
		if i < 2 {
			ev = append(ev, u.frame.Ref)
		}
		if host == "" {
			host = u.host.Name
		}
	}
	if len(frags) > 0 {
		// The director told the client to shrink; did the client hear it?
		for _, c := range p.Topo.Clients() {
			if c == frags[0].host || len(c.Frames) == 0 {
				continue
			}
			sawFlow, sawFrag := false, false
			for i := range c.Frames {
				f := &c.Frames[i]
				if _, ok := vipPacket(f, s); ok {
					sawFlow = true
				}
				if u, ok := decodeUnreach(c, f); ok && u.kind == "frag" {
					sawFrag = true
				}
			}
			if sawFlow && !sawFrag {
				sev = diagnosis.Critical
				lost = fmt.Sprintf(" %s's capture shows the connection but never the ICMP: it is filtered on the way, so the large packets are retransmitted until the connection times out.", c.Name)
				ev = append(ev, seenRef(c, evidence.KindFrames))
			}
		}
	}
	mtuText := "the director's link MTU"
	if d != nil {
		mtuText = fmt.Sprintf("%s's %s MTU %d", d.Name, link.Name, link.MTU)
	}
	title := fmt.Sprintf("TUN encapsulation does not fit %s", mtuText)
	if mss > 0 && tooBig {
		title = fmt.Sprintf("TUN: segments of MSS %d plus 60 bytes of headers exceed %s", mss, mtuText)
	}
	if len(frags) > 0 {
		title += fmt.Sprintf("; %d ICMP frag-needed seen", len(frags))
	}
	p.Report(diagnosis.Finding{
		Severity: sev,
		Host:     host,
		Title:    title,
		Explanation: "In TUN mode the director wraps each client packet in a 20-byte IPIP header. A full-size segment " +
			"(1500 bytes with DF) becomes 1520 and no longer fits a 1500-byte link, so the director answers the client with ICMP " +
			"fragmentation-needed (mtu 1480) and the client must resend smaller. Handshakes and small requests work; uploads and " +
			"large requests stall wherever that ICMP is filtered." + lost,
		Evidence: ev,
		Fix: []string{
			fmt.Sprintf("on the real servers, advertise a smaller MSS: iptables -t mangle -A OUTPUT -s %s -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1440", s.VIP),
			"or raise the MTU between director and real servers to at least 1520",
			"and let ICMP type 3 code 4 through every firewall towards the clients",
		},
	})
}

// ---------------------------------------------------------------- bridge netfilter

// vmBridges lists the bridges a hypervisor's VMs are plugged into.
func vmBridges(h *evidence.Host) []string {
	var out []string
	seen := map[string]bool{}
	add := func(b string) {
		if b != "" && !seen[b] {
			seen[b] = true
			out = append(out, b)
		}
	}
	for _, itf := range h.Libvirt.Interfaces {
		add(itf.Bridge)
	}
	if len(out) > 0 {
		return out
	}
	for _, l := range h.Links {
		if l.Master == "" {
			continue
		}
		for _, pre := range []string{"vnet", "tap", "vif", "veth"} {
			if strings.HasPrefix(l.Name, pre) {
				add(l.Master)
			}
		}
	}
	return out
}

// withOutIface returns the firewall as packets bridged on br see it:
// iptables -o matches the bridge, which fwsim does not decide, so rules
// for other output interfaces are left out (all of them that drop, when
// the bridge is unknown); `-m physdev --physdev-is-bridged` matches.
func withOutIface(fw *evidence.Firewall, br string) *evidence.Firewall {
	out := &evidence.Firewall{Chains: fw.Chains, Warnings: fw.Warnings}
rules:
	for _, r := range fw.Rules {
		var extra []string
		for _, e := range r.Extra {
			if strings.Contains(e, "physdev-is-bridged") && !strings.Contains(e, "physdev-in") && !strings.Contains(e, "physdev-out") {
				if strings.Contains(e, "!") {
					continue rules // only for routed packets
				}
				continue
			}
			extra = append(extra, e)
		}
		r.Extra = extra
		if r.OutIface != "" && r.OutIface != "*" && r.OutIface != "any" {
			if br == "" {
				if r.Drops() {
					continue
				}
			} else if !outIfaceMatch(r.OutIface, br) {
				continue
			}
		}
		out.Rules = append(out.Rules, r)
	}
	return out
}

func outIfaceMatch(pattern, iface string) bool {
	neg := strings.HasPrefix(pattern, "!")
	pattern = strings.TrimPrefix(pattern, "!")
	var m bool
	if strings.HasSuffix(pattern, "+") {
		m = strings.HasPrefix(iface, strings.TrimSuffix(pattern, "+"))
	} else {
		m = pattern == iface
	}
	return m != neg
}

var bridgeNetfilterDrop = &Rule{
	ID:   "hypervisor.bridge-netfilter-drop",
	Doc:  "br_netfilter on a hypervisor (bridge-nf-call-iptables=1) sends bridged VM frames through iptables FORWARD, whose DROP policy (Docker's) eats the LVS traffic.",
	Rank: 10,
	Needs: []Need{
		{Role: evidence.RoleHypervisor, Kind: evidence.KindSysctl, Command: "sysctl -a"},
		{Role: evidence.RoleHypervisor, Kind: evidence.KindFirewall, Command: "iptables-save -c"},
	},
	Explains: []string{"trace.lost-in-transit", "trace.reply-lost", "trace.rs-not-replying", "trace.director-not-forwarding"},
	Run: func(p *Pass) {
		for _, hv := range p.Topo.Hypervisors() {
			v, ref, ok := hv.SysctlInt("net.bridge.bridge-nf-call-iptables")
			if !ok || v != 1 {
				continue
			}
			if !hv.Has(evidence.KindFirewall) {
				p.Notef("%s passes bridged frames through iptables (bridge-nf-call-iptables=1): run `iptables-save -c` there to see its FORWARD chain", hv.Name)
				continue
			}
			for _, s := range p.Services() {
				if checkBridgeNF(p, s, hv, ref) {
					break
				}
			}
		}
	},
}

// bridgedPackets are the service's packets a hypervisor bridge carries
// between VMs: the client's packet to the VIP and the director's
// forwarded copy (the same IP header in DR; IPIP in TUN; to the RIP in NAT).
func bridgedPackets(p *Pass, s *topology.Service) []struct {
	what string
	pkt  evidence.Packet
} {
	type bp = struct {
		what string
		pkt  evidence.Packet
	}
	client := clientPacket(p, s)
	out := []bp{{"the client's packets to the VIP", client}}
	for _, rip := range s.RIPs {
		switch s.Mode {
		case "tun":
			var dip netip.Addr
			if ds := p.ActiveDirectors(s); len(ds) > 0 {
				dip = directorIP(ds[0])
			}
			out = append(out, bp{"the director's IPIP packets to " + rip.String(), evidence.Packet{Proto: "4", Src: dip, Dst: rip, CtState: "NEW"}})
		case "nat":
			fw := client
			fw.Dst = rip
			if d := destFor(s, rip); d != nil && d.Port != 0 {
				fw.DPort = d.Port
			}
			out = append(out, bp{"the director's packets to " + rip.String(), fw})
		}
		if len(out) > 1 {
			break
		}
	}
	return out
}

func checkBridgeNF(p *Pass, s *topology.Service, hv *evidence.Host, sysRef evidence.Ref) bool {
	bridges := vmBridges(hv)
	if len(bridges) == 0 {
		bridges = []string{""}
	}
	for _, br := range bridges {
		fw := withOutIface(&hv.Firewall, br)
		for _, bp := range bridgedPackets(p, s) {
			pkt := bp.pkt
			pkt.InIface = br
			v := fwsim.Walk(fw, pkt, "forward")
			if !v.Dropped {
				continue
			}
			ev := []evidence.Ref{sysRef}
			for _, j := range v.Path {
				ev = append(ev, j.Ref)
			}
			what := ""
			if v.Rule != nil {
				ev = append(ev, v.Rule.Ref)
				what = fmt.Sprintf("%s/%s rule %d", orName(v.Rule.Table, "filter"), v.Rule.Chain, v.Rule.Num)
			} else if v.Chain != nil {
				ev = append(ev, v.Chain.Ref)
				what = fmt.Sprintf("the %s policy of %s", v.Chain.Policy, v.Chain.Name)
			}
			if what == "" {
				continue
			}
			sev := diagnosis.Critical
			if !v.Sure {
				sev = diagnosis.Warning
			}
			on := "the VM bridge"
			in := ""
			if br != "" {
				on, in = br, br
			} else {
				in = "<bridge>"
			}
			p.Report(diagnosis.Finding{
				Severity: sev,
				Host:     hv.Name,
				Title:    fmt.Sprintf("%s's iptables FORWARD drops bridged VM traffic on %s (bridge-nf-call-iptables=1, %s)", hv.Name, on, what),
				Explanation: fmt.Sprintf("With br_netfilter loaded and bridge-nf-call-iptables=1, every IPv4 frame crossing a bridge "+
					"of %s goes through iptables FORWARD as if it were routed. %s discards %s, so they vanish on the host between "+
					"the VMs although nothing in the VMs is wrong. Docker sets the FORWARD policy to DROP and loads br_netfilter; "+
					"libvirt bridges then stop passing traffic nobody accepted.", hv.Name, upperFirst(what), bp.what),
				Evidence: ev,
				Fix: []string{
					fmt.Sprintf("on %s: iptables -I FORWARD -i %s -o %s -j ACCEPT   # with Docker: iptables -I DOCKER-USER -i %s -o %s -j ACCEPT", hv.Name, in, in, in, in),
					"or, if nothing on the host needs to filter bridged traffic: sysctl -w net.bridge.bridge-nf-call-iptables=0",
				},
			})
			return true
		}
	}
	return false
}
