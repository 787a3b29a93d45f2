package rules

import (
	"fmt"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var rsAppBoundWrongAddress = &Rule{
	ID:       "rs.app-bound-wrong-address",
	Doc:      "The service listens only on the RIP or 127.0.0.1, not on the VIP or the wildcard, so DR/TUN packets addressed to the VIP find no socket.",
	Rank:     25,
	Needs:    []Need{{Role: evidence.RoleRealServer, Kind: evidence.KindListeners, Command: "ss -lntup", Settled: listensOnServicePort}},
	Explains: []string{"trace.rs-not-replying", "kernel.drop"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if s.Proto == "" {
				continue
			}
			for _, h := range p.RealServersOf(s) {
				port := rsPort(p, s, h)
				ls := listenersOn(h, s.Proto, port)
				if len(ls) == 0 {
					continue
				}
				dst := s.VIP
				if !directRouting(s) {
					if rip, ok := p.RIPOf(s, h); ok {
						dst = rip
					} else {
						continue
					}
				}
				ok := false
				var ev []evidence.Ref
				for _, l := range ls {
					if l.Accepts(s.Proto, dst, port) {
						ok = true
					}
					ev = append(ev, l.Ref)
				}
				if ok {
					continue
				}
				p.Report(diagnosis.Finding{
					Severity: diagnosis.Critical,
					Host:     h.Name,
					Title:    fmt.Sprintf("the service on %s listens on port %d but not on %s", h.Name, port, dst),
					Explanation: fmt.Sprintf("Forwarded packets arrive addressed to %s. The socket is bound to another address, "+
						"so the kernel finds no listener for them and answers with a reset (TCP) or port unreachable (UDP), "+
						"although the service answers when tested on its own address.", dst),
					Evidence: ev,
					Fix: []string{
						fixCmd(listenCmd(s, port), "on %s: the process to reconfigure; make it listen on 0.0.0.0:%d (or also on %s), then restart it", h.Name, port, dst),
					},
				})
			}
		}
	},
}
