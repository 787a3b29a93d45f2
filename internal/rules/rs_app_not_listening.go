package rules

import (
	"fmt"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var rsAppNotListening = &Rule{
	ID:       "rs.app-not-listening",
	Doc:      "Nothing listens on the real server's service port.",
	Rank:     25,
	Needs:    []Need{{Role: evidence.RoleRealServer, Kind: evidence.KindListeners, Command: "ss -lntup"}},
	Explains: []string{"trace.rs-not-replying", "kernel.drop"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if s.Proto == "" {
				continue
			}
			for _, h := range p.RealServersOf(s) {
				port := rsPort(p, s, h)
				if port == 0 || !h.Has(evidence.KindListeners) || len(listenersOn(h, s.Proto, port)) > 0 {
					continue
				}
				p.Report(diagnosis.Finding{
					Severity:    diagnosis.Critical,
					Host:        h.Name,
					Title:       fmt.Sprintf("nothing listens on %s port %d on %s", s.Proto, port, h.Name),
					Explanation: "The listening sockets of the real server show no socket on the service port: forwarded connections are refused (TCP RST) or dropped (UDP).",
					Evidence:    []evidence.Ref{seenRef(h, evidence.KindListeners)},
					Fix:         []string{fmt.Sprintf("start the service on %s, listening on 0.0.0.0:%d (or the VIP)", h.Name, port)},
				})
			}
		}
	},
}
