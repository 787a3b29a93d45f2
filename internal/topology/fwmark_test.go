package topology

import (
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/iptables"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/nft"
)

// fwmarkDirector is a director with FWM 1, 3, 4 and 5 services whose
// firewall is the real listing in file (parsed by its own parser).
func fwmarkDirector(t *testing.T, c *evidence.Case, file string) *evidence.Host {
	t.Helper()
	text, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	d := c.Host("lb1")
	d.Role = evidence.RoleDirector
	d.IPVS = &evidence.IPVS{}
	for _, m := range []uint32{1, 3, 4, 5} {
		d.IPVS.Services = append(d.IPVS.Services, &evidence.VirtualService{Proto: "FWM", FWMark: m,
			Dests: []*evidence.RealServer{{Addr: netip.MustParseAddr("192.0.2.11"), Method: evidence.MethodRoute, Weight: 1}}})
	}
	doc := evidence.Doc{Host: "lb1", Source: file, Start: 1, Text: string(text)}
	apply := iptables.Formats()[0].Apply
	if strings.HasPrefix(file, "nft") {
		apply = nft.Formats()[0].Apply
	}
	if probs := apply(doc, d); len(probs) > 0 {
		t.Fatalf("%s: %v", file, probs)
	}
	return d
}

// TestFWMarkServicesGetVIPs: an FWM service takes the VIPs and ports of
// the rules that set its mark on one address (iptables -j MARK, nft meta
// mark set), one service per VIP; a mark set on a whole subnet or by no
// rule leaves it without a VIP.
func TestFWMarkServicesGetVIPs(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"iptables-save-mangle-fwmark.txt", []string{"fwmark 1", "3 tcp 192.0.2.100:80", "3 tcp 192.0.2.101:8080", "fwmark 4", "fwmark 5"}},
		{"nft-fwmark.txt", []string{"1 tcp 192.0.2.100:80", "fwmark 3", "fwmark 4", "fwmark 5"}},
	} {
		c := &evidence.Case{}
		fwmarkDirector(t, c, tc.file)
		topo := Resolve(c, Hints{})
		var got []string
		for _, s := range topo.Services {
			if s.VIP.IsValid() {
				got = append(got, strings.TrimSpace(string(rune('0'+s.FWMark))+" "+s.String()))
				if s.Ref.Source != tc.file || len(s.RIPs) != 1 {
					t.Errorf("%s: %s: ref %+v, RIPs %v", tc.file, s, s.Ref, s.RIPs)
				}
				continue
			}
			got = append(got, s.String())
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: services %q, want %q", tc.file, got, tc.want)
		}
		if topo.IsVIP(netip.MustParseAddr("192.0.2.100")) != true {
			t.Errorf("%s: 192.0.2.100 is not a VIP of the case", tc.file)
		}
	}
}

// TestFWMarkHintPicksMarkedService: the VIP the user names finds the FWM
// service whose rule marks it, not the one whose rule marks another VIP.
func TestFWMarkHintPicksMarkedService(t *testing.T) {
	c := &evidence.Case{}
	fwmarkDirector(t, c, "iptables-save-mangle-fwmark.txt")
	topo := Resolve(c, Hints{VIP: netip.MustParseAddr("192.0.2.101"), Port: 8080, Proto: "tcp"})
	if len(topo.Services) != 1 || topo.Services[0].FWMark != 3 || topo.Services[0].Port != 8080 {
		t.Fatalf("services %v", topo.Services)
	}
}
