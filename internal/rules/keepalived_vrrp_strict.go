package rules

import (
	"fmt"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/fwsim"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
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
			fix := []string{
				fixCmd(`sed -i 's/^\([[:space:]]*\)vrrp_strict/\1# vrrp_strict/' /etc/keepalived/keepalived.conf`, "on %s: comment vrrp_strict out of global_defs", d.Name),
				keepalivedApply(p, firstService(p), d, "the restart removes the firewall rules vrrp_strict installed"),
			}
			why := ""
			for _, s := range p.Services() {
				if vi := strictDropInstance(d, s); vi != nil && why == "" && !d.Has(evidence.KindFirewall) {
					// keepalived's own rule: the drop is installed whenever
					// the instance is not the address owner and does not
					// accept (vrrp_handle_accept_mode in vrrp.c; with
					// vrrp_strict accept defaults to off, and is reset
					// for VRRP version 2 even when set). Where the
					// director's rules were given, they say whether it
					// is there (the walk below): what runs outweighs
					// what the configuration implies.
					sev = diagnosis.Critical
					ev = append(ev, vi.Ref)
					why = fmt.Sprintf(" Its vrrp_instance %s carries %s with priority %d (not 255, the address owner) and no `accept`: "+
						"keepalived drops every packet to %s while it is MASTER there.", vi.Name, s.VIP, vi.Priority, s.VIP)
				}
				pkt := clientPacket(p, s)
				v := fwsim.Walk(&d.Firewall, pkt, "prerouting", "input")
				noteUnknownSets(p, d, v, pkt)
				if v.Dropped && v.Rule != nil && strings.Contains(strings.ToLower(v.Rule.Table+" "+v.Rule.Chain), "keepalived") {
					ev = append(ev, v.Rule.Ref)
					sev = diagnosis.Critical
					if v.Rule.Tool == "iptables" && s.VIP.IsValid() && s.Port != 0 {
						// keepalived's iptables drop sits in its own chain, jumped
						// to from INPUT: an accept before the jump wins. An nft
						// table of its own drops whatever other tables accept.
						fix = append(fix, fixCmd(fmt.Sprintf("iptables -I INPUT -p %s -d %s --dport %d -j ACCEPT", protoOf(s), s.VIP, s.Port),
							"or keep vrrp_strict and accept the service before keepalived's drop"))
					}
				}
			}
			if why != "" {
				fix = append(fix, fixStep("or keep vrrp_strict: add `accept` to the vrrp_instance, with vrrp_version 3 (under vrrp_strict keepalived resets accept for VRRP version 2)"))
			}
			p.Report(diagnosis.Finding{
				Severity: sev,
				Host:     d.Name,
				Title:    fmt.Sprintf("vrrp_strict is set in %s's keepalived.conf", d.Name),
				Explanation: "With vrrp_strict keepalived follows RFC 5798 to the letter and adds iptables/nft rules that drop " +
					"every packet to the VIP addresses, which silently breaks the virtual services behind them." + why,
				Evidence: ev,
				Fix:      fix,
			})
		}
	},
}

// strictDropInstance returns d's vrrp_instance that carries s's VIP and
// that keepalived, under vrrp_strict, makes drop it: not the address
// owner (priority 255) and no `accept` (keepalived/vrrp/vrrp.c,
// vrrp_complete_instance: "if (vrrp->accept == PARAMETER_UNSET)
// vrrp->accept = !vrrp->strict_mode;", read at v2.0.18).
func strictDropInstance(d *evidence.Host, s *topology.Service) *evidence.VRRPInstance {
	if d.Keepalived == nil || !s.VIP.IsValid() {
		return nil
	}
	for _, vi := range d.Keepalived.VRRPInstances {
		if vi.Priority == 255 || vi.Accept == "accept" {
			continue
		}
		for _, v := range vi.VIPs {
			if v.Prefix.Addr() == s.VIP {
				return vi
			}
		}
	}
	return nil
}
