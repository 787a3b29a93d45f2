package rules

import "github.com/lvsdoctor/lvsdoctor/internal/evidence"

var directorConntrackTableFull = &Rule{
	ID:    "director.conntrack-table-full",
	Doc:   "The director's connection tracking table is full (or nearly): new flows are dropped.",
	Rank:  14,
	Needs: []Need{{Role: evidence.RoleDirector, Kind: evidence.KindConntrack, Command: "sysctl net.netfilter.nf_conntrack_count net.netfilter.nf_conntrack_max"}},
	Run: func(p *Pass) {
		for _, d := range p.Directors() {
			checkConntrackTable(p, d)
		}
	},
}
