package droptrace

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestStartRejectsBadFilters(t *testing.T) {
	for _, c := range []struct {
		f    Filter
		o    Options
		want string
	}{
		{Filter{}, Options{}, "IPv4"},
		{Filter{Addr: netip.MustParseAddr("2001:db8::1")}, Options{}, "IPv4"},
		{Filter{Addr: vip, Proto: "sctp"}, Options{}, "protocol"},
		{Filter{Addr: vip, Proto: "icmp", Port: 80}, Options{}, "ports exist"},
		{Filter{Addr: vip, Netns: "no-such-netns-dt"}, Options{}, "no-such-netns-dt"},
		{Filter{Addr: vip}, Options{RingBytes: 5000}, "power of two"},
		{Filter{Addr: vip}, Options{Mode: "kprobe"}, "mode"},
	} {
		_, err := Start(context.Background(), c.f, c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Start(%+v, %+v) = %v, want an error about %q", c.f, c.o, err, c.want)
		}
	}
}

func TestSupportedSaysWhy(t *testing.T) {
	err := Supported()
	if err == nil {
		return
	}
	// Every refusal names what is missing.
	if !strings.ContainsAny(err.Error(), " ") || len(err.Error()) < 20 {
		t.Fatalf("Supported() = %q: not an explanation", err)
	}
	t.Logf("not supported here: %v", err)
}

func TestAutoModeAndWarnings(t *testing.T) {
	needTracing(t)
	tr := startTracer(t, Filter{Addr: vip}, Options{})
	if m := tr.Stats().Mode; m != "tp_btf" && m != "raw_tp" {
		t.Fatalf("auto mode chose %q", m)
	}
	// Where IPVS cannot be probed, a warning says why (this machine: no
	// ip_vs, no kprobes); where it can, the probes are attached.
	if !moduleLoaded("ip_vs") || !kprobesAvailable() {
		w := strings.Join(tr.Warnings(), "\n")
		if !strings.Contains(w, "IPVS probes:") {
			t.Fatalf("no IPVS warning without ip_vs/kprobes: %q", w)
		}
		t.Logf("warnings: %s", w)
	} else if tr.ipvs == nil {
		t.Fatalf("ip_vs loaded and kprobes available, but no IPVS probe attached: %v", tr.Warnings())
	}
}

func TestNetnsFilter(t *testing.T) {
	needTracing(t)
	l := newLab(t)
	tr := startTracer(t, Filter{Addr: vip, Proto: "udp", Netns: l.cli}, Options{})
	// Dropped in lb: filtered out in the kernel.
	sendUDP(t, l.cli, netip.Addr{}, vip, 5353, 8, false)
	// Dropped in cli (the VIP is the source): reported.
	sendUDP(t, l.lb, vip, cliAddr, 5354, 8, false)
	ev := waitEvent(t, tr, "drop in cli", func(e Event) bool { return true })
	if ev.Netns != l.cli || ev.Packet.DPort != 5354 || ev.Reason != "NO_SOCKET" {
		t.Fatalf("first event %+v: want the NO_SOCKET to 5354 in %s only", ev, l.cli)
	}
}

func TestBenignHiddenInKernel(t *testing.T) {
	needTracing(t)
	r, err := kernelReasons()
	if err != nil {
		t.Fatal(err)
	}
	ks, err := loadKsyms()
	if err != nil {
		t.Skipf("no kernel symbols: %v", err)
	}
	var c config
	c.hideBenign(r, ks)
	for _, name := range []string{"TCP_OLD_DATA", "TCP_OLD_SEQUENCE"} {
		v := r.byName[name]
		if c.skip[v/64]&(1<<(v%64)) == 0 {
			t.Errorf("%s (%d) not in the in-kernel skip set", name, v)
		}
	}
	if c.benignCode != r.byName["NOT_SPECIFIED"] || c.benignLo == 0 || c.benignHi <= c.benignLo {
		t.Errorf("NOT_SPECIFIED teardown range not set: %+v", c)
	}
	if s, _, _ := ks.lookup(c.benignLo); s.name != benignTeardownFunc {
		t.Errorf("range starts at %s, want %s", s.name, benignTeardownFunc)
	}
	if v := r.byName["NO_SOCKET"]; c.skip[v/64]&(1<<(v%64)) != 0 {
		t.Error("NO_SOCKET hidden")
	}
}

func TestEventBenign(t *testing.T) {
	for _, c := range []struct {
		ev   Event
		want bool
	}{
		{Event{Reason: "TCP_OLD_DATA", Location: "tcp_data_queue+0x10"}, true},
		{Event{Reason: "TCP_OLD_SEQUENCE"}, true},
		{Event{Reason: "NOT_SPECIFIED", Location: "tcp_rcv_state_process+0x3a2"}, true},
		{Event{Reason: "NOT_SPECIFIED", Location: "ip_vs_dr_xmit+0x1f0"}, false},
		{Event{Reason: "NOT_SPECIFIED", Location: "tcp_rcv_state_process_x+0x1"}, false},
		{Event{Reason: "NO_SOCKET", Location: "tcp_v4_rcv+0x91"}, false},
		{Event{Reason: IPVSDrop}, false},
	} {
		if got := c.ev.Benign(); got != c.want {
			t.Errorf("%s at %s: Benign() = %v", c.ev.Reason, c.ev.Location, got)
		}
	}
	if Benign("NOT_SPECIFIED") || !Benign("TCP_OLD_DATA") {
		t.Error("Benign(reason) wrong")
	}
}

// TestLossIsCounted overloads a one-page ring buffer whose reader polls
// once a second: the kernel must count what it could not record, and
// Stats must account for every matched record.
func TestLossIsCounted(t *testing.T) {
	needTracing(t)
	l := newLab(t)
	tr := startTracer(t, Filter{Addr: vip, Port: 9, Netns: l.lb},
		Options{RingBytes: 4096, BatchBytes: 1 << 20, PollInterval: time.Second})
	flood(t, l.lb, vip, 9, 20000)
	st := tr.Stats()
	if st.Lost == 0 || st.Matched < 20000 {
		t.Fatalf("after 20000 drops into a 4 KiB ring: %+v, want Lost > 0 and Matched >= 20000", st)
	}
	go func() {
		for range tr.Events() {
		}
	}()
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	st = tr.Stats()
	if st.Read+st.Lost != st.Matched || st.Undelivered != 0 {
		t.Fatalf("after Close: %+v: Read+Lost should be Matched", st)
	}
	t.Logf("4 KiB ring, 20000 drops: %+v", st)
}

// TestCloseDrains: events queued in the ring buffer when Close is called
// reach the channel before it closes.
func TestCloseDrains(t *testing.T) {
	needTracing(t)
	l := newLab(t)
	tr := startTracer(t, Filter{Addr: vip, Port: 9, Netns: l.lb},
		Options{BatchBytes: 1 << 20, PollInterval: time.Hour})
	flood(t, l.lb, vip, 9, 500)
	n := 0
	done := make(chan struct{})
	go func() {
		for range tr.Events() {
			n++
		}
		close(done)
	}()
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	<-done
	if st := tr.Stats(); n != 500 || st.Lost != 0 || st.Read != 500 {
		t.Fatalf("received %d of 500 after Close, stats %+v", n, st)
	}
}

// TestContextEndsTracing: cancelling Start's context closes the channels.
func TestContextEndsTracing(t *testing.T) {
	needTracing(t)
	ctx, cancel := context.WithCancel(context.Background())
	tr, err := Start(ctx, Filter{Addr: vip}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case _, open := <-tr.Events():
		if open {
			t.Fatal("unexpected event")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Events() not closed 5 s after the context ended")
	}
	if err := tr.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// flood sends n UDP datagrams to dst:port from inside ns (each one a
// NO_SOCKET drop when nothing listens there).
func flood(t testing.TB, ns string, dst netip.Addr, port uint16, n int) {
	t.Helper()
	err := inNetns(ns, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		sa := &unix.SockaddrInet4{Addr: dst.As4(), Port: int(port)}
		buf := make([]byte, 16)
		for i := 0; i < n; i++ {
			if err := unix.Sendto(fd, buf, 0, sa); err != nil && err != unix.ECONNREFUSED && err != unix.ENOBUFS && err != unix.EAGAIN {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("flood %s:%d in %s: %v", dst, port, ns, err)
	}
}
