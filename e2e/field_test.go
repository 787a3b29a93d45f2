package e2e

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/lvsdoctor/lvsdoctor/internal/cli"
)

// fieldExpectation is a field case's expected.yaml (testdata/field/README.md):
// an expectation, written from a public thread before lvsdoctor ran on it,
// with where it comes from and the first run's result.
type fieldExpectation struct {
	expectation `yaml:",inline"`
	Source      string   `yaml:"source"`
	Title       string   `yaml:"title"`
	Resolution  string   `yaml:"resolution"`
	Args        []string `yaml:"args"`
	// Blind is the result of the first run, the day the case was added:
	// "YYYY-MM-DD: pass" or "YYYY-MM-DD: fail (<what it said>)".
	Blind string `yaml:"blind"`
}

const fieldDir = "../testdata/field"

func TestFieldCases(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(fieldDir, "*", "expected.yaml"))
	blindPass, pass, total := 0, 0, 0
	for _, f := range files {
		dir := filepath.Dir(f)
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var e fieldExpectation
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&e); err != nil && !errors.Is(err, io.EOF) {
			t.Fatalf("%s: %v", f, err)
		}
		total++
		if strings.Contains(e.Blind, ": pass") {
			blindPass++
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			if e.Source == "" || e.Resolution == "" || e.Blind == "" {
				t.Errorf("a field case names its source, quotes the resolution and records its blind result")
			}
			target := filepath.Join(dir, "paste.txt")
			if _, err := os.Stat(target); err != nil {
				target = filepath.Join(dir, "case")
			}
			d, code, stderr := diagnose(t, append([]string{target}, e.Args...)...)
			// Exit 2 with an inconclusive verdict is an honest "cannot tell",
			// which a case expecting no critical finding accepts; anything
			// else at exit 2 is a failure to diagnose.
			if code == cli.ExitUsage && !(e.quiet() && d.Coverage.Inconclusive()) && e.KnownFailure == "" {
				t.Fatalf("exit 2: %s (verdict %q)", stderr, d.Coverage.Verdict)
			}
			if code == cli.ExitUsage && d.Coverage.Inconclusive() {
				code = 0 // checked as the "no critical finding" it honestly is
			}
			if len(expectationProblems(d, e.expectation)) == 0 && code != cli.ExitUsage {
				pass++
			}
			checkCase(t, d, code, e.expectation)
		})
	}
	t.Logf("field cases: %d; blind score %d/%d; today %d/%d", total, blindPass, total, pass, total)
}
