package droptrace

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"unsafe"
)

// TestRecordLayout checks the decoder's offsets against struct event as
// clang laid it out (bpf2go's dropsEvent mirrors the object's BTF).
func TestRecordLayout(t *testing.T) {
	var e dropsEvent
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"ts", offTs, unsafe.Offsetof(e.Ts)},
		{"location", offLocation, unsafe.Offsetof(e.Location)},
		{"skbaddr", offSkb, unsafe.Offsetof(e.Skbaddr)},
		{"reason", offReason, unsafe.Offsetof(e.Reason)},
		{"ret", offRet, unsafe.Offsetof(e.Ret)},
		{"netns", offNetns, unsafe.Offsetof(e.Netns)},
		{"ifindex", offIfindex, unsafe.Offsetof(e.Ifindex)},
		{"iif", offIif, unsafe.Offsetof(e.Iif)},
		{"len", offLen, unsafe.Offsetof(e.Len)},
		{"mark", offMark, unsafe.Offsetof(e.Mark)},
		{"oif", offOif, unsafe.Offsetof(e.Oif)},
		{"saddr", offSaddr, unsafe.Offsetof(e.Saddr)},
		{"daddr", offDaddr, unsafe.Offsetof(e.Daddr)},
		{"outer_saddr", offOuterSaddr, unsafe.Offsetof(e.OuterSaddr)},
		{"outer_daddr", offOuterDaddr, unsafe.Offsetof(e.OuterDaddr)},
		{"sport", offSport, unsafe.Offsetof(e.Sport)},
		{"dport", offDport, unsafe.Offsetof(e.Dport)},
		{"l3proto", offL3proto, unsafe.Offsetof(e.L3proto)},
		{"l4proto", offL4proto, unsafe.Offsetof(e.L4proto)},
		{"tcpflags", offTCPFlags, unsafe.Offsetof(e.Tcpflags)},
		{"kind", offKind, unsafe.Offsetof(e.Kind)},
		{"encap", offEncap, unsafe.Offsetof(e.Encap)},
		{"ipv4", offIPv4, unsafe.Offsetof(e.Ipv4)},
		{"ifname", offIfname, unsafe.Offsetof(e.Ifname)},
		{"sizeof", recordSize, unsafe.Sizeof(e)},
		{"ifname len", ifnameLen, unsafe.Sizeof(e.Ifname)},
	} {
		if c.got != c.want {
			t.Errorf("%s: decoder uses %d, the object has %d", c.name, c.got, c.want)
		}
	}
}

// sampleRecord is an IPIP-encapsulated TCP SYN freed with reason 19.
func sampleRecord() []byte {
	b := make([]byte, recordSize)
	le := binary.LittleEndian
	le.PutUint64(b[offTs:], 123456789)
	le.PutUint64(b[offLocation:], 0xffffffff81000010)
	le.PutUint64(b[offSkb:], 0xffff888000001000)
	le.PutUint32(b[offReason:], 19)
	le.PutUint32(b[offNetns:], 4026532178)
	le.PutUint32(b[offIfindex:], 2)
	le.PutUint32(b[offIif:], 2)
	le.PutUint32(b[offLen:], 40)
	copy(b[offSaddr:], []byte{198, 18, 0, 77})
	copy(b[offDaddr:], []byte{203, 0, 113, 10})
	copy(b[offOuterSaddr:], []byte{192, 0, 2, 1})
	copy(b[offOuterDaddr:], []byte{192, 0, 2, 2})
	binary.BigEndian.PutUint16(b[offSport:], 40000)
	binary.BigEndian.PutUint16(b[offDport:], 80)
	binary.BigEndian.PutUint16(b[offL3proto:], 0x0800)
	b[offL4proto] = protoTCP
	b[offTCPFlags] = 0x12
	b[offEncap] = 1
	b[offIPv4] = 1
	copy(b[offIfname:], "lb0")
	return b
}

func TestDecodeRecord(t *testing.T) {
	r, err := decodeRecord(sampleRecord())
	if err != nil {
		t.Fatal(err)
	}
	outer, inner := r.tuples()
	if r.reason != 19 || r.ifname != "lb0" || r.netns != 4026532178 || r.len != 40 {
		t.Fatalf("decoded %+v", r)
	}
	if outer != (Tuple{Proto: "ipip", Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("192.0.2.2")}) {
		t.Fatalf("outer %+v", outer)
	}
	want := Tuple{Proto: "tcp", Src: netip.MustParseAddr("198.18.0.77"), Dst: vip, SPort: 40000, DPort: 80, TCPFlags: "S."}
	if inner == nil || *inner != want {
		t.Fatalf("inner %+v, want %+v", inner, want)
	}
	if _, err := decodeRecord(sampleRecord()[:recordSize-1]); err == nil {
		t.Fatal("short record accepted")
	}
}

func TestICMPTuple(t *testing.T) {
	b := sampleRecord()
	b[offEncap] = 0
	b[offL4proto] = protoICMP
	// What the program stores: e->sport = type (8), e->dport = code (0),
	// as little-endian numbers.
	binary.LittleEndian.PutUint16(b[offSport:], 8)
	binary.LittleEndian.PutUint16(b[offDport:], 3)
	r, _ := decodeRecord(b)
	p, inner := r.tuples()
	if inner != nil || p.Proto != "icmp" || p.ICMPType != 8 || p.ICMPCode != 3 || p.SPort != 0 {
		t.Fatalf("icmp tuple %+v", p)
	}
}

func TestTCPFlags(t *testing.T) {
	for b, want := range map[uint8]string{0x02: "S", 0x12: "S.", 0x10: ".", 0x18: "P.", 0x11: "F.", 0x14: "R.", 0: "none", 0xc2: "SEW"} {
		if got := tcpFlags(b); got != want {
			t.Errorf("tcpFlags(%#x) = %q, want %q", b, got, want)
		}
	}
}

func TestNamerEvent(t *testing.T) {
	ks, _ := parseKallsyms(stringsReader("ffffffff81000000 T ip_rcv_core\nffffffff81000100 t ip_vs_leave\t[ip_vs]\n"))
	n := newNamer(ks, &reasonTable{names: map[uint32]string{19: "IP_NOPROTO"}})
	r, _ := decodeRecord(sampleRecord())
	ev := n.event(&r)
	if ev.Reason != "IP_NOPROTO" || ev.ReasonCode != 19 || ev.Location != "ip_rcv_core+0x10" || ev.Dev != "lb0" || ev.Inner == nil {
		t.Fatalf("event %+v", ev)
	}
	r.kind, r.reason = kindIPVS, 2
	ev = n.event(&r)
	if ev.Reason != IPVSNoDest || ev.Location != "ip_vs_leave" || ev.ReasonCode != 0 {
		t.Fatalf("IPVS event %+v", ev)
	}
	if got := n.reasons.name(2<<16 | 5); got != "SUBSYS_2:0x5" {
		t.Fatalf("subsystem reason %q", got)
	}
}
