package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/engine"
	"github.com/lvsdoctor/lvsdoctor/internal/intake"
	"github.com/lvsdoctor/lvsdoctor/internal/rules"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

// caseFiles is a small case written in a test: path relative to the case
// root → content (leading blank lines dropped, so raw strings can start on
// their own line).
type caseFiles map[string]string

// with returns a copy of f with the given files added, replaced or (with
// an empty content) removed.
func (f caseFiles) with(kv ...string) caseFiles {
	out := caseFiles{}
	for k, v := range f {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
		} else {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}

// diagnoseFiles writes the files to a temporary case, reads it through
// the real intake and diagnoses it with every rule, as the CLI does. Every
// finding must cite evidence. LVSDOCTOR_TEST_VERBOSE=1 logs the findings.
func diagnoseFiles(t *testing.T, files caseFiles) *diagnosis.Diagnosis {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.TrimLeft(text, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c, err := intake.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	d := engine.Run(c, topology.Hints{}, rules.All())
	if os.Getenv("LVSDOCTOR_TEST_VERBOSE") != "" {
		for _, f := range d.Findings {
			t.Logf("%s %s@%s: %s\n  evidence: %v\n  caused by: %v", f.Severity, f.ID, f.Host, f.Title, f.Evidence, f.CausedBy)
		}
		t.Logf("notes: %v", d.Notes)
	}
	for _, f := range d.Findings {
		if len(f.Evidence) == 0 {
			t.Errorf("finding %s on %s has no evidence", f.ID, f.Host)
		}
		for _, r := range f.Evidence {
			if r.Source == "" || r.Text == "" {
				t.Errorf("finding %s: evidence without source or text: %+v", f.ID, r)
			}
		}
	}
	return d
}
