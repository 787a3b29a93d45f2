package rules

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/fwsim"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

var hypervisorBridgeNetfilterDrop = &Rule{
	ID:   "hypervisor.bridge-netfilter-drop",
	Doc:  "br_netfilter on a hypervisor (bridge-nf-call-iptables=1) sends bridged VM frames through iptables FORWARD, whose DROP policy (Docker's) eats the LVS traffic.",
	Rank: 10,
	Needs: []Need{
		{Role: evidence.RoleHypervisor, Kind: evidence.KindSysctl, Command: "sysctl -a"},
		{Role: evidence.RoleHypervisor, Kind: evidence.KindFirewall, Command: "iptables-save -c"},
	},
	Explains: []string{"trace.lost-in-transit", "trace.reply-lost", "trace.rs-not-replying", "trace.director-not-forwarding", "kernel.drop"},
	Run: func(p *Pass) {
		for _, hv := range p.Topo.Hypervisors() {
			v, ref, ok := hv.SysctlInt("net.bridge.bridge-nf-call-iptables")
			if !ok || v != 1 {
				continue
			}
			if !hv.Has(evidence.KindFirewall) {
				p.Notef("%s passes bridged frames through iptables (bridge-nf-call-iptables=1): run `iptables-save -c` there to see its FORWARD chain", hv.Name)
				continue
			}
			for _, s := range p.Services() {
				if checkBridgeNF(p, s, hv, ref) {
					break
				}
			}
		}
	},
}

// vmBridges lists the bridges a hypervisor's VMs are plugged into.
func vmBridges(h *evidence.Host) []string {
	var out []string
	seen := map[string]bool{}
	add := func(b string) {
		if b != "" && !seen[b] {
			seen[b] = true
			out = append(out, b)
		}
	}
	for _, itf := range h.Libvirt.Interfaces {
		add(itf.Bridge)
	}
	if len(out) > 0 {
		return out
	}
	for _, l := range h.Links {
		if l.Master == "" {
			continue
		}
		for _, pre := range []string{"vnet", "tap", "vif", "veth"} {
			if strings.HasPrefix(l.Name, pre) {
				add(l.Master)
			}
		}
	}
	return out
}

// withOutIface returns the firewall as packets bridged on br see it:
// iptables -o matches the bridge, which fwsim does not decide, so rules
// for other output interfaces are left out (all of them that drop, when
// the bridge is unknown); `-m physdev --physdev-is-bridged` matches.
func withOutIface(fw *evidence.Firewall, br string) *evidence.Firewall {
	out := &evidence.Firewall{Chains: fw.Chains, Warnings: fw.Warnings}
rules:
	for _, r := range fw.Rules {
		var extra []string
		for _, e := range r.Extra {
			if strings.Contains(e, "physdev-is-bridged") && !strings.Contains(e, "physdev-in") && !strings.Contains(e, "physdev-out") {
				if strings.Contains(e, "!") {
					continue rules // only for routed packets
				}
				continue
			}
			extra = append(extra, e)
		}
		r.Extra = extra
		if r.OutIface != "" && r.OutIface != "*" && r.OutIface != "any" {
			if br == "" {
				if r.Drops() {
					continue
				}
			} else if !evidence.IfaceMatch(r.OutIface, br) {
				continue
			}
		}
		out.Rules = append(out.Rules, r)
	}
	return out
}

// bridgedPackets are the service's packets a hypervisor bridge carries
// between VMs: the client's packet to the VIP and the director's
// forwarded copy (the same IP header in DR; IPIP in TUN; to the RIP in NAT).
func bridgedPackets(p *Pass, s *topology.Service) []struct {
	what string
	pkt  evidence.Packet
} {
	type bp = struct {
		what string
		pkt  evidence.Packet
	}
	client := clientPacket(p, s)
	out := []bp{{"the client's packets to the VIP", client}}
	for _, rip := range s.RIPs {
		switch s.Mode {
		case "tun":
			var dip netip.Addr
			if ds := p.ActiveDirectors(s); len(ds) > 0 {
				dip = directorIP(ds[0])
			}
			out = append(out, bp{"the director's IPIP packets to " + rip.String(), evidence.Packet{Proto: "4", Src: dip, Dst: rip, CtState: "NEW"}})
		case "nat":
			fw := client
			fw.Dst = rip
			if d := destFor(s, rip); d != nil && d.Port != 0 {
				fw.DPort = d.Port
			}
			out = append(out, bp{"the director's packets to " + rip.String(), fw})
		}
		if len(out) > 1 {
			break
		}
	}
	return out
}

func checkBridgeNF(p *Pass, s *topology.Service, hv *evidence.Host, sysRef evidence.Ref) bool {
	bridges := vmBridges(hv)
	if len(bridges) == 0 {
		bridges = []string{""}
	}
	for _, br := range bridges {
		fw := withOutIface(&hv.Firewall, br)
		for _, bp := range bridgedPackets(p, s) {
			pkt := bp.pkt
			pkt.InIface = br
			v := fwsim.Walk(fw, pkt, "forward")
			if !v.Dropped {
				continue
			}
			ev := []evidence.Ref{sysRef}
			for _, j := range v.Path {
				ev = append(ev, j.Ref)
			}
			what := ""
			if v.Rule != nil {
				ev = append(ev, v.Rule.Ref)
				what = fmt.Sprintf("%s/%s rule %d", orName(v.Rule.Table, "filter"), v.Rule.Chain, v.Rule.Num)
			} else if v.Chain != nil {
				ev = append(ev, v.Chain.Ref)
				what = fmt.Sprintf("the %s policy of %s", v.Chain.Policy, v.Chain.Name)
			}
			if what == "" {
				continue
			}
			sev := diagnosis.Critical
			if !v.Sure {
				sev = diagnosis.Warning
			}
			on := "the VM bridge"
			// Accept what crosses the bridge: named when known, else
			// whatever is bridged (physdev), which needs no name.
			accept := "-m physdev --physdev-is-bridged -j ACCEPT"
			if br != "" {
				on, accept = br, fmt.Sprintf("-i %s -o %s -j ACCEPT", br, br)
			}
			// Docker puts its own rules first in FORWARD whenever it starts:
			// DOCKER-USER is the chain it leaves to the host.
			chain := "FORWARD"
			if slices.ContainsFunc(hv.Firewall.Chains, func(c evidence.Chain) bool { return c.Name == "DOCKER-USER" }) {
				chain = "DOCKER-USER"
			}
			p.Report(diagnosis.Finding{
				Severity: sev,
				Host:     hv.Name,
				Title:    fmt.Sprintf("%s's iptables FORWARD drops bridged VM traffic on %s (bridge-nf-call-iptables=1, %s)", hv.Name, on, what),
				Explanation: fmt.Sprintf("With br_netfilter loaded and bridge-nf-call-iptables=1, every IPv4 frame crossing a bridge "+
					"of %s goes through iptables FORWARD as if it were routed. %s discards %s, so they vanish on the host between "+
					"the VMs although nothing in the VMs is wrong. Docker sets the FORWARD policy to DROP and loads br_netfilter; "+
					"libvirt bridges then stop passing traffic nobody accepted.", hv.Name, upperFirst(what), bp.what),
				Evidence: ev,
				Fix: []string{
					fixCmd("iptables -I "+chain+" "+accept, "on %s: let the VMs' bridged frames through", hv.Name),
					fixCmd("sysctl -w net.bridge.bridge-nf-call-iptables=0", "or this, if nothing on %s needs iptables to filter bridged frames", hv.Name),
				},
			})
			return true
		}
	}
	return false
}
