package e2e

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/catalog"
	"github.com/lvsdoctor/lvsdoctor/internal/cli"
	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
)

// The case corpus (testdata/corpus): one directory per case, named
//
//	<cause-id>--<variant>             a fault: the cause must come first
//	lookalike--<cause-id>--<variant>  evidence that resembles the cause but is
//	                                  not it: no critical finding, and the
//	                                  cause must not be reported at all
//	healthy--<variant>                a working cluster: no critical finding
//
// each with an expected.yaml (first, severity, also, absent, known_failure,
// cites, wrong_cite: see testdata/corpus/README.md), checked with the shared
// harness (expectations_test.go). A fault case must say which evidence
// lines its root cause cites.

const corpusDir = "../testdata/corpus"

// corpusMinCases is the size the corpus must keep.
const corpusMinCases = 80

// corpusComplete: while the corpus is being written, its size and
// coverage are logged rather than enforced.
const corpusComplete = true

// corpusCase is one case directory of the corpus.
type corpusCase struct {
	name, dir string
	// kind is "fault", "lookalike" or "healthy"; cause is the cause ID the
	// name carries (fault and lookalike).
	kind, cause string
	exp         expectation
}

func loadCorpus(t *testing.T) []corpusCase {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*", "expected.yaml"))
	var out []corpusCase
	for _, f := range files {
		dir := filepath.Dir(f)
		c := corpusCase{name: filepath.Base(dir), dir: dir, exp: readExpectation(t, f)}
		parts := strings.Split(c.name, "--")
		switch {
		case parts[0] == "healthy":
			c.kind = "healthy"
		case parts[0] == "lookalike" && len(parts) >= 3:
			c.kind, c.cause = "lookalike", parts[1]
		case len(parts) >= 2:
			c.kind, c.cause = "fault", parts[0]
		}
		out = append(out, c)
	}
	return out
}

func TestCorpus(t *testing.T) {
	cases := loadCorpus(t)
	if len(cases) < corpusMinCases && corpusComplete {
		t.Errorf("the corpus has %d cases, want at least %d", len(cases), corpusMinCases)
	}
	type tally struct{ fault, lookalike int }
	perCause := map[string]*tally{}
	for _, c := range catalog.All() {
		perCause[c.ID] = &tally{}
	}
	quietCases, quietCritical, knownCritical, healthy := 0, 0, 0, 0
	cited := 0
	var known, wrongCites []string
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := c.exp
			switch c.kind {
			case "fault":
				if e.First != c.cause {
					t.Errorf("case named after %s expects %s first", c.cause, e.First)
				}
			case "lookalike", "healthy":
				if e.First != "none" {
					t.Errorf("a %s case must expect first: none, not %q", c.kind, e.First)
				}
			default:
				t.Fatalf("name %q is neither <cause>--<variant>, lookalike--<cause>--<variant> nor healthy--<variant>", c.name)
			}
			if c.kind == "fault" && len(e.Cites) == 0 {
				t.Errorf("a fault case must name the evidence its root cause cites (cites: [host/file:line], the line that decides the cause; see testdata/corpus/README.md)")
			}
			if len(e.Cites) > 0 {
				cited++
			}
			if e.WrongCite != "" {
				wrongCites = append(wrongCites, c.name+": "+e.WrongCite)
			}
			checkCitesWellFormed(t, c.dir, e)
			if c.kind == "lookalike" && !corpusHas(e.Absent, c.cause) {
				t.Errorf("a look-alike of %s must list it under absent", c.cause)
			}
			for _, id := range append(append([]string{c.cause}, e.Also...), e.Absent...) {
				if _, ok := catalog.Lookup(id); id != "" && !ok {
					t.Errorf("%s is not a cause ID of the catalog", id)
				}
			}
			if tl := perCause[c.cause]; tl != nil {
				if c.kind == "fault" {
					tl.fault++
				} else {
					tl.lookalike++
				}
			}

			d, code, stderr := diagnose(t, c.dir)
			if code == cli.ExitUsage {
				t.Fatalf("usage error: %s", stderr)
			}
			if c.kind != "fault" {
				quietCases++
				if c.kind == "healthy" {
					healthy++
				}
				for _, f := range d.Findings {
					if f.Severity == diagnosis.Critical && e.KnownFailure == "" {
						quietCritical++
					} else if f.Severity == diagnosis.Critical {
						knownCritical++
					}
				}
			}
			if e.KnownFailure != "" {
				known = append(known, c.name+": "+e.KnownFailure)
			} else if len(d.Problems) > 0 {
				t.Logf("input not understood: %v", d.Problems[:min(3, len(d.Problems))])
			}
			checkCase(t, d, code, e)
		})
	}

	var b strings.Builder
	fmt.Fprintf(&b, "corpus: %d cases (%d healthy, %d look-alike, %d fault)\n", len(cases), healthy, quietCases-healthy, len(cases)-quietCases)
	fmt.Fprintf(&b, "%-42s %6s %10s\n", "cause", "faults", "look-alike")
	ids := make([]string, 0, len(perCause))
	for id := range perCause {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		fmt.Fprintf(&b, "%-42s %6d %10d\n", id, perCause[id].fault, perCause[id].lookalike)
	}
	fmt.Fprintf(&b, "critical findings on the %d healthy and look-alike cases: %d (and %d in known failures)\n", quietCases, quietCritical, knownCritical)
	fmt.Fprintf(&b, "fault cases whose root cause's cites are pinned: %d of %d\n", cited, len(cases)-quietCases)
	if len(known) > 0 {
		fmt.Fprintf(&b, "known failures (%d):\n  %s\n", len(known), strings.Join(known, "\n  "))
	}
	if len(wrongCites) > 0 {
		fmt.Fprintf(&b, "wrong cites (%d):\n  %s\n", len(wrongCites), strings.Join(wrongCites, "\n  "))
	}
	t.Log("\n" + b.String())
}

// Every cause of the catalog has a case where it comes first and a
// look-alike where it must stay quiet.
func TestCorpusCoverage(t *testing.T) {
	report := t.Errorf
	if !corpusComplete {
		report = t.Logf
	}
	// A known failure still documents the case; a cause whose only case
	// of a kind is one is named in the log.
	fault, look := map[string]int{}, map[string]int{}
	passing := map[string]bool{}
	for _, c := range loadCorpus(t) {
		switch c.kind {
		case "fault":
			fault[c.cause]++
		case "lookalike":
			look[c.cause]++
		}
		if c.exp.KnownFailure == "" {
			passing[c.kind+" "+c.cause] = true
		}
	}
	for _, c := range catalog.All() {
		if fault[c.ID] == 0 {
			report("%s: no case in testdata/corpus where it is the first finding (%s--<variant>)", c.ID, c.ID)
		}
		if look[c.ID] == 0 {
			report("%s: no look-alike in testdata/corpus (lookalike--%s--<variant>)", c.ID, c.ID)
		}
		if fault[c.ID] > 0 && !passing["fault "+c.ID] {
			t.Logf("%s: its only fault cases are known failures", c.ID)
		}
		if look[c.ID] > 0 && !passing["lookalike "+c.ID] {
			t.Logf("%s: its only look-alikes are known failures", c.ID)
		}
	}
}

func corpusHas(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}
