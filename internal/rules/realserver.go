package rules

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

// vipHolders are the interfaces a DR/TUN real server may hold the VIP on
// without answering ARP for it on the wire.
func vipHolder(iface string) bool {
	return iface == "lo" || strings.HasPrefix(iface, "lo:") || strings.HasPrefix(iface, "tunl") ||
		strings.HasPrefix(iface, "dummy") || strings.HasPrefix(iface, "kube-ipvs")
}

// virtualLink reports whether iface is a software device that answers no
// ARP on the wire (an ipip or gre tunnel, a dummy), whatever its name.
func virtualLink(h *evidence.Host, iface string) bool {
	l, ok := h.Link(iface)
	if !ok {
		return false
	}
	switch l.Kind {
	case "ipip", "dummy", "gre", "ip6tnl", "sit", "loopback", "none":
		return true
	}
	return false
}

// seenRef is a citation for "this evidence was collected" (an empty
// table is still evidence).
func seenRef(h *evidence.Host, k evidence.Kind) evidence.Ref {
	refs := h.Seen[k]
	if len(refs) == 0 {
		return evidence.Ref{}
	}
	r := refs[0]
	if r.Host == "" {
		r.Host = h.Name
	}
	if r.Text == "" {
		r.Text = "(" + string(k) + " collected here)"
	}
	return r
}

func addrRefsOn(h *evidence.Host, iface string) []evidence.Ref {
	var out []evidence.Ref
	for _, a := range h.Addrs {
		if a.Iface == iface {
			out = append(out, a.Ref)
		}
	}
	if l, ok := h.Link(iface); ok && len(out) == 0 {
		out = append(out, l.Ref)
	}
	return out
}

func directRouting(s *topology.Service) bool { return s.Mode == "dr" || s.Mode == "tun" }

// svcHost is a real server of a service.
type svcHost struct {
	s *topology.Service
	h *evidence.Host
}

// directPairs lists the real servers of every DR/TUN service with a known
// VIP: the hosts that must hold the VIP themselves.
func directPairs(p *Pass) []svcHost {
	var out []svcHost
	for _, s := range p.Services() {
		if !directRouting(s) || !s.VIP.IsValid() {
			continue
		}
		for _, h := range p.RealServersOf(s) {
			out = append(out, svcHost{s, h})
		}
	}
	return out
}

var rsVIPMissing = &Rule{
	ID:       "rs.vip-missing",
	Modes:    []string{"dr", "tun"},
	Doc:      "In DR/TUN every real server must own the VIP (on lo, tunl0 or a dummy), or its kernel discards the forwarded packets.",
	Rank:     10,
	Needs:    []Need{{Role: evidence.RoleRealServer, Kind: evidence.KindAddrs, Command: "ip addr"}},
	Explains: []string{"trace.rs-not-replying", "rs.arp-not-suppressed"},
	Run: func(p *Pass) {
		for _, x := range directPairs(p) {
			s, h := x.s, x.h
			if !h.Has(evidence.KindAddrs) || h.IsLocal(s.VIP) {
				continue
			}
			holder := "lo"
			fix := fmt.Sprintf("ip addr add %s/32 dev lo", s.VIP)
			if s.Mode == "tun" {
				holder = "tunl0"
				fix = fmt.Sprintf("ip addr add %s/32 dev tunl0 && ip link set tunl0 up", s.VIP)
			}
			ev := addrRefsOn(h, holder)
			if len(ev) == 0 {
				ev = []evidence.Ref{seenRef(h, evidence.KindAddrs)}
			}
			p.Report(diagnosis.Finding{
				Severity: diagnosis.Critical,
				Host:     h.Name,
				Title:    fmt.Sprintf("%s does not own the VIP %s", h.Name, s.VIP),
				Explanation: fmt.Sprintf("In %s mode the director hands the packet to %s unchanged, still addressed to %s. "+
					"A host only accepts packets for its own addresses, so %s drops every connection scheduled to it "+
					"(the client sees timeouts on a share of its requests).", strings.ToUpper(s.Mode), h.Name, s.VIP, h.Name),
				Evidence: ev,
				Fix:      []string{fix, "persist it in the network configuration, with ARP suppression (arp_ignore=1, arp_announce=2)"},
			})
		}
	},
}

var rsVIPOnPhysical = &Rule{
	ID:       "rs.vip-on-physical-interface",
	Modes:    []string{"dr", "tun"},
	Doc:      "A DR/TUN real server holds the VIP on a physical interface, where it answers ARP for it and fights the director.",
	Rank:     12,
	Needs:    []Need{{Role: evidence.RoleRealServer, Kind: evidence.KindAddrs, Command: "ip addr"}},
	Explains: []string{"net.arp-conflict", "rs.arp-not-suppressed"},
	Run: func(p *Pass) {
		for _, x := range directPairs(p) {
			s, h := x.s, x.h
			for _, a := range h.AddrsOf(s.VIP) {
				if vipHolder(a.Iface) || vipHolder(a.Label) || virtualLink(h, a.Iface) {
					continue
				}
				p.Report(diagnosis.Finding{
					Severity: diagnosis.Critical,
					Host:     h.Name,
					Title:    fmt.Sprintf("the VIP %s is on %s's physical interface %s", s.VIP, h.Name, a.Iface),
					Explanation: "On a real NIC the VIP is announced and answered in ARP like any address, so the clients' " +
						"gateway may learn the real server's MAC for the VIP and bypass the director. It belongs on lo " +
						"(DR) or tunl0 (TUN) as a /32, with ARP suppressed.",
					Evidence: []evidence.Ref{a.Ref},
					Fix: []string{
						fmt.Sprintf("ip addr del %s dev %s", a.Prefix, a.Iface),
						fmt.Sprintf("ip addr add %s/32 dev lo", s.VIP),
					},
				})
			}
		}
	},
}

var rsARPNotSuppressed = &Rule{
	ID:    "rs.arp-not-suppressed",
	Modes: []string{"dr", "tun"},
	Doc: "A DR/TUN real server holding the VIP must not answer ARP for it (effective arp_ignore>=1) nor use it as " +
		"ARP source (arp_announce=2) on the interface facing the clients.",
	Rank:     20,
	Needs:    []Need{{Role: evidence.RoleRealServer, Kind: evidence.KindSysctl, Command: "sysctl -a"}},
	Explains: []string{"net.arp-conflict", "net.stale-arp"},
	Run: func(p *Pass) {
		for _, x := range directPairs(p) {
			s, h := x.s, x.h
			if !h.IsLocal(s.VIP) || !h.Has(evidence.KindSysctl) {
				continue
			}
			face := ""
			if rip, ok := p.RIPOf(s, h); ok {
				for _, a := range h.AddrsOf(rip) {
					face = a.Iface
				}
			}
			if face == "" {
				continue
			}
			ign := h.EffectiveConf("arp_ignore", face)
			ann := h.EffectiveConf("arp_announce", face)
			if !ign.Known && !ann.Known {
				p.Notef("no arp_ignore/arp_announce shown for %s on %s: run `sysctl -a` there", face, h.Name)
				continue
			}
			badIgn := ign.Known && ign.Value < 1
			badAnn := ann.Known && ann.Value < 2
			if !badIgn && !badAnn {
				continue
			}
			sev := diagnosis.Critical
			var what []string
			var ev []evidence.Ref
			if badIgn {
				what = append(what, fmt.Sprintf("arp_ignore=%d (answers ARP for the VIP on %s)", ign.Value, face))
				ev = append(ev, ign.Refs...)
			}
			if badAnn {
				what = append(what, fmt.Sprintf("arp_announce=%d (may send the VIP as ARP source)", ann.Value))
				ev = append(ev, ann.Refs...)
				if !badIgn {
					sev = diagnosis.Warning
				}
			}
			for _, a := range h.AddrsOf(s.VIP) {
				ev = append(ev, a.Ref)
			}
			p.Report(diagnosis.Finding{
				Severity: sev,
				Host:     h.Name,
				Title:    fmt.Sprintf("%s does not suppress ARP for the VIP: %s", h.Name, strings.Join(what, ", ")),
				Explanation: fmt.Sprintf("%s holds %s, and the kernel uses max(conf.all, conf.%s) for both settings. With "+
					"arp_ignore=0 it answers ARP requests for the VIP on any interface, so clients or their gateway may map "+
					"the VIP to this server's MAC and bypass the director.", h.Name, s.VIP, face),
				Evidence: ev,
				Fix: []string{
					fmt.Sprintf("sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.%s.arp_ignore=1", face),
					fmt.Sprintf("sysctl -w net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.%s.arp_announce=2", face),
				},
			})
		}
	},
}

// rsPort is the port the real server h must serve for s.
func rsPort(p *Pass, s *topology.Service, h *evidence.Host) uint16 {
	if rip, ok := p.RIPOf(s, h); ok {
		if d := destFor(s, rip); d != nil && d.Port != 0 {
			return d.Port
		}
	}
	return s.Port
}

func listenersOn(h *evidence.Host, proto string, port uint16) []evidence.Listener {
	var out []evidence.Listener
	for _, l := range h.Listeners {
		if strings.EqualFold(l.Proto, proto) && l.Port == port {
			out = append(out, l)
		}
	}
	return out
}

var rsAppNotListening = &Rule{
	ID:       "rs.app-not-listening",
	Doc:      "Nothing listens on the real server's service port.",
	Rank:     25,
	Needs:    []Need{{Role: evidence.RoleRealServer, Kind: evidence.KindListeners, Command: "ss -lntup"}},
	Explains: []string{"trace.rs-not-replying"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if s.Proto == "" {
				continue
			}
			for _, h := range p.RealServersOf(s) {
				port := rsPort(p, s, h)
				if port == 0 || !h.Has(evidence.KindListeners) || len(listenersOn(h, s.Proto, port)) > 0 {
					continue
				}
				p.Report(diagnosis.Finding{
					Severity:    diagnosis.Critical,
					Host:        h.Name,
					Title:       fmt.Sprintf("nothing listens on %s port %d on %s", s.Proto, port, h.Name),
					Explanation: "The listening sockets of the real server show no socket on the service port: forwarded connections are refused (TCP RST) or dropped (UDP).",
					Evidence:    []evidence.Ref{seenRef(h, evidence.KindListeners)},
					Fix:         []string{fmt.Sprintf("start the service on %s, listening on 0.0.0.0:%d (or the VIP)", h.Name, port)},
				})
			}
		}
	},
}

var rsAppBoundWrong = &Rule{
	ID:       "rs.app-bound-wrong-address",
	Doc:      "The service listens only on the RIP or 127.0.0.1, not on the VIP or the wildcard, so DR/TUN packets addressed to the VIP find no socket.",
	Rank:     25,
	Needs:    []Need{{Role: evidence.RoleRealServer, Kind: evidence.KindListeners, Command: "ss -lntup"}},
	Explains: []string{"trace.rs-not-replying"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if s.Proto == "" {
				continue
			}
			for _, h := range p.RealServersOf(s) {
				port := rsPort(p, s, h)
				ls := listenersOn(h, s.Proto, port)
				if len(ls) == 0 {
					continue
				}
				dst := s.VIP
				if !directRouting(s) {
					if rip, ok := p.RIPOf(s, h); ok {
						dst = rip
					} else {
						continue
					}
				}
				ok := false
				var ev []evidence.Ref
				for _, l := range ls {
					if l.Accepts(s.Proto, dst, port) {
						ok = true
					}
					ev = append(ev, l.Ref)
				}
				if ok {
					continue
				}
				p.Report(diagnosis.Finding{
					Severity: diagnosis.Critical,
					Host:     h.Name,
					Title:    fmt.Sprintf("the service on %s listens on port %d but not on %s", h.Name, port, dst),
					Explanation: fmt.Sprintf("Forwarded packets arrive addressed to %s. The socket is bound to another address, "+
						"so the kernel finds no listener for them and answers with a reset (TCP) or port unreachable (UDP), "+
						"although the service answers when tested on its own address.", dst),
					Evidence: ev,
					Fix:      []string{fmt.Sprintf("make the service listen on 0.0.0.0:%d (or also on %s)", port, dst)},
				})
			}
		}
	},
}

var rsTunnelNotReady = &Rule{
	ID:       "rs.tunnel-not-ready",
	Modes:    []string{"tun"},
	Doc:      "TUN: the real server cannot decapsulate IPIP (no ipip module/tunl0, or tunl0 down).",
	Rank:     8,
	Needs:    []Need{{Role: evidence.RoleRealServer, Kind: evidence.KindLinks, Command: "ip -d link"}},
	Explains: []string{"trace.rs-not-replying", "rs.vip-missing", "rs.rp-filter-strict"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if s.Mode != "tun" {
				continue
			}
			for _, h := range p.RealServersOf(s) {
				if !h.Has(evidence.KindLinks) && !h.Has(evidence.KindAddrs) {
					continue
				}
				var tun *evidence.Link
				for i := range h.Links {
					if h.Links[i].Name == "tunl0" || h.Links[i].Kind == "ipip" {
						tun = &h.Links[i]
						break
					}
				}
				var ev []evidence.Ref
				var title string
				switch {
				case tun == nil:
					ev = append(ev, seenRef(h, evidence.KindLinks), seenRef(h, evidence.KindAddrs))
					if h.Kernel.Modules != nil {
						if _, ok := h.Kernel.Modules["ipip"]; !ok {
							ev = append(ev, seenRef(h, evidence.KindModules))
						}
					}
					title = fmt.Sprintf("%s has no tunl0: IPIP packets from the director cannot be decapsulated", h.Name)
				case !tun.Up:
					ev = append(ev, tun.Ref)
					title = fmt.Sprintf("tunl0 is down on %s", h.Name)
				default:
					continue
				}
				p.Report(diagnosis.Finding{
					Severity: diagnosis.Critical,
					Host:     h.Name,
					Title:    title,
					Explanation: "In TUN mode the director wraps each packet in IPIP (IP protocol 4). Without the ipip module and an " +
						"up tunl0 the real server answers ICMP protocol unreachable or drops them.",
					Evidence: ev,
					Fix:      []string{"modprobe ipip && ip link set tunl0 up", fmt.Sprintf("ip addr add %s/32 dev tunl0", s.VIP)},
				})
			}
		}
	},
}

var rsNATGatewayWrong = &Rule{
	ID:       "rs.nat-gateway-wrong",
	Modes:    []string{"nat"},
	Doc:      "NAT: the real server's replies must go back through the director (default route via its DIP).",
	Rank:     10,
	Needs:    []Need{{Role: evidence.RoleRealServer, Kind: evidence.KindRoutes, Command: "ip route"}},
	Explains: []string{"director.return-path-missing", "trace.reply-lost"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if s.Mode != "nat" {
				continue
			}
			for _, h := range p.RealServersOf(s) {
				if !h.Has(evidence.KindRoutes) {
					continue
				}
				probe := p.Case.Client.Addr
				if !probe.IsValid() {
					probe = netip.IPv4Unspecified()
				}
				// NAT replies leave from the RIP: source rules may route them.
				rip, _ := p.RIPOf(s, h)
				_, r := routeOutFrom(h, rip, probe)
				if r != nil && r.Gateway.IsValid() {
					// The gateway must be the director carrying the traffic
					// (it holds the floating DIP); a backup's own address
					// sends replies where IPVS is not translating them.
					if gw := p.Topo.HostOwning(r.Gateway); gw != nil && gw.Role == evidence.RoleDirector && p.IsActive(s, gw) {
						continue
					}
					if len(p.Directors()) == 0 {
						continue // cannot tell whose address the gateway is
					}
				}
				ev := []evidence.Ref{seenRef(h, evidence.KindRoutes)}
				title := fmt.Sprintf("%s has no route back to the clients through the director", h.Name)
				if r != nil {
					ev = []evidence.Ref{r.Ref}
					if r.Gateway.IsValid() {
						title = fmt.Sprintf("%s routes replies via %s, not via the director", h.Name, r.Gateway)
					}
				}
				p.Report(diagnosis.Finding{
					Severity: diagnosis.Critical,
					Host:     h.Name,
					Title:    title,
					Explanation: "In NAT mode the director rewrites the destination to the real server and must see the reply to " +
						"rewrite its source back to the VIP. A reply that leaves by another gateway reaches the client from the " +
						"RIP, which the client's TCP stack rejects.",
					Evidence: ev,
					Fix:      []string{"ip route replace default via <director DIP>"},
				})
			}
		}
	},
}

var rsNoReturnRoute = &Rule{
	ID:       "rs.no-return-route",
	Modes:    []string{"dr", "tun"},
	Doc:      "DR/TUN: the real server answers clients directly and needs a route to them.",
	Rank:     15,
	Needs:    []Need{{Role: evidence.RoleRealServer, Kind: evidence.KindRoutes, Command: "ip route"}},
	Explains: []string{"trace.rs-not-replying"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if !directRouting(s) {
				continue
			}
			for _, h := range p.RealServersOf(s) {
				if !h.Has(evidence.KindRoutes) || len(h.Routes) == 0 {
					continue
				}
				probe := p.Case.Client.Addr
				if !probe.IsValid() {
					probe = netip.IPv4Unspecified()
				}
				// Replies leave from the VIP: source rules may route them.
				if dev, _ := routeOutFrom(h, s.VIP, probe); dev != "" {
					continue
				}
				sev := diagnosis.Warning
				what := "no default route"
				if p.Case.Client.Addr.IsValid() {
					sev = diagnosis.Critical
					what = "no route to the client " + p.Case.Client.Addr.String()
				}
				p.Report(diagnosis.Finding{
					Severity:    sev,
					Host:        h.Name,
					Title:       fmt.Sprintf("%s has %s", h.Name, what),
					Explanation: "In DR and TUN modes the real server sends its replies straight to the client. Without a route to the client's network the replies cannot leave.",
					Evidence:    mainRoutesRefs(h, probe.Is4()),
					Fix:         []string{"ip route add default via <gateway>   # or a route to the client networks"},
				})
			}
		}
	},
}

// mainRoutesRefs cites the main-table routes of one family: what the host
// does route, which lacks the default; the routes listing when it is empty.
func mainRoutesRefs(h *evidence.Host, v4 bool) []evidence.Ref {
	var refs []evidence.Ref
	for _, r := range h.Routes {
		if r.Table == "main" && r.Dst.Addr().Is4() == v4 && len(refs) < 4 {
			refs = append(refs, r.Ref)
		}
	}
	if len(refs) == 0 {
		refs = append(refs, seenRef(h, evidence.KindRoutes))
	}
	return refs
}
