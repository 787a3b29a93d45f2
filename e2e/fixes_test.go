package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/cli"
	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/report"
)

// fixCommands are the commands a fix line may start with: what a person
// pastes into a director's, real server's or hypervisor's shell.
var fixCommands = map[string]bool{
	"sysctl": true, "printf": true, "ip": true, "iptables": true, "iptables-save": true, "ip6tables": true, "nft": true, "ipvsadm": true,
	"systemctl": true, "virsh": true, "grubby": true, "modprobe": true, "echo": true, "openstack": true, "aws": true,
	"az": true, "keepalived": true, "arping": true, "tcpdump": true, "ebtables": true, "cat": true, "grep": true,
	"ss": true, "nstat": true, "journalctl": true, "lvsdoctor": true, "sed": true, "nc": true, "uname": true,
	"rpm": true, "dpkg": true, "apt": true, "dnf": true, "reboot": true, "firewall-cmd": true, "kubectl": true,
	"ausearch": true, "restorecon": true, "rm": true, "nsenter": true,
}

// fixPlaceholderRe finds a placeholder left where the case's value goes:
// <VIP>, <iface>, <director DIP>, <2x the current max>. An XML element in
// a comment (<filterref filter='clean-traffic'>) is no placeholder.
var fixPlaceholderRe = regexp.MustCompile(`<[A-Za-z0-9][A-Za-z0-9 _.:/-]*>`)

// fixCases are every case the tests diagnose: the examples, the lab's,
// the corpus and the field cases.
func fixCases(t *testing.T) []string {
	examples, others := schemaInputs(t)
	field, _ := filepath.Glob("../testdata/field/*")
	var out []string
	for _, x := range append(append(examples, others...), field...) {
		if fi, err := os.Stat(x); err == nil && (fi.IsDir() || strings.HasSuffix(x, ".txt")) && !strings.Contains(x, "not-evidence") {
			out = append(out, x)
		}
	}
	return out
}

// Every fix of every finding of every case can be pasted: each line is a
// command filled in with the case's values (no placeholder left) or a
// comment line; a keepalived restart says it fails the VIP over (or that
// this host is the backup); advice is for the case's mode only (no NAT
// gateway in an FNAT case); and Markdown shows the commands as they are,
// no HTML entity inside a code block or span.
func TestFixesPaste(t *testing.T) {
	cases := fixCases(t)
	if len(cases) < 200 {
		t.Fatalf("%d cases", len(cases))
	}
	lines := 0
	for _, c := range cases {
		var out, errb bytes.Buffer
		cli.Main([]string{"diagnose", "-o", "json", c}, &out, &errb)
		if out.Len() == 0 {
			continue
		}
		var d diagnosis.Diagnosis
		if err := json.Unmarshal(out.Bytes(), &d); err != nil {
			t.Errorf("%s: %v", c, err)
			continue
		}
		name := strings.TrimPrefix(c, "../")
		for _, f := range d.Findings {
			for _, x := range f.Fix {
				lines++
				if m := fixPlaceholderRe.FindString(x); m != "" {
					t.Errorf("%s: %s@%s: placeholder %s left in %q", name, f.ID, f.Host, m, x)
				}
				if !strings.HasPrefix(x, "# ") {
					if w := strings.Fields(x); len(w) == 0 || !fixCommands[w[0]] {
						t.Errorf("%s: %s@%s: fix line is neither a command nor a comment: %q", name, f.ID, f.Host, x)
					}
				}
				if strings.Contains(x, "restart keepalived") && !strings.Contains(x, "fails the VIP over") && !strings.Contains(x, "no failover") {
					t.Errorf("%s: %s@%s: a keepalived restart without saying whether it fails the VIP over: %q", name, f.ID, f.Host, x)
				}
				if regexp.MustCompile(`(^|# )F?NAT:`).MatchString(x) {
					t.Errorf("%s: %s@%s: advice for several modes in one %s case: %q", name, f.ID, f.Host, d.Service.Mode, x)
				}
				if d.Service.Mode == "fnat" && strings.Contains(x, "default via") {
					t.Errorf("%s: %s@%s: NAT's default gateway in an FNAT case: %q", name, f.ID, f.Host, x)
				}
			}
		}
		var md bytes.Buffer
		if err := report.Write(&md, "markdown", &d, report.Options{}); err != nil {
			t.Fatal(err)
		}
		if bad := entityInCode(md.String()); bad != "" {
			t.Errorf("%s: markdown shows an HTML entity in code: %q", name, bad)
		}
	}
	if lines < 300 {
		t.Errorf("only %d fix lines checked", lines)
	}
}

// entityInCode returns a line of a fenced block, or a code span, that
// holds an HTML entity: inside code Markdown shows it as it is written.
func entityInCode(md string) string {
	inFence := false
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "```") {
			inFence = !inFence
			continue
		}
		if inFence {
			if entityRe.MatchString(l) {
				return l
			}
			continue
		}
		for _, span := range codeSpanRe.FindAllString(l, -1) {
			if entityRe.MatchString(span) {
				return span
			}
		}
	}
	return ""
}

var (
	entityRe   = regexp.MustCompile(`&(lt|gt|amp|quot|#\d+);`)
	codeSpanRe = regexp.MustCompile("`[^`]+`")
)
