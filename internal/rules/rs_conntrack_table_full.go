package rules

import "github.com/lvsdoctor/lvsdoctor/internal/evidence"

var rsConntrackTableFull = &Rule{
	ID:    "rs.conntrack-table-full",
	Doc:   "A real server's connection tracking table is full (or nearly): new flows are dropped.",
	Rank:  14,
	Needs: []Need{{Role: evidence.RoleRealServer, Kind: evidence.KindConntrack, Command: "sysctl net.netfilter.nf_conntrack_count net.netfilter.nf_conntrack_max"}},
	Run: func(p *Pass) {
		for _, h := range p.RealServers() {
			checkConntrackTable(p, h)
		}
	},
}
