package droptrace

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

func TestParseSNMP(t *testing.T) {
	m := map[string]int64{}
	err := parseSNMP(strings.NewReader("TcpExt: SyncookiesSent IPReversePathFilter\nTcpExt: 1 7\n"+
		"IpExt: InNoRoutes InTruncatedPkts\nIpExt: 3 x\nUdp: NoPorts\nTcp: MaxConn\nTcp: -1\n"), m)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"TcpExt.SyncookiesSent": 1, "TcpExt.IPReversePathFilter": 7, "IpExt.InNoRoutes": 3, "Tcp.MaxConn": -1}
	if len(m) != len(want) {
		t.Fatalf("parsed %v, want %v", m, want)
	}
	for k, v := range want {
		if m[k] != v {
			t.Fatalf("parsed %v, want %v", m, want)
		}
	}
}

// linkMessage encodes a RTM_NEWLINK payload with n u64 stats fields.
func linkMessage(t testing.TB, name string, n int, set map[int]uint64) []byte {
	t.Helper()
	st := make([]byte, n*8)
	for i, v := range set {
		binary.NativeEndian.PutUint64(st[i*8:], v)
	}
	ae := netlink.NewAttributeEncoder()
	ae.String(unix.IFLA_IFNAME, name)
	ae.Bytes(unix.IFLA_STATS64, st)
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return append(make([]byte, ifinfomsgLen), b...)
}

func TestParseLinkMessage(t *testing.T) {
	name, lc, ok := parseLinkMessage(linkMessage(t, "lb0", 25, map[int]uint64{6: 5, 7: 1, 23: 2, 24: 9}))
	if !ok || name != "lb0" || lc != (LinkCounters{RxDropped: 5, TxDropped: 1, RxNoHandler: 2, RxOtherhost: 9, HasOtherhost: true}) {
		t.Fatalf("parsed %q %+v %v", name, lc, ok)
	}
	// A kernel before 5.19 sends 24 fields: no otherhost counter.
	_, lc, ok = parseLinkMessage(linkMessage(t, "eth0", 24, map[int]uint64{6: 5}))
	if !ok || lc.HasOtherhost || lc.RxDropped != 5 {
		t.Fatalf("old kernel stats %+v %v", lc, ok)
	}
	if _, _, ok := parseLinkMessage(linkMessage(t, "eth0", 3, nil)); ok {
		t.Fatal("truncated stats accepted")
	}
	if _, _, ok := parseLinkMessage([]byte{1, 2}); ok {
		t.Fatal("short message accepted")
	}
}

func TestSnapshotDelta(t *testing.T) {
	a := Snapshot{SNMP: map[string]int64{"TcpExt.IPReversePathFilter": 4, "Ip.InReceives": 10, "Udp.NoPorts": 1},
		Links: map[string]LinkCounters{"lb0": {RxOtherhost: 1}}}
	b := Snapshot{SNMP: map[string]int64{"TcpExt.IPReversePathFilter": 7, "Ip.InReceives": 20, "Udp.NoPorts": 1, "TcpExt.SomeNewDrops": 2},
		Links: map[string]LinkCounters{"lb0": {RxOtherhost: 3}, "lb1": {}}}
	d := a.Delta(b)
	var names []string
	for _, c := range d {
		names = append(names, c.Name)
	}
	if got := strings.Join(names, ","); got != "TcpExt.IPReversePathFilter,TcpExt.SomeNewDrops,link lb0 otherhost" {
		t.Fatalf("delta names %s (%+v)", got, d)
	}
	if d[0].Delta != 3 || !strings.Contains(d[0].Means, "rp_filter") || d[1].Means != "" || d[2].Delta != 2 || !strings.Contains(d[2].Means, "OTHERHOST") {
		t.Fatalf("delta %+v", d)
	}
}

// TestCountersAroundRealDrops is the fallback's proof: each drop of the lab
// moves the counter the table says, in the namespace it happened in.
func TestCountersAroundRealDrops(t *testing.T) {
	l := newLab(t)
	before, err := Counters(l.lb)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		sendUDP(t, l.cli, rpSrc, vip, 7000, 8, false) // IP_RPFILTER
	}
	sendUDP(t, l.cli, netip.Addr{}, vip, 5353, 8, false) // NO_SOCKET (udp)
	l.ip("-n", l.cli, "neigh", "replace", "192.0.2.2", "lladdr", "02:00:00:00:00:99", "dev", "cli0", "nud", "permanent")
	sendUDP(t, l.cli, netip.Addr{}, vip, 5353, 8, false) // OTHERHOST
	sendUDP(t, l.cli, netip.Addr{}, vip, 5353, 8, false)
	time.Sleep(100 * time.Millisecond)
	after, err := Counters(l.lb)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]CounterDelta{}
	for _, d := range before.Delta(after) {
		got[d.Name] = d
		t.Logf("%-28s %+d  %s", d.Name, d.Delta, d.Means)
	}
	want := map[string]int64{"TcpExt.IPReversePathFilter": 3, "Udp.NoPorts": 1}
	if after.Links["lb0"].HasOtherhost {
		want["link lb0 otherhost"] = 2
	}
	for name, n := range want {
		if got[name].Delta != n || got[name].Means == "" {
			t.Errorf("%s: %+v, want %+d with a meaning", name, got[name], n)
		}
	}
	// The client's namespace saw none of it.
	cb, err := Counters(l.cli)
	if err != nil {
		t.Fatal(err)
	}
	if cb.SNMP["TcpExt.IPReversePathFilter"] != 0 {
		t.Errorf("cli counted rp_filter drops: %d", cb.SNMP["TcpExt.IPReversePathFilter"])
	}
	if _, err := Counters("no-such-netns-dt"); err == nil || !strings.Contains(err.Error(), "no-such-netns-dt") {
		t.Errorf("missing netns: %v", err)
	}
}
