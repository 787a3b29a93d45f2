package tcpdump

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.txt"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, s string) {
		doc := evidence.Doc{Host: "h", Source: "h/eth0.txt", Start: 4, Command: "tcpdump -i any", Text: s}
		n := len(doc.Lines())
		fr, probs := Parse(doc)
		if len(fr) > MaxFrames {
			t.Fatalf("%d frames", len(fr))
		}
		for _, f := range fr {
			for _, x := range []*evidence.Frame{&f, f.Inner} {
				if x == nil {
					continue
				}
				if x.Ref.Line < 4 || x.Ref.Line >= 4+n || x.Ref.Source != doc.Source {
					t.Fatalf("ref %+v outside %d lines", x.Ref, n)
				}
				if x.IPID < -1 || x.IPID > 0xffff {
					t.Fatalf("ipid %d", x.IPID)
				}
			}
		}
		if len(probs) > maxProblems+2 {
			t.Fatalf("%d problems", len(probs))
		}
		for _, p := range probs {
			if p.Line != 0 && (p.Line < 4 || p.Line >= 4+n) {
				t.Fatalf("problem %+v outside", p)
			}
		}
	})
}
