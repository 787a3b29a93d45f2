package e2e

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/catalog"
	"github.com/lvsdoctor/lvsdoctor/internal/cli"
)

func run(args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := cli.Main(args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"diagnose"},
		{"diagnose", "/nonexistent/case"},
		{"diagnose", "--format", "xml", "."},
		{"diagnose", "--vip", "not-an-ip", "."},
		{"diagnose", "--proto", "icmp", "."},
		{"explain"},
		{"explain", "no.such-cause"},
		{"frobnicate"},
		{"diagnose", "--no-such-flag", "."},
		{"serve"}, // --listen is required
		{"serve", "--listen", "127.0.0.1:0", "--interval", "1ms"},
		{"serve", "--listen", "not an address"},
		{"serve", "--listen", "127.0.0.1:0", "--vip", "nope"},
		{"serve", "--listen", "127.0.0.1:0", "--role", "pilot"},
		{"serve", "--listen", "127.0.0.1:0", "--inventory", "/nonexistent/inventory.yaml"},
	} {
		_, stderr, code := run(args...)
		if code != cli.ExitUsage {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		if !strings.Contains(stderr, "lvsdoctor") {
			t.Errorf("%v: stderr does not explain: %q", args, stderr)
		}
	}
}

func TestVersionCausesExplainCompletion(t *testing.T) {
	out, _, code := run("--version")
	if code != 0 || !strings.Contains(out, "lvsdoctor version") {
		t.Errorf("--version: %d %q", code, out)
	}
	out, _, code = run("causes")
	if code != 0 {
		t.Fatalf("causes exit %d", code)
	}
	for _, c := range catalog.All() {
		if !strings.Contains(out, c.ID) {
			t.Errorf("causes lacks %s", c.ID)
		}
	}
	out, _, code = run("explain", "hypervisor.nwfilter-no-ip-spoofing")
	if code != 0 || !strings.Contains(out, "What breaks") || !strings.Contains(out, "Fix") {
		t.Errorf("explain: %d %q", code, out)
	}
	_, stderr, code := run("explain", "rp-filter")
	if code != 2 || !strings.Contains(stderr, "did you mean:") || !strings.Contains(stderr, "rs.rp-filter-strict") {
		t.Errorf("explain of a fragment: %d %q", code, stderr)
	}
	for _, sh := range []string{"bash", "zsh", "fish", "powershell"} {
		out, _, code = run("completion", sh)
		if code != 0 || !strings.Contains(out, "lvsdoctor") {
			t.Errorf("completion %s: %d", sh, code)
		}
	}
}

// Garbage, binary and truncated evidence must be reported by file and
// line while the rest of the case is still used.
func TestBadInputKeepsTheRest(t *testing.T) {
	src := "../examples/kvm-dr-nwfilter"
	if _, err := os.Stat(src); err != nil {
		t.Skip("example kvm-dr-nwfilter not present")
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	host := ""
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() {
			host = e.Name()
			break
		}
	}
	junk := make([]byte, 4096)
	_, _ = rand.Read(junk)
	must(t, os.WriteFile(filepath.Join(dir, host, "core.bin"), junk, 0o644))
	must(t, os.WriteFile(filepath.Join(dir, host, "notes.txt"), []byte("this is not\nany command output\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, host, "route-trunc.txt"), []byte("$ ip route\ndefault via 192.0.2.1 dev eth0\n192.0.2.0/24 dev et"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "case.yaml"), []byte("vip: [unclosed\n"), 0o644))
	d, code, stderr := diagnose(t, dir)
	if code == cli.ExitUsage {
		t.Fatalf("bad files made the whole run fail: %s", stderr)
	}
	var sawBin, sawJunk, sawYAML bool
	for _, p := range d.Problems {
		switch {
		case strings.HasSuffix(p.Source, "core.bin"):
			sawBin = p.Line == 1 && strings.Contains(p.Message, "binary")
		case strings.HasSuffix(p.Source, "notes.txt"):
			sawJunk = p.Line > 0
		case p.Source == "case.yaml":
			sawYAML = true
		}
	}
	if !sawBin || !sawJunk || !sawYAML {
		t.Errorf("problems not reported by file and line: bin=%v junk=%v yaml=%v: %+v", sawBin, sawJunk, sawYAML, d.Problems)
	}
	if len(d.Findings) == 0 || d.Findings[0].ID != "hypervisor.nwfilter-no-ip-spoofing" {
		t.Errorf("the rest of the evidence was not used: %+v", d.Findings)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
