package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/cli"
	"github.com/lvsdoctor/lvsdoctor/internal/intake"
)

// TestPromptStyles: one incident pasted from fourteen prompt styles gives the same
// answer. The session (examples/transcripts/kvm-nwfilter-session.txt) is
// re-prompted the way other distributions and shells print prompts; the
// root cause and the host it is on must not change.
func TestPromptStyles(t *testing.T) {
	src, err := os.ReadFile("../examples/transcripts/kvm-nwfilter-session.txt")
	if err != nil {
		t.Fatal(err)
	}
	prompt := regexp.MustCompile(`(?m)^\[root@([a-z0-9]+) ~\]# ?(.*)$`)
	styles := map[string]string{
		"red hat":        "[root@$1 ~]# $2",
		"debian":         "root@$1:~# $2",
		"suse":           "$1:~ # $2",
		"zsh with sudo":  "ops@$1 ~ % sudo $2",
		"timestamp":      "[10:32:11 root@$1 ~]# $2",
		"virtualenv":     "(prod) root@$1:~# $2",
		"gentoo":         "$1 ~ # $2",
		"fqdn":           "root@$1.example.com:~# $2",
		"user with sudo": "admin@$1:~$ sudo $2",
		"su -c":          "ops@$1:~$ su -c '$2'",
		"time outside":   "[10:32:11] root@$1:~# $2",
		"crlf line ends": "[root@$1 ~]# $2\r",
		// PS1='[\h] \w \$ ' and '[\h]\$ ', as pasted in keepalived#1876
		"bracketed name, path outside": "[$1] ~ #  $2",
		"bracketed name, no path":      "[$1]# $2",
	}
	for name, repl := range styles {
		t.Run(name, func(t *testing.T) {
			text := prompt.ReplaceAllString(string(src), repl)
			if name == "crlf line ends" {
				text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\n", "\r\n")
			}
			if text == string(src) && name != "red hat" {
				t.Fatal("the style did not change the paste")
			}
			p := filepath.Join(t.TempDir(), "session.txt")
			must(t, os.WriteFile(p, []byte(text), 0o644))
			d, code, stderr := diagnose(t, p)
			if len(d.Findings) == 0 {
				t.Fatalf("exit %d, no findings (%s); verdict %q", code, stderr, d.Coverage.Verdict)
			}
			f := d.Findings[0]
			host, _, _ := strings.Cut(f.Host, ".")
			if f.ID != "hypervisor.nwfilter-no-ip-spoofing" || host != "host1" {
				var hosts []string
				for _, h := range d.Hosts {
					hosts = append(hosts, h.Name)
				}
				t.Errorf("first finding %s on %s (hosts %v), want hypervisor.nwfilter-no-ip-spoofing on host1", f.ID, f.Host, hosts)
			}
			if len(d.Hosts) != 3 {
				t.Errorf("hosts %+v, want dir1, host1, rs2", d.Hosts)
			}
		})
	}
}

// TestDiagnoseStdin: `lvsdoctor diagnose -` reads the paste from
// standard input, as it is piped from the clipboard.
func TestDiagnoseStdin(t *testing.T) {
	src, err := os.ReadFile("../examples/transcripts/kvm-nwfilter-session.txt")
	if err != nil {
		t.Fatal(err)
	}
	old := intake.Stdin
	defer func() { intake.Stdin = old }()
	intake.Stdin = bytes.NewReader(src)
	d, code, stderr := diagnose(t, "-")
	if code != cli.ExitCritical || len(d.Findings) == 0 || d.Findings[0].ID != "hypervisor.nwfilter-no-ip-spoofing" {
		t.Fatalf("exit %d %s: %+v", code, stderr, d.Findings)
	}
	if src := d.Findings[0].Evidence[0].Source; src != "stdin" {
		t.Errorf("evidence cites %q, want stdin", src)
	}
	intake.Stdin = bytes.NewReader(nil)
	if _, code, _ := diagnose(t, "-"); code != cli.ExitUsage {
		t.Errorf("an empty paste: exit %d, want 2", code)
	}
}
