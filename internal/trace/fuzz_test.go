package trace

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/capture"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// FuzzTrace traces any bytes as a director's capture beside a real
// client capture, streamed and as frames read: no input may panic, and
// what comes out must hold together (findings cite frames, hops name
// their point, a last sighting is a frame of its capture).
func FuzzTrace(f *testing.F) {
	for _, c := range []string{"hypervisor.nwfilter-no-ip-spoofing", "tun-healthy", "nat-healthy", "net.arp-conflict"} {
		if b, err := os.ReadFile(filepath.Join(labDir, c, "director", "eth0.pcap")); err == nil {
			f.Add(b, false)
		}
	}
	client := filepath.Join(labDir, "hypervisor.nwfilter-no-ip-spoofing", "client", "eth0.pcap")
	capture.Deterministic = true
	defer func() { capture.Deterministic = false }()
	f.Fuzz(func(t *testing.T, data []byte, discover bool) {
		p := filepath.Join(t.TempDir(), "eth0.pcap")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := labVIP
		if discover {
			cfg = Config{}
		}
		in := []Input{
			{Point: Point{Host: "client", Role: evidence.RoleClient, Source: "client/eth0.pcap"}, Path: client},
			{Point: Point{Host: "director", Role: evidence.RoleDirector, Source: "director/eth0.pcap"}, Path: p},
		}
		check(t, Run(in, cfg))
		frames, _, _ := capture.Read(bytes.NewReader(data), capture.Options{Host: "director", Source: "director/eth0.pcap", MaxFrames: 5000})
		h := evidence.NewHost("director")
		h.Role, h.Frames = evidence.RoleDirector, frames
		check(t, FromFrames([]*evidence.Host{h}, labVIP))
	})
}

func check(t *testing.T, r *Result) {
	t.Helper()
	if r == nil {
		t.Fatal("no result")
	}
	for _, f := range r.Findings {
		if len(f.Evidence) == 0 || f.ID == "" || f.Title == "" {
			t.Fatalf("finding %+v", f)
		}
	}
	for _, fl := range r.Flows {
		for _, h := range fl.Hops {
			if h.Host == "" || h.Step == "" || h.Seen && h.Count == 0 {
				t.Fatalf("hop %+v", h)
			}
		}
		if fl.LastSeen != nil && fl.LastSeen.Frame <= 0 {
			t.Fatalf("last seen %+v", fl.LastSeen)
		}
	}
}
