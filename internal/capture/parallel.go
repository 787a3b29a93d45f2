package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// SkipStats sums up the packets a Prefilter did not pass.
type SkipStats struct {
	Packets     int
	First, Last time.Time
	// OutOfOrder counts packets earlier than the one before them.
	OutOfOrder int
}

// Sizes of the parallel reader: buffers of whole records, as many in
// flight as keep both cores busy without holding much memory.
const (
	parBuf    = 256 << 10
	parFlight = 16
)

var errBadRecord = errors.New("bad record")

// job is a buffer of whole pcap records, read by the splitter, decoded by
// a worker, and handed on in order by the scan's own goroutine.
type job struct {
	buf []byte // the buffer, to give back
	b   []byte // its whole records
	// A region of a mapped file: it covers [start, end) and its first
	// record starts at first (-1: none does).
	start, end, first int
	count             int
	err               error // after these records: io.EOF, errBadRecord or a read error
	tail              int   // at io.EOF: the bytes of a record the file ends in

	// The worker's findings.
	pass     []int32 // offsets in b of the records to hand to fn
	idx      []int32 // and their indexes among the job's records
	skip     SkipStats
	cutFirst int // index of the first skipped record the snap length cut, -1
	cutAt    int
	cuts     int
	done     chan struct{}
}

// parallelOK reports whether the records of a capture of link type lt
// can be decoded on several goroutines (the decoder knows the link type).
func parallelOK(lt layers.LinkType) bool {
	switch lt {
	case layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2, layers.LinkTypeRaw,
		layers.LinkTypeIPv4, layers.LinkTypeIPv6, linkTypeRawBSD, linkTypeRawOpenBSD:
		return true
	}
	return false
}

// Deterministic makes Scan run its readers' steps one after the other on
// the calling goroutine: the same code, with coverage that does not
// depend on scheduling, for fuzzers (here and in the packages that scan).
// Set it before scanning, not while a scan runs.
var Deterministic = false

// splitter cuts a pcap file into buffers of whole records.
type splitter struct {
	r     io.Reader
	u32   func([]byte) uint32
	carry []byte
	made  int
}

// split reads the next buffer's worth of records into buf (or a bigger
// one, when a record does not fit). The job reuses old's lists.
func (sp *splitter) split(buf []byte, old *job) *job {
	k := copy(buf, sp.carry)
	var err error
	total, off, count := k, 0, 0
	bad := false
	for {
		var n int
		n, err = io.ReadFull(sp.r, buf[total:])
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		total += n
		for off+16 <= total {
			c := int(sp.u32(buf[off+8 : off+12]))
			if c > pcapRecordMax || c < 0 {
				bad = true
				break
			}
			if off+16+c > total {
				break
			}
			off += 16 + c
			count++
		}
		if count > 0 || bad || err != nil {
			break
		}
		// One record bigger than the buffer: a bigger one.
		nb := make([]byte, 4*len(buf))
		copy(nb, buf[:total])
		buf = nb
	}
	sp.carry = append(sp.carry[:0], buf[off:total]...)
	j := &job{buf: buf, b: buf[:off], count: count, cutFirst: -1, done: make(chan struct{})}
	if old != nil {
		j.pass, j.idx = old.pass[:0], old.idx[:0]
	}
	if len(buf) < parBuf && total == len(buf) && err == nil {
		// A big file: the next buffers are full size.
		sp.made = max(sp.made, 1)
	}
	switch {
	case bad:
		j.err = errBadRecord
	case err != nil:
		j.err, j.tail = err, len(sp.carry)
	}
	return j
}

// newBuf makes the splitter's next buffer: the first one small, for the
// many small captures (split makes a bigger one for a bigger record).
func (sp *splitter) newBuf() []byte {
	size := parBuf
	if sp.made == 0 {
		size = 64 << 10
	}
	sp.made++
	return make([]byte, size)
}

// parallel reads a pcap file's records with a Prefilter: one goroutine
// reads and splits the file into buffers of whole records, two decode
// them and apply the Prefilter, and this one hands the packets passed to
// fn in file order. A busy capture's packets are mostly skipped, so the
// decoding, which touches every packet, is what is spread over the cores.
func (s *scanner) parallel(r io.Reader, big bool, lt layers.LinkType, nano bool, unit int64) {
	u32 := u32Of(big)
	s.runJobs(&splitter{r: r, u32: u32}, u32, lt, nano, unit)
}

func u32Of(big bool) func([]byte) uint32 {
	if big {
		return binary.BigEndian.Uint32
	}
	return binary.LittleEndian.Uint32
}

// jobSource cuts a pcap file's records into jobs, in order.
type jobSource interface {
	// next returns the next job, reusing old's buffer and lists when old
	// is not nil. The last job has an error (io.EOF at the end).
	next(old *job) *job
}

func (sp *splitter) next(old *job) *job {
	var buf []byte
	if old != nil {
		buf = old.buf
	} else {
		buf = sp.newBuf()
	}
	return sp.split(buf, old)
}

// runJobs decodes src's jobs on two workers and hands them on in order.
func (s *scanner) runJobs(src jobSource, u32 func([]byte) uint32, lt layers.LinkType, nano bool, unit int64) {
	newWorker := func() *scanner {
		w := &scanner{}
		w.rd.opt = s.rd.opt
		w.rd.max = -1
		w.rd.dec.init()
		return w
	}
	if Deterministic {
		w := newWorker()
		var old *job
		for !s.stop {
			j := src.next(old)
			old = j
			w.decodeJob(j, u32, lt, nano, unit)
			if !s.handOn(j, u32, lt, nano, unit) {
				return
			}
		}
		return
	}
	// Done jobs come back with their buffer and lists, to be reused; at
	// most parFlight are in flight.
	free := make(chan *job, parFlight)
	work := make(chan *job, parFlight)
	order := make(chan *job, parFlight)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(work)
		defer close(order)
		made := 0
		for {
			var old *job
			select {
			case old = <-free:
			case <-quit:
				return
			default:
				if made >= parFlight {
					select {
					case old = <-free:
					case <-quit:
						return
					}
				} else {
					made++
				}
			}
			j := src.next(old)
			// To the workers first: a job in order is always decoded.
			for _, ch := range []chan *job{work, order} {
				select {
				case ch <- j:
				case <-quit:
					return
				}
			}
			if j.err != nil {
				return
			}
		}
	}()
	for range min(2, max(1, runtime.GOMAXPROCS(0))) {
		w := newWorker()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				w.decodeJob(j, u32, lt, nano, unit)
				close(j.done)
			}
		}()
	}
	defer func() {
		close(quit)
		// Let the workers finish what they hold, and every goroutine end:
		// nothing reads the input after the scan returns.
		for j := range order {
			<-j.done
		}
		wg.Wait()
	}()
	for j := range order {
		<-j.done
		if !s.handOn(j, u32, lt, nano, unit) {
			return
		}
		free <- j
	}
}

// scanMapped scans a pcap file mapped into memory (see mapFile).
func scanMapped(b []byte, opt Options, fn func(*Packet) bool) (info Info, probs []evidence.Problem) {
	s := &scanner{fn: fn}
	s.rd.opt = opt
	s.rd.opt.Addrs = nil
	s.rd.max = -1
	s.rd.dec.init()
	s.pkt.rd = &s.rd
	defer func() {
		if v := recover(); v != nil {
			probs = append(s.rd.probs, s.rd.problem(s.rd.n, fmt.Sprintf("capture reader failed (%v): the rest of the file is not read", v)))
			info = s.rd.info
		}
	}()
	rd := &s.rd
	rd.info.Format = "pcap"
	big, nano, lt, unit := pcapHeader(b[:24])
	u32 := u32Of(big)
	rd.snap = int(u32(b[16:20]))
	rd.nano = nano
	rd.info.LinkTypes = []string{linkName(lt)}
	s.runRegions(b, u32, lt, nano, unit)
	rd.finish()
	return rd.info, rd.probs
}

// regionSize is the part of a mapped file each job covers.
const regionSize = 1 << 20

// resyncs counts the scans that read on in order after a region's guess
// of its first record was wrong (for the tests).
var resyncs atomic.Int64

// runRegions scans a mapped pcap file in regions decoded in parallel:
// each worker finds where the first record of its region starts (a
// chain of plausible record headers), walks and decodes its records;
// this goroutine checks that each region starts where the one before
// ended, and hands the packets on in order. Where a guess was wrong (a
// payload that looked like records), the rest of the file is read in
// order from where the last good region ended: the guess only ever
// costs time.
func (s *scanner) runRegions(b []byte, u32 func([]byte) uint32, lt layers.LinkType, nano bool, unit int64) {
	rd := &s.rd
	nreg := (len(b) - 24 + regionSize - 1) / regionSize
	snap := int(u32(b[16:20]))
	jobs := make(chan *job, parFlight)
	order := make(chan *job, parFlight)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	newWorker := func() *scanner {
		w := &scanner{}
		w.rd.opt = rd.opt
		w.rd.max = -1
		w.rd.dec.init()
		return w
	}
	// The dispatcher: regions in order, at most parFlight in flight.
	free := make(chan *job, parFlight)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(jobs)
		defer close(order)
		made := 0
		for k := 0; k < nreg; k++ {
			var old *job
			if made >= parFlight {
				select {
				case old = <-free:
				case <-quit:
					return
				}
			} else {
				made++
			}
			start := 24 + k*regionSize
			j := &job{start: start, end: min(start+regionSize, len(b)), cutFirst: -1, done: make(chan struct{})}
			if old != nil {
				j.pass, j.idx = old.pass[:0], old.idx[:0]
			}
			for _, ch := range []chan *job{jobs, order} {
				select {
				case ch <- j:
				case <-quit:
					return
				}
			}
		}
	}()
	for range min(2, max(1, runtime.GOMAXPROCS(0))) {
		w := newWorker()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				w.walkRegion(j, b, snap, u32)
				w.decodeJob(j, u32, lt, nano, unit)
				close(j.done)
			}
		}()
	}
	next := 24 // where the next record starts
	resync := -1
	func() {
		defer func() {
			close(quit)
			for j := range order {
				<-j.done
			}
			wg.Wait()
		}()
		for j := range order {
			<-j.done
			if j.first < 0 && j.err == nil {
				// No record starts in this region (a big one spans it).
				if next < j.end {
					resync = next
					return
				}
				free <- j
				continue
			}
			if j.first != next {
				resync = next
				return
			}
			if !s.handOn(j, u32, lt, nano, unit) {
				return
			}
			next = j.first + len(j.b)
			release(b, j.start, j.end)
			free <- j
		}
	}()
	if resync >= 0 && !s.stop {
		resyncs.Add(1)
		// Read on in order from the last record known to start.
		ch := &syncChunks{r: bytes.NewReader(b[resync:]), buf: make([]byte, 1<<20)}
		s.records(ch, u32, lt, nano, unit)
	}
}

// walkRegion finds the records that start in a job's region of the
// mapped file: from the file's first record for the first region, else
// from the first offset where a chain of record headers is plausible.
func (w *scanner) walkRegion(j *job, b []byte, snap int, u32 func([]byte) uint32) {
	j.first = -1
	off := j.start
	if j.start != 24 {
		off = -1
		for o := j.start; o < j.end; o++ {
			if plausibleChain(b, o, snap, u32) {
				off = o
				break
			}
		}
		if off < 0 {
			return
		}
	}
	j.first = off
	end, count := off, 0
	for end < j.end {
		if end+16 > len(b) {
			j.err, j.tail = io.EOF, len(b)-end
			break
		}
		c := int(u32(b[end+8 : end+12]))
		if c > pcapRecordMax || c < 0 {
			j.err = errBadRecord
			break
		}
		if end+16+c > len(b) {
			j.err, j.tail = io.EOF, len(b)-end
			break
		}
		end += 16 + c
		count++
	}
	if end == len(b) && j.err == nil {
		j.err = io.EOF
	}
	j.b, j.count = b[off:end], count
}

// plausibleChain reports whether eight record headers in a row (or up
// to the end of the file) start at o: capture lengths within the snap
// length and the wire length, sub-second parts within a second, times
// within a day of the file's first packet and an hour of each other.
// Bytes inside a packet rarely pass; when they do, the scan notices (the
// region does not start where the one before ended).
func plausibleChain(b []byte, o, snap int, u32 func([]byte) uint32) bool {
	if len(b) < 40 {
		return false
	}
	t0 := int64(u32(b[24:28]))
	prev := int64(-1)
	for n := 0; n < 8; n++ {
		if o == len(b) {
			return n > 0
		}
		if o+16 > len(b) {
			return false
		}
		sec := int64(u32(b[o : o+4]))
		c, wire := int(u32(b[o+8:o+12])), int(u32(b[o+12:o+16]))
		frac := u32(b[o+4 : o+8])
		if c <= 0 || c > pcapRecordMax || snap > 0 && c > snap || wire < c || wire > 1<<20 || frac >= 1e9 || o+16+c > len(b) {
			return false
		}
		if sec-t0 > 86400 || t0-sec > 86400 || prev >= 0 && (sec-prev > 3600 || prev-sec > 3600) {
			return false
		}
		prev = sec
		o += 16 + c
	}
	return true
}

// pcapHeader reads a pcap file header: byte order, time resolution,
// link type.
func pcapHeader(hdr []byte) (big, nano bool, lt layers.LinkType, unit int64) {
	switch binary.LittleEndian.Uint32(hdr[:4]) {
	case 0xa1b23c4d:
		nano = true
	case 0xd4c3b2a1:
		big = true
	case 0x4d3cb2a1:
		big, nano = true, true
	}
	lt = layers.LinkType(u32Of(big)(hdr[20:24]) & 0x0fffffff)
	unit = int64(time.Microsecond)
	if nano {
		unit = int64(time.Nanosecond)
	}
	return big, nano, lt, unit
}

// handOn hands a decoded job's passed packets to fn, in order, and
// accounts for the others; false when reading is to stop.
func (s *scanner) handOn(j *job, u32 func([]byte) uint32, lt layers.LinkType, nano bool, unit int64) bool {
	rd := &s.rd
	base := rd.n
	if rd.opt.Skipped != nil && j.skip.Packets > 0 {
		rd.opt.Skipped(j.skip)
	}
	rd.info.Filtered += j.skip.Packets
	if j.cuts > 0 {
		if rd.cut.count == 0 || base+j.cutFirst+1 < rd.cut.first {
			rd.cut.first, rd.cut.at = base+j.cutFirst+1, j.cutAt
		}
		rd.cut.count += j.cuts
	}
	for i, off := range j.pass {
		rec := j.b[off:]
		c := int(u32(rec[8:12]))
		rd.n = base + int(j.idx[i]) + 1
		ts := time.Unix(int64(u32(rec[0:4])), int64(u32(rec[4:8]))*unit)
		s.packet(rec[16:16+c], gopacket.CaptureInfo{Timestamp: ts, CaptureLength: c, Length: int(u32(rec[12:16]))}, lt, rd.opt.Iface, nano)
		if s.stop {
			rd.info.Packets += int(j.idx[i]) + 1
			return false
		}
	}
	rd.n = base + j.count
	rd.info.Packets += j.count
	switch {
	case j.err == nil:
		return true
	case j.err == errBadRecord:
		rd.addProblem(rd.n+1, "frame %d: not a packet record (capture length larger than %d): the rest of the file is not read", rd.n+1, pcapRecordMax)
	case j.err == io.EOF:
		if j.tail > 0 {
			rd.addProblem(rd.n+1, "the file ends in the middle of frame %d (cut short while being written or copied?): %d frames before it were read", rd.n+1, rd.n)
		}
	default:
		rd.addProblem(rd.n+1, "frame %d: %v", rd.n+1, j.err)
	}
	return false
}

// decodeJob decodes a job's records, passes those the Prefilter wants
// (and the first of each second, which callers keep as proof their
// capture ran then) and sums up the others.
func (w *scanner) decodeJob(j *job, u32 func([]byte) uint32, lt layers.LinkType, nano bool, unit int64) {
	pre := w.rd.opt.Prefilter
	var lastSec int64 = -1
	var prev int64
	p := &w.pkt
	off := 0
	for i := 0; i < j.count; i++ {
		rec := j.b[off:]
		c := int(u32(rec[8:12]))
		sec := int64(u32(rec[0:4]))
		ts := time.Unix(sec, int64(u32(rec[4:8]))*unit)
		data := rec[16 : 16+c]
		w.reset(data, gopacket.CaptureInfo{Timestamp: ts, CaptureLength: c, Length: int(u32(rec[12:16]))}, lt, w.rd.opt.Iface, nano)
		w.link(p, data, lt)
		if sec != lastSec || pre(p) {
			lastSec = sec
			j.pass = append(j.pass, int32(off))
			j.idx = append(j.idx, int32(i))
		} else {
			tn := ts.UnixNano()
			sk := &j.skip
			if sk.Packets == 0 {
				sk.First, sk.Last = ts, ts
			} else {
				if tn < prev {
					sk.OutOfOrder++
				}
				if ts.Before(sk.First) {
					sk.First = ts
				}
				if ts.After(sk.Last) {
					sk.Last = ts
				}
			}
			prev = tn
			sk.Packets++
			if p.Cut && p.WireLen > p.CapLen {
				if j.cuts == 0 {
					j.cutFirst, j.cutAt = i, c
				}
				j.cuts++
			}
		}
		off += 16 + c
	}
}
