// Package capture reads packet capture files (pcap and pcapng, as tcpdump,
// dumpcap and Wireshark write them, gzipped or not) into evidence.Frames,
// the same packet model the tcpdump text parser fills, so that every rule
// reads a packet alike whether the user gave the file or its printout.
//
// Reading streams: one packet is in memory at a time, and only the frames
// kept are. Link types: Ethernet (with 802.1Q/QinQ tags), Linux cooked
// captures v1 and v2 (tcpdump -i any), raw IP. Network layers: IPv4 (with
// IPIP, GRE and VXLAN tunnels: the tunnelled packet becomes Frame.Inner),
// IPv6, ARP; TCP, UDP, ICMP, VRRP.
//
// Each frame cites its capture: Ref.Source is the file, Ref.Line the
// 1-based frame number as Wireshark numbers frames, Ref.Text a one-line
// rendering in the style of `tcpdump -e -n`.
//
// A damaged file (cut short, garbage inside) yields a Problem naming the
// frame where the damage starts; every frame before it is kept.
package capture

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/lvsdoctor/lvsdoctor/internal/casedir"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// DefaultMaxFrames is how many frames one file may contribute when the
// caller sets no limit: the same bound the tcpdump text parser keeps, and
// about 100 MB of frames. A busy director's capture holds millions.
const DefaultMaxFrames = 200000

// Options says how to read one capture.
type Options struct {
	Host   string // Ref.Host of every frame
	Source string // Ref.Source: the capture's path relative to the case root
	// Iface is the interface the capture was taken on when the file does
	// not name it (pcap files never do): usually from the file name.
	Iface string
	// IfNames names interface indexes (Linux cooked v2 captures record
	// the index only), as the capturing host's `ip link` shows them.
	IfNames map[int]string
	// Zone is the time zone frame times are rendered in: UTC when nil.
	// tcpdump prints times in the zone of the host that reads the file;
	// a caller who knows it (from that host's printout of the same
	// capture) can make both agree.
	Zone *time.Location
	// Addrs, when not empty, keeps only frames relevant to these
	// addresses (VIPs, real servers, clients): frames to or from one of
	// them (outer or tunnelled packet, ARP for them), plus every VRRP
	// advertisement and ICMP error, which a keepalived cluster's
	// diagnosis needs whatever the addresses.
	Addrs []netip.Addr
	// MaxFrames bounds the frames kept: 0 means DefaultMaxFrames, a
	// negative value no bound. Reading stops at the bound.
	MaxFrames int
	// Prefilter (Scan only) lets a pcap file's packets be decoded on
	// several goroutines: fn is then called, in file order, only for the
	// packets Prefilter passes, and for the first packet of each second
	// (proof of when the capture ran). Prefilter runs concurrently with
	// the scan: it may only read state that does not change or is
	// synchronised, and must not call Packet.Frame.
	Prefilter func(*Packet) bool
	// Skipped (with Prefilter) is told, before the packets passed from
	// each part of the file, what the packets not passed were.
	Skipped func(SkipStats)
}

// Info describes what was read.
type Info struct {
	Format    string // "pcap" or "pcapng"
	LinkTypes []string
	Packets   int  // frames read from the file
	Kept      int  // frames returned
	Filtered  int  // frames left out by Options.Addrs
	Capped    bool // reading stopped at MaxFrames
	// Ifaces are the interfaces a pcapng file describes, in order.
	Ifaces []string
}

// ReadFile reads the capture at path, which must be a regular file: a
// FIFO or device in a case would block or never end.
func ReadFile(path string, opt Options) ([]evidence.Frame, Info, []evidence.Problem) {
	f, _, err := casedir.OpenRegular(path)
	if err != nil {
		return nil, Info{}, []evidence.Problem{{Host: opt.Host, Source: opt.Source, Message: err.Error()}}
	}
	defer f.Close()
	return ReadOpened(f, opt)
}

// ReadOpened reads the capture f, opened by the caller (through a
// casedir.Folder, so that it is known to be a regular file of the case).
func ReadOpened(f *os.File, opt Options) ([]evidence.Frame, Info, []evidence.Problem) {
	size := int64(0)
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	return read(f, opt, size)
}

// MaxDecompressed bounds what a gzipped capture may inflate to: a few MB
// of gzip can hold gigabytes of zeros.
const MaxDecompressed int64 = 4 << 30

// inflateLimit ends a gzipped capture at MaxDecompressed bytes, saying so.
type inflateLimit struct {
	r    io.Reader
	left int64
	rd   *reader
}

func (l *inflateLimit) Read(p []byte) (int, error) {
	if l.left <= 0 {
		if l.left == 0 {
			l.rd.addProblem(l.rd.n, "the gzipped capture inflates to more than %d GiB: the rest is not read", MaxDecompressed>>30)
			l.left = -1
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// packetSource is what pcapgo's two readers have in common.
type packetSource interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

const (
	magicPcapNG = 0x0a0d0d0a
	maxProblems = 20
)

// Read reads a capture from r. It never panics; whatever could not be read
// is a Problem, and the frames before it are returned.
func Read(r io.Reader, opt Options) (frames []evidence.Frame, info Info, probs []evidence.Problem) {
	return read(r, opt, 0)
}

// read reads with a guess of the file's size, to size the frames once: a
// slice of a million frames grown by doubling copies gigabytes.
func read(r io.Reader, opt Options, size int64) (frames []evidence.Frame, info Info, probs []evidence.Problem) {
	rd := &reader{opt: opt}
	rd.init()
	if size > 0 && len(opt.Addrs) == 0 {
		// The smallest frames (60 bytes and a 16-byte record header) of
		// a capture set the most it can hold.
		n := size / 76
		if rd.max > 0 {
			n = min(n, int64(rd.max))
		}
		rd.frames = make([]evidence.Frame, 0, min(n, 4<<20)+1)
	}
	defer func() {
		if v := recover(); v != nil {
			// A decoder bug must not cost the user the rest of the case.
			probs = append(rd.probs, rd.problem(rd.n, fmt.Sprintf("capture reader failed (%v): the rest of the file is not read", v)))
			frames, info = rd.frames, rd.info
		}
	}()
	rd.read(r)
	return rd.frames, rd.info, rd.probs
}

// reader holds the state of one file.
type reader struct {
	opt     Options
	keep    map[netip.Addr]bool
	max     int
	frames  []evidence.Frame
	info    Info
	probs   []evidence.Problem
	n       int // current frame number
	dec     decoder
	ng      *pcapgo.NgReader
	snap    int // the file's snap length (pcap), 0 when unknown
	nano    bool
	cut     cutReport
	bad     badReport
	unknown map[layers.LinkType]int
}

// cutReport gathers frames whose headers the snap length cut: one problem
// per file, not one per frame.
type cutReport struct {
	first, count, at int
}

type badReport struct {
	first, count int
	why          string
}

func (rd *reader) init() {
	rd.max = rd.opt.MaxFrames
	if rd.max == 0 {
		rd.max = DefaultMaxFrames
	}
	if len(rd.opt.Addrs) > 0 {
		rd.keep = make(map[netip.Addr]bool, len(rd.opt.Addrs))
		for _, a := range rd.opt.Addrs {
			rd.keep[a.Unmap()] = true
		}
	}
	rd.dec.init()
}

func (rd *reader) problem(frame int, msg string) evidence.Problem {
	return evidence.Problem{Host: rd.opt.Host, Source: rd.opt.Source, Line: frame, Message: msg}
}

func (rd *reader) addProblem(frame int, format string, args ...any) {
	if len(rd.probs) >= maxProblems {
		return
	}
	rd.probs = append(rd.probs, rd.problem(frame, fmt.Sprintf(format, args...)))
}

// openCapture peeks at a capture's first bytes, unwrapping gzip (tcpdump
// -w - | gzip, or a ticket attachment), and reports an empty or too short
// file. ok is false when there is nothing to read; done closes what it
// opened.
func (rd *reader) openCapture(r io.Reader, bufSize int) (src io.Reader, head []byte, done func(), ok bool) {
	done = func() {}
	br := bufio.NewReaderSize(r, bufSize)
	head, err := br.Peek(4)
	if len(head) == 0 {
		if err == nil || err == io.EOF {
			rd.addProblem(0, "empty file: not a packet capture")
		} else {
			rd.addProblem(0, "%v", err)
		}
		return nil, nil, done, false
	}
	src = br
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			rd.addProblem(0, "gzip: %v", err)
			return nil, nil, done, false
		}
		done = func() { _ = zr.Close() }
		gz := bufio.NewReaderSize(&inflateLimit{r: zr, left: MaxDecompressed, rd: rd}, bufSize)
		src = gz
		if head, err = gz.Peek(4); len(head) == 0 {
			if err == nil || err == io.EOF {
				rd.addProblem(0, "empty file inside gzip: not a packet capture")
			} else {
				rd.addProblem(0, "gzip: %v", err)
			}
			return nil, nil, done, false
		}
	}
	if len(head) < 4 {
		rd.addProblem(0, "file too short to be a packet capture (%d bytes)", len(head))
		return nil, nil, done, false
	}
	return src, head, done, true
}

func (rd *reader) read(r io.Reader) {
	src, head, done, ok := rd.openCapture(r, 256<<10)
	defer done()
	if !ok {
		return
	}
	var ps packetSource
	switch {
	case binary.LittleEndian.Uint32(head) == magicPcapNG:
		rd.info.Format = "pcapng"
		ng, err := pcapgo.NewNgReader(src, pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true})
		if err != nil {
			rd.addProblem(0, "not a readable pcapng file: %v", readErr(err))
			return
		}
		rd.ng = ng
		ps = ng
	case isPcapMagic(head):
		rd.info.Format = "pcap"
		pr, err := pcapgo.NewReader(src)
		if err != nil {
			rd.addProblem(0, "not a readable pcap file: %v", readErr(err))
			return
		}
		rd.snap = int(pr.Snaplen())
		rd.nano = pr.Resolution() == gopacket.TimestampResolutionNanosecond
		rd.info.LinkTypes = []string{linkName(pr.LinkType())}
		// Writers that ignore their own snap length (old dpkt, some
		// converters) make bigger records; tcpdump reads them up to its
		// own maximum, and so do we. A header claiming more (0xffffffff)
		// would have the reader take a gigabyte record whole: tcpdump's
		// maximum is the most any record may be.
		if pr.Snaplen() != pcapRecordMax {
			pr.SetSnaplen(pcapRecordMax)
		}
		ps = &pcapSource{pr: pr, lt: pr.LinkType()}
	default:
		rd.addProblem(0, "not a packet capture (unknown magic number %#08x)", binary.BigEndian.Uint32(head))
		return
	}
	rd.loop(ps)
	rd.finish()
}

// pcapSource tags pcap packets with the file's link type as pcapng's
// reader tags its own.
type pcapSource struct {
	pr *pcapgo.Reader
	lt layers.LinkType
}

func (p *pcapSource) ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	return p.pr.ZeroCopyReadPacketData()
}

// IsCapture reports whether head, the first bytes of a file, starts a
// pcap or pcapng capture (or a gzipped file, which may hold one).
func IsCapture(head []byte) bool {
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		return true
	}
	return len(head) >= 4 && (isPcapMagic(head) || binary.LittleEndian.Uint32(head) == magicPcapNG)
}

func isPcapMagic(b []byte) bool {
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		return true
	}
	return false
}

// readErr words the errors of pcapgo for a person.
func readErr(err error) string {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "the file ends inside its header"
	}
	return err.Error()
}

func (rd *reader) loop(ps packetSource) {
	var pcapLT layers.LinkType
	if p, ok := ps.(*pcapSource); ok {
		pcapLT = p.lt
	}
	seenIfaces := 0
	for {
		data, ci, err := ps.ZeroCopyReadPacketData()
		if rd.ng != nil && rd.ng.NInterfaces() > seenIfaces {
			rd.noteIfaces(seenIfaces)
			seenIfaces = rd.ng.NInterfaces()
		}
		if err != nil {
			if err == io.EOF {
				return
			}
			n := rd.n + 1
			switch {
			case errors.Is(err, io.ErrUnexpectedEOF):
				rd.addProblem(n, "the file ends in the middle of frame %d (cut short while being written or copied?): %d frames before it were read", n, rd.n)
			default:
				rd.addProblem(n, "frame %d: not a packet record (%v): the rest of the file is not read", n, err)
			}
			return
		}
		rd.n++
		rd.info.Packets++
		lt := pcapLT
		iface := rd.opt.Iface
		res := rd.nano
		if rd.ng != nil {
			if len(ci.AncillaryData) > 0 {
				if t, ok := ci.AncillaryData[0].(layers.LinkType); ok {
					lt = t
				}
			}
			if ifc, err := rd.ng.Interface(ci.InterfaceIndex); err == nil {
				if ifc.Name != "" && ifc.Name != "any" {
					iface = ifc.Name
				}
				res = ifc.Resolution() == gopacket.TimestampResolutionNanosecond
			}
		}
		if rd.full() {
			rd.info.Capped = true
			rd.addProblem(rd.n, "more than %d frames kept: frames from %d on were not read", rd.max, rd.n)
			return
		}
		rd.packet(data, ci, lt, iface, res)
	}
}

func (rd *reader) noteIfaces(from int) {
	for i := from; i < rd.ng.NInterfaces(); i++ {
		ifc, err := rd.ng.Interface(i)
		if err != nil {
			continue
		}
		rd.info.Ifaces = append(rd.info.Ifaces, ifc.Name)
		name := linkName(ifc.LinkType)
		dup := false
		for _, l := range rd.info.LinkTypes {
			dup = dup || l == name
		}
		if !dup {
			rd.info.LinkTypes = append(rd.info.LinkTypes, name)
		}
	}
}

func (rd *reader) full() bool {
	return rd.max > 0 && len(rd.frames) >= rd.max
}

// packet decodes one record and keeps its frame if it is wanted.
func (rd *reader) packet(data []byte, ci gopacket.CaptureInfo, lt layers.LinkType, iface string, nano bool) {
	f, ok := rd.decodeFrame(data, ci, lt, iface)
	if !ok {
		return
	}
	if rd.keep != nil && !rd.relevant(&f) {
		rd.info.Filtered++
		return
	}
	rd.finishFrame(&f, ci, nano)
	rd.frames = append(rd.frames, f)
	rd.info.Kept++
}

// decodeFrame decodes one record into a Frame without its time and
// rendering, noting what was cut or malformed; false for a link type it
// does not know.
func (rd *reader) decodeFrame(data []byte, ci gopacket.CaptureInfo, lt layers.LinkType, iface string) (evidence.Frame, bool) {
	f := evidence.Frame{IPID: -1, Iface: iface}
	d := &rd.dec
	d.reset(ci.Length, len(data))
	if !d.decodeLink(&f, data, lt, rd.opt.IfNames) {
		if rd.unknown == nil {
			rd.unknown = map[layers.LinkType]int{}
		}
		if rd.unknown[lt] == 0 {
			rd.addProblem(rd.n, "frame %d: link type %s is not supported: its frames are not read", rd.n, linkName(lt))
		}
		rd.unknown[lt]++
		return f, false
	}
	if d.cut && !d.bad {
		if rd.cut.count == 0 {
			rd.cut.first, rd.cut.at = rd.n, len(data)
		}
		rd.cut.count++
	}
	if d.bad {
		if rd.bad.count == 0 {
			rd.bad.first, rd.bad.why = rd.n, d.why
		}
		rd.bad.count++
	}
	return f, true
}

// finishFrame gives a decoded frame its time, rendering and reference.
func (rd *reader) finishFrame(f *evidence.Frame, ci gopacket.CaptureInfo, nano bool) {
	d := &rd.dec
	zone := rd.opt.Zone
	if zone == nil {
		zone = time.UTC
	}
	ts := ci.Timestamp.In(zone)
	// The time and the rendering share one allocation.
	b := appendTime(d.buf[:0], ts, nano)
	n := len(b)
	b = d.render(b, f, ts)
	d.buf = b
	s := string(b)
	f.Time = s[:n]
	f.Ref = evidence.Ref{Host: rd.opt.Host, Source: rd.opt.Source, Line: rd.n, Text: s[n:]}
	if f.Inner != nil {
		f.Inner.Time, f.Inner.Ref = f.Time, f.Ref
		if f.Inner.Iface == "" {
			f.Inner.Iface = f.Iface
		}
		f.Inner.Dir = f.Dir
	}
}

// relevant reports whether a frame concerns the addresses of interest.
func (rd *reader) relevant(f *evidence.Frame) bool {
	if f.Proto == "vrrp" || f.Proto == "icmp" && isICMPError(f.ICMP) || f.Inner != nil && f.Inner.Proto == "icmp" && isICMPError(f.Inner.ICMP) {
		return true
	}
	for _, g := range []*evidence.Frame{f, f.Inner} {
		if g == nil {
			continue
		}
		if rd.keep[g.Src] || rd.keep[g.Dst] || g.ARPIP.IsValid() && rd.keep[g.ARPIP] {
			return true
		}
	}
	return false
}

// isICMPError tells errors (unreachable, time exceeded, ...) from echo.
// An ICMP frame whose text could not be made counts as an error: it may
// be one.
func isICMPError(s string) bool {
	return !strings.HasPrefix(s, "echo ")
}

func (rd *reader) finish() {
	if rd.cut.count > 0 {
		more := ""
		if rd.cut.count > 1 {
			more = fmt.Sprintf(" (and %d more frames like it)", rd.cut.count-1)
		}
		rd.addProblem(rd.cut.first, "frame %d: the capture kept only %d bytes of it (snap length), cutting its headers%s: decoded what was there", rd.cut.first, rd.cut.at, more)
	}
	if rd.bad.count > 0 {
		more := ""
		if rd.bad.count > 1 {
			more = fmt.Sprintf(" (and %d more malformed frames)", rd.bad.count-1)
		}
		rd.addProblem(rd.bad.first, "frame %d: %s%s: decoded what was there", rd.bad.first, rd.bad.why, more)
	}
	for lt, n := range rd.unknown {
		if n > 1 {
			rd.addProblem(0, "%d frames of link type %s not read", n, linkName(lt))
		}
	}
}

// appendTime renders a capture time as RFC 3339 with the file's
// precision: microseconds as tcpdump prints them, or nanoseconds.
func appendTime(b []byte, t time.Time, nano bool) []byte {
	if nano {
		return t.AppendFormat(b, "2006-01-02T15:04:05.000000000Z07:00")
	}
	return t.AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
}

func linkName(lt layers.LinkType) string {
	switch lt {
	case layers.LinkTypeEthernet:
		return "EN10MB"
	case layers.LinkTypeLinuxSLL:
		return "LINUX_SLL"
	case layers.LinkTypeLinuxSLL2:
		return "LINUX_SLL2"
	case layers.LinkTypeRaw, linkTypeRawBSD, linkTypeRawOpenBSD:
		return "RAW"
	case layers.LinkTypeIPv4:
		return "IPV4"
	case layers.LinkTypeIPv6:
		return "IPV6"
	}
	return fmt.Sprintf("%d", int(lt))
}

// SetZone renders the frames' times in zone: their Time and the time of
// day that starts their Ref.Text. A caller learns the zone only after
// reading, e.g. from the host's own printout of the same capture.
func SetZone(frames []evidence.Frame, zone *time.Location) {
	for i := range frames {
		f := &frames[i]
		t, err := time.Parse(time.RFC3339Nano, f.Time)
		if err != nil {
			continue
		}
		frac := 0
		if j := strings.IndexByte(f.Time, '.'); j >= 0 {
			for k := j + 1; k < len(f.Time) && f.Time[k] >= '0' && f.Time[k] <= '9'; k++ {
				frac++
			}
		}
		t = t.In(zone)
		b := appendTime(nil, t, frac > 6)
		n := len(b)
		text := f.Ref.Text
		if len(text) > len("15:04:05.000000") && text[2] == ':' && text[len("15:04:05.000000")] == ' ' {
			b = t.AppendFormat(b, "15:04:05.000000")
			text = text[len("15:04:05.000000"):]
		}
		b = append(b, text...)
		s := string(b)
		f.Time, f.Ref.Text = s[:n], s[n:]
		if f.Inner != nil {
			f.Inner.Time, f.Inner.Ref = f.Time, f.Ref
		}
	}
}
