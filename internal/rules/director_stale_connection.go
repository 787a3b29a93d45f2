package rules

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

var directorStaleConnection = &Rule{
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
				// A filtered listing that shows the service's real servers
				// still tells their weights; only the servers it does not
				// show are unknown (checkStale skips them).
				if vs == nil || d.IPVS == nil || len(d.IPVS.Conns) == 0 || !d.Has(evidence.KindIPVS) && !(vs.Filtered && len(vs.Dests) > 0) {
					continue
				}
				checkStale(p, s, d, vs)
			}
		}
	},
}

// connOf reports whether connection group g belongs to service vs.
func connOf(g *evidence.ConnGroup, vs *evidence.VirtualService) bool {
	if vs.Proto == "FWM" {
		return false // entries show the packet's address, not the mark
	}
	if !strings.EqualFold(g.Proto, vs.Proto) || g.Virtual.Addr() != vs.Addr {
		return false
	}
	return g.Virtual.Port() == vs.Port || (g.Template && g.Virtual.Port() == 0)
}

// liveConns counts entries of g that still carry traffic (not closing).
func liveConns(g *evidence.ConnGroup) int {
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

func checkStale(p *Pass, s *topology.Service, d *evidence.Host, vs *evidence.VirtualService) {
	// A server missing from a filtered listing (ipvsadm -Ln | grep) may have
	// been filtered out; a weight shown is a weight all the same.
	wholeTable := d.Has(evidence.KindIPVS)
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
		if !connOf(g, vs) {
			continue
		}
		var dest *evidence.RealServer
		for _, rs := range vs.Dests {
			if rs.Addr == g.Dest.Addr() && (rs.Port == g.Dest.Port() || rs.Port == 0 || g.Dest.Port() == 0) {
				dest = rs
				break
			}
		}
		if dest == nil && vs.Filtered {
			continue // the listing was filtered: the server may be there
		}
		n := 0
		switch {
		case dest == nil && !g.Template:
			// Templates to a removed server expire on their next use; live
			// connections are dropped until they time out.
			if !wholeTable || nok && nodest != 0 {
				continue
			}
			n = liveConns(g)
		case dest != nil && dest.Weight == 0 && g.Template:
			if qok && quiesc != 0 {
				continue
			}
			n = g.Count
		case dest != nil && dest.Weight == 0 && dest.Method != "" && strings.EqualFold(g.Proto, "UDP"):
			// A UDP "connection" is refreshed by every datagram: to a
			// quiesced server it never drains while the client sends.
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
		// The connection entries decide; the service follows.
		ev := append(append([]evidence.Ref(nil), st.refs...), vs.Ref)
		if st.tmpl {
			dead := deadEvidence(d, st.rip)
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
				Fix: append(sysctlFix("on "+d.Name+": a template to a weight-0 server expires", "net.ipv4.vs.expire_quiescent_template=1"),
					fixStep("and shorten persistence_timeout in keepalived.conf if clients must move faster")),
			})
			continue
		}
		if st.dest != nil {
			reportQuiescedUDP(p, d, vs, st.rip, st.count, append(ev, st.dest.Ref))
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
			Fix: append(sysctlFix("on "+d.Name+": a packet for a removed server expires its entry", "net.ipv4.vs.expire_nodest_conn=1"),
				fixCmd("ipvsadm -Lnc | grep "+st.rip.String(), "the entries must disappear")),
		})
	}
}

// reportQuiescedUDP: UDP entries still pinned to a real server of weight
// 0. IPVS gives a quiesced server no new flow, but a UDP entry lives as
// long as datagrams keep coming (each refreshes its expiry): a client that
// keeps sending — syslog, DNS from one source port, a metrics agent —
// stays on the quiesced server forever, and if that server is gone (a
// deleted pod kube-proxy keeps at weight 0 for graceful termination), its
// traffic is blackholed.
func reportQuiescedUDP(p *Pass, d *evidence.Host, vs *evidence.VirtualService, rip netip.Addr, n int, ev []evidence.Ref) {
	var port uint16
	for _, rs := range vs.Dests {
		if rs.Addr == rip {
			port = rs.Port
			break
		}
	}
	fix := []string{
		fixCmd(fmt.Sprintf("ipvsadm -d -u %s -r %s", netip.AddrPortFrom(vs.Addr, vs.Port), netip.AddrPortFrom(rip, port)),
			"on %s: remove the quiesced real server instead of keeping it at weight 0", d.Name),
	}
	fix = append(fix, sysctlFix("on "+d.Name+": the next datagram of an entry to a removed server drops the entry, and the flow is scheduled anew", "net.ipv4.vs.expire_nodest_conn=1")...)
	if d.Keepalived != nil {
		fix = append(fix, fixStep("keepalived's inhibit_on_failure keeps a failed real server at weight 0: drop it from UDP virtual servers in keepalived.conf, so a failed server is removed"))
	} else {
		fix = append(fix, fixStep("kube-proxy before 1.15 quiesces a deleted pod of a UDP service instead of removing it (graceful termination, kubernetes#76664, fixed by #77802): upgrade it"))
	}
	p.Report(diagnosis.Finding{
		Severity: diagnosis.Critical,
		Host:     d.Name,
		Title:    fmt.Sprintf("%d UDP flow(s) of %s on %s still go to %s, which has weight 0", n, vs.Key(), d.Name, rip),
		Explanation: fmt.Sprintf("Weight 0 keeps new flows away from %s, but a UDP entry never expires while its client keeps sending: "+
			"every datagram refreshes it. Those clients stay on the quiesced server for good, and when it is gone (a restarted pod "+
			"whose old address the controller keeps at weight 0 to drain it) their datagrams are blackholed.", rip),
		Evidence: ev,
		Fix:      fix,
	})
}
