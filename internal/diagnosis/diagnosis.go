// Package diagnosis is the result of a run: the findings, ranked, with
// their evidence, and what could not be checked. It is what every
// renderer prints and what the JSON contract (schema lvsdoctor/v1) fixes.
package diagnosis

import "github.com/lvsdoctor/lvsdoctor/internal/evidence"

// Schema names the JSON contract.
const Schema = "lvsdoctor/v1"

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

// Diagnosis is one run's result.
type Diagnosis struct {
	Schema   string             `json:"schema"`
	Service  Service            `json:"service"`
	Hosts    []Host             `json:"hosts"`
	Findings []Finding          `json:"findings"`
	Notes    []string           `json:"notes"`
	Problems []evidence.Problem `json:"input_problems,omitempty"`
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
}

// Key identifies a finding within a diagnosis.
func (f Finding) Key() string { return f.ID + "@" + f.Host }

// HasCritical reports whether any finding is critical.
func (d *Diagnosis) HasCritical() bool {
	for _, f := range d.Findings {
		if f.Severity == Critical {
			return true
		}
	}
	return false
}
