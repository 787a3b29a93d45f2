package platform

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

func FuzzParsePlatform(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.txt"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b), "dmidecode -s system-product-name")
	}
	f.Fuzz(func(t *testing.T, s, cmd string) {
		doc := evidence.Doc{Host: "h", Source: "f.txt", Start: 2, Command: cmd, Text: s}
		n := len(doc.Lines())
		within := func(r evidence.Ref) {
			if !r.IsZero() && (r.Line < 2 || r.Line >= 2+n) {
				t.Fatalf("ref %+v outside %d lines", r, n)
			}
		}
		p, probs := ParseOSRelease(doc)
		within(p.Ref)
		d, p2 := ParseDMI(doc)
		within(d.Ref)
		Merge(&p, d)
		hc, p3 := ParseHostnamectl(doc)
		within(hc.Platform.Ref)
		if hc.Kernel != "" {
			within(hc.KernelRef)
		}
		p2 = append(p2, p3...)
		CloudVendor(p)
		for _, pr := range append(probs, p2...) {
			if pr.Line < 2 || pr.Line >= 2+n {
				t.Fatalf("problem %+v outside", pr)
			}
		}
	})
}
