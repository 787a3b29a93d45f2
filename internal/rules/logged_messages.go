package rules

import (
	"fmt"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/catalog"
	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/messages"
)

// Logged messages. keepalived, the kernel and ipvsadm print a few lines
// that their sources tie to one cause and nothing else: "IPVS: Can't
// initialize ipvs: Protocol not available", "nf_conntrack: table full,
// dropping packet", keepalived's "VRID mismatch actual MASTER advert".
// internal/messages is that table, each entry read in its program's
// source. Such a line is evidence on its own: a log pasted alone names
// its cause. So when a rule could not run for want of the outputs it
// reads, the engine asks ReportLogged, which reports the rule's cause from
// the lines logged on any host that name it and no other cause: the log
// says what those outputs would have shown. Where the outputs are there,
// the rule's reading of them decides (a table with services outweighs an
// old "Can't initialize ipvs"), and a line that may mean two causes (a
// failed check: a wrong check, or a dead application) is left to them.

// maxLoggedRefs bounds the lines cited per host: the first ones, which
// say when it started.
const maxLoggedRefs = 3

// ReportLogged reports the rule's cause on each host whose logs hold a
// message of the table that names it; nothing when the service's mode is
// not one the rule concerns.
func (p *Pass) ReportLogged() {
	if len(p.Topo.Services) > 0 && !p.rule.AppliesTo(p.Topo.Services[0].Mode) {
		return
	}
	cause, ok := catalog.Lookup(p.rule.ID)
	if !ok {
		return
	}
	for _, h := range p.Case.Hosts {
		if p.rule.Disputed != nil && p.rule.Disputed(h) {
			continue
		}
		var refs []evidence.Ref
		var first *messages.Entry
		for _, l := range h.Logs {
			if l.Message == "" {
				continue
			}
			e, ok := messages.Lookup(l.Message)
			if !ok || !e.Decides() || len(e.Causes) != 1 || e.Causes[0] != p.rule.ID {
				continue
			}
			if first == nil {
				first = e
			}
			if len(refs) < maxLoggedRefs {
				refs = append(refs, l.Ref)
			}
		}
		if first == nil {
			continue
		}
		sev := diagnosis.Critical
		if p.rule.Rank >= 30 {
			sev = diagnosis.Warning // a condition that explains part of the traffic
		}
		why := first.Why
		if first.Note != "" {
			why = strings.TrimSpace(why + " " + first.Note)
		}
		p.Report(diagnosis.Finding{
			Severity: sev,
			Host:     h.Name,
			Title:    fmt.Sprintf("%s logged what %s means: %s", h.Name, p.rule.ID, cause.Breaks),
			Explanation: fmt.Sprintf("The line is %s's own message (%s, in %s of %s %s): %s",
				first.Project, first.ID, first.Source, first.Repo, first.Version, orName(why, cause.Breaks)),
			Evidence: refs,
			Fix:      []string{fixStep("%s (lvsdoctor explain %s)", cause.Fix, p.rule.ID)},
		})
	}
}
