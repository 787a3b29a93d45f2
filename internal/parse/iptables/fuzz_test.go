package iptables

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

func seed(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.txt")
	files2, _ := filepath.Glob("testdata/*.rules")
	for _, p := range append(files, files2...) {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(string(b))
		}
	}
}

func checkRefs(t *testing.T, doc evidence.Doc, rs Ruleset) {
	n := len(doc.Lines())
	for _, r := range rs.Rules {
		if r.Ref.Line < 1 || r.Ref.Line > n {
			t.Fatalf("rule ref line %d outside 1..%d", r.Ref.Line, n)
		}
		for _, p := range r.DPorts {
			if p.From > p.To {
				t.Fatalf("bad range %+v", p)
			}
		}
	}
	for _, c := range rs.Chains {
		if c.Ref.Line < 1 || c.Ref.Line > n {
			t.Fatalf("chain ref line %d outside 1..%d", c.Ref.Line, n)
		}
	}
}

func FuzzParseList(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, s string) {
		doc := evidence.Doc{Source: "f", Text: s, Command: "iptables -L -n -v"}
		rs, _ := ParseList(doc)
		checkRefs(t, doc, rs)
	})
}

func FuzzParseSave(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, s string) {
		doc := evidence.Doc{Source: "f", Text: s}
		rs, _ := ParseSave(doc)
		checkRefs(t, doc, rs)
	})
}
