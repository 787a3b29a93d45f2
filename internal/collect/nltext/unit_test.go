package nltext

import (
	"math/rand"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDiagLoadedAt(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sys := filepath.Join(dir, "sys")
	if err := os.MkdirAll(filepath.Join(sys, "sock_diag"), 0o755); err != nil {
		t.Fatal(err)
	}
	all := "inet_diag 28672 2 tcp_diag,udp_diag, Live 0x0\ntcp_diag 16384 0 - Live 0x0\nudp_diag 16384 0 - Live 0x0\n"
	tests := []struct {
		name string
		f    moduleFiles
		want bool
	}{
		{"no module support", moduleFiles{procModules: filepath.Join(dir, "absent")}, true},
		{"all loaded (sock_diag built in with a /sys entry)", moduleFiles{procModules: write("m1", all), sysModule: sys}, true},
		{"udp_diag not loaded", moduleFiles{procModules: write("m2", "inet_diag 1 0 - Live 0x0\ntcp_diag 1 0 - Live 0x0\n"), sysModule: sys}, false},
		{"built in", moduleFiles{procModules: write("m3", "ext4 1 0 - Live 0x0\n"), sysModule: sys,
			builtin: write("b3", "kernel/net/core/sock_diag.ko\nkernel/net/ipv4/inet_diag.ko\nkernel/net/ipv4/tcp_diag.ko\nkernel/net/ipv4/udp_diag.ko\n")}, true},
		{"a name that only ends like a module", moduleFiles{procModules: write("m4", "xinet_diag 1 0 - Live 0x0\ntcp_diag 1 0\nudp_diag 1 0\n"), sysModule: sys,
			builtin: write("b4", "kernel/net/ipv4/xinet_diag.ko\n")}, false},
		{"loading disabled", moduleFiles{procModules: write("m5", ""), modulesDisabled: write("d5", "1\n"), sysModule: sys}, true},
	}
	for _, tc := range tests {
		if got := diagLoadedAt(tc.f); got != tc.want {
			t.Errorf("%s: diagLoadedAt = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestFmtAddrAsGlibc(t *testing.T) {
	for in, want := range map[string]string{
		"::": "::", "::1": "::1", "::102:304": "::1.2.3.4", "::ffff:192.0.2.1": "::ffff:192.0.2.1",
		"2001:db8::1": "2001:db8::1", "2001:db8:0:1:0:0:0:1": "2001:db8:0:1::1", "192.0.2.1": "192.0.2.1",
	} {
		if got := fmtAddr(netip.MustParseAddr(in)); got != want {
			t.Errorf("fmtAddr(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestProcNetLine(t *testing.T) {
	e, ok := parseProcNetLine("   0: 3C0200C0:0050 00000000:0000 0A 00000000:00000003 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0", "tcp")
	if !ok || e.local != netip.MustParseAddr("192.0.2.60") || e.lport != 80 || e.state != tcpListen || e.rq != 3 || e.inode != 4242 {
		t.Fatalf("parsed %+v, %v", e, ok)
	}
	e, ok = parseProcNetLine("   1: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77 1", "tcp")
	if !ok || e.local != netip.IPv6Loopback() || e.lport != 8080 {
		t.Fatalf("parsed %+v, %v", e, ok)
	}
	if _, ok := parseProcNetLine("   2: 0100007F:0016 0100007F:9C40 01 00000000:00000000 00:00000000 00000000 0 0 5 1", "tcp"); ok {
		t.Fatal("an established socket is not a listener")
	}
}

// TestRenderersSurviveGarbage feeds the message printers truncated and
// random messages: what the kernel sends is trusted to be well formed, but
// a bug or a new attribute layout must not crash the collector.
func TestRenderersSurviveGarbage(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 20000; i++ {
		m := make([]byte, rng.Intn(200))
		rng.Read(m)
		if len(m) >= 4 && rng.Intn(2) == 0 {
			// A plausible attribute header, to get past the fixed part.
			m[len(m)/2%len(m)] = 8
		}
		renderAll(m)
	}
}

// FuzzRenderers is the same as a fuzz target: any message through every
// printer and decoder, no panic, output within its bound.
func FuzzRenderers(f *testing.F) {
	rng := rand.New(rand.NewSource(2))
	for _, n := range []int{0, 8, 12, 16, 28, 60, 200} {
		m := make([]byte, n)
		rng.Read(m)
		f.Add(m)
	}
	// a route message: rtmsg (AF_INET, /24, table main) + RTA_DST + RTA_OIF
	f.Add([]byte{2, 24, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0, 8, 0, 1, 0, 192, 0, 2, 0, 8, 0, 4, 0, 1, 0, 0, 0})
	f.Add([]byte("   0: 0100007F:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0"))
	f.Fuzz(func(t *testing.T, m []byte) {
		out := renderAll(m)
		if len(out) > MaxOutput {
			t.Fatalf("%d bytes out", len(out))
		}
	})
}

func renderAll(m []byte) []byte {
	idx := linkIndex{1: {index: 1, a: attrs{3: []byte("lo\x00")}}}
	var o outBuf
	printRoute(&o, m, 254, idx)
	if len(m) >= rtmsgLen {
		printRoute(&o, m, 0, idx)
		printRule(&o, m)
		printNeigh(&o, m, idx)
	}
	if len(m) >= ifinfomsgLen {
		printLink(&o, link{a: parseAttrs(m[ifinfomsgLen:])}, idx, true)
		li := parseAttrs(m)
		printLinkInfo(&o, li, idx)
		printBridge(&o, li)
		printBridgeSlave(&o, li)
		printVxlan(&o, li, idx)
		printTun(&o, li)
		printMacvlan(&o, li)
		printVlan(&o, li)
		printIPTunnel(&o, li, idx, "ipip")
		printMetrics(&o, li)
		printMultipath(&o, m, idx)
	}
	if len(m) >= 8 {
		printAddr(&o, ifaddr{family: m[0], prefixlen: m[1], a: parseAttrs(m[8:])})
	}
	_, _ = parseDiagMsg(m, "tcp")
	_, _ = parseProcNetLine(string(m), "udp")
	b, _ := o.result("fuzz", nil)
	return b
}

func TestOutputBound(t *testing.T) {
	var o outBuf
	line := strings.Repeat("x", 1<<20) + "\n"
	for i := 0; i < MaxOutput>>20+2; i++ {
		o.str(line)
	}
	b, err := o.result("test", nil)
	if err == nil || len(b) > MaxOutput || len(b) == 0 || b[len(b)-1] != '\n' {
		t.Fatalf("len %d, err %v: want a cut at a line end within %d bytes and ErrTruncated", len(b), err, MaxOutput)
	}
}
