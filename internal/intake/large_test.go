package intake

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// loadAs loads paths with every file read as a large one (its text not
// copied, split while it is redacted) or none.
func loadAs(t *testing.T, large bool, paths ...string) *evidence.Case {
	t.Helper()
	old := largeFile
	defer func() { largeFile = old }()
	largeFile = 1 << 62
	if large {
		largeFile = 0
	}
	c, err := Load(paths...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// loadStreamed loads paths with every file read in pieces (readStreamed),
// runs of connection lines counted from their fifth line.
func loadStreamed(t *testing.T, paths ...string) *evidence.Case {
	t.Helper()
	oldAbove, oldKeep := streamAbove, streamKeep
	defer func() { streamAbove, streamKeep = oldAbove, oldKeep }()
	streamAbove, streamKeep = 0, 4
	c, err := Load(paths...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// diffCases says where two cases differ: hosts' evidence and problems.
func diffCases(t *testing.T, want, got *evidence.Case) {
	t.Helper()
	if !reflect.DeepEqual(want.Problems, got.Problems) {
		t.Errorf("problems:\n want %v\n got  %v", want.Problems, got.Problems)
	}
	for _, h := range want.Hosts {
		g := got.Lookup(h.Name)
		if g == nil {
			t.Errorf("host %s missing", h.Name)
			continue
		}
		if !reflect.DeepEqual(h.IPVS, g.IPVS) {
			t.Errorf("host %s: IPVS differs:\n want %+v\n got  %+v", h.Name, h.IPVS, g.IPVS)
		} else if !reflect.DeepEqual(h, g) {
			t.Errorf("host %s differs", h.Name)
		}
	}
}

// TestLargeFileSame: the large-file path, and the streamed one, find what
// the small-file one does, on every example and lab case, on transcripts, and on files with
// secrets (redaction changes them: the blocks split ahead are not used)
// and invalid UTF-8.
func TestLargeFileSame(t *testing.T) {
	dirs, _ := filepath.Glob("../../examples/*")
	labs, _ := filepath.Glob("../../testdata/lab/*.*") // the scenarios
	tmp := t.TempDir()
	w := func(p, s string) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var conns strings.Builder
	conns.WriteString("$ ipvsadm -Lnc\nIPVS connection entries\npro expire state       source             virtual            destination\n")
	for i := range 2000 {
		fmt.Fprintf(&conns, "TCP 14:%02d  ESTABLISHED 203.0.113.%d:%d 192.0.2.100:80     10.0.0.%d:80\n", i%60, 1+i%250, 1024+i, 1+i%7)
	}
	w(filepath.Join(tmp, "secret", "ds1", "ipvsadm-Lnc.txt"), conns.String()+"$ cat /etc/keepalived/keepalived.conf\nvrrp_instance VI_1 {\n  authentication {\n    auth_type PASS\n    auth_pass s3cret\n  }\n}\n")
	w(filepath.Join(tmp, "latin1", "ds1", "ipvsadm-Lnc.txt"), conns.String()+"caf\xe9\n")
	w(filepath.Join(tmp, "plain", "ds1", "ipvsadm-Lnc.txt"), conns.String())
	cases := append(append(dirs, labs...), filepath.Join(tmp, "secret"), filepath.Join(tmp, "latin1"), filepath.Join(tmp, "plain"))
	transcripts, _ := filepath.Glob("../../examples/transcripts/*.txt")
	n := 0
	for _, p := range append(cases, transcripts...) {
		if st, err := os.Stat(p); err != nil || (st.IsDir() && strings.HasSuffix(p, "inventory")) {
			continue
		}
		small, large, streamed := loadAs(t, false, p), loadAs(t, true, p), loadStreamed(t, p)
		if !reflect.DeepEqual(small, large) {
			t.Errorf("%s: read as a large file, the case differs", p)
		}
		if !reflect.DeepEqual(small, streamed) {
			t.Errorf("%s: read streamed, the case differs", p)
			diffCases(t, small, streamed)
		}
		n++
	}
	if n < 40 {
		t.Errorf("only %d cases compared", n)
	}
}
