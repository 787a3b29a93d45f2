package rules

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

var netStaleARP = &Rule{
	ID:   "net.stale-arp",
	Doc:  "A client or gateway maps the VIP to a MAC that is neither the active director's nor a real server's (the old master's after a failover).",
	Rank: 35,
	Needs: []Need{
		{Role: evidence.RoleClient, Kind: evidence.KindNeighbors, Command: "ip neigh"},
	},
	Explains: []string{"kernel.drop"},
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
			fixCmd(fmt.Sprintf("ip neigh flush to %s", s.VIP), "on %s (or: arp -d %s)", h.Name, s.VIP),
			announceVIP(p, s, "announce the VIP again"),
			fixStep("in keepalived.conf's global_defs: vrrp_garp_master_refresh 60 and vrrp_garp_master_repeat 5, so the master keeps announcing"),
		}
		if bad != nil && strings.EqualFold(bad.State, "PERMANENT") {
			fix = append([]string{fixCmd(fmt.Sprintf("ip neigh del %s dev %s", s.VIP, bad.Dev), "on %s: the static entry", h.Name)}, fix...)
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
