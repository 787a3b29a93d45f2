package engine

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// One clock: every time a report shows is in the zone it names. A hop's
// time is the time its packets' evidence lines start with, and every
// capture line any finding cites is in that zone, whatever zone the host
// printed in; the logs of a host whose zone nothing shows are said to be
// assumed in it.
func TestOneClock(t *testing.T) {
	for _, c := range []struct {
		example, zone string
		assumed       []string
	}{
		{"fnat-failover-raw-drop", "UTC+08:00", []string{"lvs-a"}}, // lvs-b's printout shows +08:00
		{"dr-kernel-suspect", "UTC+08:00", nil},
		{"tun-rp-filter", "UTC", nil},
		{"dr-healthy", "UTC", []string{"lb2"}},
	} {
		t.Run(c.example, func(t *testing.T) {
			d := diagnoseExample(t, filepath.Join(examples, c.example))
			if d.Clock == nil || d.Clock.Zone != c.zone || !slices.Equal(d.Clock.LogsAssumed, c.assumed) {
				t.Fatalf("clock %+v, want %s with %v assumed", d.Clock, c.zone, c.assumed)
			}
			if d.PacketPath == nil || d.PacketPath.Clock != c.zone {
				t.Fatalf("packet path's clock %q, want %s", d.PacketPath.Clock, c.zone)
			}
			hops := 0
			for _, f := range d.PacketPath.Flows {
				for _, h := range f.Hops {
					if h.First == "" || len(h.Evidence) == 0 {
						continue
					}
					hops++
					var at []string
					for _, e := range h.Evidence {
						at = append(at, strings.Fields(e.Text)[0])
					}
					if !slices.Contains(at, h.First) {
						t.Errorf("hop %q at %s; its packets' lines at %v", h.Step, h.First, at)
					}
				}
			}
			if hops == 0 {
				t.Fatal("no hop with a time")
			}
			// Every capture line cited is in the path's zone: its time is
			// one of the path's packets'.
			times := map[string]bool{}
			for _, f := range d.PacketPath.Flows {
				for _, h := range f.Hops {
					for _, e := range h.Evidence {
						times[strings.Fields(e.Text)[0]] = true
					}
				}
			}
			for _, f := range d.Findings {
				for _, e := range f.Evidence {
					if strings.HasSuffix(e.Source, ".pcap") && !times[strings.Fields(e.Text)[0]] && strings.Contains(e.Text, d.Service.VIP) {
						t.Errorf("%s cites %s:%d at %s, a time no hop shows", f.ID, e.Source, e.Line, strings.Fields(e.Text)[0])
					}
				}
			}
		})
	}
}
