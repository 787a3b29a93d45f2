// Package finding is one diagnosed cause with its evidence: what rules
// report, the packet tracer reports, and the diagnosis ranks. It sits
// below both so that a diagnosis can carry the packet path the tracer
// computes (package diagnosis re-exports these names).
package finding

import "github.com/lvsdoctor/lvsdoctor/internal/evidence"

// Severity of a finding.
type Severity string

const (
	Critical Severity = "critical" // breaks the traffic on its own
	Warning  Severity = "warning"  // breaks it under some conditions, or a trap
	Info     Severity = "info"     // context
)

// Rank orders severities, most severe first.
func (s Severity) Rank() int {
	switch s {
	case Critical:
		return 0
	case Warning:
		return 1
	}
	return 2
}

// Finding is one diagnosed cause.
type Finding struct {
	ID          string         `json:"id"`
	Severity    Severity       `json:"severity"`
	Host        string         `json:"host"`
	Title       string         `json:"title"`
	Explanation string         `json:"explanation"`
	Evidence    []evidence.Ref `json:"evidence"`
	Fix         []string       `json:"fix"`
	// CausedBy names findings (by id@host) that explain this one: a
	// consequence is reported after its cause and linked to it.
	CausedBy []string `json:"caused_by,omitempty"`
	// Rank is the rule's place in the root-cause order (lower = deeper
	// cause). Not part of the contract; kept for renderers and tests.
	Rank int `json:"-"`
	// Explains adds, for this finding only, causes it is the reason for
	// (beyond its rule's): a rule sets it when the evidence makes the
	// link sure, e.g. a full conntrack table that also killed the checks.
	Explains []string `json:"-"`
	// RootCause is true for a finding that leads its group: nothing else
	// found explains it. The others are its consequences (CausedBy).
	RootCause bool `json:"root_cause"`
	// SeverityFrom, when set, says why a root cause is more severe than
	// its rule alone would make it: the consequence it causes ("critical:
	// it causes trace.director-not-forwarding@ds1"). Severity is the
	// impact on the traffic, and a cause has its consequences' impact.
	SeverityFrom string `json:"severity_from,omitempty"`
}

// Key identifies a finding within a diagnosis.
func (f Finding) Key() string { return f.ID + "@" + f.Host }
