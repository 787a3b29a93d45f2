package capture

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRead checks that no input makes the reader panic, and that what it
// returns is consistent: frames numbered within the packets read, in
// order, each citing its source; problems citing it too.
func FuzzRead(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.pcap*")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		frames, info, probs := Read(bytes.NewReader(data), Options{Source: "f", MaxFrames: 1000})
		if len(frames) != info.Kept || info.Kept > info.Packets || len(frames) > 1000 {
			t.Fatalf("%d frames, %+v", len(frames), info)
		}
		checkRefs(t, frames, info, "f")
		for _, p := range probs {
			if p.Source != "f" || p.Line < 0 || p.Line > info.Packets+1 {
				t.Fatalf("problem %+v", p)
			}
		}
		if len(probs) > maxProblems {
			t.Fatalf("%d problems", len(probs))
		}
	})
}
