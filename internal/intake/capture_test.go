package intake

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// caseDir builds a case in a temporary folder: files maps a path inside
// the case to its content, or to "@path" for a copy of a fixture.
func caseDir(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		if strings.HasPrefix(content, "@") {
			b, err := os.ReadFile(content[1:])
			if err != nil {
				t.Fatal(err)
			}
			content = string(b)
		}
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const capFixtures = "../capture/testdata/"

func framesBySource(h *evidence.Host) map[string]int {
	m := map[string]int{}
	for _, f := range h.Frames {
		m[f.Ref.Source]++
	}
	return m
}

// TestCaptureRead: a capture in a host folder becomes the host's frames.
func TestCaptureRead(t *testing.T) {
	root := caseDir(t, map[string]string{"ds1/eth0.pcap": "@" + capFixtures + "br0.pcap"})
	c, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	h := c.Host("ds1")
	if len(h.Frames) != 61 || !h.Has(evidence.KindFrames) || len(c.Problems) != 0 || len(c.Notes) != 0 {
		t.Fatalf("%d frames, seen %v, problems %v, notes %v", len(h.Frames), h.Seen, c.Problems, c.Notes)
	}
	f := h.Frames[18]
	if f.Iface != "eth0" || f.Ref.Source != "ds1/eth0.pcap" || f.Ref.Line != 19 || f.Ref.Host != "ds1" || f.IPID < 0 {
		t.Errorf("frame 19: %+v", f)
	}
}

// TestCaptureGzipped: a capture attached gzipped (eth0.pcap.gz) is read
// as the capture, and its interface comes from its name.
func TestCaptureGzipped(t *testing.T) {
	plain, err := os.ReadFile(capFixtures + "br0.pcap")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(plain)
	zw.Close()
	root := caseDir(t, map[string]string{"ds1/eth0.pcap.gz": buf.String()})
	c, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	h := c.Host("ds1")
	if len(h.Frames) != 61 || len(c.Problems) != 0 {
		t.Fatalf("%d frames, problems %v", len(h.Frames), c.Problems)
	}
	if f := h.Frames[18]; f.Ref.Source != "ds1/eth0.pcap.gz" || f.Iface != "eth0" {
		t.Errorf("frame 19: %+v", f)
	}
}

// TestCaptureDamaged: a damaged capture costs only what is damaged.
func TestCaptureDamaged(t *testing.T) {
	root := caseDir(t, map[string]string{
		"ds1/eth0.pcap":    "@" + capFixtures + "truncated.pcap",
		"ds1/empty.pcap":   "",
		"ds1/ip-addr.txt":  "@testdata/capture/ip-link-b.txt",
		"ds1/garbage.pcap": "this is not a capture\n",
	})
	c, _ := Load(root)
	h := c.Host("ds1")
	if len(h.Frames) != 60 || len(c.Problems) != 3 {
		t.Fatalf("%d frames, problems %v", len(h.Frames), c.Problems)
	}
	for _, p := range c.Problems {
		if p.Host != "ds1" || !strings.HasSuffix(p.Source, ".pcap") {
			t.Errorf("problem %+v", p)
		}
	}
}

// tcpdumpRead is the lab's printout of a capture: the command on the
// first line, then tcpdump's output.
func tcpdumpRead(t *testing.T, fixture, file string) string {
	b, err := os.ReadFile(capFixtures + fixture)
	if err != nil {
		t.Fatal(err)
	}
	return "$ tcpdump -e -n -vvv -r " + file + "\n" + string(b)
}

// TestCapturePrintoutOnce: a capture and its printout count each packet
// once, whichever is read first, and the printout's file keeps its other
// blocks with their line numbers.
func TestCapturePrintoutOnce(t *testing.T) {
	printout := tcpdumpRead(t, "br0.vvv.txt", "eth0.pcap")
	for _, name := range []string{"tcpdump-eth0.txt", "a-tcpdump.txt"} {
		t.Run(name, func(t *testing.T) {
			root := caseDir(t, map[string]string{
				"ds1/eth0.pcap": "@" + capFixtures + "br0.pcap",
				"ds1/" + name:   printout,
			})
			c, _ := Load(root)
			h := c.Host("ds1")
			if got := framesBySource(h); len(got) != 1 || got["ds1/eth0.pcap"] != 61 {
				t.Errorf("frames by source %v", got)
			}
			if len(c.Problems) != 0 {
				t.Errorf("problems %v", c.Problems)
			}
		})
	}
	// A transcript with other commands around the printout, read after
	// the capture.
	ipLink, _ := os.ReadFile("testdata/capture/ip-link-b.txt")
	session := "[root@ds1 ~]# uname -r\n6.1.0-18-amd64\n[root@ds1 ~]# tcpdump -nn -e -vvv -r /tmp/eth0.pcap\n" +
		strings.SplitN(printout, "\n", 2)[1] + "[root@ds1 ~]# " + strings.TrimPrefix(string(ipLink), "$ ")
	root := caseDir(t, map[string]string{
		"ds1/eth0.pcap":   "@" + capFixtures + "br0.pcap",
		"ds1/session.txt": session,
	})
	c, _ := Load(root)
	h := c.Host("ds1")
	if got := framesBySource(h); len(got) != 1 || got["ds1/eth0.pcap"] != 61 {
		t.Errorf("frames by source %v", got)
	}
	if len(h.Links) != 4 || !h.Has(evidence.KindUname) {
		t.Fatalf("other blocks lost: %d links, seen %v", len(h.Links), h.SeenKinds())
	}
	want := strings.Count(session[:strings.Index(session, "1: lo:")], "\n") + 1
	if h.Links[0].Ref.Line != want {
		t.Errorf("lo cited at line %d, want %d", h.Links[0].Ref.Line, want)
	}
	if len(c.Problems) != 0 {
		t.Errorf("problems %v", c.Problems)
	}
}

// TestCaptureOtherPrintout: a printout of other packets stays.
func TestCaptureOtherPrintout(t *testing.T) {
	root := caseDir(t, map[string]string{
		"ds1/eth0.pcap":        "@" + capFixtures + "tun0.pcap",
		"ds1/tcpdump-eth0.txt": tcpdumpRead(t, "br0.vvv.txt", "br0.pcap"),
	})
	c, _ := Load(root)
	if got := framesBySource(c.Host("ds1")); got["ds1/eth0.pcap"] != 5 || got["ds1/tcpdump-eth0.txt"] != 61 {
		t.Errorf("frames by source %v", got)
	}
}

// TestCaptureLivePrintout: the live printout of the capture that wrote
// the file (the example cases' way) is the same packets in the host's
// local time: the capture's frames take that zone.
func TestCaptureLivePrintout(t *testing.T) {
	c, err := Load("../../examples/dr-kernel-suspect")
	if err != nil {
		t.Fatal(err)
	}
	h := c.Host("lvs1")
	if got := framesBySource(h); len(got) != 1 || got["lvs1/enp189s0f0.pcap"] != 3 {
		t.Fatalf("frames by source %v", got)
	}
	f := h.Frames[0]
	if f.Time != "2025-05-20T16:41:17.226304+08:00" || !strings.HasPrefix(f.Ref.Text, "16:41:17.226304 ") || f.Iface != "enp189s0f0" {
		t.Errorf("%q %q %q", f.Time, f.Ref.Text, f.Iface)
	}
	// Two captures and two live printouts on one host.
	c, _ = Load("../../examples/tun-rp-filter")
	if got := framesBySource(c.Host("rs1")); len(got) != 2 || got["rs1/eth0.pcap"] != 3 || got["rs1/tunl0.pcap"] != 3 {
		t.Errorf("rs1 frames by source %v", got)
	}
}

// TestCaptureLab: in every lab case, each host's frames come from its
// capture alone, none from the printout the lab wrote beside it.
func TestCaptureLab(t *testing.T) {
	cases, _ := filepath.Glob("../../testdata/lab/*/case.yaml")
	if len(cases) == 0 {
		t.Fatal("no lab cases")
	}
	for _, cy := range cases {
		c, err := Load(filepath.Dir(cy))
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range c.Hosts {
			for src := range framesBySource(h) {
				if !strings.HasSuffix(src, ".pcap") {
					t.Errorf("%s %s: frames from %s", filepath.Base(filepath.Dir(cy)), h.Name, src)
				}
			}
		}
		if len(c.Problems) != 0 {
			t.Errorf("%s: %v", cy, c.Problems)
		}
	}
}

// TestCaptureCookedNames: a `tcpdump -i any` capture's interface indexes
// are named from the host's `ip link`, read ahead of its turn.
func TestCaptureCookedNames(t *testing.T) {
	root := caseDir(t, map[string]string{
		"b/any.pcap":    "@" + capFixtures + "any-sll2.pcap",
		"b/ip-link.txt": "@testdata/capture/ip-link-b.txt",
	})
	c, _ := Load(root)
	h := c.Host("b")
	ifs := map[string]int{}
	for _, f := range h.Frames {
		ifs[f.Iface]++
	}
	if ifs["eth0"] == 0 || ifs["eth1"] == 0 || ifs[""] != 0 || len(c.Problems) != 0 {
		t.Errorf("interfaces %v, problems %v", ifs, c.Problems)
	}
}

// TestCaptureFilter: beyond filterAbove, only frames about the case's VIP
// and client are kept.
func TestCaptureFilter(t *testing.T) {
	defer func(n int64) { filterAbove = n }(filterAbove)
	filterAbove = 1000
	root := caseDir(t, map[string]string{
		"case.yaml":    "vip: 192.0.2.100:80\n",
		"b/br0.pcap":   "@" + capFixtures + "br0.pcap",
		"b/small.pcap": "@" + capFixtures + "empty-capture.pcap",
	})
	c, _ := Load(root)
	if n := len(c.Host("b").Frames); n != 27 {
		t.Errorf("%d frames kept", n)
	}
}

func TestUsOfDay(t *testing.T) {
	for s, want := range map[string]int64{"16:41:17.226304": 60077226304, "2025-05-20 16:41:17.226304": 60077226304, "1747730477.226304": 31277226304} {
		if got, ok := usOfDay(s); !ok || got != want {
			t.Errorf("%s: %d %v", s, got, ok)
		}
	}
	if _, ok := usOfDay("garbage"); ok {
		t.Error("garbage read as a time")
	}
}

func TestReadsFile(t *testing.T) {
	for cmd, want := range map[string]bool{
		"tcpdump -e -n -r eth0.pcap":           true,
		"tcpdump -nnr /tmp/eth0.pcap host x":   true,
		"tcpdump -r/tmp/eth0.pcap":             true,
		"tcpdump --read-file=eth0.pcap":        true,
		"tcpdump -e -n -r eth1.pcap":           false,
		"tcpdump -i eth0 -w eth0.pcap":         false,
		"tcpdump -e -n -i eth0 host 192.0.2.1": false,
	} {
		if readsFile(cmd, "eth0.pcap") != want {
			t.Errorf("%q: %v", cmd, !want)
		}
	}
}

// TestCaptureNamedText: a file named like a capture that holds tcpdump's
// text is read as text.
func TestCaptureNamedText(t *testing.T) {
	root := caseDir(t, map[string]string{"ds1/eth0.cap": "@" + capFixtures + "br0.vvv.txt"})
	c, _ := Load(root)
	h := c.Host("ds1")
	if got := framesBySource(h); got["ds1/eth0.cap"] != 61 || !h.Has(evidence.KindFrames) {
		t.Errorf("frames by source %v, problems %v", got, c.Problems)
	}
}
