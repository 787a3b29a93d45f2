package probe

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
		f.Add(string(b), "curl -v http://192.0.2.100/")
	}
	f.Add("Trying 192.0.2.1...\n", "telnet 192.0.2.1 80")
	f.Fuzz(func(t *testing.T, s, cmd string) {
		doc := evidence.Doc{Host: "h", Source: "x.txt", Start: 9, Command: cmd, Text: s}
		n := len(doc.Lines())
		obs, _ := Parse(doc)
		seen := map[evidence.Observation]bool{}
		for _, o := range obs {
			if o.Ref.Line < 9 || o.Ref.Line >= 9+n || o.Kind == "" {
				t.Fatalf("observation %+v outside %d lines", o, n)
			}
			if seen[o] {
				t.Fatalf("duplicate %+v", o)
			}
			seen[o] = true
		}
	})
}
