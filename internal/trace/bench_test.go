package trace

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/capture"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/trace/tracegen"
)

// bigCapture writes a director capture of n small packets (so that a
// million fit in under 100 MB) holding flows connections to the VIP.
func bigCapture(tb testing.TB, n, flows int) (string, tracegen.Stats) {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "director.pcap")
	st, err := tracegen.WriteFile(p, tracegen.Config{Packets: n, VIPFlows: flows, NoiseBytes: -1, Seed: 3})
	if err != nil {
		tb.Fatal(err)
	}
	return p, st
}

// memRun traces a capture and measures what the run allocated and what
// it keeps: bytes and allocations per packet read, and the live heap
// once done (with the result still referenced).
func memRun(tb testing.TB, path string) (r *Result, perPacket, mallocsPerPacket float64, live uint64) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r = Run([]Input{{Point: Point{Host: "director", Role: evidence.RoleDirector, Source: "director.pcap"}, Path: path}}, Config{VIP: tracegen.VIP, Port: tracegen.VPort})
	runtime.ReadMemStats(&after)
	n := float64(max(r.Summary.Packets, 1))
	perPacket = float64(after.TotalAlloc-before.TotalAlloc) / n
	mallocsPerPacket = float64(after.Mallocs-before.Mallocs) / n
	runtime.GC()
	runtime.ReadMemStats(&after)
	live = after.HeapAlloc
	runtime.KeepAlive(r)
	return r, perPacket, mallocsPerPacket, live
}

// TestMemoryFollowsFlows: reading four times more packets of unrelated
// traffic costs no more memory, and allocates nearly nothing per packet;
// more connections to the VIP cost more.
func TestMemoryFollowsFlows(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 150 MB of captures")
	}
	// Both big enough for the reader's whole pool of buffers.
	small, _ := bigCapture(t, 200000, 1)
	big, _ := bigCapture(t, 800000, 1)
	many, _ := bigCapture(t, 800000, 300)
	r1, per1, _, live1 := memRun(t, small)
	r2, per2, mallocs2, live2 := memRun(t, big)
	r3, _, _, live3 := memRun(t, many)
	// The reader's buffers are a fixed cost: what grows with the packets
	// is the difference.
	grow := (per2*float64(r2.Summary.Packets) - per1*float64(r1.Summary.Packets)) / float64(r2.Summary.Packets-r1.Summary.Packets)
	if len(r1.Flows) != 1 || len(r2.Flows) != 1 || len(r3.Flows) < 250 {
		t.Fatalf("flows %d %d %d", len(r1.Flows), len(r2.Flows), len(r3.Flows))
	}
	t.Logf("1 flow: 200k packets live %d KB, 800k packets live %d KB (%.1f B more allocated and %.4f allocations per packet); 300 flows: live %d KB",
		live1>>10, live2>>10, grow, mallocs2, live3>>10)
	if live2 > live1+2<<20 {
		t.Errorf("4× the packets kept %d KB more", (live2-live1)>>10)
	}
	if mallocs2 > 0.01 || grow > 16 {
		t.Errorf("%.4f allocations, %.1f bytes per packet", mallocs2, grow)
	}
	if live3 <= live2 {
		t.Errorf("300 flows kept no more than 1 (%d, %d KB): are they followed?", live3>>10, live2>>10)
	}
}

// TestOneFlowInAMillion: a million packets, one connection to the VIP;
// the trace finds it, whole, at both of its hops.
func TestOneFlowInAMillion(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 90 MB capture")
	}
	p, st := bigCapture(t, 1000000, 1)
	r, per, mallocs, live := memRun(t, p)
	if r.Summary.Packets != st.Packets || len(r.Flows) != 1 {
		t.Fatalf("read %d of %d packets, %d flows", r.Summary.Packets, st.Packets, len(r.Flows))
	}
	f := r.Flows[0]
	in, fw := hop(f, "director receives"), hop(f, "director forwards")
	if f.Packets != 4 || in == nil || fw == nil || in.Count != 4 || fw.Count != 4 || r.Service.Mode != "dr" || !strings.Contains(fw.Change, "MACs rewritten") {
		t.Errorf("flow %+v", f)
	}
	t.Logf("%d packets: %.2f B, %.5f allocations per packet, %d KB live", st.Packets, per, mallocs, live>>10)
}

// BenchmarkTrace reads a million-packet capture, following one
// connection (or a thousand) among unrelated traffic.
func BenchmarkTrace(b *testing.B) {
	for _, c := range []struct {
		name  string
		flows int
	}{{"1M-packets-1-flow", 1}, {"1M-packets-1000-flows", 1000}} {
		b.Run(c.name, func(b *testing.B) {
			p, st := bigCapture(b, 1000000, c.flows)
			fi, err := os.Stat(p)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(fi.Size())
			b.ReportAllocs()
			var live uint64
			for b.Loop() {
				var r *Result
				r, _, _, live = memRun(b, p)
				if r.Summary.Packets != st.Packets {
					b.Fatalf("read %d of %d", r.Summary.Packets, st.Packets)
				}
			}
			b.ReportMetric(float64(live)/(1<<20), "live-MB")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(st.Packets), "ns/packet")
		})
	}
}

// BenchmarkScanOnly is the capture reader alone on the same file: what
// the correlation costs beyond reading.
func BenchmarkScanOnly(b *testing.B) {
	p, _ := bigCapture(b, 1000000, 1)
	fi, _ := os.Stat(p)
	b.SetBytes(fi.Size())
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		capture.Scan(p, capture.Options{}, func(*capture.Packet) bool { n++; return true })
		if n != 1000000 {
			b.Fatal(n)
		}
	}
}
