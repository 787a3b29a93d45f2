package trace

import (
	"net/netip"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// TestMACFromARPReply: a real server's capture holds only its ping with
// the director (seed 001: the forwarded datagram never arrived), so both
// MACs are in every frame. The real server's own ARP reply names its MAC;
// the director's, although the lower, is not taken for it.
func TestMACFromARPReply(t *testing.T) {
	const dsMAC, rsMAC = "fa:16:3e:00:00:8d", "fa:16:3e:00:00:9a"
	vip, rip, dip := netip.MustParseAddr("198.51.100.60"), netip.MustParseAddr("198.51.100.48"), netip.MustParseAddr("198.51.100.59")
	tr := New(Config{VIP: vip, Port: 52002, Proto: "udp"})
	rs := tr.AddPoint(Point{Host: "rs", Role: evidence.RoleRealServer, Source: "rs.txt", Addrs: []netip.Addr{rip}})
	ref := func(n int, text string) evidence.Ref {
		return evidence.Ref{Host: "rs", Source: "rs.txt", Line: n, Text: text}
	}
	frames := []evidence.Frame{
		{Time: "02:05:11.402136", SrcMAC: dsMAC, DstMAC: "ff:ff:ff:ff:ff:ff", Type: "arp", Proto: "arp", ARPOp: "request", ARPIP: rip, Src: dip,
			Ref: ref(1, "ARP, Request who-has 198.51.100.48 tell 198.51.100.59")},
		{Time: "02:05:11.402157", SrcMAC: rsMAC, DstMAC: dsMAC, Type: "arp", Proto: "arp", ARPOp: "reply", ARPIP: rip, ARPMAC: rsMAC, Src: rip,
			Ref: ref(2, "ARP, Reply 198.51.100.48 is-at "+rsMAC)},
	}
	for i := 0; i < 3; i++ {
		frames = append(frames,
			evidence.Frame{Time: "02:05:12.43006" + string(rune('0'+i)), SrcMAC: dsMAC, DstMAC: rsMAC, Type: "ipv4", Proto: "icmp", Src: dip, Dst: rip, ICMP: "echo request", IPID: 100 + i,
				Ref: ref(3+2*i, "198.51.100.59 > 198.51.100.48: ICMP echo request")},
			evidence.Frame{Time: "02:05:12.43008" + string(rune('0'+i)), SrcMAC: rsMAC, DstMAC: dsMAC, Type: "ipv4", Proto: "icmp", Src: rip, Dst: dip, ICMP: "echo reply", IPID: 200 + i,
				Ref: ref(4+2*i, "198.51.100.48 > 198.51.100.59: ICMP echo reply")})
	}
	for i := range frames {
		tr.Frame(rs, &frames[i])
	}
	tr.Result()
	got := tr.points[rs].macs
	want, _ := parseMAC(rsMAC)
	if len(got) != 1 || !got[want] {
		var names []string
		for m := range got {
			names = append(names, m.String())
		}
		t.Fatalf("rs's MACs: %v, want only %s (its ARP reply)", names, rsMAC)
	}
}

// TestConfirmedNeighbors: a neighbour entry names an address's MAC only
// when it is confirmed (REACHABLE, PERMANENT) and no other entry says
// otherwise.
func TestConfirmedNeighbors(t *testing.T) {
	a, b, c := netip.MustParseAddr("192.0.2.11"), netip.MustParseAddr("192.0.2.12"), netip.MustParseAddr("192.0.2.13")
	ds := evidence.NewHost("ds")
	ds.Neighbors = []evidence.Neighbor{
		{IP: a, MAC: "52:54:00:00:00:0B", State: "REACHABLE"},
		{IP: b, MAC: "52:54:00:00:00:0c", State: "STALE"},
		{IP: c, MAC: "52:54:00:00:00:0d", State: "REACHABLE"},
	}
	ds2 := evidence.NewHost("ds2")
	ds2.Neighbors = []evidence.Neighbor{{IP: c, MAC: "52:54:00:00:00:0e", State: "PERMANENT"}}
	got := confirmedNeighbors([]*evidence.Host{ds, ds2})
	if len(got) != 1 || got[a] != "52:54:00:00:00:0b" {
		t.Errorf("confirmed neighbours %v, want only %s at 52:54:00:00:00:0b", got, a)
	}
}
