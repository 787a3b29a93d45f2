package capture

import (
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
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
	parBuf    = 4 << 20
	parFlight = 6
)

var errBadRecord = errors.New("bad record")

// job is a buffer of whole pcap records, read by the splitter, decoded by
// a worker, and handed on in order by the scan's own goroutine.
type job struct {
	buf   []byte // the buffer, to give back
	b     []byte // its whole records
	count int
	err   error // after these records: io.EOF, errBadRecord or a read error
	tail  int   // at io.EOF: the bytes of a record the file ends in

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

// parallelInline makes the readers run their steps one after the other
// on the scan's goroutine: the same code, deterministic, for the fuzzer
// (whose coverage must not depend on scheduling).
var parallelInline = false

// splitter cuts a pcap file into buffers of whole records.
type splitter struct {
	r     io.Reader
	u32   func([]byte) uint32
	carry []byte
	made  int
}

// split reads the next buffer's worth of records into buf (or a bigger
// one, when a record does not fit).
func (sp *splitter) split(buf []byte) *job {
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
	u32 := func(b []byte) uint32 {
		if big {
			return binary.BigEndian.Uint32(b)
		}
		return binary.LittleEndian.Uint32(b)
	}
	sp := &splitter{r: r, u32: u32}
	newWorker := func() *scanner {
		w := &scanner{}
		w.rd.opt = s.rd.opt
		w.rd.max = -1
		w.rd.dec.init()
		return w
	}
	if parallelInline {
		w := newWorker()
		var buf []byte
		for !s.stop {
			if buf == nil {
				buf = sp.newBuf()
			}
			j := sp.split(buf)
			buf = j.buf
			w.decodeJob(j, u32, lt, nano, unit)
			if !s.handOn(j, u32, lt, nano, unit) {
				return
			}
		}
		return
	}
	free := make(chan []byte, parFlight)
	work := make(chan *job, parFlight)
	order := make(chan *job, parFlight)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(work)
		defer close(order)
		for {
			var buf []byte
			select {
			case buf = <-free:
			case <-quit:
				return
			default:
				if sp.made < parFlight {
					buf = sp.newBuf()
				} else {
					select {
					case buf = <-free:
					case <-quit:
						return
					}
				}
			}
			j := sp.split(buf)
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
		free <- j.buf
	}
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
