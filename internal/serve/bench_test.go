package serve

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvsdoctor/lvsdoctor/internal/collect"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/intake"
)

// labDirector is a host folder `lvsdoctor collect` wrote on a real
// director of the QEMU lab (real IPVS, keepalived, two real servers).
var labDirector = filepath.Join("..", "..", "testdata", "lab", "collect", "director")

// genDirector writes into dir the host folder collect writes on a
// director whose one virtual service has nRS real servers and whose
// connection table holds nConns entries: the lab director's files, its
// IPVS files grown to that size in the formats they were collected in
// (ipvsadm listings from IPVS netlink, /proc/net/ip_vs and ip_vs_conn as
// the kernel prints them).
func genDirector(tb testing.TB, dir string, nRS, nConns int) {
	tb.Helper()
	if err := copyTree(labDirector, dir); err != nil {
		tb.Fatal(err)
	}
	const vip = "192.0.2.100"
	rip := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 1, byte(i / 250), byte(1 + i%250)}) }
	hex := func(a netip.Addr) string {
		b := a.As4()
		return fmt.Sprintf("%02X%02X%02X%02X", b[0], b[1], b[2], b[3])
	}
	const header = "IP Virtual Server version 1.2.1 (size=4096)\n"
	var ln, stats, rate, proc strings.Builder
	ln.WriteString(header + "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n")
	fmt.Fprintf(&ln, "TCP  %s:80 wlc\n", vip)
	stats.WriteString(header + "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n  -> RemoteAddress:Port\n")
	rate.WriteString(header + "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n  -> RemoteAddress:Port\n")
	per := uint64(nConns / nRS)
	fmt.Fprintf(&stats, "TCP  %-33s %8d %8d %8d %8d %8d\n", vip+":80", per*uint64(nRS), 10*per*uint64(nRS), 0, 600*per*uint64(nRS), 0)
	fmt.Fprintf(&rate, "TCP  %-33s %8d %8d %8d %8d %8d\n", vip+":80", 500, 5000, 0, 300000, 0)
	proc.WriteString(header + "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n")
	fmt.Fprintf(&proc, "TCP  %s:0050 wlc\n", hex(netip.MustParseAddr(vip)))
	for i := 0; i < nRS; i++ {
		a := rip(i).String() + ":80"
		fmt.Fprintf(&ln, "  -> %-28s Route   %-6d %-10d %-10d\n", a, 1, per-3, 3)
		fmt.Fprintf(&stats, "  -> %-33s %8d %8d %8d %8d %8d\n", a, per, 10*per, 0, 600*per, 0)
		fmt.Fprintf(&rate, "  -> %-33s %8d %8d %8d %8d %8d\n", a, 0, 5, 0, 300, 0)
		fmt.Fprintf(&proc, "  -> %s:0050      Route   %-6d %-10d %-10d\n", hex(rip(i)), 1, per-3, 3)
	}
	for name, s := range map[string]string{"ipvsadm-Ln.txt": ln.String(), "ipvsadm-Ln-stats.txt": stats.String(),
		"ipvsadm-Ln-rate.txt": rate.String(), "proc-net-ip_vs.txt": proc.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	f, err := os.Create(filepath.Join(dir, "proc-net-ip_vs_conn.txt"))
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n")
	vipHex := hex(netip.MustParseAddr(vip))
	for i := 0; i < nConns; i++ {
		client := netip.AddrFrom4([4]byte{203, 0, byte(i / 250 % 256), byte(1 + i%250)})
		state, expires := "ESTABLISHED", 900-i%900
		if i%10 == 0 {
			state, expires = "TIME_WAIT", 120-i%120
		}
		fmt.Fprintf(w, "TCP %s %04X %s 0050 %s 0050 %-11s %7d\n", hex(client), 1024+i%60000, vipHex, hex(rip(i%nRS)), state, expires)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// The generated director reads as what it stands for: the benchmark
// measures a diagnosis of 1,000 real servers and their connections, not
// an early exit on a file that did not parse.
func TestGeneratedDirectorParses(t *testing.T) {
	root := t.TempDir()
	genDirector(t, filepath.Join(root, "ds1"), 20, 5000)
	c, err := intake.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	h := c.Lookup("ds1")
	if h == nil || h.IPVS == nil || len(h.IPVS.Services) != 1 {
		t.Fatalf("no IPVS service parsed: %+v", h)
	}
	vs := h.IPVS.Services[0]
	if len(vs.Dests) != 20 || vs.Stats == nil || vs.Rate == nil || vs.Dests[19].Stats == nil || vs.Dests[19].Weight != 1 ||
		vs.Dests[19].Method != evidence.MethodRoute || vs.Dests[0].ActiveConn != 247 {
		t.Errorf("service %s: %d real servers, stats %v rate %v, last %+v", vs.Key(), len(vs.Dests), vs.Stats, vs.Rate, vs.Dests[len(vs.Dests)-1])
	}
	if h.IPVS.TotalConns != 5000 {
		t.Errorf("%d connections parsed, want 5000", h.IPVS.TotalConns)
	}
	if len(c.Problems) > 0 {
		t.Errorf("input problems: %v", c.Problems[:min(3, len(c.Problems))])
	}
}

// BenchmarkRun is one serve run on a director with 1,000 real servers
// and 1,000,000 connections (and smaller ones): a real collection of this
// host (collect.Local, as serve runs it, commands included) written to
// the run's directory, the director's host folder put in its place
// (genDirector; this machine has no IPVS to fill one), then the run's
// intake, engine, rendering and metrics as serve does them. It reports,
// per run, the CPU time of the process and of the commands it ran
// (getrusage, self and children), the interval at which that is 1 % of
// a core, the peak resident memory of the runs (VmHWM, reset after the
// setup) and what the process holds between runs (heap in use after a
// GC). bench/serve.sh runs it.
//
// Not in it: what the kernel spends printing /proc/net/ip_vs_conn for a
// real table of that size, which this machine cannot show.
func BenchmarkRun(b *testing.B) {
	for _, sz := range []struct{ rs, conns int }{{10, 1000}, {1000, 100_000}, {1000, 1_000_000}} {
		b.Run(fmt.Sprintf("rs=%d/conns=%d", sz.rs, sz.conns), func(b *testing.B) {
			tmpl := filepath.Join(b.TempDir(), "ds1")
			genDirector(b, tmpl, sz.rs, sz.conns)
			s := New(Options{Interval: time.Minute, TempDir: b.TempDir(), Collect: func(ctx context.Context, dir string) ([]*collect.Bundle, error) {
				bundle := collect.Local(ctx, collect.Options{Host: "ds1", Role: "director"})
				if _, err := bundle.Write(dir); err != nil {
					return nil, err
				}
				return []*collect.Bundle{bundle}, copyTree(tmpl, filepath.Join(dir, "ds1"))
			}})
			ctx := context.Background()
			runtime.GC()
			resetPeakRSS(b)
			before := cpuTime()
			for b.Loop() {
				if err := s.RunOnce(ctx); err != nil {
					b.Fatal(err)
				}
			}
			cpu := (cpuTime() - before).Seconds() / float64(b.N)
			if r := s.snapshot().good; r == nil || len(r.dests) != sz.rs {
				b.Fatalf("the run did not diagnose the generated director: %+v", r)
			}
			b.ReportMetric(cpu, "cpu-s/op")
			b.ReportMetric(cpu*100, "s-interval-1%-core")
			b.ReportMetric(float64(vmHWM(b))/(1<<20), "peak-MiB")
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "held-MiB")
		})
	}
}

// cpuTime is the user and system time of this process and of its
// children that have been waited for.
func cpuTime() time.Duration {
	var t time.Duration
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if syscall.Getrusage(who, &ru) == nil {
			t += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	return t
}

// resetPeakRSS sets VmHWM back to the current resident size (Linux 4.0+),
// so that the setup's peak (generating the case) is not counted.
func resetPeakRSS(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("peak memory includes the setup: %v", err)
	}
}

// vmHWM is the process's peak resident set in bytes.
func vmHWM(b *testing.B) int64 {
	st, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	b.Fatal("no VmHWM in /proc/self/status")
	return 0
}
