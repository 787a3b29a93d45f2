package rules

import (
	"fmt"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var directorDRPortRemap = &Rule{
	ID:       "director.dr-port-remap",
	Modes:    []string{"dr", "tun"},
	Doc:      "DR/TUN cannot change the destination port: a real server port that differs from the virtual port never matches.",
	Rank:     7,
	Needs:    []Need{{Role: evidence.RoleDirector, Kind: evidence.KindIPVS, Command: "ipvsadm -Ln"}},
	Explains: []string{"rs.app-not-listening", "rs.app-bound-wrong-address", "trace.rs-not-replying"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if s.Port == 0 {
				continue
			}
			for _, d := range p.ActiveDirectors(s) {
				if vs := s.IPVS[d.Name]; vs != nil {
					for _, rs := range vs.Dests {
						if (rs.Method == evidence.MethodRoute || rs.Method == evidence.MethodTunnel) && rs.Port != 0 && rs.Port != s.Port {
							reportPortRemap(p, d, s.Port, rs.Addr.String(), rs.Port, rs.Method, []evidence.Ref{rs.Ref, vs.Ref})
						}
					}
				}
				// The kernel stores a DR/TUN destination with the virtual
				// port whatever it was given, so `ipvsadm -Ln` hides the
				// mistake: keepalived.conf still shows it.
				if kv := s.Config[d.Name]; kv != nil && (kv.LbKind == "DR" || kv.LbKind == "TUN") {
					for _, rs := range kv.RealServers {
						if rs.Port != 0 && rs.Port != s.Port {
							reportPortRemap(p, d, s.Port, rs.Addr.String(), rs.Port, kv.LbKind, []evidence.Ref{rs.Ref, kv.LbKindRef})
						}
					}
				}
			}
		}
	},
}

func reportPortRemap(p *Pass, d *evidence.Host, vport uint16, rip string, rport uint16, method string, ev []evidence.Ref) {
	p.Report(diagnosis.Finding{
		Severity: diagnosis.Critical,
		Host:     d.Name,
		Title:    fmt.Sprintf("real server %s:%d behind virtual port %d in %s mode: DR/TUN cannot change the port", rip, rport, vport, method),
		Explanation: fmt.Sprintf("In DR and TUN modes the packet reaches the real server unchanged, still for port %d (the kernel "+
			"even records the destination with the virtual port, so `ipvsadm -Ln` shows %d). A service listening on %d never "+
			"sees it; only NAT/FNAT rewrite the port.", vport, vport, rport),
		Evidence: ev,
		Fix: []string{
			fixStep("make the service on %s listen on port %d: DR and TUN cannot change the port", rip, vport),
			fixStep("or forward by NAT (lb_kind NAT in keepalived.conf), which rewrites port %d to %d", vport, rport),
		},
	})
}
