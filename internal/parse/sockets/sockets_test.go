package sockets

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/parsetest"
)

func load(t testing.TB, name, command string) evidence.Doc {
	t.Helper()
	return parsetest.Fixture(t, "h", name, command)
}

// key renders a listener: "tcp 0.0.0.0:80 any nginx", "tcp *:9000 any".
func key(l evidence.Listener) string {
	a := "*"
	if l.Addr.IsValid() {
		a = l.Addr.String()
	}
	s := fmt.Sprintf("%s %s:%d", l.Proto, a, l.Port)
	if l.Any {
		s += " any"
	}
	if l.Process != "" {
		s += " " + l.Process
	}
	return s
}

func TestParse(t *testing.T) {
	tests := []struct {
		file, cmd string
		netstat   bool
		want      []string
	}{
		{"ss-lntup.txt", "ss -lntup", false, []string{
			"udp 0.0.0.0:53 any python3", "udp 192.0.2.60:5353 python3", "udp *:123 any python3",
			"tcp 0.0.0.0:22 any python3", "tcp 0.0.0.0:80 any python3", "tcp 127.0.0.1:8443 python3",
			"tcp 192.0.2.60:8080 python3", "tcp :::443 any python3", "tcp ::1:8000 python3", "tcp *:9000 any busybox"}},
		{"ss-lnt.txt", "ss -lnt", false, []string{
			"tcp 0.0.0.0:22 any", "tcp 0.0.0.0:80 any", "tcp 127.0.0.1:8443", "tcp 192.0.2.60:8080",
			"tcp :::443 any", "tcp ::1:8000", "tcp *:9000 any"}},
		// Without the command, LISTEN means TCP.
		{"ss-lnt.txt", "", false, []string{
			"tcp 0.0.0.0:22 any", "tcp 0.0.0.0:80 any", "tcp 127.0.0.1:8443", "tcp 192.0.2.60:8080",
			"tcp :::443 any", "tcp ::1:8000", "tcp *:9000 any"}},
		{"ss-lnu.txt", "ss -lnu", false, []string{"udp 0.0.0.0:53 any", "udp 192.0.2.60:5353", "udp *:123 any"}},
		{"ss-ltn4.txt", "ss -ltn -4", false, []string{"tcp 0.0.0.0:22 any", "tcp 0.0.0.0:80 any", "tcp 127.0.0.1:8443", "tcp 192.0.2.60:8080"}},
		{"ss-lntp-centos7.txt", "ss -lntp", false, []string{"tcp *:22 any sshd", "tcp 127.0.0.1:25 master", "tcp 192.0.2.60:80 nginx", "tcp *:22 any sshd"}},
		{"ss-lnt-centos6.txt", "ss -lnt", false, []string{"tcp *:22 any", "tcp *:22 any", "tcp 127.0.0.1:8080 java"}},
		{"netstat-lntup.txt", "netstat -lntup", true, []string{
			"tcp 0.0.0.0:22 any python3", "tcp 0.0.0.0:80 any python3", "tcp 127.0.0.1:8443 python3", "tcp 192.0.2.60:8080 python3",
			"tcp *:443 any python3", "tcp ::1:8000 python3", "tcp *:9000 any busybox",
			"udp 0.0.0.0:53 any python3", "udp 192.0.2.60:5353 python3", "udp *:123 any python3"}},
		{"netstat-lnp.txt", "netstat -lnp", true, []string{
			"tcp 0.0.0.0:22 any python3", "tcp 0.0.0.0:80 any python3", "tcp 127.0.0.1:8443 python3", "tcp 192.0.2.60:8080 python3",
			"tcp *:443 any python3", "tcp ::1:8000 python3", "tcp *:9000 any busybox",
			"udp 0.0.0.0:53 any python3", "udp 192.0.2.60:5353 python3", "udp *:123 any python3"}},
		{"netstat-tlnp.txt", "netstat -tlnp", true, []string{
			"tcp 0.0.0.0:22 any python3", "tcp 0.0.0.0:80 any python3", "tcp 127.0.0.1:8443 python3", "tcp 192.0.2.60:8080 python3",
			"tcp *:443 any python3", "tcp ::1:8000 python3", "tcp *:9000 any busybox"}},
	}
	for _, tc := range tests {
		t.Run(tc.file+"/"+tc.cmd, func(t *testing.T) {
			doc := load(t, tc.file, tc.cmd)
			parse := ParseSS
			if tc.netstat {
				parse = ParseNetstat
			}
			ls, probs := parse(doc)
			if len(probs) != 0 {
				t.Errorf("problems: %v", probs)
			}
			var got []string
			for _, l := range ls {
				got = append(got, key(l))
				if l.Ref.Line < 2 || l.Ref.Source != doc.Source {
					t.Errorf("bad ref %+v", l.Ref)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestAccepts(t *testing.T) {
	ls, _ := ParseSS(load(t, "ss-lntup.txt", "ss -lntup"))
	vip := netip.MustParseAddr("192.0.2.60")
	accepts := func(port uint16) bool {
		for _, l := range ls {
			if l.Accepts("tcp", vip, port) {
				return true
			}
		}
		return false
	}
	// 443 is IPv6-only ([::]), 8443 is loopback-only: neither serves the VIP.
	for port, want := range map[uint16]bool{80: true, 8080: true, 9000: true, 443: false, 8443: false, 8000: false} {
		if accepts(port) != want {
			t.Errorf("port %d: accepts=%v want %v", port, !want, want)
		}
	}
}

func TestGarbage(t *testing.T) {
	doc := evidence.Doc{Source: "x", Text: "State Recv-Q Send-Q Local Address:Port Peer Address:Port\nLISTEN 0 5 xxx.xxx.1.60:80 0.0.0.0:*\nbogus\n"}
	ls, probs := ParseSS(doc)
	if len(ls) != 0 || len(probs) != 2 {
		t.Fatalf("%v %v", ls, probs)
	}
}

func fuzzSeeds(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.txt")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b), "")
	}
}

func check(t *testing.T, doc evidence.Doc, ls []evidence.Listener, probs []evidence.Problem) {
	n := len(doc.Lines())
	for _, l := range ls {
		if l.Ref.Line < 1 || l.Ref.Line > n || l.Proto == "" || (!l.Any && !l.Addr.IsValid()) {
			t.Fatalf("bad listener %+v", l)
		}
	}
	for _, p := range probs {
		if p.Line < 1 || p.Line > n {
			t.Fatalf("bad problem %+v", p)
		}
	}
}

func FuzzParseSS(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, text, cmd string) {
		doc := evidence.Doc{Source: "f", Text: text, Command: cmd}
		ls, probs := ParseSS(doc)
		check(t, doc, ls, probs)
	})
}

func FuzzParseNetstat(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, text, cmd string) {
		doc := evidence.Doc{Source: "f", Text: text, Command: cmd}
		ls, probs := ParseNetstat(doc)
		check(t, doc, ls, probs)
	})
}

// netstat -p prints the program's name as its process title, blanks and
// all (sshd's "sshd: /usr/sbin/sshd -D"), cut to its column's width.
func TestNetstatProgramWithBlanks(t *testing.T) {
	doc := evidence.Doc{Host: "rs2", Source: "rs2/netstat-lntup.txt", Start: 1, Command: "netstat -lntup", Text: "Active Internet connections (only servers)\n" +
		"Proto Recv-Q Send-Q Local Address           Foreign Address         State       PID/Program name    \n" +
		"tcp        0      0 0.0.0.0:22              0.0.0.0:*               LISTEN      812/sshd: /usr/sbin \n" +
		"udp        0      0 127.0.0.1:323           0.0.0.0:*                           701/chronyd         \n"}
	ls, probs := ParseNetstat(doc)
	if len(probs) != 0 || len(ls) != 2 || ls[0].Process != "sshd: /usr/sbin" || ls[1].Process != "chronyd" {
		t.Errorf("listeners %+v, problems %v", ls, probs)
	}
}
