package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/lvsdoctor/lvsdoctor/internal/casedir"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// Scan streams the capture at path through fn, one packet at a time, and
// keeps nothing: what to remember is fn's to decide. It is the reader for
// captures too big to hold (a busy director's gigabytes), and is several
// times faster than ReadFile because a packet's headers are read in place
// and a Frame (with its rendering) is only made when fn asks for one.
//
// fn returns false to stop. The Packet and everything it points into are
// valid only during the call. Problems are those ReadFile reports.
func Scan(path string, opt Options, fn func(*Packet) bool) (Info, []evidence.Problem) {
	f, _, err := casedir.OpenRegular(path)
	if err != nil {
		return Info{}, []evidence.Problem{{Host: opt.Host, Source: opt.Source, Message: err.Error()}}
	}
	defer f.Close()
	if opt.Prefilter != nil {
		if b, unmap := mapFile(f); b != nil {
			defer unmap()
			return scanMapped(b, opt, fn)
		}
	}
	return ScanReader(f, opt, fn)
}

// chunker hands out a pcap file's bytes after its header, in order.
type chunker interface {
	next() (chunk, bool)
	release(chunk)
}

// ScanReader is Scan on a reader.
func ScanReader(r io.Reader, opt Options, fn func(*Packet) bool) (info Info, probs []evidence.Problem) {
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
	s.run(r)
	return s.rd.info, s.rd.probs
}

// Packet is one capture record's headers, read in place.
type Packet struct {
	N       int       // frame number, from 1, as Wireshark numbers frames
	Time    time.Time // as recorded
	CapLen  int       // bytes the capture kept
	WireLen int       // bytes on the wire
	Iface   string    // the capture's interface when known
	// Dir is the Linux cooked packet type: DirIn, DirOut, ... or DirUnknown.
	Dir int8
	// SrcMAC and DstMAC are the link addresses; HasSrcMAC/HasDstMAC say
	// whether the link header carries them (cooked captures have only the
	// source, raw IP none).
	SrcMAC, DstMAC       [6]byte
	HasSrcMAC, HasDstMAC bool
	VLAN                 uint16 // the outermost 802.1Q tag, 0 for none
	// InnerSrcMAC and InnerDstMAC are the tunnelled Ethernet header's
	// (VXLAN, GRE bridging), when HasInnerMAC.
	InnerSrcMAC, InnerDstMAC [6]byte
	HasInnerMAC              bool
	EtherType                uint16
	// Tunnel says how IP was tunnelled; Outer is then the outer packet and
	// IP the inner one. A tunnel inside an overlay network's frame (IPIP
	// inside VXLAN) has the overlay's outer packet in Via.
	Tunnel    Tunnel
	Outer     IPHeader
	IP        IPHeader
	ViaTunnel Tunnel
	Via       IPHeader
	ARP       ARPHeader
	// Cut is set when the capture kept too few bytes to read every header.
	Cut bool

	rd   *reader
	data []byte
	ci   gopacket.CaptureInfo
	lt   layers.LinkType
	nano bool
}

// Cooked packet types (the Linux cooked header's packet type).
const (
	DirUnknown int8 = -1
	DirIn      int8 = 0
	DirOut     int8 = 4
)

// Tunnel is the encapsulation of a packet.
type Tunnel uint8

// Encapsulations the scanner unwraps.
const (
	NoTunnel Tunnel = iota
	TunnelIPIP
	TunnelGRE
	TunnelVXLAN
)

func (t Tunnel) String() string {
	switch t {
	case TunnelIPIP:
		return "ipip"
	case TunnelGRE:
		return "gre"
	case TunnelVXLAN:
		return "vxlan"
	}
	return ""
}

// IPHeader is an IP packet's header and the transport header after it.
type IPHeader struct {
	Valid    bool
	Src, Dst netip.Addr
	Proto    uint8
	ID       uint16
	HasID    bool // IPv4 has an ID, IPv6 (unfragmented) none
	TTL      uint8
	DF       bool
	Frag     bool // a later fragment: no transport header
	Len      int  // total length as the header gives it
	SPort    uint16
	DPort    uint16
	HasPorts bool
	// TCP.
	Seq, Ack     uint32
	Flags        uint8 // TCP flags byte: FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10
	Win          uint16
	TSVal, TSEcr uint32
	HasTS        bool
	MSS          uint16
	// TOA is the client address an FNAT director puts in TCP option 254
	// (the TCP Option Address of Alibaba's LVS), when present.
	TOA netip.AddrPort
	// PayLen is the transport payload's length as the headers give it;
	// Payload the part of it the capture kept.
	PayLen  int
	Payload []byte
	// ICMP.
	ICMPType, ICMPCode uint8
	ICMPMTU            uint16 // next-hop MTU of "fragmentation needed"
	ICMPID, ICMPSeq    uint16
	// Quoted is the header an ICMP error quotes (its transport ports
	// when present).
	Quoted *IPHeader
	// InnerSrc and InnerDst are, in a quoted IPIP header, the addresses
	// of the packet it carried.
	InnerSrc, InnerDst netip.Addr
	// VRRP.
	VRID, VRPrio uint8
}

// ARPHeader is an ARP packet over Ethernet/IPv4.
type ARPHeader struct {
	Valid     bool
	Op        uint16 // 1 request, 2 reply
	SenderMAC [6]byte
	SenderIP  netip.Addr
	TargetMAC [6]byte
	TargetIP  netip.Addr
}

// Protocol numbers and TCP flags the scanner's users test.
const (
	ProtoICMP = 1
	ProtoIPIP = 4
	ProtoTCP  = 6
	ProtoUDP  = 17
	ProtoGRE  = 47
	ProtoVRRP = 112

	FlagFIN = 0x01
	FlagSYN = 0x02
	FlagRST = 0x04
	FlagPSH = 0x08
	FlagACK = 0x10
)

// Frame decodes the packet as ReadFile would: the Frame with its time,
// tcpdump-style rendering and reference. It allocates; call it only for
// the packets worth keeping, and only during fn.
func (p *Packet) Frame() evidence.Frame {
	if p.rd == nil {
		return evidence.Frame{IPID: -1}
	}
	// The scan has counted this packet's damage already.
	cut, bad := p.rd.cut, p.rd.bad
	f, ok := p.rd.decodeFrame(p.data, p.ci, p.lt, p.Iface)
	p.rd.cut, p.rd.bad = cut, bad
	if !ok {
		f.Ref = evidence.Ref{Host: p.rd.opt.Host, Source: p.rd.opt.Source, Line: p.N}
		return f
	}
	p.rd.finishFrame(&f, p.ci, p.nano)
	return f
}

// scanner is one Scan.
type scanner struct {
	rd  reader
	fn  func(*Packet) bool
	pkt Packet
	q   IPHeader // scratch for an ICMP error's quoted header
	q2  IPHeader
	// A snap-length cut is reported once per file, like ReadFile does.
	stop bool
}

func (s *scanner) run(r io.Reader) {
	rd := &s.rd
	src, head, done, ok := rd.openCapture(r, 64<<10)
	defer done()
	if !ok {
		return
	}
	switch {
	case binary.LittleEndian.Uint32(head) == magicPcapNG:
		rd.info.Format = "pcapng"
		ng, err := pcapgo.NewNgReader(src, pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true})
		if err != nil {
			rd.addProblem(0, "not a readable pcapng file: %v", readErr(err))
			return
		}
		rd.ng = ng
		s.loopNg(ng)
	case isPcapMagic(head):
		rd.info.Format = "pcap"
		s.loopPcap(src)
	default:
		rd.addProblem(0, "not a packet capture (unknown magic number %#08x)", binary.BigEndian.Uint32(head))
		return
	}
	rd.finish()
}

// pcapRecordMax bounds one record as ReadFile's reader does (tcpdump's
// own maximum): a bigger length is damage, not a packet.
const pcapRecordMax = 262144

// loopPcap reads a pcap file's records in place, from buffers another
// goroutine fills: pcapgo's reader copies each record and costs two reads
// per packet, which is most of the time of a scan; here the kernel's copy
// of the next megabyte overlaps the scan of this one.
func (s *scanner) loopPcap(r io.Reader) {
	var hdr [24]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		s.rd.addProblem(0, "not a readable pcap file: the file ends inside its header")
		return
	}
	rd := &s.rd
	big, nano := false, false
	switch binary.LittleEndian.Uint32(hdr[:4]) {
	case 0xa1b23c4d:
		nano = true
	case 0xd4c3b2a1:
		big = true
	case 0x4d3cb2a1:
		big, nano = true, true
	}
	u32 := func(b []byte) uint32 {
		if big {
			return binary.BigEndian.Uint32(b)
		}
		return binary.LittleEndian.Uint32(b)
	}
	rd.snap = int(u32(hdr[16:20]))
	rd.nano = nano
	lt := layers.LinkType(u32(hdr[20:24]) & 0x0fffffff)
	rd.info.LinkTypes = []string{linkName(lt)}
	unit := int64(time.Microsecond)
	if nano {
		unit = int64(time.Nanosecond)
	}
	if rd.opt.Prefilter != nil && parallelOK(lt) {
		s.parallel(r, big, lt, nano, unit)
		return
	}
	if Deterministic {
		s.records(&syncChunks{r: r, buf: make([]byte, 64<<10)}, u32, lt, nano, unit)
		return
	}
	ra := newReadAhead(r, 1<<20, 3)
	defer ra.Close()
	s.records(ra, u32, lt, nano, unit)
}

// syncChunks reads chunks on the scan's goroutine (see Deterministic).
type syncChunks struct {
	r   io.Reader
	buf []byte
	err error
}

func (c *syncChunks) next() (chunk, bool) {
	if c.err != nil {
		return chunk{}, false
	}
	n, err := io.ReadFull(c.r, c.buf)
	if err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	c.err = err
	return chunk{b: c.buf[:n], err: err}, true
}

func (c *syncChunks) release(chunk) {}

// records reads the records of a pcap file from ch.
func (s *scanner) records(ch chunker, u32 func([]byte) uint32, lt layers.LinkType, nano bool, unit int64) {
	rd := &s.rd
	// carry holds a record that spans two buffers.
	var carry []byte
	record := func(b []byte) (int, bool) {
		if len(b) < 16 {
			return 0, false
		}
		capLen := int(u32(b[8:12]))
		if capLen > pcapRecordMax || capLen < 0 {
			return -1, false
		}
		return 16 + capLen, len(b) >= 16+capLen
	}
	emit := func(b []byte) {
		rd.n++
		rd.info.Packets++
		sec, frac := u32(b[0:4]), u32(b[4:8])
		ts := time.Unix(int64(sec), int64(frac)*unit)
		data := b[16:]
		s.packet(data, gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: int(u32(b[12:16]))}, lt, rd.opt.Iface, nano)
	}
	bad := func() {
		rd.addProblem(rd.n+1, "frame %d: not a packet record (capture length larger than %d): the rest of the file is not read", rd.n+1, pcapRecordMax)
	}
	for !s.stop {
		c, ok := ch.next()
		if !ok {
			break
		}
		b := c.b
		if len(carry) > 0 {
			// Complete the record begun in the previous buffer.
			for len(b) > 0 {
				n, _ := record(carry)
				if n < 0 {
					bad()
					return
				}
				want := 16
				if n > 0 {
					want = n
				}
				k := min(want-len(carry), len(b))
				carry = append(carry, b[:k]...)
				b = b[k:]
				if n, whole := record(carry); whole {
					emit(carry[:n])
					carry = carry[:0]
					break
				}
			}
		}
		for !s.stop {
			n, whole := record(b)
			if n < 0 {
				bad()
				return
			}
			if !whole {
				carry = append(carry, b...)
				break
			}
			emit(b[:n])
			b = b[n:]
		}
		ch.release(c)
		if c.err != nil {
			if c.err != io.EOF {
				rd.addProblem(rd.n+1, "frame %d: %v", rd.n+1, c.err)
			}
			break
		}
	}
	if len(carry) > 0 && !s.stop {
		rd.addProblem(rd.n+1, "the file ends in the middle of frame %d (cut short while being written or copied?): %d frames before it were read", rd.n+1, rd.n)
	}
}

func (s *scanner) loopNg(ng *pcapgo.NgReader) {
	rd := &s.rd
	seen := 0
	for !s.stop {
		data, ci, err := ng.ZeroCopyReadPacketData()
		if ng.NInterfaces() > seen {
			rd.noteIfaces(seen)
			seen = ng.NInterfaces()
		}
		if err != nil {
			if err == io.EOF {
				return
			}
			n := rd.n + 1
			if errors.Is(err, io.ErrUnexpectedEOF) {
				rd.addProblem(n, "the file ends in the middle of frame %d (cut short while being written or copied?): %d frames before it were read", n, rd.n)
			} else {
				rd.addProblem(n, "frame %d: not a packet record (%v): the rest of the file is not read", n, err)
			}
			return
		}
		rd.n++
		rd.info.Packets++
		lt := layers.LinkTypeEthernet
		if len(ci.AncillaryData) > 0 {
			if t, ok := ci.AncillaryData[0].(layers.LinkType); ok {
				lt = t
			}
		}
		iface, nano := rd.opt.Iface, false
		if ifc, err := ng.Interface(ci.InterfaceIndex); err == nil {
			if ifc.Name != "" && ifc.Name != "any" {
				iface = ifc.Name
			}
			nano = ifc.Resolution() == gopacket.TimestampResolutionNanosecond
		}
		s.packet(data, ci, lt, iface, nano)
	}
}

// packet decodes one record's headers and hands it to fn.
func (s *scanner) packet(data []byte, ci gopacket.CaptureInfo, lt layers.LinkType, iface string, nano bool) {
	p := s.reset(data, ci, lt, iface, nano)
	if !s.link(p, data, lt) {
		s.rd.info.Filtered++
		if s.rd.unknown == nil {
			s.rd.unknown = map[layers.LinkType]int{}
		}
		if s.rd.unknown[lt] == 0 {
			s.rd.addProblem(s.rd.n, "frame %d: link type %s is not supported: its frames are not read", s.rd.n, linkName(lt))
		}
		s.rd.unknown[lt]++
		return
	}
	if p.Cut && ci.Length > len(data) {
		if s.rd.cut.count == 0 || s.rd.n < s.rd.cut.first {
			s.rd.cut.first, s.rd.cut.at = s.rd.n, len(data)
		}
		s.rd.cut.count++
	}
	s.rd.info.Kept++
	if !s.fn(p) {
		s.stop = true
	}
}

// reset makes the scanner's Packet the record's, before decoding.
func (s *scanner) reset(data []byte, ci gopacket.CaptureInfo, lt layers.LinkType, iface string, nano bool) *Packet {
	p := &s.pkt
	// Only what the previous packet set is cleared: a packet costs the
	// headers it has, not the size of Packet.
	if p.Tunnel != NoTunnel {
		p.Outer = IPHeader{}
		p.Tunnel = NoTunnel
	}
	if p.ViaTunnel != NoTunnel {
		p.Via = IPHeader{}
		p.ViaTunnel = NoTunnel
	}
	if p.ARP.Valid {
		p.ARP = ARPHeader{}
	}
	p.IP = IPHeader{}
	p.N, p.Time, p.CapLen, p.WireLen, p.Iface, p.Dir = s.rd.n, ci.Timestamp, len(data), ci.Length, iface, DirUnknown
	p.HasSrcMAC, p.HasDstMAC, p.HasInnerMAC, p.VLAN, p.EtherType, p.Cut = false, false, false, 0, 0, false
	p.rd, p.data, p.ci, p.lt, p.nano = &s.rd, data, ci, lt, nano
	return p
}

// link reads the link header; false for an unknown link type.
func (s *scanner) link(p *Packet, b []byte, lt layers.LinkType) bool {
	var et uint16
	switch lt {
	case layers.LinkTypeEthernet:
		if len(b) < 14 {
			p.Cut = true
			return true
		}
		copy(p.DstMAC[:], b[0:6])
		copy(p.SrcMAC[:], b[6:12])
		p.HasSrcMAC, p.HasDstMAC = true, true
		et = binary.BigEndian.Uint16(b[12:14])
		b = b[14:]
	case layers.LinkTypeLinuxSLL:
		if len(b) < 16 {
			p.Cut = true
			return true
		}
		p.Dir = int8(binary.BigEndian.Uint16(b[0:2]))
		if n := binary.BigEndian.Uint16(b[4:6]); n == 6 {
			copy(p.SrcMAC[:], b[6:12])
			p.HasSrcMAC = true
		}
		et = binary.BigEndian.Uint16(b[14:16])
		b = b[16:]
	case layers.LinkTypeLinuxSLL2:
		if len(b) < 20 {
			p.Cut = true
			return true
		}
		et = binary.BigEndian.Uint16(b[0:2])
		idx := int(binary.BigEndian.Uint32(b[4:8]))
		if name, ok := s.rd.opt.IfNames[idx]; ok {
			p.Iface = name
		} else {
			p.Iface = ""
		}
		p.Dir = int8(b[10])
		if b[11] == 6 {
			copy(p.SrcMAC[:], b[12:18])
			p.HasSrcMAC = true
		}
		b = b[20:]
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6, linkTypeRawBSD, linkTypeRawOpenBSD:
		if len(b) == 0 {
			p.Cut = true
			return true
		}
		switch b[0] >> 4 {
		case 4:
			p.EtherType = 0x0800
			s.ip4(p, &p.IP, b, 0)
		case 6:
			p.EtherType = 0x86dd
			s.ip6(p, &p.IP, b)
		}
		return true
	default:
		return false
	}
	for tags := 0; (et == 0x8100 || et == 0x88a8) && tags < 4; tags++ {
		if len(b) < 4 {
			p.Cut = true
			return true
		}
		if p.VLAN == 0 {
			p.VLAN = binary.BigEndian.Uint16(b[0:2]) & 0x0fff
		}
		et = binary.BigEndian.Uint16(b[2:4])
		b = b[4:]
	}
	p.EtherType = et
	s.ether(p, et, b, 0)
	return true
}

func (s *scanner) ether(p *Packet, et uint16, b []byte, depth int) {
	switch et {
	case 0x0800:
		s.ip4(p, &p.IP, b, depth)
	case 0x86dd:
		s.ip6(p, &p.IP, b)
	case 0x0806:
		if depth == 0 {
			s.arp(p, b)
		}
	}
}

func (s *scanner) arp(p *Packet, b []byte) {
	if len(b) < 28 {
		p.Cut = true
		return
	}
	if binary.BigEndian.Uint16(b[2:4]) != 0x0800 || b[4] != 6 || b[5] != 4 {
		return
	}
	a := &p.ARP
	a.Valid = true
	a.Op = binary.BigEndian.Uint16(b[6:8])
	copy(a.SenderMAC[:], b[8:14])
	a.SenderIP = netip.AddrFrom4([4]byte(b[14:18]))
	copy(a.TargetMAC[:], b[18:24])
	a.TargetIP = netip.AddrFrom4([4]byte(b[24:28]))
}

// ip4 reads an IPv4 header into h. A tunnelled packet moves h to
// p.Outer and reads the inner packet into p.IP.
func (s *scanner) ip4(p *Packet, h *IPHeader, b []byte, depth int) {
	if len(b) < 20 {
		p.Cut = true
		return
	}
	ihl := int(b[0]&0x0f) * 4
	h.Valid = true
	h.Src = netip.AddrFrom4([4]byte(b[12:16]))
	h.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	h.Proto = b[9]
	h.ID = binary.BigEndian.Uint16(b[4:6])
	h.HasID = true
	h.TTL = b[8]
	fl := binary.BigEndian.Uint16(b[6:8])
	h.DF = fl&0x4000 != 0
	h.Len = int(binary.BigEndian.Uint16(b[2:4]))
	if ihl < 20 || ihl > len(b) {
		p.Cut = ihl >= 20
		return
	}
	if fl&0x1fff != 0 {
		h.Frag = true
		h.PayLen = max(h.Len-ihl, 0)
		return
	}
	payload := b[ihl:]
	plen := h.Len - ihl
	if plen >= 0 && plen < len(payload) {
		payload = payload[:plen] // Ethernet padding
	}
	s.transport(p, h, payload, plen, depth)
}

// ip6 reads an IPv6 header and walks its extension headers.
func (s *scanner) ip6(p *Packet, h *IPHeader, b []byte) {
	if len(b) < 40 {
		p.Cut = true
		return
	}
	h.Valid = true
	h.Src = netip.AddrFrom16([16]byte(b[8:24]))
	h.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	h.TTL = b[7]
	plen := int(binary.BigEndian.Uint16(b[4:6]))
	h.Len = plen + 40
	next := b[6]
	rest := b[40:]
	if plen < len(rest) {
		rest = rest[:plen]
	}
	for hops := 0; hops < 8; hops++ {
		switch next {
		case 0, 43, 60:
			if len(rest) < 8 || (int(rest[1])+1)*8 > len(rest) {
				p.Cut = true
				h.Proto = next
				return
			}
			n := (int(rest[1]) + 1) * 8
			next, rest, plen = rest[0], rest[n:], plen-n
			continue
		case 44:
			if len(rest) < 8 {
				p.Cut = true
				return
			}
			h.ID, h.HasID = uint16(binary.BigEndian.Uint32(rest[4:8])), true
			if binary.BigEndian.Uint16(rest[2:4])&0xfff8 != 0 {
				h.Proto, h.Frag = rest[0], true
				return
			}
			next, rest, plen = rest[0], rest[8:], plen-8
			continue
		}
		break
	}
	h.Proto = next
	s.transport(p, h, rest, plen, 1)
}

// transport reads what an IP packet carries; plen is the payload length
// the IP header gives, b what was captured of it.
func (s *scanner) transport(p *Packet, h *IPHeader, b []byte, plen, depth int) {
	switch h.Proto {
	case ProtoTCP:
		if len(b) < 4 {
			p.Cut = true
			return
		}
		h.SPort, h.DPort, h.HasPorts = binary.BigEndian.Uint16(b[0:2]), binary.BigEndian.Uint16(b[2:4]), true
		if len(b) < 20 {
			p.Cut = true
			return
		}
		h.Seq = binary.BigEndian.Uint32(b[4:8])
		h.Ack = binary.BigEndian.Uint32(b[8:12])
		h.Flags = b[13]
		h.Win = binary.BigEndian.Uint16(b[14:16])
		off := int(b[12]>>4) * 4
		h.PayLen = max(plen-off, 0)
		if off < 20 {
			return
		}
		if off > len(b) {
			// Cut options are no loss (the reader does not count them).
			tcpOptions(h, b[20:])
			return
		}
		tcpOptions(h, b[20:off])
		h.Payload = b[off:]
	case ProtoUDP:
		if len(b) < 4 {
			p.Cut = true
			return
		}
		h.SPort, h.DPort, h.HasPorts = binary.BigEndian.Uint16(b[0:2]), binary.BigEndian.Uint16(b[2:4]), true
		if len(b) < 8 {
			p.Cut = true
			return
		}
		h.PayLen = max(int(binary.BigEndian.Uint16(b[4:6]))-8, 0)
		h.Payload = b[8:]
		if h.DPort == 4789 && depth == 0 && p.Tunnel == NoTunnel {
			if len(b) < 16+14 {
				p.Cut = true
				return
			}
			in := b[16:]
			et := binary.BigEndian.Uint16(in[12:14])
			if et != 0x0800 && et != 0x86dd {
				return
			}
			s.tunnel(p, TunnelVXLAN)
			p.innerMACs(in)
			s.ether(p, et, in[14:], 1)
		}
	case ProtoICMP:
		h.PayLen = max(plen, 0)
		if len(b) < 8 {
			p.Cut = len(b) < plen
			return
		}
		h.ICMPType, h.ICMPCode = b[0], b[1]
		h.ICMPID, h.ICMPSeq = binary.BigEndian.Uint16(b[4:6]), binary.BigEndian.Uint16(b[6:8])
		switch h.ICMPType {
		case 3, 4, 5, 11, 12:
			if h.ICMPType == 3 && h.ICMPCode == 4 {
				h.ICMPMTU = binary.BigEndian.Uint16(b[6:8])
			}
			q := &s.q
			if depth > 0 {
				q = &s.q2
			}
			*q = IPHeader{}
			ok, whole := s.quoted(q, b[8:])
			if ok {
				h.Quoted = q
			}
			// Only a port unreachable needs the quoted ports.
			if (!ok || !whole && h.ICMPType == 3 && h.ICMPCode == 3) && len(b) < plen {
				p.Cut = true
			}
		}
	case ProtoVRRP:
		h.PayLen = max(plen, 0)
		if len(b) >= 3 {
			h.VRID, h.VRPrio = b[1], b[2]
		}
		h.Payload = b
	case ProtoIPIP:
		if depth == 0 && p.Tunnel == NoTunnel || overlaid(p, depth) {
			s.tunnel(p, TunnelIPIP)
			s.ip4(p, &p.IP, b, 2)
		}
	case 41: // IPv6 in IPv4 (sit)
		if depth == 0 && p.Tunnel == NoTunnel || overlaid(p, depth) {
			s.tunnel(p, TunnelIPIP)
			s.ip6(p, &p.IP, b)
		}
	case ProtoGRE:
		h.PayLen = max(plen, 0)
		if depth > 0 || p.Tunnel != NoTunnel {
			return
		}
		if len(b) < 4 {
			p.Cut = true
			return
		}
		fl := binary.BigEndian.Uint16(b[0:2])
		proto := binary.BigEndian.Uint16(b[2:4])
		n := 4
		if fl&0x8000 != 0 {
			n += 4 // checksum
		}
		if fl&0x2000 != 0 {
			n += 4 // key
		}
		if fl&0x1000 != 0 {
			n += 4 // sequence
		}
		if fl&0x0007 != 0 || len(b) < n {
			p.Cut = len(b) < n
			return
		}
		in := b[n:]
		switch proto {
		case 0x0800:
			s.tunnel(p, TunnelGRE)
			s.ip4(p, &p.IP, in, 1)
		case 0x86dd:
			s.tunnel(p, TunnelGRE)
			s.ip6(p, &p.IP, in)
		case 0x6558:
			if len(in) < 14 {
				p.Cut = true
				return
			}
			s.tunnel(p, TunnelGRE)
			p.innerMACs(in)
			s.ether(p, binary.BigEndian.Uint16(in[12:14]), in[14:], 1)
		}
	default:
		h.PayLen = max(plen, 0)
	}
}

func (p *Packet) innerMACs(b []byte) {
	copy(p.InnerDstMAC[:], b[0:6])
	copy(p.InnerSrcMAC[:], b[6:12])
	p.HasInnerMAC = true
}

// tunnel moves the packet read so far to Outer: the inner packet will be
// read into IP.
func (s *scanner) tunnel(p *Packet, t Tunnel) {
	if p.Tunnel != NoTunnel {
		// A tunnel inside an overlay's frame (LVS's IPIP over a cloud's
		// VXLAN): the overlay moves to Via.
		p.Via, p.ViaTunnel = p.Outer, p.Tunnel
	}
	p.Tunnel = t
	p.Outer = p.IP
	p.IP = IPHeader{}
}

// overlaid reports whether the packet so far is an overlay's frame that
// may carry one more tunnel.
func overlaid(p *Packet, depth int) bool {
	return depth == 1 && p.HasInnerMAC && p.ViaTunnel == NoTunnel
}

// quoted reads the IP header and ports an ICMP error quotes; whole
// says whether the ports were there too.
func (s *scanner) quoted(q *IPHeader, b []byte) (ok, whole bool) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return false, false
	}
	ihl := int(b[0]&0x0f) * 4
	q.Valid = true
	q.Src = netip.AddrFrom4([4]byte(b[12:16]))
	q.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	q.Proto = b[9]
	q.ID, q.HasID = binary.BigEndian.Uint16(b[4:6]), true
	q.Len = int(binary.BigEndian.Uint16(b[2:4]))
	q.DF = binary.BigEndian.Uint16(b[6:8])&0x4000 != 0
	whole = ihl < 20 || len(b) >= ihl+4 || q.Proto != ProtoTCP && q.Proto != ProtoUDP
	if ihl >= 20 && len(b) >= ihl+4 {
		t := b[ihl:]
		switch q.Proto {
		case ProtoTCP, ProtoUDP:
			q.SPort, q.DPort, q.HasPorts = binary.BigEndian.Uint16(t[0:2]), binary.BigEndian.Uint16(t[2:4]), true
			if q.Proto == ProtoTCP && len(t) >= 8 {
				q.Seq = binary.BigEndian.Uint32(t[4:8])
			}
		case ProtoIPIP:
			// A tunnel packet quoted: what it carried is what matters.
			if len(t) >= 20 && t[0]>>4 == 4 {
				q.InnerSrc = netip.AddrFrom4([4]byte(t[12:16]))
				q.InnerDst = netip.AddrFrom4([4]byte(t[16:20]))
			}
		}
	}
	return true, whole
}

// tcpOptions reads the options a packet is recognised by across hops:
// timestamps, MSS, and an FNAT director's TOA.
func tcpOptions(h *IPHeader, o []byte) {
	for i := 0; i < len(o); {
		kind := o[i]
		if kind == 0 {
			return
		}
		if kind == 1 {
			i++
			continue
		}
		if i+1 >= len(o) {
			return
		}
		n := int(o[i+1])
		if n < 2 || i+n > len(o) {
			return
		}
		v := o[i+2 : i+n]
		switch {
		case kind == 2 && n == 4:
			h.MSS = binary.BigEndian.Uint16(v)
		case kind == 8 && n == 10:
			h.TSVal, h.TSEcr, h.HasTS = binary.BigEndian.Uint32(v[0:4]), binary.BigEndian.Uint32(v[4:8]), true
		case kind == 254 && n == 8:
			h.TOA = netip.AddrPortFrom(netip.AddrFrom4([4]byte(v[2:6])), binary.BigEndian.Uint16(v[0:2]))
		}
		i += n
	}
}

// readAhead reads r in a goroutine, a buffer ahead of its reader: the
// kernel's copy of the next megabytes overlaps the scan of these.
type readAhead struct {
	full   chan chunk
	free   chan []byte
	done   chan struct{}
	exited chan struct{}
}

type chunk struct {
	b   []byte
	err error
}

func newReadAhead(r io.Reader, size, n int) *readAhead {
	ra := &readAhead{full: make(chan chunk, n), free: make(chan []byte, n), done: make(chan struct{}), exited: make(chan struct{})}
	for range n {
		ra.free <- make([]byte, size)
	}
	go func() {
		defer close(ra.exited)
		defer close(ra.full)
		for {
			var b []byte
			select {
			case b = <-ra.free:
			case <-ra.done:
				return
			}
			k, err := io.ReadFull(r, b)
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			select {
			case ra.full <- chunk{b[:k], err}:
			case <-ra.done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return ra
}

// next returns the next buffer, false at the end.
func (ra *readAhead) next() (chunk, bool) {
	c, ok := <-ra.full
	return c, ok
}

// release hands a buffer back to be filled again.
func (ra *readAhead) release(c chunk) { ra.free <- c.b[:cap(c.b)] }

// Close stops the goroutine and waits for it: nothing reads the input
// after the scan returns.
func (ra *readAhead) Close() {
	close(ra.done)
	<-ra.exited
}
