package droptrace

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// nftTraceMessage encodes an NFT_MSG_TRACE payload as the kernel does.
func nftTraceMessage(t testing.TB, withHeaders bool) []byte {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	ae.ByteOrder = binary.BigEndian
	ae.String(unix.NFTA_TRACE_TABLE, "dttest")
	ae.String(unix.NFTA_TRACE_CHAIN, "input")
	ae.Uint64(unix.NFTA_TRACE_RULE_HANDLE, 4)
	ae.Uint32(unix.NFTA_TRACE_TYPE, unix.NFT_TRACETYPE_RULE)
	ae.Uint32(unix.NFTA_TRACE_ID, 0xabcd)
	ae.Uint32(unix.NFTA_TRACE_IIF, 2)
	ae.Nested(unix.NFTA_TRACE_VERDICT, func(nae *netlink.AttributeEncoder) error {
		nae.ByteOrder = binary.BigEndian
		nae.Uint32(unix.NFTA_VERDICT_CODE, 0) // NF_DROP
		return nil
	})
	if withHeaders {
		iph := []byte{0x45, 0, 0, 60, 0, 0, 0, 0, 64, 6, 0, 0, 192, 0, 2, 1, 203, 0, 113, 10}
		ae.Bytes(unix.NFTA_TRACE_NETWORK_HEADER, iph)
		ae.Bytes(unix.NFTA_TRACE_TRANSPORT_HEADER, []byte{0x9c, 0x40, 0x1f, 0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x02})
	}
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte{unix.NFPROTO_INET, 0, 0, 0}, b...)
}

func TestParseNFTrace(t *testing.T) {
	tr, err := parseNFTrace(nftTraceMessage(t, true))
	if err != nil {
		t.Fatal(err)
	}
	if tr.table != "dttest" || tr.chain != "input" || tr.handle != 4 || !tr.hasRule || tr.id != 0xabcd ||
		tr.verdictString() != "drop" || familyName(tr.family) != "inet" || nftTraceTypes[tr.typ] != "rule" || tr.iif != 2 {
		t.Fatalf("parsed %+v", tr)
	}
	p, ok := tr.tuple()
	want := Tuple{Proto: "tcp", Src: netip.MustParseAddr("192.0.2.1"), Dst: vip, SPort: 40000, DPort: 8080, TCPFlags: "S"}
	if !ok || p != want {
		t.Fatalf("tuple %+v, want %+v", p, want)
	}
	if _, err := parseNFTrace([]byte{1, 0}); err == nil {
		t.Fatal("short message accepted")
	}
}

func TestVerdictNames(t *testing.T) {
	for _, c := range []struct {
		v     int32
		chain string
		want  string
	}{
		{0, "", "drop"}, {1, "", "accept"}, {-1, "", "continue"}, {-3, "ipvs", "jump ipvs"},
		{-4, "x", "goto x"}, {5<<16 | 3, "", "queue num 5"}, {113 << 16, "", "drop"}, {77, "", "77"},
	} {
		if got := verdictName(c.v, c.chain); got != c.want {
			t.Errorf("verdictName(%d, %q) = %q, want %q", c.v, c.chain, got, c.want)
		}
	}
}

// TestNFTraceFilter: events of a trace id without headers follow the
// decision made on the id's first event.
func TestNFTraceFilter(t *testing.T) {
	tracer := &Tracer{filter: Filter{Addr: vip, Port: 8080}, names: &namer{netns: &netnsNames{names: map[uint32]string{}}}}
	l := &nftListener{t: tracer, netns: "lb", tuples: map[uint32]Tuple{}, match: map[uint32]bool{},
		rules: &ruleCache{rules: map[ruleKey]string{{chainKey{unix.NFPROTO_INET, "dttest", "input"}, 4}: "block VIP:8080"}}}
	first, _ := parseNFTrace(nftTraceMessage(t, true))
	later, _ := parseNFTrace(nftTraceMessage(t, false))
	ev, ok := l.event(first)
	if !ok || ev.Comment != "block VIP:8080" || ev.Packet.DPort != 8080 || ev.Netns != "lb" {
		t.Fatalf("first event %+v %v", ev, ok)
	}
	if ev, ok := l.event(later); !ok || ev.Packet.DPort != 8080 {
		t.Fatalf("headerless event of a matched id: %+v %v", ev, ok)
	}
	tracer.filter.Port = 9999
	l.match, l.tuples = map[uint32]bool{}, map[uint32]Tuple{}
	if _, ok := l.event(first); ok {
		t.Fatal("event of another port reported")
	}
	if _, ok := l.event(later); ok {
		t.Fatal("headerless event of an unmatched id reported")
	}
}
