package intake

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// screenInputs are the transcripts and evidence files of the repository,
// and lines at the edges of the screens.
func screenInputs(t testing.TB) []string {
	var out []string
	for _, pattern := range []string{"../../examples/*/*/*", "../../examples/transcripts/*", "../../testdata/lab/*/*/*", "testdata/*/*"} {
		files, _ := filepath.Glob(pattern)
		for _, p := range files {
			if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() || st.Size() > 1<<20 {
				continue
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(b))
		}
	}
	if len(out) < 50 {
		t.Fatalf("only %d inputs found", len(out))
	}
	return append(out,
		"On rs1 (192.0.2.11):\nip addr\n```\nip addr\n1: lo: <LOOPBACK>\n```\n  From the client:  \n$ curl -v http://192.0.2.100/\n",
		"net.ipv4.conf.all.arp_ignore = 1# sysctl -a\r\nx\r\n```ipvsadm -Ln\r\n```\r\n> ipvsadm -Ln\r\nds1> ip route\n",
		"plain\nlines\nonly\n", "", "\n", "#", "$ ", "```", ":",
	)
}

// TestSplitScreenSame: the line screen changes nothing SplitTranscript
// finds.
func TestSplitScreenSame(t *testing.T) {
	for _, in := range screenInputs(t) {
		sameSplit(t, in)
	}
}

func sameSplit(t *testing.T, in string) {
	t.Helper()
	got := SplitTranscript(in)
	screenLines = false
	want := SplitTranscript(in)
	screenLines = true
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("screened split differs on %q:\n got %+v\nwant %+v", in, got, want)
	}
}

func FuzzSplitScreen(f *testing.F) {
	for _, in := range screenInputs(f) {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) { sameSplit(t, in) })
}

// TestFailureWordsScreen: every line the failure regexps match holds one
// of the screening words, on the repository's evidence and on the error
// messages the regexps were written for.
func TestFailureWordsScreen(t *testing.T) {
	lines := []string{
		`Object "adress" is unknown, try "ip help".`, `Command "shwo" is unknown, try "ip link help".`,
		`ipvsadm: unknown option -- 'x'`, `ss: unrecognized option '--bogus'`, `iptables v1.8.9 (nf_tables): unknown option "--dprot"`,
		`bash: ipvsadm: command not found`, `Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }`, `sudo: a password is required`,
		`1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000`,
	}
	seen := map[string]bool{}
	for _, in := range screenInputs(t) {
		for _, l := range strings.Split(in, "\n") {
			// Output lines repeat with other numbers: one of each shape.
			shape := strings.Map(func(r rune) rune {
				if r >= '0' && r <= '9' {
					return '0'
				}
				return r
			}, strings.TrimSpace(l))
			if !seen[shape] && len(shape) < 300 {
				seen[shape] = true
				lines = append(lines, l)
			}
		}
	}
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if (failureLine.MatchString(l) || usageLine.MatchString(l)) && !mayFail(l) {
			t.Errorf("failure line not screened: %q", l)
		}
	}
}
