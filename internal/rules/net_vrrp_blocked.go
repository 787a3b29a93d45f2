package rules

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/fwsim"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

var netVRRPBlocked = &Rule{
	ID:   "net.vrrp-blocked",
	Doc:  "VRRP adverts (IP protocol 112) do not reach a director: its firewall drops them, or the unicast_peer lists do not match, so both become MASTER.",
	Rank: 11,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindFirewall, Command: "iptables-save -c; nft list ruleset"},
		{Role: evidence.RoleDirector, Kind: evidence.KindKeepalived, Command: "cat /etc/keepalived/keepalived.conf"},
	},
	Explains: []string{"director.vip-owned-twice", "net.arp-conflict"},
	Run: func(p *Pass) {
		// keepalived's own word that its adverts do not leave: on any
		// host, a pasted log's too.
		for _, h := range p.Case.Hosts {
			checkAdvertsRefused(p, h)
		}
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
			// The rule (or policy) that drops decides; the jumps to it follow.
			if v.Rule != nil {
				b.ev = append(b.ev, v.Rule.Ref)
				b.why = fmt.Sprintf("%s %s/%s rule %d %ss IP protocol 112", v.Rule.Tool, orName(v.Rule.Table, "filter"), v.Rule.Chain, v.Rule.Num, strings.ToLower(v.Rule.Verdict))
			} else if v.Chain != nil {
				b.ev = append(b.ev, v.Chain.Ref)
				b.why = fmt.Sprintf("the %s policy of %s/%s drops IP protocol 112 (no rule accepts VRRP)", v.Chain.Policy, v.Chain.Table, v.Chain.Name)
			}
			for _, j := range v.Path {
				b.ev = append(b.ev, j.Ref)
			}
			if !instRef.IsZero() {
				b.ev = append(b.ev, instRef)
			}
			b.fix = vrrpAcceptFix(d, v, iface)
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
				ev:  append(peerEntries(pi), addrRefsOn(d, iface)...),
				fix: []string{
					fixStep("in keepalived.conf on %s: list %s's address (%s) in unicast_peer; on %s, %s's (%s)", peer.Name, d.Name, orAddr(directorIP(d)), d.Name, peer.Name, orAddr(directorIP(peer))),
					fixCmd("systemctl reload keepalived", "on both, backup first: reload, not restart, which fails the VIP over"),
				}})
		case len(peers) > 0 && len(pi.UnicastPeers) == 0:
			out = append(out, vrrpBlock{d: d, peer: peer, sure: true,
				why: fmt.Sprintf("%s uses unicast_peer and does not join the VRRP group, while %s sends multicast adverts", d.Name, peer.Name),
				ev:  []evidence.Ref{instRef, pi.Ref},
				fix: []string{
					fixStep("in keepalived.conf: configure matching unicast_peer and unicast_src_ip on %s, or remove unicast_peer on %s", peer.Name, d.Name),
					fixCmd("systemctl reload keepalived", "on both, backup first: reload, not restart, which fails the VIP over"),
				}})
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

// peerEntries cites an instance's unicast_peer entries (the list that
// misses a director), or the instance when they have no lines.
func peerEntries(vi *evidence.VRRPInstance) []evidence.Ref {
	var out []evidence.Ref
	for _, r := range vi.UnicastPeerRefs {
		if !r.IsZero() {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		out = append(out, vi.Ref)
	}
	return out
}

// vrrpAcceptFix accepts VRRP on d before what drops it, in the tool that
// drops it (firewalld's own command when firewalld owns the rules).
func vrrpAcceptFix(d *evidence.Host, v fwsim.Verdict, iface string) []string {
	tool, chain := "iptables", "INPUT"
	family, table := "", ""
	if v.Rule != nil {
		tool, family, table, chain = v.Rule.Tool, v.Rule.Family, v.Rule.Table, v.Rule.Chain
	} else if v.Chain != nil {
		tool, family, table, chain = v.Chain.Tool, v.Chain.Family, v.Chain.Table, v.Chain.Name
	}
	firewalld := slices.ContainsFunc(d.Firewall.Chains, func(c evidence.Chain) bool {
		return c.Table == "firewalld" || strings.HasPrefix(c.Name, "IN_public") || strings.HasPrefix(c.Name, "INPUT_ZONES")
	})
	var fix []string
	if firewalld {
		fix = append(fix, fixCmd(`firewall-cmd --permanent --add-rich-rule='rule protocol value="vrrp" accept' && firewall-cmd --reload`, "on %s: firewalld owns its rules", d.Name))
	}
	switch {
	case tool == "nft":
		in := ""
		if iface != "" {
			in = "iifname " + iface + " "
		}
		fix = append(fix, fixCmd(fmt.Sprintf("nft insert rule %s %s %s %sip protocol vrrp accept", orName(family, "inet"), table, chain, in), "on %s: accept VRRP (IP protocol 112) first", d.Name))
	default:
		in := ""
		if iface != "" {
			in = " -i " + iface
		}
		base := "INPUT"
		if orName(table, "filter") != "filter" {
			base = chain
		}
		fix = append(fix, fixCmd(fmt.Sprintf("iptables -t %s -I %s%s -p vrrp -j ACCEPT", orName(table, "filter"), base, in), "on %s: accept VRRP (IP protocol 112) first", d.Name))
	}
	return fix
}

// orAddr is a's text, or how to find it.
func orAddr(a netip.Addr) string {
	if a.IsValid() {
		return a.String()
	}
	return "its address on the VRRP interface"
}

// checkAdvertsRefused reports h's kernel refusing keepalived's adverts
// with EPERM, unless keepalivedConfinement puts it down to keepalived's
// privileges (keepalived.insufficient-privileges): the refusal then
// comes from netfilter on the output path.
func checkAdvertsRefused(p *Pass, h *evidence.Host) {
	c := keepalivedConfinement(h)
	if len(c.adverts) == 0 || c.confined {
		return
	}
	ev := c.adverts
	why := "no rule of its firewall was given to name the one that drops them"
	fix := []string{
		fixCmd("nft list ruleset", "on %s: every table's output chain, not only inet filter's: the rule that drops IP protocol 112 (vrrp)", h.Name),
		fixCmd("iptables-save -c", "on %s: the OUTPUT chains of iptables(-legacy) and their counters", h.Name),
	}
	if c.outputDrop != nil {
		r := c.outputDrop
		ev = append([]evidence.Ref{r.Ref}, ev...)
		why = fmt.Sprintf("%s %s/%s rule %d drops them", r.Tool, orName(r.Table, "filter"), r.Chain, r.Num)
		fix = vrrpAcceptOutputFix(h, r)
	}
	p.Report(diagnosis.Finding{
		Severity: diagnosis.Critical,
		Host:     h.Name,
		Title:    fmt.Sprintf("the kernel of %s refuses keepalived's VRRP adverts on output (EPERM): its own firewall drops them", h.Name),
		Explanation: "keepalived logs EPERM for every advert it sends. The kernel returns EPERM on a send when a netfilter hook on " +
			"the output path drops the packet (net/netfilter/core.c turns NF_DROP into -EPERM): an iptables OUTPUT or an nftables " +
			"output-hook chain, of any table, without an accept for IP protocol 112 before its drop. " + upperFirst(why) + ". " +
			"The peers hear nothing from this node and become MASTER too: the VIP is up on several nodes.",
		Evidence: ev,
		Fix:      fix,
	})
}

// vrrpAcceptOutputFix accepts VRRP on output before rule r, in r's tool.
func vrrpAcceptOutputFix(h *evidence.Host, r *evidence.FirewallRule) []string {
	if r.Tool == "nft" {
		return []string{fixCmd(fmt.Sprintf("nft insert rule %s %s %s ip protocol vrrp accept", orName(r.Family, "inet"), r.Table, r.Chain),
			"on %s: accept VRRP (IP protocol 112) before the drop", h.Name)}
	}
	return []string{fixCmd(fmt.Sprintf("iptables -t %s -I %s -p vrrp -j ACCEPT", orName(r.Table, "filter"), r.Chain),
		"on %s: accept VRRP (IP protocol 112) on output before the drop", h.Name)}
}
