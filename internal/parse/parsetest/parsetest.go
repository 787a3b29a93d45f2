// Package parsetest holds what every parser's tests share: reading a
// fixture from testdata/ as an evidence.Doc, and seeding a fuzz target with
// all fixtures.
package parsetest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
)

// Fixture reads testdata/name as the output of cmd on host.
func Fixture(t testing.TB, host, name, cmd string) evidence.Doc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return evidence.Doc{Host: host, Source: host + "/" + filepath.Base(name), Start: 1, Command: cmd, Text: string(b)}
}

// Seed adds every regular file under testdata/ (fuzz corpora excepted) to
// f's seed corpus.
func Seed(f *testing.F) {
	f.Helper()
	_ = filepath.WalkDir("testdata", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if d.Name() == "fuzz" {
				return filepath.SkipDir
			}
			return nil
		}
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
		return nil
	})
}

// CheckRef fails when a fact cites a line outside doc, or another source.
func CheckRef(t *testing.T, doc evidence.Doc, r evidence.Ref) {
	t.Helper()
	n := len(doc.Lines())
	start := max(doc.Start, 1)
	if r.Line < start || r.Line >= start+n || r.Source != doc.Source {
		t.Fatalf("ref %+v outside document %s of %d lines starting at %d", r, doc.Source, n, start)
	}
}

// Format returns the format called name among fs (a package's Formats()).
func Format(t testing.TB, fs []format.Format, name string) format.Format {
	t.Helper()
	for _, f := range fs {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("no format %s", name)
	return format.Format{}
}
