package rules

import (
	"fmt"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

var directorBackupForwardingLoop = &Rule{
	ID:    "director.backup-forwarding-loop",
	Modes: []string{"dr", "tun"},
	Doc: "DR/TUN: the VRRP backup director also has the IPVS service and, receiving VIP packets (it is a real server " +
		"too), schedules them again, bouncing them between the directors (needs backup_only=1).",
	Rank:     11,
	Needs:    []Need{{Role: evidence.RoleDirector, Kind: evidence.KindSysctl, Command: "sysctl -a"}},
	Explains: []string{"trace.rs-not-replying"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if !directRouting(s) || !s.VIP.IsValid() || len(s.IPVS) < 2 {
				continue
			}
			var masters, backups []*evidence.Host
			for _, d := range p.Directors() {
				if s.IPVS[d.Name] == nil || !d.Has(evidence.KindAddrs) {
					continue
				}
				if holdsVIP(d, s.VIP) {
					masters = append(masters, d)
				} else {
					backups = append(backups, d)
				}
			}
			if len(masters) == 0 {
				continue
			}
			for _, b := range backups {
				checkLoop(p, s, b, masters)
			}
		}
	},
}

// receivesVIP returns why h gets packets for s's VIP from a director: it
// owns a RIP of s, or holds the VIP on lo like a real server.
func receivesVIP(s *topology.Service, h *evidence.Host) []evidence.Ref {
	var out []evidence.Ref
	for _, rip := range s.RIPs {
		for _, a := range h.AddrsOf(rip) {
			if a.Iface != "lo" {
				out = append(out, a.Ref)
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	for _, a := range h.AddrsOf(s.VIP) {
		if arpSilentIface(a.Iface) {
			out = append(out, a.Ref)
		}
	}
	return out
}

// bouncedFrames returns frames of s's traffic that the backup b sent to a
// master: packets IPVS on b scheduled back.
func bouncedFrames(s *topology.Service, b *evidence.Host, masters []*evidence.Host) []evidence.Ref {
	bm := hostMACs(b)
	mm := map[string]bool{}
	for _, m := range masters {
		for k := range hostMACs(m) {
			mm[k] = true
		}
	}
	if len(bm) == 0 || len(mm) == 0 {
		return nil
	}
	var out []evidence.Ref
	for _, h := range append([]*evidence.Host{b}, masters...) {
		for i := range h.Frames {
			f := &h.Frames[i]
			if _, ok := vipPacket(f, s); !ok {
				continue
			}
			if bm[strings.ToLower(f.SrcMAC)] && mm[strings.ToLower(f.DstMAC)] {
				out = append(out, f.Ref)
				if len(out) == 3 {
					return out
				}
			}
		}
	}
	return out
}

func checkLoop(p *Pass, s *topology.Service, b *evidence.Host, masters []*evidence.Host) {
	bo, bref, bok := b.SysctlInt("net.ipv4.vs.backup_only")
	if bok && bo != 0 {
		return
	}
	bounced := bouncedFrames(s, b, masters)
	bRS := receivesVIP(s, b)
	var mRS []evidence.Ref
	for _, m := range masters {
		mRS = append(mRS, receivesVIP(s, m)...)
	}
	sev := diagnosis.Warning
	switch {
	case len(bounced) > 0:
		sev = diagnosis.Critical
	case len(bRS) > 0 && len(mRS) > 0 && bok:
		sev = diagnosis.Critical
	case len(bRS) > 0:
	default:
		return
	}
	if !bok {
		p.Notef("run `sysctl net.ipv4.vs.backup_only` on %s: 0 there lets it re-schedule what the master forwards to it", b.Name)
	}
	// backup_only=0 is what lets the backup balance again; its service
	// entry follows.
	var ev []evidence.Ref
	if bok {
		ev = append(ev, bref)
	}
	ev = append(ev, s.IPVS[b.Name].Ref)
	ev = append(ev, bounced...)
	ev = append(ev, bRS...)
	ev = append(ev, mRS...)
	what := "it is also a real server of the service"
	if len(bounced) > 0 {
		what = "the captures show it sending VIP packets back to the master"
	}
	p.Report(diagnosis.Finding{
		Severity: sev,
		Host:     b.Name,
		Title:    fmt.Sprintf("backup director %s has the IPVS service of %s with backup_only=0 and %s", b.Name, s, what),
		Explanation: fmt.Sprintf("keepalived installs the virtual servers on the backup director too. In %s mode the VIP packets the "+
			"master forwards to %s (a real server as well) still carry the VIP, so IPVS on %s schedules them again — to "+
			"the master when it is a real server too, which forwards them back: the packets loop between the directors and "+
			"the connection never completes. net.ipv4.vs.backup_only=1 turns IPVS off while the host is a backup.", strings.ToUpper(s.Mode), b.Name, b.Name),
		Evidence: ev,
		Fix: append(sysctlFix(fmt.Sprintf("on %s and every director: IPVS stays off while the host is a backup", b.Name), "net.ipv4.vs.backup_only=1"),
			fixStep("backup_only acts only while the IPVS sync daemon runs as backup: set lvs_sync_daemon in keepalived.conf's vrrp_instance"),
			fixStep("or mark the clients' packets (iptables -t mangle ... -j MARK, by the clients' MAC or interface) and use fwmark virtual servers, so re-forwarded packets are not balanced again"),
		),
	})
}
