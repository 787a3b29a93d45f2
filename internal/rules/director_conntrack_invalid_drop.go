package rules

import (
	"fmt"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/fwsim"
)

var directorConntrackInvalidDrop = &Rule{
	ID:    "director.conntrack-invalid-drop",
	Modes: []string{"dr", "tun"},
	Doc: "A DR/TUN director sees only the client's half of each connection; a `ctstate INVALID` drop on its input " +
		"path kills the connection after the SYN.",
	Rank:     18,
	Needs:    []Need{{Role: evidence.RoleDirector, Kind: evidence.KindFirewall, Command: "iptables-save -c; nft list ruleset"}},
	Explains: []string{"kernel.drop"},
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
						fixCmd(fmt.Sprintf("iptables -t raw -I PREROUTING -d %s -j NOTRACK", s.VIP), "on %s: exempt the VIP's flows from conntrack", d.Name),
						fixCmd("sysctl -w net.netfilter.nf_conntrack_tcp_be_liberal=1", "or this; or narrow the INVALID rule (%s)", clip(v.Rule.Ref.Text, 80)),
					},
				})
			}
		}
	},
}
