package rules

import (
	"fmt"
	"path"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var rsAppNotListening = &Rule{
	ID:       "rs.app-not-listening",
	Doc:      "Nothing listens on the real server's service port.",
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
				if port == 0 || !h.Has(evidence.KindListeners) || len(listenersOn(h, s.Proto, port)) > 0 {
					continue
				}
				p.Report(diagnosis.Finding{
					Severity:    diagnosis.Critical,
					Host:        h.Name,
					Title:       fmt.Sprintf("nothing listens on %s port %d on %s", s.Proto, port, h.Name),
					Explanation: "The listening sockets of the real server show no socket on the service port: forwarded connections are refused (TCP RST) or dropped (UDP).",
					// Where the application listens instead tells most; then
					// the listing that shows nothing on the port.
					Evidence: append(appListeners(h, s.Proto), seenRef(h, evidence.KindListeners)),
					Fix: []string{
						fixCmd(listenCmd(s, port), "on %s: nothing yet; start the service listening on 0.0.0.0:%d (or on the VIP)", h.Name, port),
						fixCmd(strings.TrimSpace(strings.Replace(listenCmd(s, port), fmt.Sprintf("'sport = :%d'", port), "", 1)), "where it listens now, if it moved (another port after an upgrade)"),
					},
				})
			}
		}
	},
}

// hostDaemons listen on every server and say nothing about the service.
var hostDaemons = map[string]bool{
	"sshd": true, "chronyd": true, "ntpd": true, "systemd-resolve": true, "systemd-resolved": true, "rpcbind": true,
	"master": true, "dhclient": true, "keepalived": true, "zabbix_agentd": true, "node_exporter": true, "snmpd": true,
	"rsyslogd": true, "systemd": true, "cupsd": true, "avahi-daemon": true, "dnsmasq": true, "containerd": true,
}

// appListeners cites the listeners of proto that are not the host's own
// daemons: where the application listens instead (after an upgrade moved
// it to 8080, or bound it elsewhere) is what to look at next.
func appListeners(h *evidence.Host, proto string) []evidence.Ref {
	var out []evidence.Ref
	for _, l := range h.Listeners {
		name := l.Process
		if i := strings.IndexAny(name, "/: "); i >= 0 && !strings.HasPrefix(name, "/") {
			name = name[:i]
		}
		name = strings.TrimPrefix(path.Base(name), "/")
		if !strings.EqualFold(l.Proto, proto) || hostDaemons[name] || l.Ref.Line == 0 || len(out) >= 4 {
			continue
		}
		out = append(out, l.Ref)
	}
	return out
}
