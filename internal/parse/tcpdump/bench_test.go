package tcpdump

import (
	"os"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

func BenchmarkParse(b *testing.B) {
	data, _ := os.ReadFile("testdata/br0-vvv-nnn-e.txt")
	doc := evidence.Doc{Source: "x", Text: string(data)}
	for i := 0; i < b.N; i++ {
		Parse(doc)
	}
}
