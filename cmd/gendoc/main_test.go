package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The packages rely on what gendoc writes: a page per command, the three
// completion files under the names the packages install, and the same
// bytes on every run of one commit (reproducible packages).
func TestGendoc(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		if err := run(dir, "v1.2.3", "2025-05-20T10:11:12Z"); err != nil {
			t.Fatal(err)
		}
	}
	for _, page := range []string{"lvsdoctor", "lvsdoctor-diagnose", "lvsdoctor-collect", "lvsdoctor-watch",
		"lvsdoctor-trace", "lvsdoctor-causes", "lvsdoctor-explain", "lvsdoctor-version", "lvsdoctor-completion-bash"} {
		body, err := os.ReadFile(filepath.Join(a, "man", page+".1"))
		if err != nil {
			t.Errorf("no man page %s: %v", page, err)
			continue
		}
		// The header names the page after its command, with the version and
		// the given date; no cobra footer with the clock's date.
		th := `.TH "` + strings.ToUpper(page) + `" "1" "May 2025" "lvsdoctor v1.2.3"`
		if !bytes.Contains(body, []byte(th)) {
			t.Errorf("%s: no %s in\n%.300s", page, th, body)
		}
		if bytes.Contains(body, []byte("Auto generated")) {
			t.Errorf("%s carries cobra's dated footer", page)
		}
	}
	for file, first := range map[string]string{
		"lvsdoctor.bash": "# bash completion V2 for lvsdoctor",
		"_lvsdoctor":     "#compdef lvsdoctor",
		"lvsdoctor.fish": "# fish completion for lvsdoctor",
	} {
		body, err := os.ReadFile(filepath.Join(a, "completions", file))
		if err != nil || !bytes.HasPrefix(body, []byte(first)) {
			t.Errorf("completions/%s: %v, starts %.40q, want %q", file, err, body, first)
		}
	}
	// Both runs, byte for byte.
	err := filepath.WalkDir(a, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(a, p)
		x, _ := os.ReadFile(p)
		y, err := os.ReadFile(filepath.Join(b, rel))
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs (%v)", rel, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := run(t.TempDir(), "v1", "yesterday"); err == nil {
		t.Error("a date that is no RFC 3339 was taken")
	}
}
