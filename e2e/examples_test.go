// Package e2e runs lvsdoctor the way a user does, on the bundled example
// cases and transcripts, and checks the root cause it names.
package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/cli"
)

// TestExampleCases diagnoses the bundled example cases (examples/*/) and
// checks each against its expected.yaml with the shared harness
// (expectations_test.go).
func TestExampleCases(t *testing.T) {
	dirs, _ := filepath.Glob("../examples/*/expected.yaml")
	if len(dirs) == 0 {
		t.Fatal("no example cases found")
	}
	for _, exp := range dirs {
		dir := filepath.Dir(exp)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			e := readExpectation(t, exp)
			checkCitesWellFormed(t, dir, e)
			d, code, stderr := diagnose(t, dir)
			if code == cli.ExitUsage {
				t.Fatalf("usage error: %s", stderr)
			}
			checkCase(t, d, code, e)
		})
	}
}

// TestExampleTranscripts diagnoses the pasted sessions of
// examples/transcripts. Their expectations carry no cites: the evidence's
// source is the transcript's path as given on the command line, which
// depends on where the test runs.
func TestExampleTranscripts(t *testing.T) {
	files, _ := filepath.Glob("../examples/transcripts/*.expected.yaml")
	for _, exp := range files {
		txt := strings.TrimSuffix(exp, ".expected.yaml") + ".txt"
		t.Run(filepath.Base(txt), func(t *testing.T) {
			e := readExpectation(t, exp)
			d, code, stderr := diagnose(t, txt)
			if code == cli.ExitUsage {
				t.Fatalf("usage error: %s", stderr)
			}
			checkCase(t, d, code, e)
		})
	}
}
