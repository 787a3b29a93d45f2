//go:build !race

// The race detector changes what allocations cost: no byte count then.

package casedir

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestReadAllocatesOnce: a file is read into one buffer of about its
// size, whatever room its size leaves in the last page of that buffer.
func TestReadAllocatesOnce(t *testing.T) {
	for _, size := range []int{8192*1000 - 100, 8192*1000 - 600, 8192 * 1000, 8192*1000 + 1, 8192*1000 - 1, 20000} {
		p := filepath.Join(t.TempDir(), "f")
		want := bytes.Repeat([]byte("0123456789abcdef\n"), size/17+1)[:size]
		if err := os.WriteFile(p, want, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		got, err := Read(f, int64(size), MaxFileBytes, nil)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		if !bytes.Equal(got, want) {
			t.Fatalf("size %d: read %d bytes, not the file", size, len(got))
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > uint64(size)+64<<10 {
			t.Errorf("size %d: %d bytes allocated to read it (%.2f times its size)", size, n, float64(n)/float64(size))
		}
	}
}
