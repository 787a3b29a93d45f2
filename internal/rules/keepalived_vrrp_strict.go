package rules

import (
	"fmt"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/fwsim"
)

var keepalivedVRRPStrict = &Rule{
	ID:       "keepalived.vrrp-strict",
	Doc:      "vrrp_strict makes keepalived install firewall rules that drop all traffic to the VIPs.",
	Rank:     15,
	Needs:    []Need{{Role: evidence.RoleDirector, Kind: evidence.KindKeepalived, Command: "cat /etc/keepalived/keepalived.conf"}},
	Explains: []string{"director.firewall-drops-vip", "trace.director-not-forwarding", "kernel.drop"},
	Run: func(p *Pass) {
		for _, d := range p.Directors() {
			kc := d.Keepalived
			if kc == nil || kc.VRRPStrict == nil {
				continue
			}
			ev := []evidence.Ref{*kc.VRRPStrict}
			sev := diagnosis.Warning
			for _, s := range p.Services() {
				pkt := clientPacket(p, s)
				v := fwsim.Walk(&d.Firewall, pkt, "prerouting", "input")
				noteUnknownSets(p, d, v, pkt)
				if v.Dropped && v.Rule != nil && strings.Contains(strings.ToLower(v.Rule.Table+" "+v.Rule.Chain), "keepalived") {
					ev = append(ev, v.Rule.Ref)
					sev = diagnosis.Critical
				}
			}
			p.Report(diagnosis.Finding{
				Severity: sev,
				Host:     d.Name,
				Title:    fmt.Sprintf("vrrp_strict is set in %s's keepalived.conf", d.Name),
				Explanation: "With vrrp_strict keepalived follows RFC 5798 to the letter and adds iptables/nft rules that drop " +
					"every packet to the VIP addresses, which silently breaks the virtual services behind them.",
				Evidence: ev,
				Fix:      []string{"remove vrrp_strict from global_defs and restart keepalived", "or add an accept rule for the service before keepalived's drop"},
			})
		}
	},
}
