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
