package syslog

import (
	"regexp"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
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
		Sniff: func(head string) bool { return logSniffRE.MatchString(head) },
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
