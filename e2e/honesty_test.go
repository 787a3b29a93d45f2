package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/cli"
	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
)

// TestNotEvidenceExits2: a folder holding nothing lvsdoctor can diagnose
// from (a haproxy.cfg, `ls -la`, a ticket's prose, a binary file, other
// commands' output, an empty file) is an input error with what was not
// understood, never "No problem found" with exit 0. False all-clears were
// the most common answer on the field cases.
func TestNotEvidenceExits2(t *testing.T) {
	dirs, _ := filepath.Glob("../testdata/not-evidence/*")
	if len(dirs) < 6 {
		t.Fatalf("only %d not-evidence cases", len(dirs))
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			for _, format := range []string{"text", "json", "markdown"} {
				out, errs, code := run("diagnose", "-o", format, dir)
				if code != cli.ExitUsage {
					t.Errorf("-o %s: exit %d, want 2:\n%s", format, code, out)
				}
				if strings.Contains(out, "No problem found") {
					t.Errorf("-o %s: a clean bill of health from evidence not understood:\n%s", format, out)
				}
				if format == "text" && !strings.Contains(out+errs, "NOTHING USABLE") && !strings.Contains(out+errs, "no evidence") {
					t.Errorf("-o text does not say nothing was usable:\n%s%s", out, errs)
				}
			}
			d, _, _ := diagnose(t, dir)
			if v := d.Coverage.Verdict; v != diagnosis.VerdictNothingUsable && len(d.Hosts) > 0 {
				t.Errorf("verdict %q, want %q", v, diagnosis.VerdictNothingUsable)
			}
		})
	}
}

// TestVerdictSaysWhatItRestsOn: a healthy case says how many checks ran;
// a case that identifies no service says it cannot conclude and exits 2.
func TestVerdictSaysWhatItRestsOn(t *testing.T) {
	out, _, code := run("diagnose", "../examples/dr-healthy")
	if code != 0 || !strings.Contains(out, "No problem found:") || !strings.Contains(out, "checks for DR ran") {
		t.Errorf("healthy example: exit %d:\n%s", code, out)
	}
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "rs1"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "rs1", "ip-addr.txt"), []byte(`$ ip addr
1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000
    inet 127.0.0.1/8 scope host lo
2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group default qlen 1000
    inet 10.0.0.11/24 brd 10.0.0.255 scope global eth0
`), 0o644))
	out, _, code = run("diagnose", dir)
	if code != cli.ExitUsage || !strings.Contains(out, "NO CONCLUSION") {
		t.Errorf("no service: exit %d:\n%s", code, out)
	}
}
