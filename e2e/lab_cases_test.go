package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/catalog"
	"github.com/lvsdoctor/lvsdoctor/internal/cli"
	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
)

// TestLabCases diagnoses the cases the lab gathered from real IPVS,
// keepalived, iptables, nft, ebtables and tcpdump in its VMs (lab/run -u
// refreshes them): a fault scenario is named after the cause it injects,
// which must come first; a healthy one must have no critical finding.
//
// A case's expected.yaml, when there is one, is checked with the shared
// harness (expectations_test.go), cites included; without one the
// expectation follows from the name. lab/run -u replaces a case's folder
// whole, expected.yaml included: the cites (lines of the new outputs) are
// reviewed again after a refresh.
func TestLabCases(t *testing.T) {
	dirs, _ := filepath.Glob("../testdata/lab/*/case.yaml")
	if len(dirs) == 0 {
		t.Fatal("no lab cases in testdata/lab")
	}
	for _, cy := range dirs {
		dir := filepath.Dir(cy)
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			d, code, stderr := diagnose(t, dir)
			if code == cli.ExitUsage {
				t.Fatalf("usage error: %s", stderr)
			}
			if len(d.Problems) > 0 {
				t.Errorf("real tool output not understood: %v", d.Problems[:min(5, len(d.Problems))])
			}
			_, isCause := catalog.Lookup(name)
			e := expectation{First: "none"}
			path := filepath.Join(dir, "expected.yaml")
			if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
				e = readExpectation(t, path)
				if isCause && e.First != name {
					t.Errorf("case named after %s expects %s first", name, e.First)
				}
				checkCitesWellFormed(t, dir, e)
			} else if isCause {
				e = expectation{First: name, Severity: string(diagnosis.Critical)}
			} else if !strings.HasSuffix(name, "-healthy") {
				t.Skipf("%s is neither a cause nor a healthy scenario", name)
			}
			checkCase(t, d, code, e)
		})
	}
}
