package intake

import (
	"bufio"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// TestStreamTextCountsRuns: a large table's lines are counted, not kept;
// the lines around them, a title in the middle and a NUL are kept, and the
// markers stand for exactly the lines they replace.
func TestStreamTextCountsRuns(t *testing.T) {
	var in strings.Builder
	in.WriteString("$ ipvsadm -Lnc\nIPVS connection entries\npro expire state       source             virtual            destination\n")
	conn := func(i int) {
		fmt.Fprintf(&in, "TCP 14:%02d  ESTABLISHED 203.0.113.%d:%d 192.0.2.100:80     10.0.0.%d:80\n", i%60, 1+i%250, 1024+i, 1+i%7)
	}
	for i := range 10000 {
		conn(i)
	}
	in.WriteString("pro expire state       source             virtual            destination\n\n")
	for i := range 3000 {
		conn(i)
	}
	in.WriteString("UDP 00:10  ESTABLISHED 203.0.113.1:53 192.0.2.100:53 10.0.0.1:53 extra\x00\n$ ip addr\n")
	inLines := strings.Count(in.String(), "\n")

	kept, runs, err := streamText(bufio.NewReaderSize(strings.NewReader(in.String()), 4096))
	if err != nil {
		t.Fatal(err)
	}
	// Counted ahead in chunks of any size, down to lines cut across
	// chunks, the result is the same.
	old := streamChunk
	defer func() { streamChunk = old }()
	for _, size := range []int{64 << 10, 4096, 100, 7} {
		streamChunk = size
		k, r, err := streamText(strings.NewReader(in.String()))
		if err != nil || string(k) != string(kept) || !reflect.DeepEqual(r, runs) {
			t.Errorf("chunks of %d bytes: a different text or runs (err %v)", size, err)
		}
	}
	if len(runs) != 2 {
		t.Fatalf("runs = %d, want 2", len(runs))
	}
	if runs[0].Conns != 10000-streamKeep || runs[1].Conns != 3000-streamKeep {
		t.Errorf("runs counted %d and %d connections, want %d and %d", runs[0].Conns, runs[1].Conns, 10000-streamKeep, 3000-streamKeep)
	}
	if len(runs[0].Groups) != 7 || runs[0].Groups[0].First.Line != 0 {
		t.Errorf("first run's groups: %d, first at %d; want 7, first on the run's first line", len(runs[0].Groups), runs[0].Groups[0].First.Line)
	}
	lines, stood := 0, 0
	for _, l := range strings.Split(strings.TrimSuffix(string(kept), "\n"), "\n") {
		if i, n, ok := evidence.ParseRunMarker(l); ok {
			if runs[i].Lines != n {
				t.Errorf("marker %q: run %d has %d lines", l, i, runs[i].Lines)
			}
			stood += n
			continue
		}
		lines++
	}
	if lines+stood != inLines {
		t.Errorf("kept %d lines and markers for %d: %d in all, the input had %d", lines, stood, lines+stood, inLines)
	}
	if lines > 2*streamKeep+10 {
		t.Errorf("kept %d lines of text, want the runs' first %d lines and the rest", lines, streamKeep)
	}
	if !strings.Contains(string(kept), "extra\uFFFD\n$ ip addr\n") {
		t.Errorf("the line after the runs, its NUL replaced, and the next command were not kept: %q", kept[max(0, len(kept)-200):])
	}
}

// TestStreamTextBounded: a file over MaxFileSize is cut there, said so.
func TestStreamTextBounded(t *testing.T) {
	old := MaxFileSize
	defer func() { MaxFileSize = old }()
	MaxFileSize = 1000
	kept, _, err := streamText(bufio.NewReaderSize(strings.NewReader(strings.Repeat("a line of text\n", 500)), 256))
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("err = %v, want the file cut at its limit", err)
	}
	if len(kept) > 1001 {
		t.Errorf("kept %d bytes of a file cut at 1000", len(kept))
	}
}
