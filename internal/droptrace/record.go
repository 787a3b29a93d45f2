package droptrace

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Record kinds (enum event_kind in bpf/common.h).
const (
	kindKfreeSkb  = 0
	kindFIBLookup = 1
	kindIPVS      = 2
)

// Offsets of struct event's fields (bpf/common.h). Records are decoded
// byte by byte, not by casting, so that a short or foreign record cannot
// crash the reader; TestRecordLayout checks these against the layout clang
// produced (dropsEvent).
const (
	offTs         = 0
	offLocation   = 8
	offSkb        = 16
	offReason     = 24
	offRet        = 28
	offNetns      = 32
	offIfindex    = 36
	offIif        = 40
	offLen        = 44
	offMark       = 48
	offOif        = 52
	offSaddr      = 56
	offDaddr      = 60
	offOuterSaddr = 64
	offOuterDaddr = 68
	offSport      = 72
	offDport      = 74
	offL3proto    = 76
	offL4proto    = 78
	offTCPFlags   = 79
	offKind       = 80
	offEncap      = 81
	offIPv4       = 82
	offIfname     = 84
	ifnameLen     = 16
	recordSize    = 104
)

// record is one decoded ring buffer record, before names are looked up.
type record struct {
	ts, location, skb            uint64
	reason                       uint32
	ret                          int32
	netns                        uint32
	ifindex, iif, len, mark, oif uint32
	saddr, daddr                 netip.Addr
	outerSaddr, outerDaddr       netip.Addr
	sport, dport                 uint16 // ICMP: type, code
	l3proto                      uint16
	l4proto, tcpFlags            uint8
	kind                         uint8
	encap, ipv4                  bool
	ifname                       string
}

// decodeRecord decodes struct event. Records come from our own programs,
// but the reader trusts no length.
func decodeRecord(b []byte) (record, error) {
	if len(b) < recordSize {
		return record{}, fmt.Errorf("short record: %d bytes, want %d", len(b), recordSize)
	}
	le := binary.LittleEndian // the objects are bpfel
	be := binary.BigEndian    // ports as on the wire
	r := record{
		ts:         le.Uint64(b[offTs:]),
		location:   le.Uint64(b[offLocation:]),
		skb:        le.Uint64(b[offSkb:]),
		reason:     le.Uint32(b[offReason:]),
		ret:        int32(le.Uint32(b[offRet:])),
		netns:      le.Uint32(b[offNetns:]),
		ifindex:    le.Uint32(b[offIfindex:]),
		iif:        le.Uint32(b[offIif:]),
		len:        le.Uint32(b[offLen:]),
		mark:       le.Uint32(b[offMark:]),
		oif:        le.Uint32(b[offOif:]),
		saddr:      netip.AddrFrom4([4]byte(b[offSaddr : offSaddr+4])),
		daddr:      netip.AddrFrom4([4]byte(b[offDaddr : offDaddr+4])),
		outerSaddr: netip.AddrFrom4([4]byte(b[offOuterSaddr : offOuterSaddr+4])),
		outerDaddr: netip.AddrFrom4([4]byte(b[offOuterDaddr : offOuterDaddr+4])),
		sport:      be.Uint16(b[offSport:]),
		dport:      be.Uint16(b[offDport:]),
		l3proto:    be.Uint16(b[offL3proto:]),
		l4proto:    b[offL4proto],
		tcpFlags:   b[offTCPFlags],
		kind:       b[offKind],
		encap:      b[offEncap] != 0,
		ipv4:       b[offIPv4] != 0,
	}
	name := b[offIfname : offIfname+ifnameLen]
	if i := strings.IndexByte(string(name), 0); i >= 0 {
		name = name[:i]
	}
	r.ifname = string(name)
	return r, nil
}

// tuples returns the packet's outer tuple and, for IPIP, the inner one.
func (r *record) tuples() (Tuple, *Tuple) {
	if !r.ipv4 {
		return Tuple{Proto: fmt.Sprintf("ethertype 0x%04x", r.l3proto)}, nil
	}
	inner := Tuple{Proto: protoName(r.l4proto), Src: r.saddr, Dst: r.daddr}
	switch r.l4proto {
	case protoTCP:
		inner.SPort, inner.DPort = r.sport, r.dport
		inner.TCPFlags = tcpFlags(r.tcpFlags)
	case protoUDP:
		inner.SPort, inner.DPort = r.sport, r.dport
	case protoICMP:
		// The program stores type and code as plain numbers in the port
		// fields: read big-endian, they are the high bytes.
		inner.ICMPType, inner.ICMPCode = uint8(r.sport>>8), uint8(r.dport>>8)
	}
	if !r.encap {
		return inner, nil
	}
	return Tuple{Proto: "ipip", Src: r.outerSaddr, Dst: r.outerDaddr}, &inner
}

const (
	protoICMP = 1
	protoIPIP = 4
	protoTCP  = 6
	protoUDP  = 17
)

func protoName(p uint8) string {
	switch p {
	case protoICMP:
		return "icmp"
	case protoIPIP:
		return "ipip"
	case protoTCP:
		return "tcp"
	case protoUDP:
		return "udp"
	}
	return "proto" + strconv.Itoa(int(p))
}

// protoNumber parses Filter.Proto.
func protoNumber(s string) (uint8, error) {
	switch s {
	case "":
		return 0, nil
	case "icmp":
		return protoICMP, nil
	case "ipip":
		return protoIPIP, nil
	case "tcp":
		return protoTCP, nil
	case "udp":
		return protoUDP, nil
	}
	return 0, fmt.Errorf("protocol %q: want tcp, udp, icmp, ipip or empty", s)
}

// tcpFlags renders flags as tcpdump does: F S R P . U E W in that order.
func tcpFlags(b uint8) string {
	if b == 0 {
		return "none"
	}
	const chars = "FSRP.UEW"
	var out [8]byte
	n := 0
	for i := 0; i < 8; i++ {
		if b&(1<<i) != 0 {
			out[n] = chars[i]
			n++
		}
	}
	return string(out[:n])
}
