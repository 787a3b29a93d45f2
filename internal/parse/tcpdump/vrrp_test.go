package tcpdump

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// VRRP adverts as tcpdump prints them: the addresses they carry are the
// sender's VIPs.
func TestVRRPAdvert(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		vrid, prio int
		addrs      []string
	}{
		{"one line", "10:00:00.000001 IP 10.0.0.2 > 224.0.0.18: VRRPv2, Advertisement, vrid 51, prio 100, authtype none, intvl 1s, length 20\n", 51, 100, nil},
		{"-v addrs", "10:00:00.000001 IP (tos 0xc0, ttl 255, id 1, offset 0, flags [none], proto VRRP (112), length 40)\n" +
			"    10.0.0.2 > 224.0.0.18: VRRPv2, Advertisement, vrid 51, prio 100, authtype none, intvl 1s, length 20, addrs: 10.0.0.100\n", 51, 100, []string{"10.0.0.100"}},
		{"vrrpv3 two addrs", "10:00:00.000001 IP 10.0.0.2 > 224.0.0.18: VRRPv3, Advertisement, vrid 7, prio 254, intvl 100cs, length 12, addrs(2): 10.0.0.100,10.0.0.101\n", 7, 254, []string{"10.0.0.100", "10.0.0.101"}},
		{"-e, anonymised MACs, second address pair", "13:59:56.984195 xx:xx:xx:xx:xx > xx:xx:xe:xx:xx:x, ethertype IPv4 (0x0800), length 54: (tos 0xc0, ttl 255, id 146, offset 0, flags [none], proto VRRP (112), length 40)\n" +
			"    173.23.0.1 > 224.0.0.18: vrrp 172.31.0.47 > 224.0.0.18: VRRPv2, Advertisement, vrid 100, prio 100, authtype none, intvl 1s, length 20, addrs: 173.23.0.100\n", 100, 100, []string{"173.23.0.100"}},
	} {
		fr, _ := Parse(evidence.Doc{Host: "lb1", Source: "cap.txt", Start: 1, Text: tc.text})
		if len(fr) != 1 {
			t.Fatalf("%s: %d frames", tc.name, len(fr))
		}
		f := fr[0]
		var want []netip.Addr
		for _, a := range tc.addrs {
			want = append(want, netip.MustParseAddr(a))
		}
		if f.Proto != "vrrp" || f.VRID != tc.vrid || f.VRRPPrio != tc.prio || !slices.Equal(f.VRRPAddrs, want) {
			t.Errorf("%s: proto %q vrid %d prio %d addrs %v", tc.name, f.Proto, f.VRID, f.VRRPPrio, f.VRRPAddrs)
		}
	}
	// Not an advert: no VIPs.
	fr, _ := Parse(evidence.Doc{Host: "lb1", Source: "cap.txt", Start: 1,
		Text: "10:00:00.000001 IP 10.0.0.2.5000 > 10.0.0.3.80: Flags [S], seq 1, win 64240, length 0\n"})
	if len(fr) != 1 || len(fr[0].VRRPAddrs) != 0 || fr[0].VRID != 0 {
		t.Errorf("tcp frame read as an advert: %+v", fr)
	}
}
