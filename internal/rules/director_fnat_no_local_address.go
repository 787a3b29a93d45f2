package rules

import (
	"fmt"
	"net/netip"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var directorFNATNoLocalAddress = &Rule{
	ID:    "director.fnat-no-local-address",
	Modes: []string{"fnat"},
	Doc:   "FNAT: every virtual service needs local addresses (the source of its packets towards the real servers), enough for its connection rate; without a free one the kernel drops the new connection.",
	Rank:  9,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindKeepalived, Command: "cat /etc/keepalived/keepalived.conf"},
	},
	Explains: []string{"director.return-path-missing", "trace.director-not-forwarding", "trace.rs-not-replying"},
	Run: func(p *Pass) {
		for _, h := range p.Case.Hosts {
			if refs := noPortLogged(h); len(refs) > 0 {
				p.Report(diagnosis.Finding{
					Severity: diagnosis.Critical,
					Host:     h.Name,
					Title:    fmt.Sprintf("the kernel of %s found no local address with a free port for new FNAT connections, and dropped them", h.Name),
					Explanation: "In FULLNAT the director rewrites the client's address to one of the service's local addresses " +
						"(local_address_group, ipvsadm -P -z) and a port of it. `bind local address: no port available` is the " +
						"kernel saying no local address of the service had a free port: the service has no local address, or " +
						"too few for its connections (each gives about 64k ports per real server). The connection is dropped: " +
						"clients time out while the real servers are idle.",
					Evidence: refs,
					Fix: []string{
						fixCmd("ipvsadm -G", "on %s: the local addresses of each service: none, or too few", h.Name),
						fixStep("in keepalived.conf: a local_address_group of %s's own addresses, named by laddr_group_name in each FNAT virtual_server (more addresses when the ports run out)", h.Name),
						fixCmd("systemctl reload keepalived", "on %s: reload, not restart (a restart on the VRRP master fails the VIP over)", h.Name),
					},
				})
			}
			if h.Role == evidence.RoleDirector && h.Keepalived != nil {
				checkFNATWithoutLaddr(p, h)
			}
			if h.Role == evidence.RoleDirector && h.IPVS != nil {
				checkLocalAddrPorts(p, h)
			}
		}
	},
}

// noPortLogged returns the kernel's "no port available" lines of h.
func noPortLogged(h *evidence.Host) []evidence.Ref {
	var refs []evidence.Ref
	for _, l := range h.Logs {
		if l.Message != "" && names(l.Message, "director.fnat-no-local-address") && len(refs) < 3 {
			refs = append(refs, l.Ref)
		}
	}
	return refs
}

// checkFNATWithoutLaddr reports FNAT virtual servers of d's keepalived.conf
// that name no local_address_group: keepalived's FULLNAT fork gives them
// no local address.
func checkFNATWithoutLaddr(p *Pass, d *evidence.Host) {
	for _, vs := range d.Keepalived.VirtualServers {
		if vs.LbKind != "FNAT" || vs.LaddrGroup != "" {
			continue
		}
		p.Report(diagnosis.Finding{
			Severity: diagnosis.Critical,
			Host:     d.Name,
			Title:    fmt.Sprintf("FNAT virtual_server %s on %s names no local_address_group: it has no local address to forward from", vsName(vs), d.Name),
			Explanation: "A FULLNAT virtual service sends its packets to the real servers from one of its local addresses. " +
				"keepalived's FULLNAT fork takes them from the local_address_group the virtual_server names with " +
				"laddr_group_name; this one names none, so the kernel has no source address for it and drops the connections.",
			Evidence: []evidence.Ref{vs.Ref, vs.LbKindRef},
			Fix: []string{
				fixStep("in keepalived.conf on %s: add laddr_group_name to the virtual_server %s block, naming a local_address_group that lists %s's own addresses (its other FNAT virtual_servers show how this cluster writes them)", d.Name, vsName(vs), d.Name),
				fixCmd("systemctl reload keepalived", "on %s: reload, not restart (a restart on the VRRP master fails the VIP over)", d.Name),
			},
		})
	}
}

// vsName is how keepalived.conf names a virtual_server.
func vsName(vs *evidence.KVirtualServer) string {
	switch {
	case vs.FWMark != 0:
		return fmt.Sprintf("fwmark %d", vs.FWMark)
	case vs.Group != "":
		return "group " + vs.Group
	}
	return fmt.Sprintf("%s %d", vs.Addr, vs.Port)
}

// lportsPerRS is about how many ports one local address gives towards
// one real server: the source ports above the reserved ones.
const lportsPerRS = 64511

// checkLocalAddrPorts judges the local addresses `ipvsadm -G` listed for
// d's FULLNAT services: none at all, or their ports nearly all taken by
// the connections (each local address gives about 64k ports per real
// server), when the kernel has no port left for a new connection.
func checkLocalAddrPorts(p *Pass, d *evidence.Host) {
	for _, g := range d.IPVS.LocalAddrs {
		vs := fnatService(d, g.VIP)
		if vs == nil {
			continue // a DR/NAT service is listed too, without local addresses
		}
		if len(g.Addrs) == 0 {
			p.Report(diagnosis.Finding{
				Severity: diagnosis.Critical,
				Host:     d.Name,
				Title:    fmt.Sprintf("the FULLNAT service %s on %s has no local address (ipvsadm -G)", g.VIP, d.Name),
				Explanation: "A FULLNAT service sends its packets to the real servers from one of its local addresses; " +
					"`ipvsadm -G` lists none for this one, so the kernel has no source for them and drops every new connection.",
				Evidence: []evidence.Ref{g.Ref, vs.Ref},
				Fix:      laddrFix(d, g.VIP),
			})
			continue
		}
		rs := max(1, len(vs.Dests))
		var conns, conflicts uint64
		var ev []evidence.Ref
		for _, a := range g.Addrs {
			conns += a.Conns
			conflicts += a.Conflicts
			ev = append(ev, a.Ref)
		}
		capacity := uint64(lportsPerRS) * uint64(rs) * uint64(len(g.Addrs))
		if conns*10 < capacity*9 {
			if conflicts > 10*conns && conflicts > 100000 {
				p.Notef("on %s, the local addresses of %s hit taken ports %d times for %d connections (ipvsadm -G): "+
					"port allocation is crowded; more local addresses would give it room", d.Name, g.VIP, conflicts, conns)
			}
			continue
		}
		p.Report(diagnosis.Finding{
			Severity: diagnosis.Critical,
			Host:     d.Name,
			Title: fmt.Sprintf("the %d local address(es) of FULLNAT service %s on %s have run out of ports: %d connections of about %d",
				len(g.Addrs), g.VIP, d.Name, conns, capacity),
			Explanation: fmt.Sprintf("In FULLNAT each connection to a real server takes a port of one of the service's local "+
				"addresses; one address gives about %d ports per real server, so %d address(es) and %d real server(s) hold about "+
				"%d connections. `ipvsadm -G` counts %d, and %d port allocations that found the port taken: new connections find "+
				"no free port and are dropped (the kernel's `bind local address: no port available`).",
				lportsPerRS, len(g.Addrs), rs, capacity, conns, conflicts),
			Evidence: append(ev, g.Ref),
			Fix: []string{
				fixStep("in keepalived.conf on %s: add more of its own addresses to the service's local_address_group (each adds about %d ports per real server), then: systemctl reload keepalived", d.Name, lportsPerRS),
				fixCmd("ipvsadm -G", "the service lists the added local addresses, and CONNS spreads over them"),
			},
		})
	}
}

// fnatService is d's IPVS service at vip whose real servers it forwards
// to in FULLNAT.
func fnatService(d *evidence.Host, vip netip.AddrPort) *evidence.VirtualService {
	for _, vs := range d.IPVS.Services {
		if vs.Addr != vip.Addr() || vs.Port != vip.Port() {
			continue
		}
		for _, rs := range vs.Dests {
			if evidence.ModeOfMethod(rs.Method) == "fnat" {
				return vs
			}
		}
	}
	return nil
}

// firstOwnAddr is an address of d's on the VIP's interface other than
// the VIP, a local address it can give a service.
func firstOwnAddr(d *evidence.Host, vip netip.Addr) netip.Addr {
	for _, a := range d.Addrs {
		if a.Prefix.Addr() != vip && a.Iface != "lo" && a.Prefix.Addr().Is4() == vip.Is4() && a.Prefix.Addr().IsGlobalUnicast() {
			return a.Prefix.Addr()
		}
	}
	return netip.Addr{}
}

// laddrFix gives the service vip a local address of d's own.
func laddrFix(d *evidence.Host, vip netip.AddrPort) []string {
	check := fixCmd("ipvsadm -G", "the service lists its local addresses")
	if a := firstOwnAddr(d, vip.Addr()); a.IsValid() {
		return []string{fixCmd(fmt.Sprintf("ipvsadm -P -t %s -z %s", vip, a),
			"on %s: one of its own addresses as the service's local address (keepalived: local_address_group and laddr_group_name)", d.Name), check}
	}
	return []string{fixStep("on %s: give the service local addresses of its own (keepalived: local_address_group and laddr_group_name; by hand: ipvsadm -P -t %s -z ADDRESS)", d.Name, vip), check}
}
