package keepalived

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

func BenchmarkParseConfig(b *testing.B) {
	files, _ := filepath.Glob("testdata/*.conf")
	var docs []evidence.Doc
	for _, f := range files {
		t, _ := os.ReadFile(f)
		docs = append(docs, evidence.Doc{Source: f, Text: string(t)})
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for _, d := range docs {
			ParseConfig(d)
		}
	}
}
