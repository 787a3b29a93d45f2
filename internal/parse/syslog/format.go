package syslog

import (
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
	"github.com/lvsdoctor/lvsdoctor/internal/messages"
)

// logSniffRE: keepalived's own log lines, kernel lines lvsdoctor reads.
var logSniffRE = regexp.MustCompile(`(?m)\bKeepalived(?:_vrrp|_healthcheckers|_checker|_bfd)?(?:\[\d+\])?: |^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4}: (?:Starting Keepalived|\(\S+\) Entering \w+ STATE)|^\[\s*\d+\.\d{6}\] |^\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4}\] |^[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \S+ kernel: |^\((?:\S+: )?Line \d+\) (?:Unknown keyword|PARSER)`)

// Formats is what this package reads: keepalived and kernel logs
// (journalctl, dmesg, /var/log/messages, `keepalived -t`).
func Formats() []format.Format {
	return []format.Format{{
		Name:     "logs",
		MaxBytes: format.LargeOutput,
		Commands: format.Patterns(
			`^journalctl\b`,
			`^(?:\S*/)?dmesg\b`,
			`^(?:\S*/)?keepalived\b.*\s(?:-t|--config-test)\b`,
			`^(?:cat|less|more|tail|head|zcat|grep|egrep|zgrep)\b.*(?:/var/log/(?:messages|syslog|kern\.log|keepalived)|keepalived\S*\.log)`,
		),
		Files: format.Patterns(
			`^keepalived.*\.log$`,
			`^journal`,
			`^messages(?:[-.]\d+)?(?:\.(?:txt|log))?$`,
			`^dmesg`,
			`^kern\.log`,
			`^syslog(?:[-.]\d+)?(?:\.(?:txt|log))?$`,
		),
		Sniff: func(head string) bool {
			return logSniffRE.MatchString(head) || LoggedMessage(head) || kubeProxyLines(head)
		},
		// A log of errors is evidence: "send advert error 1 (Operation not
		// permitted)" is keepalived saying its adverts are dropped, not a
		// command that failed to run.
		ErrorIsEvidence: func(doc evidence.Doc) bool {
			evs, _ := ParseLog(doc)
			return len(evs) > 0
		},
		Apply: applyLogs,
	}}
}

// applyLogs keeps the keepalived and kernel log lines that matter.
func applyLogs(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	evs, probs := ParseLog(doc)
	h.Logs = append(h.Logs, evs...)
	h.MarkSeen(evidence.KindLogs, format.BlockRef(doc))
	return probs
}

// kubeProxyLines reports whether a line of head is kube-proxy's own log
// line: klog's bare form as `kubectl logs` prints it ("E0318 12:34:56.789012
// 1 proxier.go:1950] msg"), or a journal's or syslog's line of the
// kube-proxy unit, in any locale's date. Other components' klog lines are
// not evidence lvsdoctor reads, and do not make a block a log.
func kubeProxyLines(head string) bool {
	for line := range strings.Lines(head) {
		h := splitHeader(strings.TrimSuffix(line, "\n"))
		if h.msg != "" && h.prog != "" && isKubeProxy(h.prog, strings.TrimSpace(h.msg)) {
			return true
		}
	}
	return false
}

// LoggedMessage reports whether a line of head is a message of the table
// (internal/messages) that a log holds: keepalived's or the kernel's, on a
// line of its own, without the syslog prefix a paste often leaves out, or
// a daemon's (dockerd's, kube-proxy's) that programs IPVS.
// Messages a command prints on its own (ipvsadm's errors) belong to that
// command's output.
//
// ipvsadm's errors count after an ipvsadm command line of the same block
// (a transcript without prompts): "ipvsadm -L -t ip:port" then "Memory
// allocation problem" is ipvsadm saying the service does not exist.
func LoggedMessage(head string) bool {
	ipvsadm := false
	for line := range strings.Lines(head) {
		line = strings.TrimRight(line, "\r\n")
		if strings.Contains(line, "ipvsadm") && reIpvsadmCmd.MatchString(line) {
			ipvsadm = true
			continue
		}
		e, ok := messages.Match(strings.TrimSpace(line))
		if ok && (e.Log == "keepalived" || e.Log == "kernel" || e.Log == "daemon" || (ipvsadm && e.Project == "ipvsadm" && e.Decides())) {
			return true
		}
	}
	return false
}
