package rules

import (
	"fmt"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

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
				Fix: sysctlFix(fmt.Sprintf("on %s: on all and %s (the kernel takes the maximum)", h.Name, face),
					"net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf."+face+".arp_ignore=1",
					"net.ipv4.conf.all.arp_announce=2", "net.ipv4.conf."+face+".arp_announce=2"),
			})
		}
	},
}
