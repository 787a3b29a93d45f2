package droptrace

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
)

const (
	defaultRingBytes    = 4 << 20
	defaultBatchBytes   = 64 << 10
	defaultPollInterval = 100 * time.Millisecond
	// drainTimeout bounds how long Close waits for a consumer to take the
	// events still queued; the rest are counted as Undelivered.
	drainTimeout = 2 * time.Second
	eventsQueue  = 4096
	fibQueue     = 1024
	nftQueue     = 1024
)

// Tracer reports drops until Close or until Start's context ends; then its
// channels are closed, after the ring buffer was drained into them.
type Tracer struct {
	filter Filter
	opts   Options
	mode   string
	poll   time.Duration

	drops *attached
	ipvs  *attached
	rd    *ringbuf.Reader
	names *namer
	nft   []*nftListener

	events chan Event
	fibCh  chan FIBLookup
	nftCh  chan NFTraceEvent

	stop       chan struct{} // closed by Close: listeners and watchers end
	abort      chan struct{} // closed when Close gives up delivering
	readerDone chan struct{}
	nftWG      sync.WaitGroup
	closeOnce  sync.Once
	closeErr   error

	read, undelivered atomic.Uint64

	mu       sync.Mutex
	warnings []string
	final    *Stats // the counters at Close, when the maps are gone
}

// Start loads and attaches the programs for f and starts reading. The
// error says what is missing (no BTF, no privilege, kernel too old) when
// tracing cannot run.
func Start(ctx context.Context, f Filter, o Options) (*Tracer, error) {
	c, err := configFor(f, &o)
	if err != nil {
		return nil, err
	}
	if err := Supported(); err != nil {
		return nil, err
	}
	reasons, err := kernelReasons()
	if err != nil {
		return nil, err
	}
	t := &Tracer{
		filter:     f,
		opts:       o,
		poll:       o.PollInterval,
		events:     make(chan Event, eventsQueue),
		fibCh:      make(chan FIBLookup, fibQueue),
		nftCh:      make(chan NFTraceEvent, nftQueue),
		stop:       make(chan struct{}),
		abort:      make(chan struct{}),
		readerDone: make(chan struct{}),
	}
	ks, err := loadKsyms()
	if err != nil {
		t.warn("no kernel symbols, locations stay addresses: %v", err)
	}
	t.names = newNamer(ks, reasons)
	if !o.ShowBenign {
		c.hideBenign(reasons, ks)
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("raise RLIMIT_MEMLOCK for BPF maps (kernels before 5.11): %w", err)
	}
	drops, mode, rxsk, err := loadDropPrograms(c, o.Mode, o.FIB)
	if err != nil {
		return nil, err
	}
	t.drops, t.mode = drops, mode
	if !rxsk {
		t.warn("kernel before 6.11: kfree_skb has no rx_sk argument, so drops at TCP socket level may show no or a wrong netns and device")
	}
	if !o.NoIPVS {
		ipvs, warns := attachIPVS(c, drops.coll)
		t.ipvs = ipvs
		if ipvs != nil && ipvs.hook != "" {
			t.names.ipvsHook = ipvs.hook
		}
		for _, w := range warns {
			t.warn("%s", w)
		}
	}
	t.rd, err = ringbuf.NewReader(drops.coll.Maps["events"])
	if err != nil {
		t.detach()
		t.closeMaps()
		return nil, fmt.Errorf("ring buffer reader: %w", err)
	}
	go t.readLoop()
	if o.NFTrace {
		t.startNFTrace()
	}
	go func() {
		select {
		case <-ctx.Done():
			t.Close()
		case <-t.stop:
		}
	}()
	return t, nil
}

// configFor validates the filter and fills the options' defaults.
func configFor(f Filter, o *Options) (*config, error) {
	if !f.Addr.Is4() {
		return nil, fmt.Errorf("filter address %q: want an IPv4 address (the VIP)", f.Addr)
	}
	proto, err := protoNumber(f.Proto)
	if err != nil {
		return nil, err
	}
	if f.Port != 0 && proto != 0 && proto != protoTCP && proto != protoUDP && proto != protoIPIP {
		return nil, fmt.Errorf("filter port %d with protocol %s: ports exist for tcp and udp only", f.Port, f.Proto)
	}
	switch o.Mode {
	case "", "auto", "tp_btf", "raw_tp":
	default:
		return nil, fmt.Errorf("mode %q: want auto, tp_btf or raw_tp", o.Mode)
	}
	c := &config{addr: f.Addr.As4(), port: [2]byte{byte(f.Port >> 8), byte(f.Port)}, l4proto: proto}
	if f.Netns != "" {
		ino, err := netnsInode(f.Netns)
		if err != nil {
			return nil, err
		}
		c.netns = ino
	}
	if o.RingBytes == 0 {
		o.RingBytes = defaultRingBytes
	}
	page := os.Getpagesize()
	if o.RingBytes < page || o.RingBytes&(o.RingBytes-1) != 0 || o.RingBytes > 1<<30 {
		return nil, fmt.Errorf("ring buffer size %d: want a power of two from %d to 1 GiB", o.RingBytes, page)
	}
	c.ringBytes = uint32(o.RingBytes)
	switch {
	case o.BatchBytes == 0:
		o.BatchBytes = defaultBatchBytes
	case o.BatchBytes < 0:
		o.BatchBytes = 0
	}
	// A threshold the ring never reaches would leave only the poll timer.
	c.wakeupBytes = uint32(min(o.BatchBytes, o.RingBytes/2))
	if o.PollInterval <= 0 {
		o.PollInterval = defaultPollInterval
	}
	return c, nil
}

// hideBenign sets the in-kernel skip list: benign drops are frequent
// enough (tens of thousands per large TCP transfer) to matter.
func (c *config) hideBenign(r *reasonTable, ks *ksyms) {
	for name := range benignReasons {
		if v, ok := r.byName[name]; ok && v < 128 {
			c.skip[v/64] |= 1 << (v % 64)
		}
	}
	if v, ok := r.byName["NOT_SPECIFIED"]; ok {
		if lo, hi, ok := ks.textRange(benignTeardownFunc); ok {
			c.benignCode, c.benignLo, c.benignHi = v, lo, hi
		}
	}
}

// Events delivers drops (and IPVS decisions) in the order the kernel
// recorded them.
func (t *Tracer) Events() <-chan Event { return t.events }

// FIB delivers FIB lookups of the filter's address (Options.FIB).
func (t *Tracer) FIB() <-chan FIBLookup { return t.fibCh }

// NFTrace delivers nftables trace events (Options.NFTrace).
func (t *Tracer) NFTrace() <-chan NFTraceEvent { return t.nftCh }

// Warnings lists what works less than asked: probes that could not
// attach, attribution that is off, and why.
func (t *Tracer) Warnings() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.warnings...)
}

func (t *Tracer) warn(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.warnings) < 100 {
		t.warnings = append(t.warnings, fmt.Sprintf(format, args...))
	}
}

// Stats returns the counters so far (after Close: at Close).
func (t *Tracer) Stats() Stats {
	t.mu.Lock()
	final := t.final
	t.mu.Unlock()
	if final != nil {
		return *final
	}
	return t.readStats()
}

func (t *Tracer) readStats() Stats {
	s := Stats{Mode: t.mode, Read: t.read.Load(), Undelivered: t.undelivered.Load()}
	m := t.drops.coll.Maps["stats"]
	sum := func(k uint32) uint64 {
		var per []uint64
		if err := m.Lookup(k, &per); err != nil {
			return 0
		}
		var n uint64
		for _, v := range per {
			n += v
		}
		return n
	}
	s.Calls, s.Matched, s.Lost = sum(0), sum(1), sum(2)
	return s
}

// Close detaches the programs, drains the ring buffer into the channels
// (waiting up to 2 s for a reader), closes the channels and frees the
// kernel objects.
func (t *Tracer) Close() error {
	t.closeOnce.Do(func() {
		close(t.stop)
		t.detach()
		for _, l := range t.nft {
			l.close()
		}
		if err := t.rd.Flush(); err != nil && !errors.Is(err, os.ErrClosed) {
			t.closeErr = fmt.Errorf("flush ring buffer: %w", err)
		}
		giveUp := time.AfterFunc(drainTimeout, func() { close(t.abort) })
		<-t.readerDone
		t.nftWG.Wait()
		giveUp.Stop()
		s := t.readStats()
		t.mu.Lock()
		t.final = &s
		t.mu.Unlock()
		close(t.events)
		close(t.fibCh)
		close(t.nftCh)
		if err := t.rd.Close(); err != nil && t.closeErr == nil {
			t.closeErr = err
		}
		t.closeMaps()
	})
	return t.closeErr
}

func (t *Tracer) detach() {
	if t.ipvs != nil {
		t.ipvs.detach()
	}
	t.drops.detach()
}

func (t *Tracer) closeMaps() {
	if t.ipvs != nil {
		t.ipvs.close()
	}
	t.drops.close()
}

// readLoop moves records from the ring buffer to the channels until Close
// flushes it.
func (t *Tracer) readLoop() {
	defer close(t.readerDone)
	var rec ringbuf.Record
	for {
		// The programs wake us only every BatchBytes: the deadline picks
		// up the rest.
		t.rd.SetDeadline(time.Now().Add(t.poll))
		err := t.rd.ReadInto(&rec)
		switch {
		case err == nil:
			t.read.Add(1)
			t.dispatch(rec.RawSample)
		case errors.Is(err, os.ErrDeadlineExceeded):
		case errors.Is(err, ringbuf.ErrFlushed), errors.Is(err, ringbuf.ErrClosed), errors.Is(err, os.ErrClosed):
			return
		default:
			t.warn("reading the ring buffer stopped: %v", err)
			return
		}
	}
}

func (t *Tracer) dispatch(b []byte) {
	r, err := decodeRecord(b)
	if err != nil {
		t.warn("ring buffer: %v", err)
		return
	}
	switch r.kind {
	case kindKfreeSkb, kindIPVS:
		ev := t.names.event(&r)
		if !t.opts.ShowBenign && ev.Benign() {
			return
		}
		select {
		case t.events <- ev:
		case <-t.abort:
			t.undelivered.Add(1)
		}
	case kindFIBLookup:
		fl := t.names.fibLookup(&r)
		select {
		case t.fibCh <- fl:
		case <-t.abort:
			t.undelivered.Add(1)
		}
	}
}
