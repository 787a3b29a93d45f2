package rules

import (
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/catalog"
)

// Every rule carries a catalog ID, a doc and a rank; IDs are unique.
func TestRulesDeclareThemselves(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range All() {
		if _, ok := catalog.Lookup(r.ID); !ok {
			t.Errorf("rule %s: not in the catalog", r.ID)
		}
		if seen[r.ID] {
			t.Errorf("rule %s twice", r.ID)
		}
		seen[r.ID] = true
		if r.Doc == "" || r.Run == nil || r.Rank == 0 {
			t.Errorf("rule %s: missing doc, run or rank", r.ID)
		}
		for _, e := range r.Explains {
			if _, ok := catalog.Lookup(e); !ok {
				t.Errorf("rule %s explains unknown cause %s", r.ID, e)
			}
		}
		for _, n := range r.Needs {
			if n.Command == "" || n.Kind == "" {
				t.Errorf("rule %s: need without command or kind", r.ID)
			}
		}
	}
}
