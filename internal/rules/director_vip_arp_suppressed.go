package rules

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

var directorVIPARPSuppressed = &Rule{
	ID: "director.vip-arp-suppressed",
	Doc: "A director holds the VIP only on a NOARP interface (kube-ipvs0, dummy, lo) inside a LAN it is on, with arp_ignore>=1 " +
		"on that LAN's interface: nobody answers ARP for the VIP.",
	Rank: 7,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindAddrs, Command: "ip addr"},
		{Role: evidence.RoleDirector, Kind: evidence.KindSysctl, Command: "sysctl -a"},
	},
	Explains: []string{"trace.director-not-forwarding", "net.stale-arp"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if !s.VIP.IsValid() || !s.VIP.Is4() {
				continue // IPv6 has no ARP and no arp_ignore
			}
			checkVIPARPSuppressed(p, s)
		}
	},
}

func checkVIPARPSuppressed(p *Pass, s *topology.Service) {
	// Someone answers ARP for the VIP: a host holding it on a NIC, or a
	// speaker (MetalLB L2, keepalived) a client's neighbour table shows.
	for _, h := range p.Case.Hosts {
		if holdsVIP(h, s.VIP) {
			return
		}
	}
	if answered(p, s.VIP) {
		return
	}
	if failed := unresolved(p, s.VIP); len(failed) > 0 && !anyDirectorAddrs(p) {
		p.Notef("%s: nobody answered ARP for the VIP %s; no director's addresses are shown to say why: run `ip addr; sysctl -a | grep arp_ignore` "+
			"on the hosts meant to hold it (a kube-proxy node in IPVS mode holds an externalIP on kube-ipvs0, which answers ARP only with arp_ignore=0)",
			failed[0], s.VIP)
	}
	for _, d := range p.Directors() {
		if len(s.IPVS) > 0 && s.IPVS[d.Name] == nil && s.Config[d.Name] == nil {
			continue // not a director of this service
		}
		held := d.AddrsOf(s.VIP)
		if len(held) == 0 {
			continue // director.vip-not-local's
		}
		lan, lanRef, ok := lanOf(d, s.VIP)
		if !ok {
			continue // a routed VIP: its router, not ARP, brings it here
		}
		ign := d.EffectiveConf("arp_ignore", lan)
		if !ign.Known || ign.Value < 1 || ign.Value > 2 {
			continue // 0 answers for any local address; 3+ are other policies
		}
		ev := append([]evidence.Ref{held[0].Ref}, ign.Refs...)
		ev = append(ev, lanRef)
		failed := unresolved(p, s.VIP)
		ev = append(ev, failed...)
		who := ""
		if c := ipvsController(d); c.who != "" {
			who = fmt.Sprintf(" %s put it there.", c.who)
		}
		seen := ""
		if len(failed) > 0 {
			seen = " A client's neighbour table shows it: the VIP's entry is unresolved (" + strings.Join(strings.Fields(failed[0].Text), " ") + ")."
		}
		p.Report(diagnosis.Finding{
			Severity: diagnosis.Critical,
			Host:     d.Name,
			Title: fmt.Sprintf("nobody answers ARP for %s: %s holds it only on %s, and arp_ignore=%d on %s",
				s.VIP, d.Name, held[0].Iface, ign.Value, lan),
			Explanation: fmt.Sprintf("%s is an address of %s's network on %s, so clients there ARP for it. %s holds it only on %s, "+
				"which sends no ARP, and with arp_ignore=%d %s answers an ARP request only for addresses of the interface it came in "+
				"on: the request for %s arrives on %s and gets no reply. No other host shown holds the VIP on a NIC, so the clients "+
				"never learn a MAC for it and their packets never leave them.%s%s",
				s.VIP, d.Name, lan, d.Name, held[0].Iface, ign.Value, d.Name, s.VIP, lan, who, seen),
			Evidence: ev,
			Fix: append(sysctlFix("on "+d.Name+": answer ARP for every local address again (kube-proxy >= 1.13.2 no longer sets arp_ignore)",
				"net.ipv4.conf.all.arp_ignore=0", "net.ipv4.conf."+lan+".arp_ignore=0"),
				fixStep("or announce the VIP from one node (MetalLB in L2 mode, keepalived) or add it to %s", lan),
				fixCmd(fmt.Sprintf("arping -c 3 %s", s.VIP), "from a client on %s's network (%s): must get replies", d.Name, lan)),
		})
	}
}

// lanOf returns the interface whose connected network holds vip (not the
// NOARP ones that hold the VIP itself), with the address that shows it.
func lanOf(h *evidence.Host, vip netip.Addr) (string, evidence.Ref, bool) {
	for _, a := range h.Addrs {
		if arpSilentIface(a.Iface) || a.Prefix.Bits() >= a.Prefix.Addr().BitLen() || a.Prefix.Addr() == vip {
			continue
		}
		if a.Prefix.Masked().Contains(vip) {
			return a.Iface, a.Ref, true
		}
	}
	return "", evidence.Ref{}, false
}

// answered reports whether a neighbour table of the case shows a MAC for
// vip: some host answers ARP for it.
func answered(p *Pass, vip netip.Addr) bool {
	for _, h := range p.Case.Hosts {
		for _, n := range h.Neighbors {
			if n.IP == vip && n.MAC != "" {
				switch strings.ToUpper(n.State) {
				case "FAILED", "INCOMPLETE", "NOARP":
				default:
					return true
				}
			}
		}
	}
	return false
}

// unresolved are the neighbour entries of the case that show vip
// unanswered: FAILED or INCOMPLETE.
func unresolved(p *Pass, vip netip.Addr) []evidence.Ref {
	var out []evidence.Ref
	for _, h := range p.Case.Hosts {
		for _, n := range h.Neighbors {
			if st := strings.ToUpper(n.State); n.IP == vip && (st == "FAILED" || st == "INCOMPLETE") && len(out) < 2 {
				out = append(out, n.Ref)
			}
		}
	}
	return out
}

func anyDirectorAddrs(p *Pass) bool {
	for _, d := range p.Directors() {
		if d.Has(evidence.KindAddrs) {
			return true
		}
	}
	return false
}
