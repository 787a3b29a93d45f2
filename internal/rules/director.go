package rules

import (
	"fmt"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/fwsim"
)

var noVirtualService = &Rule{
	ID:       "director.no-virtual-service",
	Doc:      "No IPVS virtual service on any director matches the VIP, port and protocol under diagnosis.",
	Rank:     5,
	Needs:    []Need{{Role: evidence.RoleDirector, Kind: evidence.KindIPVS, Command: "ipvsadm -Ln"}},
	Explains: []string{"trace.director-not-forwarding", "director.no-available-realserver"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if !s.Given || len(s.IPVS) > 0 || !s.VIP.IsValid() {
				continue
			}
			var ev []evidence.Ref
			var others []string
			for _, d := range p.Directors() {
				if !d.Has(evidence.KindIPVS) || d.IPVS == nil {
					continue
				}
				ev = append(ev, tableRef(d))
				for _, vs := range d.IPVS.Services {
					if vs.Addr == s.VIP {
						ev = append(ev, vs.Ref)
						others = append(others, vs.Key())
					}
				}
			}
			if len(ev) == 0 {
				continue
			}
			title := fmt.Sprintf("no IPVS virtual service for %s", s)
			expl := "IPVS only takes packets that match a virtual service (protocol, VIP and port, or a firewall mark). " +
				"None matches, so the director treats the packets as its own and nothing answers."
			if len(others) > 0 {
				title += fmt.Sprintf(" (the VIP has %s)", strings.Join(others, ", "))
				expl += " The VIP has a service with another protocol or port: check TCP vs UDP and the port."
			}
			p.Report(diagnosis.Finding{
				Severity:    diagnosis.Critical,
				Host:        ev[0].Host,
				Title:       title,
				Explanation: expl,
				Evidence:    ev,
				Fix:         []string{fmt.Sprintf("add the virtual_server to keepalived.conf (or ipvsadm -A -%s %s -s rr)", protoFlag(s.Proto), hostPort(s.VIP.String(), s.Port))},
			})
		}
	},
}

func protoFlag(proto string) string {
	switch proto {
	case "udp":
		return "u"
	case "sctp":
		return "-sctp-service"
	}
	return "t"
}

func hostPort(h string, port uint16) string { return fmt.Sprintf("%s:%d", h, port) }

func tableRef(d *evidence.Host) evidence.Ref {
	if d.IPVS != nil && !d.IPVS.TableRef.IsZero() {
		return d.IPVS.TableRef
	}
	return seenRef(d, evidence.KindIPVS)
}

var noAvailableRS = &Rule{
	ID:       "director.no-available-realserver",
	Doc:      "The virtual service exists but has no real server that can take a connection (none, or all weight 0).",
	Rank:     8,
	Needs:    []Need{{Role: evidence.RoleDirector, Kind: evidence.KindIPVS, Command: "ipvsadm -Ln"}},
	Explains: []string{"trace.director-not-forwarding"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			for _, d := range p.ActiveDirectors(s) {
				vs := s.IPVS[d.Name]
				if vs == nil {
					continue
				}
				usable, known := 0, 0
				ev := []evidence.Ref{vs.Ref}
				for _, rs := range vs.Dests {
					// A --stats or --rate listing prints no weights: a real
					// server without a forwarding method was seen that way.
					if rs.Method == "" {
						continue
					}
					known++
					if rs.Weight > 0 {
						usable++
					}
					ev = append(ev, rs.Ref)
				}
				if usable > 0 || (known == 0 && len(vs.Dests) > 0) {
					continue
				}
				for _, l := range d.Logs {
					if l.Kind == evidence.LogRSRemoved || l.Kind == evidence.LogCheckFailed {
						ev = append(ev, l.Ref)
					}
				}
				what := "no real server"
				if len(vs.Dests) > 0 {
					what = fmt.Sprintf("all %d real servers have weight 0", len(vs.Dests))
				}
				p.Report(diagnosis.Finding{
					Severity: diagnosis.Critical,
					Host:     d.Name,
					Title:    fmt.Sprintf("%s on %s has %s", vs.Key(), d.Name, what),
					Explanation: "IPVS has nowhere to send new connections: they are dropped (or answered with a reset). " +
						"Real servers disappear or get weight 0 when health checks fail (inhibit_on_failure keeps them at 0).",
					Evidence: ev,
					Fix:      []string{"fix what the health checks report in the keepalived log, or the checks themselves", "ipvsadm -Ln   # weights must be > 0"},
				})
			}
		}
	},
}

var vipNotLocal = &Rule{
	ID:       "director.vip-not-local",
	Doc:      "No director owns the VIP, so the packets for it are never delivered locally where IPVS takes them.",
	Rank:     6,
	Needs:    []Need{{Role: evidence.RoleDirector, Kind: evidence.KindAddrs, Command: "ip addr"}},
	Explains: []string{"trace.director-not-forwarding"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if !s.VIP.IsValid() {
				continue
			}
			var checked []*evidence.Host
			owned := false
			for _, d := range p.Directors() {
				if !d.Has(evidence.KindAddrs) {
					continue
				}
				checked = append(checked, d)
				if d.IsLocal(s.VIP) {
					owned = true
				}
			}
			if owned || len(checked) == 0 {
				continue
			}
			for _, d := range checked {
				if len(s.IPVS) > 0 && s.IPVS[d.Name] == nil && s.Config[d.Name] == nil {
					continue // not a director of this service
				}
				ev := []evidence.Ref{seenRef(d, evidence.KindAddrs)}
				for _, a := range d.Addrs {
					if a.Iface != "lo" && a.Prefix.Addr().Is4() {
						ev = append(ev, a.Ref)
					}
				}
				if kc := d.Keepalived; kc != nil {
					for _, vi := range kc.VRRPInstances {
						for _, v := range vi.VIPs {
							if v.Prefix.Addr() == s.VIP {
								ev = append(ev, v.Ref)
							}
						}
					}
				}
				for _, l := range d.Logs {
					if l.Kind == evidence.LogVRRPBackup || l.Kind == evidence.LogVRRPFault {
						ev = append(ev, l.Ref)
					}
				}
				p.Report(diagnosis.Finding{
					Severity: diagnosis.Critical,
					Host:     d.Name,
					Title:    fmt.Sprintf("the VIP %s is not an address of %s", s.VIP, d.Name),
					Explanation: "IPVS sees a packet only when it is delivered locally. None of the directors holds the VIP, so " +
						"the packets are not routed to IPVS (and nobody answers ARP for the VIP). keepalived adds the VIP only " +
						"in MASTER state.",
					Evidence: ev,
					Fix:      []string{"check keepalived's VRRP state (journalctl -u keepalived) and bring the VIP up on the active director"},
				})
			}
		}
	},
}

var vipOwnedTwice = &Rule{
	ID:    "director.vip-owned-twice",
	Doc:   "Two directors hold the VIP at once (VRRP split brain).",
	Rank:  12,
	Needs: []Need{{Role: evidence.RoleDirector, Kind: evidence.KindAddrs, Command: "ip addr"}},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if !s.VIP.IsValid() {
				continue
			}
			var owners []*evidence.Host
			var ev []evidence.Ref
			for _, d := range p.Directors() {
				for _, a := range d.AddrsOf(s.VIP) {
					if a.Iface == "lo" {
						continue // a director that is also a real server
					}
					owners = append(owners, d)
					ev = append(ev, a.Ref)
					break
				}
			}
			if len(owners) < 2 {
				continue
			}
			for _, d := range owners {
				for _, l := range d.Logs {
					if l.Kind == evidence.LogVRRPMaster {
						ev = append(ev, l.Ref)
					}
				}
			}
			names := make([]string, len(owners))
			for i, o := range owners {
				names[i] = o.Name
			}
			p.Report(diagnosis.Finding{
				Severity: diagnosis.Critical,
				Host:     owners[0].Name,
				Title:    fmt.Sprintf("the VIP %s is up on %s at once", s.VIP, strings.Join(names, " and ")),
				Explanation: "Both directors are VRRP MASTER: each answers ARP for the VIP and the network sends clients to " +
					"either, so connections break when the ARP entry flips. It happens when VRRP adverts do not reach the peer.",
				Evidence: ev,
				Fix:      []string{"let VRRP (IP protocol 112) through between the directors, or configure unicast_peer", "check virtual_router_id, auth and interface match on both"},
			})
		}
	},
}

var drPortRemap = &Rule{
	ID:       "director.dr-port-remap",
	Modes:    []string{"dr", "tun"},
	Doc:      "DR/TUN cannot change the destination port: a real server port that differs from the virtual port never matches.",
	Rank:     7,
	Needs:    []Need{{Role: evidence.RoleDirector, Kind: evidence.KindIPVS, Command: "ipvsadm -Ln"}},
	Explains: []string{"rs.app-not-listening", "rs.app-bound-wrong-address", "trace.rs-not-replying"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if s.Port == 0 {
				continue
			}
			for _, d := range p.ActiveDirectors(s) {
				if vs := s.IPVS[d.Name]; vs != nil {
					for _, rs := range vs.Dests {
						if (rs.Method == evidence.MethodRoute || rs.Method == evidence.MethodTunnel) && rs.Port != 0 && rs.Port != s.Port {
							reportPortRemap(p, d, s.Port, rs.Addr.String(), rs.Port, rs.Method, []evidence.Ref{vs.Ref, rs.Ref})
						}
					}
				}
				// The kernel stores a DR/TUN destination with the virtual
				// port whatever it was given, so `ipvsadm -Ln` hides the
				// mistake: keepalived.conf still shows it.
				if kv := s.Config[d.Name]; kv != nil && (kv.LbKind == "DR" || kv.LbKind == "TUN") {
					for _, rs := range kv.RealServers {
						if rs.Port != 0 && rs.Port != s.Port {
							reportPortRemap(p, d, s.Port, rs.Addr.String(), rs.Port, kv.LbKind, []evidence.Ref{kv.LbKindRef, rs.Ref})
						}
					}
				}
			}
		}
	},
}

func reportPortRemap(p *Pass, d *evidence.Host, vport uint16, rip string, rport uint16, method string, ev []evidence.Ref) {
	p.Report(diagnosis.Finding{
		Severity: diagnosis.Critical,
		Host:     d.Name,
		Title:    fmt.Sprintf("real server %s:%d behind virtual port %d in %s mode: DR/TUN cannot change the port", rip, rport, vport, method),
		Explanation: fmt.Sprintf("In DR and TUN modes the packet reaches the real server unchanged, still for port %d (the kernel "+
			"even records the destination with the virtual port, so `ipvsadm -Ln` shows %d). A service listening on %d never "+
			"sees it; only NAT/FNAT rewrite the port.", vport, vport, rport),
		Evidence: ev,
		Fix:      []string{fmt.Sprintf("make the real servers listen on port %d, or switch the virtual server to NAT (lb_kind NAT)", vport)},
	})
}

var ipForwardOff = &Rule{
	ID:       "director.ip-forward-off",
	Modes:    []string{"nat", "fnat"},
	Doc:      "NAT/FNAT directors forward the real servers' replies and need IPv4 forwarding on.",
	Rank:     9,
	Needs:    []Need{{Role: evidence.RoleDirector, Kind: evidence.KindSysctl, Command: "sysctl -a"}},
	Explains: []string{"director.return-path-missing", "trace.reply-lost"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if s.Mode != "nat" && s.Mode != "fnat" {
				continue
			}
			for _, d := range p.ActiveDirectors(s) {
				v, ref, ok := d.SysctlInt("net.ipv4.ip_forward")
				if !ok || v != 0 {
					continue
				}
				p.Report(diagnosis.Finding{
					Severity:    diagnosis.Critical,
					Host:        d.Name,
					Title:       fmt.Sprintf("IPv4 forwarding is off on %s (net.ipv4.ip_forward = 0)", d.Name),
					Explanation: "In NAT mode the real servers' replies are routed through the director, which must forward them. With forwarding off they are dropped and clients time out.",
					Evidence:    []evidence.Ref{ref},
					Fix:         []string{"sysctl -w net.ipv4.ip_forward=1   # and persist it in /etc/sysctl.d/"},
				})
			}
		}
	},
}

var vrrpStrict = &Rule{
	ID:       "keepalived.vrrp-strict",
	Doc:      "vrrp_strict makes keepalived install firewall rules that drop all traffic to the VIPs.",
	Rank:     15,
	Needs:    []Need{{Role: evidence.RoleDirector, Kind: evidence.KindKeepalived, Command: "cat /etc/keepalived/keepalived.conf"}},
	Explains: []string{"director.firewall-drops-vip", "trace.director-not-forwarding"},
	Run: func(p *Pass) {
		for _, d := range p.Directors() {
			kc := d.Keepalived
			if kc == nil || kc.VRRPStrict == nil {
				continue
			}
			ev := []evidence.Ref{*kc.VRRPStrict}
			sev := diagnosis.Warning
			for _, s := range p.Services() {
				v := fwsim.Walk(&d.Firewall, clientPacket(p, s), "prerouting", "input")
				if v.Dropped && v.Rule != nil && strings.Contains(strings.ToLower(v.Rule.Table+" "+v.Rule.Chain), "keepalived") {
					ev = append(ev, v.Rule.Ref)
					sev = diagnosis.Critical
				}
			}
			p.Report(diagnosis.Finding{
				Severity: sev,
				Host:     d.Name,
				Title:    fmt.Sprintf("vrrp_strict is set in %s's keepalived.conf", d.Name),
				Explanation: "With vrrp_strict keepalived follows RFC 5798 to the letter and adds iptables/nft rules that drop " +
					"every packet to the VIP addresses, which silently breaks the virtual services behind them.",
				Evidence: ev,
				Fix:      []string{"remove vrrp_strict from global_defs and restart keepalived", "or add an accept rule for the service before keepalived's drop"},
			})
		}
	},
}

var conntrackInvalidDrop = &Rule{
	ID:    "director.conntrack-invalid-drop",
	Modes: []string{"dr", "tun"},
	Doc: "A DR/TUN director sees only the client's half of each connection; a `ctstate INVALID` drop on its input " +
		"path kills the connection after the SYN.",
	Rank:  18,
	Needs: []Need{{Role: evidence.RoleDirector, Kind: evidence.KindFirewall, Command: "iptables-save -c; nft list ruleset"}},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if !directRouting(s) {
				continue
			}
			for _, d := range p.ActiveDirectors(s) {
				if v, _, ok := d.SysctlInt("net.netfilter.nf_conntrack_tcp_be_liberal"); ok && v == 1 {
					continue // liberal tracking does not mark the half-seen flow invalid
				}
				pkt := clientPacket(p, s)
				pkt.CtState = "INVALID"
				v := fwsim.Walk(&d.Firewall, pkt, "prerouting", "input")
				if !v.Dropped || v.Rule == nil || len(v.Rule.CtState) == 0 {
					continue
				}
				ev := []evidence.Ref{v.Rule.Ref}
				for _, j := range v.Path {
					ev = append(ev, j.Ref)
				}
				// With nf_conntrack_tcp_loose=1 (the default) conntrack picks
				// the half-seen connection up and the client's ACKs are not
				// INVALID: the rule is a trap, not today's outage.
				sev := diagnosis.Warning
				if loose, ref, ok := d.SysctlInt("net.netfilter.nf_conntrack_tcp_loose"); ok {
					ev = append(ev, ref)
					if loose == 0 {
						sev = diagnosis.Critical
					}
				} else {
					p.Notef("run `sysctl net.netfilter.nf_conntrack_tcp_loose` on %s: with 0 the INVALID drop breaks every DR connection", d.Name)
				}
				p.Report(diagnosis.Finding{
					Severity: sev,
					Host:     d.Name,
					Title:    fmt.Sprintf("%s drops conntrack INVALID packets on the VIP's path", d.Name),
					Explanation: "In DR/TUN the replies go straight from the real server to the client, so the director's conntrack " +
						"never sees the SYN-ACK and marks the client's next packets INVALID. This rule drops them: the SYN gets " +
						"through, the connection then stalls.",
					Evidence: ev,
					Fix: []string{
						fmt.Sprintf("iptables -t raw -I PREROUTING -d %s -j NOTRACK   # exempt VIP traffic from conntrack", s.VIP),
						"or sysctl -w net.netfilter.nf_conntrack_tcp_be_liberal=1, or narrow the INVALID rule",
					},
				})
			}
		}
	},
}

var testingFromDirector = &Rule{
	ID:    "director.testing-from-director",
	Doc:   "The failing test ran on a director; IPVS does not balance the director's own connections to its VIP.",
	Rank:  3,
	Needs: nil,
	Run: func(p *Pass) {
		c := p.Case.Client.Addr
		// A test sourced from the VIP itself is rs.accept-local's case: the
		// real servers drop packets from their own address.
		if !c.IsValid() || p.Topo.IsVIP(c) {
			return
		}
		for _, d := range p.Directors() {
			as := d.AddrsOf(c)
			if len(as) == 0 {
				continue
			}
			p.Report(diagnosis.Finding{
				Severity: diagnosis.Critical,
				Host:     d.Name,
				Title:    fmt.Sprintf("the test client %s is the director %s itself", c, d.Name),
				Explanation: "Connections from the director to its own VIP are delivered locally and never go through the " +
					"IPVS forwarding path the way a client's do. Such a test fails or hits the director itself whatever the cluster's health.",
				Evidence: []evidence.Ref{p.Case.Client.Ref, as[0].Ref},
				Fix:      []string{"test from a real client outside the directors"},
			})
		}
	},
}
