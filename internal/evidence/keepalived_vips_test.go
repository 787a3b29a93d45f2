package evidence

import (
	"net/netip"
	"testing"
)

func TestKeepalivedVIPs(t *testing.T) {
	garp := Ref{Source: "messages", Line: 4}
	advert := Ref{Source: "cap.txt", Line: 2}
	h := &Host{
		Logs: []LogEvent{
			{Kind: LogVRRPMaster, Subject: "VI_1"},
			{Kind: LogGARPSent, Subject: "192.0.2.10", Ref: garp},
			{Kind: LogGARPSent, Subject: "192.0.2.10", Ref: Ref{Source: "messages", Line: 9}},
			{Kind: LogGARPSent, Subject: "not-an-address"},
		},
		Frames: []Frame{
			{Proto: "vrrp", VRRPAddrs: []netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("192.0.2.11")}, Ref: advert},
			{Proto: "tcp", Dst: netip.MustParseAddr("192.0.2.12")},
		},
	}
	got := h.KeepalivedVIPs()
	want := []ManagedVIP{{netip.MustParseAddr("192.0.2.10"), garp}, {netip.MustParseAddr("192.0.2.11"), advert}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %+v", got)
	}
}
