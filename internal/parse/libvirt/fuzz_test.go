package libvirt

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

func FuzzParseLibvirt(f *testing.F) {
	for _, pat := range []string{"testdata/*.txt", "testdata/stock/*.xml"} {
		files, _ := filepath.Glob(pat)
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(string(b))
		}
	}
	f.Add("<interfacetype='bridge'><filterreffilter='x'><parametername='IP' value='1'/>")
	f.Fuzz(func(t *testing.T, s string) {
		doc := evidence.Doc{Host: "h", Source: "f.xml", Start: 7, Command: "virsh dumpxml d", Text: s}
		n := len(doc.Lines())
		within := func(r evidence.Ref) {
			if r.Line < 7 || r.Line >= 7+max(n, 1) || r.Source != "f.xml" {
				t.Fatalf("ref %+v outside %d lines", r, n)
			}
		}
		ifs, p1 := ParseDomain(doc)
		for _, i := range ifs {
			within(i.Ref)
		}
		fs, p2 := ParseNWFilter(doc)
		for _, f := range fs {
			within(f.Ref)
			for _, r := range f.Rules {
				within(r.Ref)
			}
		}
		es, p3 := ParseNWFilterList(doc)
		for _, e := range es {
			within(e.Ref)
		}
		for _, p := range append(append(p1, p2...), p3...) {
			if p.Line != 0 && (p.Line < 7 || p.Line >= 7+n) {
				t.Fatalf("problem %+v outside %d lines", p, n)
			}
		}
	})
}
