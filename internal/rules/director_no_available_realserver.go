package rules

import (
	"fmt"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var directorNoAvailableRealserver = &Rule{
	ID:       "director.no-available-realserver",
	Doc:      "The virtual service exists but has no real server that can take a connection (none, or all weight 0).",
	Rank:     8,
	Needs:    []Need{{Role: evidence.RoleDirector, Kind: evidence.KindIPVS, Command: "ipvsadm -Ln"}},
	Explains: []string{"trace.director-not-forwarding", "kernel.drop"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			for _, d := range p.ActiveDirectors(s) {
				vs := s.IPVS[d.Name]
				if vs == nil {
					continue
				}
				usable, known := 0, 0
				// The real servers' weights decide (the service line when it
				// has none); then the logs that say why.
				var ev []evidence.Ref
				for _, rs := range vs.Dests {
					// A --stats or --rate listing prints no weights: a real
					// server without a forwarding method was seen that way.
					if rs.Method == "" {
						continue
					}
					known++
					if rs.Weight > 0 {
						usable++
					}
					ev = append(ev, rs.Ref)
				}
				if usable > 0 || (known == 0 && len(vs.Dests) > 0) {
					continue
				}
				if vs.Filtered {
					// grep kept the service line and dropped its real
					// servers' lines: a partial view, not an empty service.
					p.Notef("%s on %s shows no real server, but its listing was filtered or cut, so they may have been left out: the unfiltered `ipvsadm -Ln` would show them",
						vs.Key(), d.Name)
					continue
				}
				ev = append(ev, vs.Ref)
				for _, l := range d.Logs {
					if l.Kind == evidence.LogRSRemoved || l.Kind == evidence.LogCheckFailed {
						ev = append(ev, l.Ref)
					}
				}
				what := "no real server"
				if len(vs.Dests) > 0 {
					what = fmt.Sprintf("all %d real servers have weight 0", len(vs.Dests))
				}
				p.Report(diagnosis.Finding{
					Severity: diagnosis.Critical,
					Host:     d.Name,
					Title:    fmt.Sprintf("%s on %s has %s", vs.Key(), d.Name, what),
					Explanation: "IPVS has nowhere to send new connections: they are dropped (or answered with a reset). " +
						"Real servers disappear or get weight 0 when health checks fail (inhibit_on_failure keeps them at 0).",
					Evidence: ev,
					Fix: []string{
						fixCmd("journalctl -u keepalived | grep -i -e check -e 'removing service' -e 'adding service' | tail -20", "on %s: what the health checks report; fix that on the real servers, or the checks", d.Name),
						fixCmd("ipvsadm -Ln -t "+hostPortOf(s), "weights must be > 0 again"),
					},
				})
			}
		}
	},
}
