package rules

import (
	"fmt"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var directorNoVirtualService = &Rule{
	ID:       "director.no-virtual-service",
	Doc:      "No IPVS virtual service on any director matches the VIP, port and protocol under diagnosis.",
	Rank:     5,
	Needs:    []Need{{Role: evidence.RoleDirector, Kind: evidence.KindIPVS, Command: "ipvsadm -Ln"}},
	Explains: []string{"trace.director-not-forwarding", "director.no-available-realserver", "kernel.drop"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if !s.Given || len(s.IPVS) > 0 || !s.VIP.IsValid() {
				continue
			}
			// The VIP's services with another protocol or port decide when
			// there are some; else the tables that lack it.
			var ev, tables []evidence.Ref
			var others []string
			for _, d := range p.Directors() {
				if !d.Has(evidence.KindIPVS) || d.IPVS == nil {
					continue
				}
				tables = append(tables, tableRef(d))
				for _, vs := range d.IPVS.Services {
					if vs.Addr == s.VIP {
						ev = append(ev, vs.Ref)
						others = append(others, vs.Key())
					}
				}
			}
			ev = append(ev, tables...)
			if len(ev) == 0 {
				continue
			}
			title := fmt.Sprintf("no IPVS virtual service for %s", s)
			expl := "IPVS only takes packets that match a virtual service (protocol, VIP and port, or a firewall mark). " +
				"None matches, so the director treats the packets as its own and nothing answers."
			if len(others) > 0 {
				title += fmt.Sprintf(" (the VIP has %s)", strings.Join(others, ", "))
				expl += " The VIP has a service with another protocol or port: check TCP vs UDP and the port."
			}
			p.Report(diagnosis.Finding{
				Severity:    diagnosis.Critical,
				Host:        ev[0].Host,
				Title:       title,
				Explanation: expl,
				Evidence:    ev,
				Fix: []string{
					fixStep("add a virtual_server %s %d block (protocol %s) to keepalived.conf on the directors, then: systemctl reload keepalived", s.VIP, s.Port, strings.ToUpper(protoOf(s))),
					fixCmd(fmt.Sprintf("ipvsadm -A -%s %s -s rr", protoFlag(s.Proto), hostPort(s.VIP.String(), s.Port)), "or by hand, for now (keepalived does not know it: add the real servers with ipvsadm -a)"),
				},
			})
		}
	},
}

func protoFlag(proto string) string {
	switch proto {
	case "udp":
		return "u"
	case "sctp":
		return "-sctp-service"
	}
	return "t"
}

func hostPort(h string, port uint16) string { return fmt.Sprintf("%s:%d", h, port) }
