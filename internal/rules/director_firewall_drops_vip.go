package rules

import "github.com/lvsdoctor/lvsdoctor/internal/evidence"

var directorFirewallDropsVIP = &Rule{
	ID:   "director.firewall-drops-vip",
	Doc:  "An iptables/nft rule (or a DROP policy) on the director discards the client's packets to the VIP before IPVS sees them.",
	Rank: 20,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindFirewall, Command: "iptables-save -c; nft list ruleset"},
	},
	Explains: []string{"trace.director-not-forwarding", "kernel.drop"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			for _, d := range p.ActiveDirectors(s) {
				firewallDrop(p, d, s, clientPacket(p, s), "the VIP's")
				firewalldZoneDrop(p, d, s)
			}
		}
	},
}
