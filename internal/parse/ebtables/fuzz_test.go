package ebtables

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.txt")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		doc := evidence.Doc{Source: "f", Text: s, Command: "ebtables -t nat -L --Lc"}
		rs, _ := Parse(doc)
		n := len(doc.Lines())
		for _, r := range rs.Rules {
			if r.Ref.Line < 1 || r.Ref.Line > n {
				t.Fatalf("rule ref line %d outside 1..%d", r.Ref.Line, n)
			}
		}
		for _, c := range rs.Chains {
			if c.Ref.Line < 1 || c.Ref.Line > n {
				t.Fatalf("chain ref line %d outside 1..%d", c.Ref.Line, n)
			}
		}
	})
}
