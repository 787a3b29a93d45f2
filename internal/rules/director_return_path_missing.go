package rules

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

var directorReturnPathMissing = &Rule{
	ID:    "director.return-path-missing",
	Modes: []string{"nat", "fnat"},
	Doc:   "NAT/FNAT: IPVS counts packets in and none out, so the real servers' replies never come back through the director.",
	Rank:  50,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindIPVSStats, Command: "ipvsadm -Ln --stats"},
	},
	Explains: []string{"trace.reply-lost"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			checkLocalClientUnanswered(p, s)
			if s.Mode != "nat" && s.Mode != "fnat" {
				continue
			}
			for _, d := range p.ActiveDirectors(s) {
				vs := s.IPVS[d.Name]
				if vs == nil || vs.Stats == nil || vs.Stats.InPkts == 0 || vs.Stats.OutPkts != 0 {
					if s.Mode == "nat" {
						checkNATUnanswered(p, s, d)
					}
					continue
				}
				// The counters decide: the stats lines that hold them first,
				// then the listing the service was read from.
				ev := []evidence.Ref{statsRef(vs.Stats, vs.Ref)}
				for _, rs := range vs.Dests {
					if rs.Stats != nil && rs.Stats.InPkts > 0 {
						ev = append(ev, statsRef(rs.Stats, rs.Ref))
					}
				}
				if vs.Stats.Ref.IsZero() || vs.Stats.Ref != vs.Ref {
					ev = append(ev, vs.Ref)
				}
				p.Report(diagnosis.Finding{
					Severity: diagnosis.Critical,
					Host:     d.Name,
					Title:    fmt.Sprintf("%s: %d packets in, 0 out — no reply comes back through %s", s, vs.Stats.InPkts, d.Name),
					Explanation: fmt.Sprintf("In %s mode every reply of the real servers must pass the director, which rewrites it back "+
						"to the VIP. IPVS forwarded %d packets to the real servers and saw no reply at all: the replies take another "+
						"path or never leave the real servers.", strings.ToUpper(s.Mode), vs.Stats.InPkts),
					Evidence: ev,
					Fix:      returnPathFix(s, d),
				})
			}
		}
	},
}

// statsRef is the line of the counters, or of the entry when the
// counters' line is not known (merged from another listing).
func statsRef(st *evidence.Stats, entry evidence.Ref) evidence.Ref {
	if st != nil && !st.Ref.IsZero() {
		return st.Ref
	}
	return entry
}

// returnPathFix brings the replies back through d, for s's mode only: in
// NAT the real servers' default route goes via the director; in FNAT the
// replies go to the local addresses, which must be d's and routed to it.
func returnPathFix(s *topology.Service, d *evidence.Host) []string {
	var rips []string
	for _, r := range s.RIPs {
		rips = append(rips, r.String())
	}
	on := "on each real server"
	if len(rips) > 0 && len(rips) <= 4 {
		on = "on " + strings.Join(rips, ", ")
	}
	if s.Mode == "nat" {
		for _, r := range s.RIPs {
			for _, a := range d.Addrs {
				if a.Iface != "lo" && a.Prefix.Bits() < a.Prefix.Addr().BitLen() && a.Prefix.Masked().Contains(r) {
					return []string{fixCmd("ip route replace default via "+a.Prefix.Addr().String(), "%s: the replies must go back through %s (its address on their subnet)", on, d.Name)}
				}
			}
		}
		return []string{fixStep("%s: ip route replace default via %s's address on their subnet (ip -o -4 addr show on %s)", on, d.Name, d.Name)}
	}
	var lips []string
	if kc := d.Keepalived; kc != nil {
		if kv := s.Config[d.Name]; kv != nil {
			for _, r := range kc.LocalAddrGroups[kv.LaddrGroup] {
				lips = append(lips, r.From.String())
			}
		}
	}
	if len(lips) == 0 {
		return []string{fixStep("the local addresses (local_address_group in keepalived.conf on %s) must be %s's own, and %s must route them back to it (ip route get on each)", d.Name, d.Name, on)}
	}
	return []string{
		fixCmd("ip -o addr show to "+lips[0], "on %s: must print an interface: a local address that is not %s's own gets no reply", d.Name, d.Name),
		fixCmd("ip route get "+lips[0], "%s: the replies to the local address must lead back to %s", on, d.Name),
	}
}

// checkLocalClientUnanswered finds a host's own connection to s that IPVS
// forwarded and no reply came back to: an entry in SYN_RECV whose client
// is the host itself (lvscare, kube-proxy: the VIP is local and the node
// connects to it), from an address on another interface than the one the
// real server is reached through. The source was picked by the route to
// the VIP (often the default route's NIC), and the real server replies to
// an address it cannot reach back through the director: a second NIC of a
// VirtualBox or cloud VM, where every VM may even hold the same address.
// Any host whose table holds the entry forwards, whatever its role.
func checkLocalClientUnanswered(p *Pass, s *topology.Service) {
	if s.Mode != "" && s.Mode != "nat" || !s.VIP.IsValid() {
		return // FNAT answers the local address, DR and TUN the client directly
	}
	for _, h := range p.Case.Hosts {
		if h.IPVS == nil {
			continue
		}
		for _, g := range h.IPVS.Conns {
			if g.Template || g.Virtual.Addr() != s.VIP || s.Port != 0 && g.Virtual.Port() != s.Port ||
				s.Proto != "" && !strings.EqualFold(g.Proto, s.Proto) {
				continue
			}
			rip := g.Dest.Addr()
			for _, u := range g.Unanswered {
				srcIf, srcRef, ok := ownAddrIface(h, u.Client.Addr())
				if !ok {
					continue
				}
				ripIf, ripRef, own, ok := connectedIface(h, rip)
				if !ok || ripIf == srcIf {
					continue
				}
				reportLocalClientUnanswered(p, s, h, u, rip, srcIf, ripIf, own, []evidence.Ref{u.Ref, srcRef, ripRef})
				return
			}
		}
	}
}

func reportLocalClientUnanswered(p *Pass, s *topology.Service, h *evidence.Host, u evidence.ConnEntry, rip netip.Addr, srcIf, ripIf string, own netip.Addr, ev []evidence.Ref) {
	via := ""
	if dev, rt := routeOut(h, s.VIP); rt != nil && dev == srcIf {
		via = fmt.Sprintf(" It left from %s because the route to %s is %s's route (%s).", srcIf, s.VIP, srcIf, rt.Ref.Text)
		ev = append(ev, rt.Ref)
	}
	fix := []string{}
	if own.IsValid() {
		fix = append(fix, fixCmd(fmt.Sprintf("ip route add %s/32 dev %s src %s", s.VIP, ripIf, own),
			"on %s: its own connections to the VIP leave from its address on %s's network (what lvscare does on a multi-NIC node)", h.Name, rip))
	} else {
		fix = append(fix, fixStep("on %s: route %s/32 through %s with its address there as src (ip route add %s/32 dev %s src ADDRESS-ON-%s)", h.Name, s.VIP, ripIf, s.VIP, ripIf, strings.ToUpper(ripIf)))
	}
	fix = append(fix, fixStep("or make %s the default route's interface (its gateway as default via)", ripIf),
		fixCmd(fmt.Sprintf("ipvsadm -Lnc | grep %s", s.VIP), "a new connection from %s must reach ESTABLISHED", h.Name))
	p.Report(diagnosis.Finding{
		Severity: diagnosis.Critical,
		Host:     h.Name,
		Title: fmt.Sprintf("%s's own connection to %s leaves from %s (%s); %s, on %s's network, never answers it through %s",
			h.Name, netip.AddrPortFrom(s.VIP, s.Port), u.Client.Addr(), srcIf, rip, ripIf, h.Name),
		Explanation: fmt.Sprintf("The IPVS entry is stuck in SYN_RECV: %s forwarded the SYN of its own connection (client %s) to %s "+
			"and no reply came back. In NAT the real server answers the client address, and %s is %s's address on %s, "+
			"while %s is reached on %s: the real server has no way back to that address through %s (on VirtualBox's NAT "+
			"network or a cloud VM's second NIC it may even be an address of its own).%s",
			h.Name, u.Client, rip, u.Client.Addr(), h.Name, srcIf, rip, ripIf, h.Name, via),
		Evidence: ev,
		Fix:      fix,
	})
}

// ownAddrIface returns the interface of one of h's own addresses, from
// `ip addr`, or from the src of a connected route (`ip route` alone).
func ownAddrIface(h *evidence.Host, a netip.Addr) (string, evidence.Ref, bool) {
	for _, x := range h.AddrsOf(a) {
		return x.Iface, x.Ref, true
	}
	for _, r := range h.Routes {
		if r.Src == a && r.Dev != "" && (r.Table == "" || r.Table == "main") {
			return r.Dev, r.Ref, true
		}
	}
	return "", evidence.Ref{}, false
}

// connectedIface returns the interface whose directly connected network
// holds rip, and h's own address there when it is known.
func connectedIface(h *evidence.Host, rip netip.Addr) (string, evidence.Ref, netip.Addr, bool) {
	for _, x := range h.Addrs {
		if x.Iface != "lo" && x.Prefix.Bits() < x.Prefix.Addr().BitLen() && x.Prefix.Masked().Contains(rip) {
			return x.Iface, x.Ref, x.Prefix.Addr(), true
		}
	}
	var best *evidence.Route
	for i, r := range h.Routes {
		if r.Dst.IsValid() && r.Dst.Bits() > 0 && !r.Gateway.IsValid() && r.Dev != "" && r.Dst.Contains(rip) &&
			(r.Table == "" || r.Table == "main") && (r.Type == "" || r.Type == "unicast") && (best == nil || r.Dst.Bits() > best.Dst.Bits()) {
			best = &h.Routes[i]
		}
	}
	if best == nil {
		return "", evidence.Ref{}, netip.Addr{}, false
	}
	return best.Dev, best.Ref, best.Src, true
}

// checkNATUnanswered reads the connection table of a NAT director without
// counters: entries of s all in SYN_RECV, none further, say that IPVS
// forwarded the clients' SYNs and no SYN-ACK came back through d (a NAT
// entry moves on when the director sees the real server's reply). A
// healthy service shows established or closing entries beside the few
// SYN_RECV of the moment.
func checkNATUnanswered(p *Pass, s *topology.Service, d *evidence.Host) {
	if d.IPVS == nil || !s.VIP.IsValid() {
		return
	}
	unanswered, answered := 0, 0
	var ev []evidence.Ref
	for _, g := range d.IPVS.Conns {
		if g.Template || g.Virtual.Addr() != s.VIP || s.Port != 0 && g.Virtual.Port() != s.Port {
			continue
		}
		for st, n := range g.States {
			if st == "SYN_RECV" {
				unanswered += n
			} else {
				answered += n
			}
		}
		for _, u := range g.Unanswered {
			if len(ev) < 3 && !d.IsLocal(u.Client.Addr()) {
				ev = append(ev, u.Ref)
			}
		}
	}
	if unanswered == 0 || answered > 0 || len(ev) == 0 {
		return
	}
	if vs := s.IPVS[d.Name]; vs != nil {
		ev = append(ev, vs.Ref)
	}
	p.Report(diagnosis.Finding{
		Severity: diagnosis.Critical,
		Host:     d.Name,
		Title:    fmt.Sprintf("%s: %d connection(s) on %s stuck in SYN_RECV, none established — no reply comes back through %s", s, unanswered, d.Name, d.Name),
		Explanation: "In NAT mode every reply of the real servers must pass the director, which rewrites it back to the VIP; " +
			"an IPVS entry leaves SYN_RECV when the director sees the real server's SYN-ACK. Every entry of the service is " +
			"still in SYN_RECV: IPVS forwarded the clients' SYNs and saw no reply. The replies take another path (the real " +
			"servers' default route is not the director) or never leave the real servers (not answering, a firewall).",
		Evidence: ev,
		Fix:      returnPathFix(s, d),
	})
}
