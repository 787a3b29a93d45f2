package rules

import (
	"fmt"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var directorIPForwardOff = &Rule{
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
					Fix:         sysctlFix("on "+d.Name, "net.ipv4.ip_forward=1"),
				})
			}
		}
	},
}
