package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvsdoctor/lvsdoctor/internal/collect"
	"github.com/lvsdoctor/lvsdoctor/internal/inventory"
	"github.com/lvsdoctor/lvsdoctor/internal/sshexec"
)

// Hostile names and texts, as a compromised host or a ticket gives them.
const (
	hostileHost = "rs1\x1b]0;pwned\x07\nROOT CAUSE: forged"
	hostileFile = "eth0\x1b]52;c;QUJD\x07\u202e.pcap"
	hostileErr  = "Permission denied\r\x1b[2Jok \u009b2J\x9b"
)

// assertClean checks a terminal stream for what no input may leave in it.
func assertClean(t *testing.T, what, out string, want ...string) {
	t.Helper()
	if strings.ContainsAny(out, "\x1b\r\x07\x00\x7f") {
		t.Errorf("%s: control byte in %q", what, out)
	}
	for _, r := range out {
		if (r >= 0x80 && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
			t.Errorf("%s: rune %U in %q", what, r, out)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "ROOT CAUSE: forged") {
			t.Errorf("%s: forged line %q", what, l)
		}
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("%s: %q not visible in:\n%s", what, w, out)
		}
	}
}

// An error quoting a case path is printed escaped, on one line.
func TestExitErrorEscaped(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "case\x1b]52;c;QUJD\x07\nROOT CAUSE: forged")
	_, errs, code := runCLI("diagnose", bad)
	if code != ExitUsage {
		t.Fatalf("exit %d: %q", code, errs)
	}
	assertClean(t, "stderr", errs, `case\x1b]52;c;QUJD\a\nROOT CAUSE: forged`)
	if n := strings.Count(errs, "\n"); n != 1 {
		t.Errorf("%d lines: %q", n, errs)
	}
}

// Joined errors (an inventory's problems) keep one line each.
func TestErrorLines(t *testing.T) {
	err := errors.Join(errors.New("a.yaml:1: host \x1b[2J"), errors.New("a.yaml:2: bad\nname"))
	got := errorLines(err)
	want := []string{`a.yaml:1: host \x1b[2J`, `a.yaml:2: bad\nname`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("errorLines = %q, want %q", got, want)
	}
}

func TestProgressEscaped(t *testing.T) {
	var b bytes.Buffer
	h := inventory.Host{Name: hostileHost, Address: "192.0.2.1\u202e"}
	writeProgress(&b, sshexec.Event{Kind: sshexec.HostDone, Host: h, Done: 1, Total: 2,
		Result: &sshexec.Result{Host: h, Err: errors.New(hostileErr), Elapsed: time.Second}}, true)
	out := b.String()
	assertClean(t, "progress", out, `rs1\x1b]0;pwned\a\nROOT CAUSE: forged`, `192.0.2.1\u202e`, `Permission denied\r\x1b[2Jok \u009b2J\x9b`)
	if !strings.HasPrefix(out, "[1/2] ") || strings.Count(out, "\n") != 1 {
		t.Errorf("progress line %q", out)
	}
}

func TestBundleEscaped(t *testing.T) {
	var b bytes.Buffer
	writeBundle(&b, &collect.Bundle{Host: hostileHost, Err: hostileErr}, "")
	writeBundle(&b, &collect.Bundle{Host: hostileHost, Files: []collect.File{{Name: hostileFile, Err: hostileErr}}}, "case/"+hostileHost)
	assertClean(t, "collect", b.String(), `rs1\x1b]0;pwned\a\nROOT CAUSE: forged`, `eth0\x1b]52;c;QUJD\a\u202e.pcap`, `\x9b`)
	if n := strings.Count(b.String(), "\n"); n != 3 {
		t.Errorf("%d lines, want 3:\n%s", n, b.String())
	}
}

// hostileCase copies a lab case with a host folder, a capture and an
// evidence line renamed or edited to hold terminal controls.
func hostileCase(t *testing.T) string {
	t.Helper()
	src := filepath.Join(labDir, "hypervisor.nwfilter-no-ip-spoofing")
	dst := t.TempDir()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		rel = strings.Replace(rel, "rs1", hostileHost, 1)
		if filepath.Base(rel) == "eth0.pcap" && strings.HasPrefix(rel, hostileHost) {
			rel = filepath.Join(filepath.Dir(rel), hostileFile)
		}
		out := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(out, 0o700)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if filepath.Base(p) == "ipvsadm-Ln.txt" {
			data = append(data, "garbage \x1b]52;c;QUJD\x07 \x1b]8;;http://x.test\x1b\\click\x1b]8;;\x1b\\ \u202eok\n"...)
		}
		return os.WriteFile(out, data, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestHostileCaseOutputs(t *testing.T) {
	dir := hostileCase(t)
	for _, args := range [][]string{
		{"diagnose", dir, "--no-color", "-v"},
		{"diagnose", dir, "-o", "markdown"},
		{"trace", dir, "--no-color", "-v"},
	} {
		out, errs, code := runCLI(args...)
		if code == ExitUsage {
			t.Fatalf("%q: exit %d: %s", args, code, errs)
		}
		what := strings.Join(args[:1], " ") + " " + strings.Join(args[2:], " ")
		visible := `\x1b]0;pwned`
		if slices.Contains(args, "markdown") {
			visible = `x1b\]0;pwned` // Markdown escapes the backslash and the bracket
		}
		assertClean(t, what, out, visible)
		assertClean(t, what+" (stderr)", errs)
	}
}

// The JSON keeps the names as they are: programs need the exact bytes.
func TestHostileCaseJSON(t *testing.T) {
	dir := hostileCase(t)
	out, errs, code := runCLI("diagnose", dir, "-o", "json")
	if code == ExitUsage {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, `rs1\u001b]0;pwned\u0007\nROOT CAUSE: forged`) {
		t.Errorf("json lacks the host's name as it is:\n%.2000s", out)
	}
}
