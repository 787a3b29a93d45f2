package rules

import (
	"fmt"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var directorHealthCheckBlocked = &Rule{
	ID:   "director.health-check-blocked",
	Doc:  "keepalived's checkers cannot run at all: the director refuses their sockets (SELinux context under systemd, a bindto that is not local, an OUTPUT rule), so no real server is ever validated.",
	Rank: 6,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindLogs, Command: "journalctl -u keepalived --since -1d"},
	},
	Explains: []string{"director.no-available-realserver", "director.health-check-mismatch", "director.no-virtual-service", "director.config-drift"},
	Run: func(p *Pass) {
		for _, h := range p.Case.Hosts {
			var refs []evidence.Ref
			n := 0
			for _, l := range h.Logs {
				if l.Message != "" && names(l.Message, "director.health-check-blocked") {
					n++
					if len(refs) < maxLoggedRefs {
						refs = append(refs, l.Ref)
					}
				}
			}
			if n == 0 {
				continue
			}
			p.Report(diagnosis.Finding{
				Severity: diagnosis.Critical,
				Host:     h.Name,
				Title:    fmt.Sprintf("keepalived's checkers on %s cannot open their connections (%d refusal(s) logged): no real server is ever checked", h.Name, n),
				Explanation: "keepalived logs \"WEB socket bind failed. Rescheduling\" when its checker's socket fails before any packet " +
					"leaves: tcp_bind_connect (keepalived/core/layer4.c) returns connect_error for a bind, SO_MARK or SO_BINDTODEVICE refused, " +
					"or a connect() refused by the director itself (EACCES from SELinux, EPERM from an OUTPUT rule), and keeps " +
					"unreachable, refused and timed out for a real server that fails. The check never runs, whatever the real servers do: " +
					"they are never added to the IPVS table (or removed), and the service has none. A keepalived started by systemd runs " +
					"in the SELinux domain of its binary's label (keepalived_t), which may not connect to the checked port, while the same " +
					"keepalived started by hand runs unconfined and works: that difference is the tell.",
				Evidence: refs,
				Fix: []string{
					fixCmd("ausearch -m avc -c keepalived --start recent", "on %s: SELinux denials of keepalived's connects (permissive mode logs them too)", h.Name),
					fixCmd("restorecon -v /usr/sbin/keepalived", "on %s: give the binary its packaged label back (a binary built and copied by hand keeps a wrong one)", h.Name),
					fixCmd("systemctl restart keepalived", "on %s: a restart on the VRRP master fails the VIP over: restart the backup first", h.Name),
					fixStep("otherwise: a bindto in the checker that is not an address of %s, or an OUTPUT rule dropping the checks (iptables-save -c)", h.Name),
				},
			})
		}
	},
}
