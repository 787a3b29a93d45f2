package rules

import (
	"fmt"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var keepalivedNotRunning = &Rule{
	ID:   "keepalived.not-running",
	Doc:  "keepalived refused to start (\"daemon is already running\": a stale pid file whose pid was reused, as in a restarted container) and nothing runs VRRP or the checkers.",
	Rank: 2,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindLogs, Command: "journalctl -u keepalived --since -1d"},
	},
	Explains: []string{"director.vip-not-local", "director.no-virtual-service", "director.no-available-realserver", "director.config-drift"},
	Run: func(p *Pass) {
		for _, h := range p.Case.Hosts {
			checkKeepalivedNotRunning(p, h)
		}
	},
}

func checkKeepalivedNotRunning(p *Pass, h *evidence.Host) {
	at := -1
	for i, l := range h.Logs {
		if l.Message == "keepalived.core.already-running" {
			at = i
		}
	}
	if at < 0 {
		return
	}
	refused := h.Logs[at]
	ev := []evidence.Ref{refused.Ref}
	// The start it answered, when logged: its version and line.
	for i := at - 1; i >= 0; i-- {
		if h.Logs[i].Kind == evidence.LogKeepalivedVersion {
			ev = append(ev, h.Logs[i].Ref)
			break
		}
	}
	// keepalived logging VRRP or checks afterwards is a keepalived that
	// runs: the refusal was a second start of a running daemon.
	var after *evidence.LogEvent
	for i := at + 1; i < len(h.Logs); i++ {
		if isKeepalivedActivity(h.Logs[i].Kind) {
			after = &h.Logs[i]
			break
		}
	}
	if after != nil {
		p.Notef("keepalived on %s refused a second start (%s, \"daemon is already running\"), but its log goes on (%s): the one already running does the work", h.Name, refused.Ref, after.Ref)
		return
	}
	p.Report(diagnosis.Finding{
		Severity: diagnosis.Critical,
		Host:     h.Name,
		Title:    fmt.Sprintf("keepalived on %s refused to start: \"daemon is already running\", and nothing of it runs after", h.Name),
		Explanation: "At start keepalived reads its pid file and, when the pid in it names a live process, says \"daemon is already running\" " +
			"and exits (keepalived_running() in keepalived/core/main.c). Nothing it logged afterwards shows VRRP or a checker at work: " +
			"the pid file is stale. It is left behind when keepalived is killed without its cleanup (a container stopped or removed while " +
			"keepalived runs), and in a container's own PID namespace the same small pid is soon another live process, so every start " +
			"refuses. No VRRP, no VIP, no IPVS table from this keepalived.",
		Evidence: ev,
		Fix: []string{
			fixCmd("cat /var/run/keepalived.pid /var/run/vrrp.pid /var/run/checkers.pid", "on %s: the pids keepalived finds; ps -p with each shows it is not keepalived", h.Name),
			fixCmd("rm -f /var/run/keepalived.pid /var/run/vrrp.pid /var/run/checkers.pid", "on %s, with no keepalived process left (pgrep -a keepalived): remove the stale pid files, then start keepalived", h.Name),
			fixStep("in a container: do not bind-mount /var/run (or the pid file) from the host, and stop keepalived before the container (docker stop's grace period, compose's stop_grace_period)"),
		},
	})
}

// isKeepalivedActivity: a line only a running keepalived logs.
func isKeepalivedActivity(kind string) bool {
	switch kind {
	case evidence.LogVRRPMaster, evidence.LogVRRPBackup, evidence.LogVRRPFault, evidence.LogGARPSent,
		evidence.LogRSAdded, evidence.LogRSRemoved, evidence.LogCheckFailed, evidence.LogVRRPPeerPriority:
		return true
	}
	return strings.HasPrefix(kind, "vrrp-")
}
