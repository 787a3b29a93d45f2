package rules

import (
	"fmt"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var directorServiceUnsupported = &Rule{
	ID:   "director.service-unsupported",
	Doc:  "A virtual service its IPVS implementation cannot forward: DPVS has no port-0 (all-ports) service, which the kernel's IPVS serves through its catch-all lookup.",
	Rank: 4,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindIPVS, Command: "ipvsadm -Ln"},
	},
	Explains: []string{"director.no-virtual-service", "trace.director-not-forwarding"},
	Run: func(p *Pass) {
		for _, h := range p.Case.Hosts {
			if h.IPVS == nil || !h.IPVS.DPVS {
				continue
			}
			for _, vs := range h.IPVS.Services {
				if vs.FWMark != 0 || vs.Port != 0 || vs.Proto == "FWM" {
					continue
				}
				p.Report(diagnosis.Finding{
					Severity: diagnosis.Critical,
					Host:     h.Name,
					Title:    fmt.Sprintf("%s is a port-0 (all ports) service on DPVS, which cannot forward it", vs.Key()),
					Explanation: "The table is DPVS's (its ipvsadm banner prints size=0; the kernel's prints its connection table's size). " +
						"The kernel's IPVS serves a port-0 service through a catch-all lookup (ip_vs_service_find in " +
						"net/netfilter/ipvs/ip_vs_ctl.c falls back to port zero); DPVS's lookup (dp_vs_service_lookup in " +
						"src/ipvs/ip_vs_service.c) matches the exact port and has no such fallback, and its maintainers do not " +
						"support port-0 services (templated connections do not fit its per-core tables). The service is listed " +
						"but no packet to a real port finds it: DPVS logs the connection lookup as a miss and forwards nothing.",
					Evidence: []evidence.Ref{vs.Ref, h.IPVS.TableRef},
					Fix: []string{
						fixCmd(fmt.Sprintf("ipvsadm -D %s", ipvsadmServiceArg(vs)), "on %s: remove the port-0 service", h.Name),
						fixStep("add one service per port the clients use (ipvsadm -A -t %s:PORT ... and its real servers), or serve the all-ports service from the kernel's IPVS", vs.Addr),
					},
				})
			}
		}
	},
}

// ipvsadmServiceArg is the -t/-u argument that names vs, as ipvsadm
// takes it (a port-0 service by its address alone).
func ipvsadmServiceArg(vs *evidence.VirtualService) string {
	addr := vs.Addr.String()
	if vs.Addr.Is6() {
		addr = "[" + addr + "]"
	}
	if vs.Port != 0 {
		addr = fmt.Sprintf("%s:%d", addr, vs.Port)
	}
	switch vs.Proto {
	case "UDP":
		return "-u " + addr
	case "SCTP":
		return "--sctp-service " + addr
	}
	return "-t " + addr
}
