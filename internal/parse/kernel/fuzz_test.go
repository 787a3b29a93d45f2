package kernel

import (
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/parsetest"
)

func FuzzParseKernel(f *testing.F) {
	parsetest.Seed(f)
	f.Fuzz(func(t *testing.T, s string) {
		doc := evidence.Doc{Host: "h", Source: "f.txt", Start: 3, Text: s}
		k, probs := ParseUname(doc)
		if k.Release != "" {
			parsetest.CheckRef(t, doc, k.Ref)
		}
		g, p2 := ParseGrubby(doc)
		for _, e := range g.Entries {
			parsetest.CheckRef(t, doc, e.Ref)
		}
		g.Apply(&k)
		pk, p3 := ParsePackages(doc)
		for _, e := range pk {
			parsetest.CheckRef(t, doc, e.Ref)
		}
		AddInstalled(&k, pk...)
		bk, _ := ParseBootDir(doc)
		for _, e := range bk {
			parsetest.CheckRef(t, doc, e.Ref)
		}
		mods, p4 := ParseModules(doc)
		for _, r := range mods {
			parsetest.CheckRef(t, doc, r)
		}
		mi, _ := ParseModinfo(doc, "ip_vs")
		if mi.Found {
			parsetest.CheckRef(t, doc, mi.Ref)
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
