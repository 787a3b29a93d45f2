package rules

import "github.com/lvsdoctor/lvsdoctor/internal/evidence"

var rsFirewallDropsVIP = &Rule{
	ID:   "rs.firewall-drops-vip",
	Doc:  "An iptables/nft rule (or a DROP policy) on a real server discards the forwarded packets.",
	Rank: 20,
	Needs: []Need{
		{Role: evidence.RoleRealServer, Kind: evidence.KindFirewall, Command: "iptables-save -c; nft list ruleset"},
	},
	Explains: []string{"trace.rs-not-replying", "kernel.drop"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			for _, h := range p.RealServersOf(s) {
				pkt := clientPacket(p, s)
				if s.Mode == "nat" || s.Mode == "fnat" {
					rip, ok := p.RIPOf(s, h)
					if !ok {
						continue
					}
					pkt.Dst = rip
					if rs := destFor(s, rip); rs != nil && rs.Port != 0 {
						pkt.DPort = rs.Port
					}
				}
				firewallDrop(p, h, s, pkt, "the forwarded")
			}
		}
	},
}
