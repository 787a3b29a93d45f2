package rules

import (
	"fmt"

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
