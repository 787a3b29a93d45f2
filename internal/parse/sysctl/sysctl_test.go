package sysctl

import (
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

func TestParse(t *testing.T) {
	tests := []struct {
		file, cmd string
		n, probs  int
		want      map[string]string
		line      map[string]int
	}{
		{"sysctl-a.txt", "sysctl -a", 1704, 0, map[string]string{
			"net.ipv4.ip_forward": "0", "net.ipv4.conf.veth0.arp_ignore": "0", "kernel.poweroff_cmd": "/sbin/poweroff",
			"fs.file-nr": "741\t0\t2466186"}, map[string]int{"kernel.poweroff_cmd": 140}},
		{"sysctl-a-nonroot.txt", "sysctl -a", 197, 0, map[string]string{"kernel.cad_pid": ""}, nil},
		{"sysctl-ar-rp_filter.txt", "sysctl -ar rp_filter", 20, 0, map[string]string{
			"net.ipv4.conf.all.rp_filter": "0", "net.ipv4.conf.vx0.arp_filter": "0"}, nil},
		{"sysctl-ip_forward.txt", "sysctl net.ipv4.ip_forward", 1, 0, map[string]string{"net.ipv4.ip_forward": "0"}, nil},
		{"sysctl-n.txt", "sysctl -n net.ipv4.ip_forward net.ipv4.conf.all.rp_filter net.ipv4.conf.lo.arp_ignore", 3, 0,
			map[string]string{"net.ipv4.ip_forward": "0", "net.ipv4.conf.all.rp_filter": "0", "net.ipv4.conf.lo.arp_ignore": "0"},
			map[string]int{"net.ipv4.conf.lo.arp_ignore": 3}},
		{"sysctl-seed-glued.txt", "sysctl -ar arp_ignore", 9, 0, map[string]string{
			"net.ipv4.conf.lo.arp_ignore": "1", "net.ipv4.conf.lo.arp_announce": "2", "net.ipv4.conf.all.rp_filter": "1"},
			map[string]int{"net.ipv4.conf.lo.arp_announce": 8}},
		{"sysctl-a-centos6.txt", "", 12, 0, map[string]string{
			"net.ipv4.conf.eth0/100.rp_filter": "1", "net.ipv4.tcp_rmem": "4096\t87380\t4194304", "net.ipv4.vs.expire_nodest_conn": "0"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			doc := load(t, tc.file, tc.cmd)
			got, probs := Parse(doc)
			if len(probs) != tc.probs {
				t.Errorf("problems %v", probs)
			}
			if len(got) != tc.n {
				t.Errorf("got %d sysctls, want %d", len(got), tc.n)
			}
			m := map[string]evidence.Sysctl{}
			for _, s := range got {
				m[s.Key] = s
			}
			for k, v := range tc.want {
				if v == "" {
					if _, ok := m[k]; ok {
						t.Errorf("%s should be absent", k)
					}
					continue
				}
				if m[k].Value != v {
					t.Errorf("%s = %q, want %q", k, m[k].Value, v)
				}
			}
			for k, l := range tc.line {
				if m[k].Ref.Line != l || m[k].Ref.Source != doc.Source {
					t.Errorf("%s ref %+v, want line %d", k, m[k].Ref, l)
				}
			}
		})
	}
}

func TestNormKey(t *testing.T) {
	for in, want := range map[string]string{
		"net/ipv4/conf/eth0.100/rp_filter": "net.ipv4.conf.eth0/100.rp_filter",
		"/proc/sys/net/ipv4/ip_forward":    "net.ipv4.ip_forward",
		"net.ipv4.conf.eth0/100.rp_filter": "net.ipv4.conf.eth0/100.rp_filter",
		"net.ipv4.conf.all.rp_filter":      "net.ipv4.conf.all.rp_filter",
	} {
		if got := NormKey(in); got != want {
			t.Errorf("NormKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestGarbage(t *testing.T) {
	doc := evidence.Doc{Source: "x", Text: "hello world\nnet.ipv4.ip_forward = 1\nfoo = bar\n"}
	got, probs := Parse(doc)
	if len(got) != 1 || len(probs) != 2 || probs[0].Line != 1 || probs[1].Line != 3 {
		t.Fatalf("%v %v", got, probs)
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.txt")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b), "")
	}
	f.Add("0\n1\n", "sysctl -n net.ipv4.ip_forward net.ipv4.conf.all.rp_filter")
	f.Add("1\n", "cat /proc/sys/net/ipv4/conf/all/rp_filter")
	f.Add("/proc/sys/net/ipv4/conf/all/rp_filter:1\n/proc/sys/net/ipv4/conf/eth0.100/rp_filter:2\n", "grep . /proc/sys/net/ipv4/conf/*/rp_filter")
	f.Fuzz(func(t *testing.T, text, cmd string) {
		doc := evidence.Doc{Source: "f", Text: text, Command: cmd}
		got, probs := Parse(doc)
		more, moreProbs := ParseProcSys(doc)
		got, probs = append(got, more...), append(probs, moreProbs...)
		n := len(doc.Lines())
		for _, s := range got {
			if s.Ref.Line < 1 || s.Ref.Line > n || !IsKey(s.Key) {
				t.Fatalf("bad sysctl %+v", s)
			}
		}
		for _, p := range probs {
			if p.Line < 1 || p.Line > n {
				t.Fatalf("bad problem %+v", p)
			}
		}
	})
}

func TestParseProcSys(t *testing.T) {
	got, probs := ParseProcSys(evidence.Doc{Source: "x", Start: 3, Command: "cat /proc/sys/net/ipv4/conf/tunl0/rp_filter", Text: "1\n"})
	if len(probs) != 0 || len(got) != 1 || got[0].Key != "net.ipv4.conf.tunl0.rp_filter" || got[0].Value != "1" || got[0].Ref.Line != 3 {
		t.Errorf("cat: %+v %v", got, probs)
	}
	got, probs = ParseProcSys(evidence.Doc{Source: "x", Command: "grep . /proc/sys/net/ipv4/conf/*/rp_filter",
		Text: "/proc/sys/net/ipv4/conf/all/rp_filter:1\n/proc/sys/net/ipv4/conf/eth0.100/rp_filter:2\n"})
	if len(probs) != 0 || len(got) != 2 || got[1].Key != "net.ipv4.conf.eth0/100.rp_filter" || got[1].Value != "2" {
		t.Errorf("grep: %+v %v", got, probs)
	}
	got, _ = ParseProcSys(evidence.Doc{Source: "rs1/nf_conntrack_count.txt", Text: "65536\n"})
	if len(got) != 1 || got[0].Key != "net.netfilter.nf_conntrack_count" {
		t.Errorf("file: %+v", got)
	}
	got, probs = ParseProcSys(evidence.Doc{Source: "x", Command: "cat /proc/sys/net/ipv4/vs/backup_only", Text: "cat: /proc/sys/net/ipv4/vs/backup_only: No such file or directory\n"})
	if len(got) != 0 || len(probs) != 0 {
		t.Errorf("missing file: %+v %v", got, probs)
	}
}

// A whole `sysctl -a` says whether a conntrack table exists: without its
// keys there is none to be full. A filtered listing says nothing of it.
func TestWholeListingAnswersConntrack(t *testing.T) {
	full := load(t, "sysctl-a.txt", "sysctl -a")
	var lines []string
	for _, l := range strings.Split(full.Text, "\n") {
		if !strings.Contains(l, "conntrack") {
			lines = append(lines, l)
		}
	}
	noTable := strings.Join(lines, "\n")
	for _, c := range []struct {
		source, cmd string
		want        bool
	}{
		{"h/sysctl-a.txt", "sysctl -a", true},
		{"h/sysctl-a.txt", "", true}, // named sysctl-a
		{"h/out.txt", "", true},      // a thousand keys
		{"h/sysctl-a.txt", "sysctl -a | grep net", false},
		{"h/sysctl-a.txt", "sysctl -a -r net", false},
		{"h/sysctl-a.txt", "sysctl -ar net", false},
		{"h/sysctl-a.txt", "sysctl net.ipv4.ip_forward", false},
	} {
		h := evidence.NewHost("h")
		doc := evidence.Doc{Host: "h", Source: c.source, Start: 1, Command: c.cmd, Text: noTable}
		applySysctl(doc, h)
		if got := h.Has(evidence.KindConntrack); got != c.want {
			t.Errorf("%s (%q): conntrack answered = %v, want %v", c.source, c.cmd, got, c.want)
		}
	}
	h := evidence.NewHost("h")
	small := evidence.Doc{Host: "h", Source: "h/out.txt", Start: 1, Text: "net.ipv4.ip_forward = 1\n"}
	if applySysctl(small, h); h.Has(evidence.KindConntrack) {
		t.Error("one key answers for the conntrack table")
	}
}
