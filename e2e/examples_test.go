// Package e2e runs lvsdoctor the way a user does, on the bundled example
// cases and transcripts, and checks the root cause it names.
package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/lvsdoctor/lvsdoctor/internal/cli"
	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
)

type expected struct {
	First    string   `yaml:"first"`
	Severity string   `yaml:"severity"`
	Also     []string `yaml:"also"`
}

// diagnose runs the CLI and returns the JSON result and exit status.
func diagnose(t *testing.T, args ...string) (diagnosis.Diagnosis, int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(append([]string{"diagnose", "-o", "json"}, args...), &out, &errb)
	var d diagnosis.Diagnosis
	if code != cli.ExitUsage {
		if err := json.Unmarshal(out.Bytes(), &d); err != nil {
			t.Fatalf("diagnose %v: output is not JSON: %v\n%s\nstderr: %s", args, err, out.String(), errb.String())
		}
	}
	return d, code, errb.String()
}

func readExpected(t *testing.T, path string) expected {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var e expected
	if err := yaml.Unmarshal(b, &e); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return e
}

func checkExpected(t *testing.T, d diagnosis.Diagnosis, code int, e expected) {
	t.Helper()
	if d.Schema != diagnosis.Schema {
		t.Errorf("schema = %q", d.Schema)
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
		if strings.Contains(strings.Join(func() []string {
			var s []string
			for _, r := range f.Evidence {
				s = append(s, r.Text)
			}
			return s
		}(), "\n"), "auth_pass 1111") {
			t.Errorf("finding %s leaks auth_pass", f.ID)
		}
	}
	if e.First == "none" || e.First == "" {
		for _, f := range d.Findings {
			if f.Severity == diagnosis.Critical {
				t.Errorf("healthy case has critical finding %s on %s: %s", f.ID, f.Host, f.Title)
			}
		}
		if code != cli.ExitOK {
			t.Errorf("exit status %d, want 0", code)
		}
		return
	}
	if len(d.Findings) == 0 {
		t.Fatalf("no findings; want %s first. notes: %v; problems: %v", e.First, d.Notes, d.Problems)
	}
	got := d.Findings[0]
	if got.ID != e.First {
		var ids []string
		for _, f := range d.Findings {
			ids = append(ids, f.ID+"@"+f.Host)
		}
		t.Errorf("first finding = %s, want %s (all: %v)\nnotes: %v", got.ID, e.First, ids, d.Notes)
	}
	if e.Severity != "" && string(got.Severity) != e.Severity {
		t.Errorf("first finding severity = %s, want %s", got.Severity, e.Severity)
	}
	for _, id := range e.Also {
		found := false
		for _, f := range d.Findings {
			found = found || f.ID == id
		}
		if !found {
			t.Errorf("finding %s missing", id)
		}
	}
	wantCode := cli.ExitOK
	for _, f := range d.Findings {
		if f.Severity == diagnosis.Critical {
			wantCode = cli.ExitCritical
		}
	}
	if code != wantCode {
		t.Errorf("exit status %d, want %d", code, wantCode)
	}
}

func TestExampleCases(t *testing.T) {
	dirs, _ := filepath.Glob("../examples/*/expected.yaml")
	if len(dirs) == 0 {
		t.Fatal("no example cases found")
	}
	for _, exp := range dirs {
		dir := filepath.Dir(exp)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			e := readExpected(t, exp)
			d, code, stderr := diagnose(t, dir)
			if code == cli.ExitUsage {
				t.Fatalf("usage error: %s", stderr)
			}
			checkExpected(t, d, code, e)
		})
	}
}

func TestExampleTranscripts(t *testing.T) {
	files, _ := filepath.Glob("../examples/transcripts/*.expected.yaml")
	for _, exp := range files {
		txt := strings.TrimSuffix(exp, ".expected.yaml") + ".txt"
		t.Run(filepath.Base(txt), func(t *testing.T) {
			e := readExpected(t, exp)
			d, code, stderr := diagnose(t, txt)
			if code == cli.ExitUsage {
				t.Fatalf("usage error: %s", stderr)
			}
			checkExpected(t, d, code, e)
		})
	}
}
