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
				if vs == nil || d.IPVS == nil || len(d.IPVS.Conns) == 0 {
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
		case dest != nil && dest.Weight == 0 && strings.EqualFold(g.Proto, "UDP"):
			// A weight-0 server drains TCP as its connections close; a UDP
			// entry has no close, and each datagram of its client renews it,
			// so the quiesced (usually dead) server keeps those clients.
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
			reportUDPQuiesced(p, d, vs, st.rip, st.count, append(ev, st.dest.Ref))
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

// reportUDPQuiesced reports live UDP entries still sent to a weight-0 real
// server. Weight 0 is how a server leaves gracefully (kube-proxy's graceful
// termination of a deleted pod, keepalived's inhibit_on_failure after a failed
// check, an operator draining it): new clients go elsewhere, and the old ones
// are meant to finish. UDP entries never finish while their clients keep
// sending (syslog, DNS, statsd), so those clients stay on a server that is
// usually gone, and expire_nodest_conn cannot help while the server is still
// in the table.
func reportUDPQuiesced(p *Pass, d *evidence.Host, vs *evidence.VirtualService, rip netip.Addr, count int, ev []evidence.Ref) {
	ev = append(ev, deadEvidence(d, rip)...)
	p.Report(diagnosis.Finding{
		Severity: diagnosis.Critical,
		Host:     d.Name,
		Title: fmt.Sprintf("%d UDP connection(s) of %s on %s are still sent to %s, which has weight 0",
			count, vs.Key(), d.Name, rip),
		Explanation: fmt.Sprintf("%s has weight 0: it was taken out of %s (a deleted pod kube-proxy terminates gracefully, "+
			"a failed health check with inhibit_on_failure, or a drain), so new clients go to the other real servers. "+
			"The existing UDP entries still point at it, and a UDP entry has no end: every datagram of its client renews "+
			"its timeout, so a client that keeps sending (syslog, DNS, metrics) never leaves %s and its traffic is lost "+
			"once that server is gone.", rip, vs.Key(), rip),
		Evidence: ev,
		Fix: []string{
			fixCmd(fmt.Sprintf("ipvsadm -d -u %s -r %s", netip.AddrPortFrom(vs.Addr, vs.Port), netip.AddrPortFrom(rip, vs.Port)),
				"on %s: remove the server instead of quiescing it (kube-proxy >= 1.15 does so for UDP)", d.Name),
			fixCmd("sysctl -w net.ipv4.vs.expire_nodest_conn=1", "so the entries of a removed server expire on their next packet"),
			fixCmd("ipvsadm -Lnc | grep "+rip.String(), "the entries must disappear"),
		},
	})
}
