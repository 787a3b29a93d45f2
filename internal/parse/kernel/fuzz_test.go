package kernel

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

func seedAll(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.txt"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
}

// checkRef fails when a fact cites a line outside the document.
func checkRef(t *testing.T, doc evidence.Doc, r evidence.Ref) {
	t.Helper()
	n := len(doc.Lines())
	if r.Line < doc.Start || r.Line >= doc.Start+n || r.Source != doc.Source {
		t.Fatalf("ref %+v outside document of %d lines starting at %d", r, n, doc.Start)
	}
}

func FuzzParseKernel(f *testing.F) {
	seedAll(f)
	f.Fuzz(func(t *testing.T, s string) {
		doc := evidence.Doc{Host: "h", Source: "f.txt", Start: 3, Text: s}
		k, probs := ParseUname(doc)
		if k.Release != "" {
			checkRef(t, doc, k.Ref)
		}
		g, p2 := ParseGrubby(doc)
		for _, e := range g.Entries {
			checkRef(t, doc, e.Ref)
		}
		g.Apply(&k)
		pk, p3 := ParsePackages(doc)
		for _, e := range pk {
			checkRef(t, doc, e.Ref)
		}
		AddInstalled(&k, pk...)
		bk, _ := ParseBootDir(doc)
		for _, e := range bk {
			checkRef(t, doc, e.Ref)
		}
		mods, p4 := ParseModules(doc)
		for _, r := range mods {
			checkRef(t, doc, r)
		}
		mi, _ := ParseModinfo(doc, "ip_vs")
		if mi.Found {
			checkRef(t, doc, mi.Ref)
		}
		for _, ps := range [][]evidence.Problem{probs, p2, p3, p4} {
			for _, p := range ps {
				if p.Line < doc.Start || p.Line >= doc.Start+len(doc.Lines()) {
					t.Fatalf("problem %+v outside document", p)
				}
			}
		}
	})
}
