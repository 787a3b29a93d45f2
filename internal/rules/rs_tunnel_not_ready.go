package rules

import (
	"fmt"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var rsTunnelNotReady = &Rule{
	ID:       "rs.tunnel-not-ready",
	Modes:    []string{"tun"},
	Doc:      "TUN: the real server cannot decapsulate IPIP (no ipip module/tunl0, or tunl0 down).",
	Rank:     8,
	Needs:    []Need{{Role: evidence.RoleRealServer, Kind: evidence.KindLinks, Command: "ip -d link"}},
	Explains: []string{"trace.rs-not-replying", "rs.vip-missing", "rs.rp-filter-strict", "kernel.drop"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if s.Mode != "tun" {
				continue
			}
			for _, h := range p.RealServersOf(s) {
				if !h.Has(evidence.KindLinks) && !h.Has(evidence.KindAddrs) {
					continue
				}
				var tun *evidence.Link
				for i := range h.Links {
					if h.Links[i].Name == "tunl0" || h.Links[i].Kind == "ipip" {
						tun = &h.Links[i]
						break
					}
				}
				var ev []evidence.Ref
				var title string
				switch {
				case tun == nil:
					// An interface that is not there has no line: the listings
					// that would show it are cited whole.
					ev = append(ev, wholeListing(h, evidence.KindLinks, "no tunl0 in it"), wholeListing(h, evidence.KindAddrs, "no tunl0 in it"))
					if h.Kernel.Modules != nil {
						if _, ok := h.Kernel.Modules["ipip"]; !ok {
							ev = append(ev, wholeListing(h, evidence.KindModules, "no ipip module in it"))
						}
					}
					title = fmt.Sprintf("%s has no tunl0: IPIP packets from the director cannot be decapsulated", h.Name)
				case !tun.Up:
					ev = append(ev, tun.Ref)
					title = fmt.Sprintf("tunl0 is down on %s", h.Name)
				default:
					continue
				}
				p.Report(diagnosis.Finding{
					Severity: diagnosis.Critical,
					Host:     h.Name,
					Title:    title,
					Explanation: "In TUN mode the director wraps each packet in IPIP (IP protocol 4). Without the ipip module and an " +
						"up tunl0 the real server answers ICMP protocol unreachable or drops them.",
					Evidence: ev,
					Fix: []string{
						fixCmd("modprobe ipip && ip link set tunl0 up", "on %s", h.Name),
						fixCmd(fmt.Sprintf("ip addr add %s/32 dev tunl0", s.VIP), "unless tunl0 holds it already"),
						fixCmd("echo ipip > /etc/modules-load.d/ipip.conf", "load ipip at boot; keep tunl0's address in the network configuration"),
					},
				})
			}
		}
	},
}
