package rules

import (
	"fmt"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var directorTestingFromDirector = &Rule{
	ID:    "director.testing-from-director",
	Doc:   "The failing test ran on a director; IPVS does not balance the director's own connections to its VIP.",
	Rank:  3,
	Needs: nil,
	Run: func(p *Pass) {
		c := p.Case.Client.Addr
		// A test sourced from the VIP itself is rs.accept-local's case: the
		// real servers drop packets from their own address.
		if !c.IsValid() || p.Topo.IsVIP(c) {
			return
		}
		for _, d := range p.Directors() {
			as := d.AddrsOf(c)
			if len(as) == 0 {
				continue
			}
			p.Report(diagnosis.Finding{
				Severity: diagnosis.Critical,
				Host:     d.Name,
				Title:    fmt.Sprintf("the test client %s is the director %s itself", c, d.Name),
				Explanation: "Connections from the director to its own VIP are delivered locally and never go through the " +
					"IPVS forwarding path the way a client's do. Such a test fails or hits the director itself whatever the cluster's health.",
				Evidence: []evidence.Ref{p.Case.Client.Ref, as[0].Ref},
				Fix:      []string{testFromClient(p)},
			})
		}
	},
}

// testFromClient is the test to run from a real client.
func testFromClient(p *Pass) string {
	s := firstService(p)
	if s == nil || !s.VIP.IsValid() || s.Port == 0 {
		return fixStep("test from a real client outside the directors and real servers")
	}
	u := ""
	if protoOf(s) == "udp" {
		u = "u"
	}
	return fixCmd(fmt.Sprintf("nc -zv%s -w 3 %s %d", u, s.VIP, s.Port), "from a client outside the directors and real servers")
}
