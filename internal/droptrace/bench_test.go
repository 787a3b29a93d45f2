package droptrace

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// The benchmarks flood a closed UDP port on the VIP from inside the lab's
// lb namespace: every datagram is one real NO_SOCKET drop on loopback.
// Run as root, e.g.
//
//	go test -run '^$' -bench . -benchtime 200000x ./internal/droptrace/
//
// Custom metrics: bpf-ns/drop (the kfree_skb program's own run time per
// drop, from the kernel's bpf_stats), drops/s or events/s, lost.

// bpfRunTime enables the kernel's BPF run-time accounting for the
// benchmark; its cost is a few ns per program run.
func bpfRunTime(b *testing.B) {
	c, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		b.Skipf("kernel BPF run-time stats unavailable: %v", err)
	}
	b.Cleanup(func() { c.Close() })
}

type progRun struct{ ns, runs uint64 }

func kfreeRun(b *testing.B, tr *Tracer) progRun {
	for name, p := range tr.drops.progs {
		if name == tr.mode+"_kfree_skb_rxsk" || name == tr.mode+"_kfree_skb" {
			st, err := p.Stats()
			if err != nil {
				b.Fatal(err)
			}
			return progRun{uint64(st.Runtime.Nanoseconds()), st.RunCount}
		}
	}
	b.Fatal("no kfree_skb program")
	return progRun{}
}

func reportBPF(b *testing.B, before, after progRun, unit string) {
	if runs := after.runs - before.runs; runs > 0 {
		b.ReportMetric(float64(after.ns-before.ns)/float64(runs), "bpf-ns/"+unit)
	}
}

// BenchmarkDropNoTracer is the baseline: drops/s without a tracer.
func BenchmarkDropNoTracer(b *testing.B) {
	needTracing(b)
	l := newLab(b)
	b.ResetTimer()
	start := time.Now()
	flood(b, l.lb, vip, 9, b.N)
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "drops/s")
}

// BenchmarkDropNotMatching: the cost every other drop on the host pays
// while a tracer watches one VIP.
func BenchmarkDropNotMatching(b *testing.B) {
	for _, mode := range modes {
		b.Run(mode, func(b *testing.B) {
			needTracing(b)
			l := newLab(b)
			bpfRunTime(b)
			tr := startTracer(b, Filter{Addr: netip.MustParseAddr("192.0.2.99")}, Options{Mode: mode})
			before := kfreeRun(b, tr)
			b.ResetTimer()
			start := time.Now()
			flood(b, l.lb, vip, 9, b.N)
			el := time.Since(start)
			b.StopTimer()
			reportBPF(b, before, kfreeRun(b, tr), "drop")
			b.ReportMetric(float64(b.N)/el.Seconds(), "drops/s")
			if st := tr.Stats(); st.Matched != 0 {
				b.Fatalf("filter matched %d", st.Matched)
			}
		})
	}
}

// BenchmarkEventsPerSecond: every drop matches; one sender, a consumer
// that only counts. Fails if anything is lost.
func BenchmarkEventsPerSecond(b *testing.B) {
	needTracing(b)
	l := newLab(b)
	bpfRunTime(b)
	tr := startTracer(b, Filter{Addr: vip, Port: 9, Netns: l.lb}, Options{})
	all := make(chan struct{})
	go func() {
		n := 0
		for range tr.Events() {
			if n++; n == b.N {
				close(all)
			}
		}
	}()
	before := kfreeRun(b, tr)
	b.ResetTimer()
	start := time.Now()
	flood(b, l.lb, vip, 9, b.N)
	select {
	case <-all:
	case <-time.After(10 * time.Second):
		b.Fatalf("not all %d events arrived: %+v", b.N, tr.Stats())
	}
	el := time.Since(start)
	b.StopTimer()
	reportBPF(b, before, kfreeRun(b, tr), "event")
	st := tr.Stats()
	b.ReportMetric(float64(b.N)/el.Seconds(), "events/s")
	b.ReportMetric(float64(st.Lost), "lost")
	if st.Lost != 0 {
		b.Fatalf("lost with one sender: %+v", st)
	}
}

// BenchmarkLossUnderOverload: two senders (both CPUs) into a 64 KiB ring,
// a consumer that formats each event as a line: what is lost is counted,
// never hidden.
func BenchmarkLossUnderOverload(b *testing.B) {
	needTracing(b)
	l := newLab(b)
	tr := startTracer(b, Filter{Addr: vip, Port: 9, Netns: l.lb}, Options{RingBytes: 64 << 10})
	got := make(chan int)
	go func() {
		n := 0
		for ev := range tr.Events() {
			_ = fmt.Sprintf("%s %s %s %s:%d > %s:%d", ev.Time.Format(time.RFC3339Nano), ev.Reason, ev.Location,
				ev.Packet.Src, ev.Packet.SPort, ev.Packet.Dst, ev.Packet.DPort)
			n++
		}
		got <- n
	}()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			flood(b, l.lb, vip, 9, b.N/2)
		}()
	}
	wg.Wait()
	tr.Close()
	n := <-got
	el := time.Since(start)
	b.StopTimer()
	st := tr.Stats()
	if st.Read+st.Lost != st.Matched {
		b.Fatalf("unaccounted records: %+v", st)
	}
	b.ReportMetric(float64(n)/el.Seconds(), "events/s")
	b.ReportMetric(100*float64(st.Lost)/float64(max(st.Matched, 1)), "lost-%")
}
