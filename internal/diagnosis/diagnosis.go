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
	Schema   string             `json:"schema"`
	Service  Service            `json:"service"`
	Hosts    []Host             `json:"hosts"`
	Findings []Finding          `json:"findings"`
	Notes    []string           `json:"notes"`
	Problems []evidence.Problem `json:"input_problems,omitempty"`
	// PacketPath is the service's path through the case's captures, hop
	// by hop, as the packet tracer computed it for the rules (absent
	// when the case has no captures).
	PacketPath *trace.Path `json:"packet_path,omitempty"`
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

// HasCritical reports whether any finding is critical.
func (d *Diagnosis) HasCritical() bool {
	for _, f := range d.Findings {
		if f.Severity == Critical {
			return true
		}
	}
	return false
}
