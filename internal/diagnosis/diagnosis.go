// Package diagnosis is the result of a run: the findings, ranked, with
// their evidence, and what could not be checked. It is what every
// renderer prints and what the JSON contract (schema lvsdoctor/v1) fixes.
package diagnosis

import (
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/finding"
	"github.com/lvsdoctor/lvsdoctor/internal/trace"
)

// Schema names the JSON contract.
const Schema = "lvsdoctor/v1"

// Severity of a finding.
type Severity = finding.Severity

const (
	Critical = finding.Critical
	Warning  = finding.Warning
	Info     = finding.Info
)

// Diagnosis is one run's result.
type Diagnosis struct {
	Schema   string    `json:"schema"`
	Service  Service   `json:"service"`
	Hosts    []Host    `json:"hosts"`
	Findings []Finding `json:"findings"`
	Notes    []string  `json:"notes"`
	// NextSteps are the commands that would settle most of what is left
	// open (at most MaxNextSteps, the most telling first), with the
	// case's values filled in. Each is also among Notes, as a sentence.
	NextSteps []NextStep         `json:"next_steps,omitempty"`
	Problems  []evidence.Problem `json:"input_problems,omitempty"`
	// PacketPath is the service's path through the case's captures, hop
	// by hop, as the packet tracer computed it for the rules (absent
	// when the case has no captures).
	PacketPath *trace.Path `json:"packet_path,omitempty"`
	// Clock says in which zone the report's times are (the packet
	// path's, the captures' evidence lines) and what the logs' times,
	// printed without a zone, are taken to be in; absent when no time is
	// shown.
	Clock *Clock `json:"clock,omitempty"`
	// Coverage says how much of the input was understood and how many of
	// the checks for the service's mode could run: what a "no problem
	// found" rests on.
	Coverage Coverage `json:"coverage"`
}

// Coverage is what a diagnosis rests on.
type Coverage struct {
	Blocks     int `json:"blocks"`     // blocks of input with content (a command's output, a file)
	Understood int `json:"understood"` // of them, read by a format lvsdoctor knows
	// Service is whether a virtual service could be identified (from
	// ipvsadm, keepalived.conf, case.yaml or --vip).
	Service   bool `json:"service_identified"`
	Checks    int  `json:"checks"`     // causes that apply to the service's forwarding mode
	ChecksRun int  `json:"checks_run"` // of them, those whose evidence was given
	// Verdict sums it up: findings, no-problem (the checks that matter
	// ran), partial (no cause found, but most checks could not run),
	// no-service (no service to check), nothing-usable (no input was
	// understood).
	Verdict string `json:"verdict"`
}

// Verdicts of a diagnosis.
const (
	VerdictFindings      = "findings"
	VerdictNoProblem     = "no-problem"
	VerdictPartial       = "partial"
	VerdictNoService     = "no-service"
	VerdictNothingUsable = "nothing-usable"
)

// Inconclusive reports whether the input did not allow a diagnosis at
// all: nothing was understood, or no service could be identified and
// nothing was found. It is an input error (exit status 2), never a clean
// bill of health.
func (c Coverage) Inconclusive() bool {
	return c.Verdict == VerdictNothingUsable || c.Verdict == VerdictNoService
}

// Service is the virtual service diagnosed.
type Service struct {
	VIP   string `json:"vip,omitempty"`
	Port  uint16 `json:"port,omitempty"`
	Proto string `json:"proto,omitempty"`
	Mode  string `json:"mode,omitempty"`
}

// Host is a host of the case and its role.
type Host struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// Finding is one diagnosed cause.
type Finding = finding.Finding

// Clock is the one zone a report shows times in.
type Clock struct {
	// Zone names it: "UTC", "UTC+08:00".
	Zone   string `json:"zone"`
	Offset int    `json:"offset_seconds"`
	// Basis says why: the printout that shows a host's local time, or
	// that captures keep UTC.
	Basis string `json:"basis"`
	// From is the line that shows the zone, when one does.
	From *evidence.Ref `json:"from,omitempty"`
	// LogsAssumed lists the hosts whose log times (printed without a zone)
	// are taken to be in Zone with nothing in their evidence to say so.
	LogsAssumed []string `json:"logs_assumed,omitempty"`
	// Note says what else to know of the clocks, e.g. hosts whose logs
	// are in another zone than the report's.
	Note string `json:"note,omitempty"`
}

// MaxNextSteps is how many next steps a diagnosis carries.
const MaxNextSteps = 3

// NextStep is one command that would settle open questions: checks that
// could not run for want of its output.
type NextStep struct {
	// On is where to run it: a host of the case, or the hosts of a role
	// the case has no evidence of ("each real server: 192.0.2.11, ...").
	On string `json:"on"`
	// Command is a command line to paste, nothing else: the case's VIP,
	// port, client, interface and host are filled in.
	Command string `json:"command"`
	// When says when it must run to show anything ("while the client
	// retries"); empty when any time will do.
	When string `json:"when,omitempty"`
	// Why says what its output decides.
	Why string `json:"why"`
	// Settles lists the causes (catalog IDs) whose checks it lets run.
	Settles []string `json:"settles"`
}

// Note is the step as one sentence of the notes.
func (s NextStep) Note() string {
	when := ""
	if s.When != "" {
		when = " (" + s.When + ")"
	}
	return "run `" + s.Command + "` on " + s.On + when + ": " + s.Why
}

// HasCritical reports whether a root cause is critical. A consequence
// does not set the exit status on its own: its cause carries its
// severity (see engine.Rank).
func (d *Diagnosis) HasCritical() bool {
	for _, f := range d.Findings {
		if f.Severity == Critical && (f.RootCause || len(f.CausedBy) == 0) {
			return true
		}
	}
	return false
}
