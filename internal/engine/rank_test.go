package engine

import (
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/rules"
)

func TestRankRootCauseFirst(t *testing.T) {
	rs := []*rules.Rule{
		{ID: "director.fnat-local-address-not-local", Rank: 10, Explains: []string{"director.return-path-missing"}},
		{ID: "director.return-path-missing", Rank: 50},
		{ID: "hypervisor.nwfilter-no-ip-spoofing", Rank: 10, Explains: []string{"trace.lost-in-transit"}},
		{ID: "trace.lost-in-transit", Rank: 85},
		{ID: "rs.arp-not-suppressed", Rank: 20},
	}
	fs := []diagnosis.Finding{
		{ID: "director.return-path-missing", Host: "lvs-a", Severity: diagnosis.Critical, Rank: 50},
		{ID: "rs.arp-not-suppressed", Host: "rs1", Severity: diagnosis.Warning, Rank: 20},
		{ID: "director.fnat-local-address-not-local", Host: "lvs-a", Severity: diagnosis.Warning, Rank: 10},
	}
	got := Rank(fs, rs)
	want := []string{"director.fnat-local-address-not-local", "director.return-path-missing", "rs.arp-not-suppressed"}
	for i, id := range want {
		if got[i].ID != id {
			t.Fatalf("order = %v, want %v", ids(got), want)
		}
	}
	if len(got[1].CausedBy) != 1 || got[1].CausedBy[0] != "director.fnat-local-address-not-local@lvs-a" {
		t.Errorf("consequence not linked: %+v", got[1].CausedBy)
	}

	// A symptom that nothing explains stays after deeper causes of equal severity.
	fs = []diagnosis.Finding{
		{ID: "trace.lost-in-transit", Host: "rs1", Severity: diagnosis.Critical, Rank: 85},
		{ID: "rs.arp-not-suppressed", Host: "rs1", Severity: diagnosis.Critical, Rank: 20},
	}
	got = Rank(fs, rs)
	if got[0].ID != "rs.arp-not-suppressed" || len(got[1].CausedBy) != 0 {
		t.Errorf("order = %v", ids(got))
	}
}

func ids(fs []diagnosis.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	return out
}

// TestRankSeverityIsImpact: a warning-level cause of a critical
// consequence is critical and says why; a cause with nothing critical
// under it keeps its severity; every finding knows whether it leads.
func TestRankSeverityIsImpact(t *testing.T) {
	rs := []*rules.Rule{
		{ID: "director.health-check-mismatch", Rank: 10, Explains: []string{"director.no-available-realserver"}},
		{ID: "director.no-available-realserver", Rank: 5},
		{ID: "rs.tcp-tw-recycle", Rank: 28},
	}
	fs := []diagnosis.Finding{
		{ID: "director.no-available-realserver", Host: "ds1", Severity: diagnosis.Critical, Rank: 5},
		{ID: "rs.tcp-tw-recycle", Host: "rs1", Severity: diagnosis.Warning, Rank: 28},
		{ID: "director.health-check-mismatch", Host: "ds1", Severity: diagnosis.Warning, Rank: 10},
	}
	got := Rank(fs, rs)
	if got[0].ID != "director.health-check-mismatch" || got[0].Severity != diagnosis.Critical || !got[0].RootCause ||
		got[0].SeverityFrom != "critical because it causes director.no-available-realserver@ds1" {
		t.Errorf("the cause of a critical consequence: %+v", got[0])
	}
	if got[1].RootCause || len(got[1].CausedBy) != 1 {
		t.Errorf("the consequence: %+v", got[1])
	}
	if got[2].ID != "rs.tcp-tw-recycle" || got[2].Severity != diagnosis.Warning || !got[2].RootCause || got[2].SeverityFrom != "" {
		t.Errorf("an independent warning: %+v", got[2])
	}
	d := diagnosis.Diagnosis{Findings: []diagnosis.Finding{{ID: "x", Severity: diagnosis.Critical, CausedBy: []string{"y@h"}}, {ID: "y", Host: "h", Severity: diagnosis.Warning, RootCause: true}}}
	if d.HasCritical() {
		t.Errorf("a critical consequence alone set the exit status")
	}
}
