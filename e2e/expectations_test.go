package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/lvsdoctor/lvsdoctor/internal/cli"
	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// One harness for every case the tests diagnose: the corpus
// (testdata/corpus), the lab's cases (testdata/lab) and the examples
// (examples/, examples/transcripts). Each case's expected.yaml is an
// expectation; testdata/corpus/README.md documents its keys.

// expectation is what a case's expected.yaml says the diagnosis must be.
type expectation struct {
	// First is the cause ID of the first finding (the root cause), or
	// "none" (or empty): no critical finding at all.
	First string `yaml:"first"`
	// Severity, when set, is the severity of the first finding.
	Severity string `yaml:"severity"`
	// Also are cause IDs that must be reported (anywhere in the list).
	Also []string `yaml:"also"`
	// Absent are cause IDs that must not appear at all.
	Absent []string `yaml:"absent"`
	// KnownFailure, when set, says why lvsdoctor gets this case wrong
	// today (a rule bug to fix): the case is skipped with that reason,
	// and fails once it passes so that the marker goes with the fix.
	KnownFailure string `yaml:"known_failure"`
	// Cites are the evidence lines ("host/file:line", or "host/file" for
	// a whole source) the first finding must cite: the lines that decide
	// the cause, chosen by a person reading them.
	Cites []string `yaml:"cites"`
	// WrongCite, when set, says what the first finding cites today
	// instead of Cites and why that is wrong (a rule bug to fix): a cite
	// mismatch is logged, not failed, and the case fails once the cites
	// match, so that the marker goes with the fix. The rest of the case is
	// checked as usual.
	WrongCite string `yaml:"wrong_cite"`
	// Verdicts, when set, are the coverage verdicts the diagnosis may
	// reach (diagnosis.Verdict*): a case whose evidence cannot decide
	// anything lists the honest ones, so that a clean bill of health
	// ("no-problem") from it fails.
	Verdicts []string `yaml:"verdict"`
}

// quiet reports whether the case expects no critical finding.
func (e expectation) quiet() bool { return e.First == "none" || e.First == "" }

// readExpectation reads an expected.yaml; an unknown key (a typo such as
// "cite:") is an error rather than an expectation silently not checked.
func readExpectation(t *testing.T, path string) expectation {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var e expectation
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&e); err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("%s: %v", path, err)
	}
	return e
}

// diagnose runs the CLI and returns the JSON result and exit status.
func diagnose(t *testing.T, args ...string) (diagnosis.Diagnosis, int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(append([]string{"diagnose", "-o", "json"}, args...), &out, &errb)
	var d diagnosis.Diagnosis
	// An inconclusive diagnosis exits 2 and still prints its JSON.
	if code != cli.ExitUsage || bytes.HasPrefix(out.Bytes(), []byte("{")) {
		if err := json.Unmarshal(out.Bytes(), &d); err != nil {
			t.Fatalf("diagnose %v: output is not JSON: %v\n%s\nstderr: %s", args, err, out.String(), errb.String())
		}
	}
	return d, code, errb.String()
}

// cite is one parsed entry of cites: a source (a path relative to the
// case root, "host/file") and a 1-based line, 0 for the whole source.
// For a capture (.pcap) the line is the packet's number, as the first
// finding's evidence numbers it (the order of `tcpdump -r`).
type cite struct {
	source string
	line   int
}

func (c cite) String() string {
	if c.line == 0 {
		return c.source
	}
	return fmt.Sprintf("%s:%d", c.source, c.line)
}

func parseCite(s string) (cite, error) {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, ':'); i > 0 {
		if n, err := strconv.Atoi(s[i+1:]); err == nil {
			if n < 0 {
				return cite{}, fmt.Errorf("cite %q: negative line", s)
			}
			return cite{source: s[:i], line: n}, nil
		}
	}
	if s == "" {
		return cite{}, fmt.Errorf("empty cite")
	}
	return cite{source: s}, nil
}

// checkCitesWellFormed checks the cites of an expectation against the case
// itself, before lvsdoctor runs: each names a file of the case and a line
// it has, and cites and wrong_cite are only where they mean something.
func checkCitesWellFormed(t *testing.T, dir string, e expectation) {
	t.Helper()
	if e.quiet() && (len(e.Cites) > 0 || e.WrongCite != "") {
		t.Errorf("cites and wrong_cite are the evidence of the first finding: a case with first: none has none")
	}
	if e.WrongCite != "" && len(e.Cites) == 0 {
		t.Errorf("wrong_cite is set without cites: write the line the first finding should cite")
	}
	for _, s := range e.Cites {
		c, err := parseCite(s)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		info, err := os.Stat(filepath.Join(dir, filepath.FromSlash(c.source)))
		if err != nil || !info.Mode().IsRegular() {
			t.Errorf("cite %s: the case has no file %s", c, c.source)
			continue
		}
		if c.line == 0 || strings.HasSuffix(c.source, ".pcap") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(c.source)))
		if err != nil {
			t.Errorf("cite %s: %v", c, err)
			continue
		}
		if n := strings.Count(strings.TrimSuffix(string(b), "\n"), "\n") + 1; c.line > n {
			t.Errorf("cite %s: %s has %d lines", c, c.source, n)
		}
	}
}

// missingCites lists the cites the first finding does not cite.
func missingCites(d diagnosis.Diagnosis, e expectation) []string {
	if len(e.Cites) == 0 || len(d.Findings) == 0 {
		return nil
	}
	have := map[cite]bool{}
	for _, r := range d.Findings[0].Evidence {
		have[cite{source: r.Source, line: r.Line}] = true
	}
	var miss []string
	for _, s := range e.Cites {
		if c, err := parseCite(s); err == nil && !have[c] {
			miss = append(miss, c.String())
		}
	}
	return miss
}

func refList(refs []evidence.Ref) string {
	var s []string
	for _, r := range refs {
		s = append(s, r.String())
	}
	return strings.Join(s, ", ")
}

// expectationProblems says how a diagnosis misses an expectation's
// first, severity, also and absent (not its cites): the known failures
// are decided by it, and their skip message names the problems.
func expectationProblems(d diagnosis.Diagnosis, e expectation) []string {
	var p []string
	if e.quiet() {
		for _, f := range d.Findings {
			if f.Severity == diagnosis.Critical {
				p = append(p, fmt.Sprintf("critical %s on %s", f.ID, f.Host))
			}
		}
	} else {
		switch {
		case len(d.Findings) == 0:
			p = append(p, "no findings")
		case d.Findings[0].ID != e.First:
			p = append(p, "first finding is "+d.Findings[0].ID)
		case e.Severity != "" && string(d.Findings[0].Severity) != e.Severity:
			p = append(p, "first finding is "+string(d.Findings[0].Severity))
		}
	}
	has := map[string]bool{}
	for _, f := range d.Findings {
		has[f.ID] = true
	}
	if len(e.Verdicts) > 0 && !slices.Contains(e.Verdicts, d.Coverage.Verdict) {
		p = append(p, "verdict "+d.Coverage.Verdict)
	}
	for _, id := range e.Also {
		if !has[id] {
			p = append(p, "no "+id)
		}
	}
	for _, id := range e.Absent {
		if has[id] {
			p = append(p, id+" reported")
		}
	}
	return p
}

// checkCase runs a case's expected.yaml against a diagnosis of it: the
// known failures are skipped (and fail once they pass); every other case
// has its output checked for sanity (schema, evidence, no secret), its
// first finding, severity, also, absent, exit status and cites.
func checkCase(t *testing.T, d diagnosis.Diagnosis, code int, e expectation) {
	t.Helper()
	if e.KnownFailure != "" {
		if p := expectationProblems(d, e); len(p) == 0 {
			t.Errorf("known failure now passes: remove known_failure from its expected.yaml")
		} else {
			t.Skipf("known failure (%s): %s", strings.Join(p, "; "), e.KnownFailure)
		}
		return
	}
	if d.Schema != diagnosis.Schema {
		t.Errorf("schema = %q", d.Schema)
	}
	for _, f := range d.Findings {
		if len(f.Evidence) == 0 {
			t.Errorf("finding %s on %s has no evidence", f.ID, f.Host)
		}
		var texts []string
		for _, r := range f.Evidence {
			if r.Source == "" || r.Text == "" {
				t.Errorf("finding %s: evidence without source or text: %+v", f.ID, r)
			}
			texts = append(texts, r.Text)
		}
		if strings.Contains(strings.Join(texts, "\n"), "auth_pass 1111") {
			t.Errorf("finding %s leaks auth_pass", f.ID)
		}
	}
	for _, id := range e.Absent {
		for _, f := range d.Findings {
			if f.ID == id {
				t.Errorf("%s must not be reported: %s %s on %s: %s", id, f.Severity, f.ID, f.Host, f.Title)
			}
		}
	}
	if e.quiet() {
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
	// The cites are of the root cause: they mean nothing when another
	// finding comes first (reported above).
	if got.ID == e.First && len(e.Cites) > 0 {
		miss := missingCites(d, e)
		switch {
		case e.WrongCite != "" && len(miss) == 0:
			t.Errorf("wrong cite now fixed (%s cites %s): remove wrong_cite from its expected.yaml", got.ID, strings.Join(e.Cites, ", "))
		case e.WrongCite != "":
			t.Logf("wrong cite (known): %s does not cite %s; it cites %s. %s", got.ID, strings.Join(miss, ", "), refList(got.Evidence), e.WrongCite)
		case len(miss) > 0:
			t.Errorf("%s does not cite %s; it cites %s", got.ID, strings.Join(miss, ", "), refList(got.Evidence))
		case !decidingFirst(got, e):
			t.Errorf("%s's first evidence line is %s (%q), not one of the deciding lines %s: the reader sees it first",
				got.ID, got.Evidence[0], got.Evidence[0].Text, strings.Join(e.Cites, ", "))
		}
	}
}

// decidingFirst reports whether a finding's first line of evidence is one
// of the cited lines (the lines that decide), or the same line read from
// another listing of the same output (`ipvsadm -Ln` and `--stats` print
// one refusal).
func decidingFirst(f diagnosis.Finding, e expectation) bool {
	if len(f.Evidence) == 0 {
		return false
	}
	first := f.Evidence[0]
	texts := map[string]bool{}
	for _, s := range e.Cites {
		c, err := parseCite(s)
		if err != nil {
			continue
		}
		for _, r := range f.Evidence {
			if r.Source == c.source && r.Line == c.line {
				if r == first {
					return true
				}
				texts[r.Text] = true
			}
		}
	}
	return first.Text != "" && texts[first.Text]
}
