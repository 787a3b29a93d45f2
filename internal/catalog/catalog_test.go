package catalog

import "testing"

// Every cause documents what breaks, how it shows, the fix and how to
// confirm the fix (lvsdoctor explain prints them).
func TestCatalogComplete(t *testing.T) {
	if len(All()) < 49 {
		t.Fatalf("catalog has %d causes", len(All()))
	}
	for _, c := range All() {
		if c.ID == "" || c.Area == "" || c.Breaks == "" || c.Evidence == "" || c.Confirm == "" {
			t.Errorf("%s: incomplete entry %+v", c.ID, c)
		}
		if c.Fix == "" && c.Area != "Packet path (multi-point captures and kernel drop tracing)" {
			t.Errorf("%s: no fix", c.ID)
		}
	}
	if _, ok := Lookup("rs.rp-filter-strict"); !ok {
		t.Error("lookup failed")
	}
}
