package syslog

import (
	"os"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// BenchmarkParseLog reads a 100k-line mix of keepalived and kernel logs.
func BenchmarkParseLog(b *testing.B) {
	var parts []string
	for _, f := range []string{"testdata/lab/dmesg.txt", "testdata/hand/journal-keepalived-2.2.7.txt", "testdata/lab/syslog-busybox.txt"} {
		t, _ := os.ReadFile(f)
		parts = append(parts, string(t))
	}
	one := strings.Join(parts, "")
	text := strings.Repeat(one, 100000/strings.Count(one, "\n")+1)
	doc := evidence.Doc{Source: "x", Text: text}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ParseLog(doc)
	}
}
