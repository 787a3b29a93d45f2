package droptrace

import (
	"bytes"
	"strings"
	"testing"
)

// The fuzz targets cover every decoder of bytes from outside: ring buffer
// records, /proc/kallsyms, nftables trace messages, rtnetlink link
// messages, /proc/net/snmp. None may panic or grow without bound.

func FuzzDecodeRecord(f *testing.F) {
	f.Add(sampleRecord())
	b := sampleRecord()
	b[offKind], b[offIPv4] = kindFIBLookup, 0
	f.Add(b)
	f.Add([]byte{})
	n := newNamer(nil, nil)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			if len(b) >= recordSize {
				t.Fatalf("full-size record refused: %v", err)
			}
			return
		}
		if len(r.ifname) > ifnameLen {
			t.Fatalf("ifname %q longer than the field", r.ifname)
		}
		ev := n.event(&r)
		if ev.Packet.Proto == "" || (ev.Inner != nil && !r.encap) {
			t.Fatalf("event %+v from %+v", ev, r)
		}
		n.fibLookup(&r)
	})
}

func FuzzParseKallsyms(f *testing.F) {
	f.Add("ffffffff81000000 T _text\nffffffff81001000 t ip_rcv_core\nffffffffc0a00000 t ip_vs_leave\t[ip_vs]\n", uint64(0xffffffff81001010))
	f.Add("0000000000000000 T x\n", uint64(1))
	f.Add("zz T x\n1 q y\n", uint64(0))
	f.Fuzz(func(t *testing.T, text string, addr uint64) {
		k, err := parseKallsyms(strings.NewReader(text))
		if err != nil {
			return
		}
		if len(k.syms) > strings.Count(text, "\n")+1 {
			t.Fatalf("%d symbols from %d lines", len(k.syms), strings.Count(text, "\n")+1)
		}
		s := k.format(addr)
		if s == "" {
			t.Fatal("empty location")
		}
		for _, sym := range k.syms[:min(len(k.syms), 3)] {
			k.textRange(sym.name)
		}
	})
}

func FuzzParseNFTrace(f *testing.F) {
	f.Add(nftTraceMessage(f, true))
	f.Add(nftTraceMessage(f, false))
	f.Add([]byte{1, 0, 0, 0, 8, 0, 1, 0})
	filter := Filter{Addr: vip, Port: 8080}
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := parseNFTrace(b)
		if err != nil {
			return
		}
		if len(tr.table) > maxNameLen || len(tr.chain) > maxNameLen || len(tr.jump) > maxNameLen {
			t.Fatal("name not bounded")
		}
		if p, ok := tr.tuple(); ok {
			filter.matchTuple(p)
		}
		tr.verdictString()
		familyName(tr.family)
	})
}

func FuzzParseLinkMessage(f *testing.F) {
	f.Add(linkMessage(f, "lb0", 25, map[int]uint64{6: 5, 24: 9}))
	f.Add(linkMessage(f, "eth0", 23, nil))
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		name, lc, ok := parseLinkMessage(b)
		if !ok {
			return
		}
		if name == "" || len(name) > maxNameLen {
			t.Fatalf("name %q", name)
		}
		_ = lc
	})
}

func FuzzParseSNMP(f *testing.F) {
	f.Add([]byte("TcpExt: SyncookiesSent IPReversePathFilter\nTcpExt: 1 7\nUdp: NoPorts\nUdp: 3\n"))
	f.Add([]byte("Ip: a\nIp: 99999999999999999999\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m := map[string]int64{}
		if err := parseSNMP(bytes.NewReader(b), m); err != nil {
			return
		}
		if len(m) > len(b) {
			t.Fatalf("%d counters from %d bytes", len(m), len(b))
		}
	})
}
