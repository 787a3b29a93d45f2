package nft

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

func seed(f *testing.F) {
	files, _ := filepath.Glob("testdata/*")
	for _, p := range files {
		if filepath.Ext(p) == ".md" {
			continue
		}
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
}

func check(t *testing.T, doc evidence.Doc, rs Ruleset) {
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
}

func FuzzParseText(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, s string) {
		doc := evidence.Doc{Source: "f", Text: s, Command: "nft list chain inet filter input"}
		rs, _ := ParseText(doc)
		check(t, doc, rs)
	})
}

func FuzzParseJSON(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, s string) {
		doc := evidence.Doc{Source: "f", Text: s}
		rs, _ := ParseJSON(doc)
		check(t, doc, rs)
	})
}
