package ipvsadm

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// genConns builds an `ipvsadm -Lnc` output of n lines over 4 real servers
// of 2 services, with templates, in the layout ipvsadm 1.31 prints.
func genConns(n int) string {
	var b strings.Builder
	b.Grow(n * 82)
	b.WriteString("IPVS connection entries\npro expire state       source             virtual            destination\n")
	states := []string{"ESTABLISHED", "FIN_WAIT", "TIME_WAIT", "SYN_RECV", "CLOSE"}
	for i := 0; i < n; i++ {
		vport := 80
		if i%3 == 0 {
			vport = 443
		}
		rs := 11 + i%4
		cport := 1024 + i%60000
		state := states[i%len(states)]
		if i%97 == 0 {
			cport, state = 0, "NONE"
		}
		fmt.Fprintf(&b, "TCP %02d:%02d  %-11s %-18s %-18s %s\n", (i/60)%15, i%60, state,
			fmt.Sprintf("203.0.113.%d:%d", i%250+1, cport), fmt.Sprintf("192.0.2.100:%d", vport), fmt.Sprintf("192.0.2.%d:%d", rs, vport))
	}
	return b.String()
}

func BenchmarkParseConns1M(b *testing.B) {
	text := genConns(1_000_000)
	doc := evidence.Doc{Host: "ds1", Source: "ds1/ipvsadm-Lnc.txt", Command: "ipvsadm -Lnc", Text: text}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ipvs, probs := ParseConns(doc)
		if ipvs.TotalConns != 1_000_000 || len(probs) != 0 {
			b.Fatalf("total %d, %v", ipvs.TotalConns, probs)
		}
	}
}

// TestConnsMemoryFlat checks that allocations do not grow with the number
// of lines: a million-line table costs what a thousand-line one does.
func TestConnsMemoryFlat(t *testing.T) {
	small := evidence.Doc{Source: "s", Text: genConns(1000)}
	big := evidence.Doc{Source: "b", Text: genConns(200_000)}
	a1 := testing.AllocsPerRun(2, func() { ParseConns(small) })
	a2 := testing.AllocsPerRun(2, func() { ParseConns(big) })
	if a2 > a1+20 {
		t.Errorf("allocations grow with input: %v for 1k lines, %v for 200k", a1, a2)
	}
	ipvs, _ := ParseConns(big)
	if len(ipvs.Conns) != 16 {
		t.Errorf("groups %d", len(ipvs.Conns))
	}
}

func FuzzParse(f *testing.F) {
	for name, cmd := range fixtureCommands {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err == nil {
			f.Add(cmd, string(b))
		}
	}
	for _, dir := range []string{"testdata/lab", "testdata/hand"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
		for _, p := range files {
			b, _ := os.ReadFile(p)
			f.Add("", string(b))
		}
	}
	f.Fuzz(func(t *testing.T, cmd, text string) {
		doc := evidence.Doc{Host: "h", Source: "f", Start: 3, Command: cmd, Text: text}
		nlines := len(doc.Lines())
		ipvs, probs := Parse(doc)
		inDoc := func(what string, r evidence.Ref) {
			if r.Line < 3 || r.Line >= 3+nlines {
				t.Fatalf("%s ref line %d outside document of %d lines", what, r.Line, nlines)
			}
		}
		for _, p := range probs {
			if p.Line != 0 && (p.Line < 3 || p.Line >= 3+nlines) {
				t.Fatalf("problem line %d outside document: %v", p.Line, p)
			}
		}
		if ipvs == nil {
			return
		}
		if !ipvs.TableRef.IsZero() {
			inDoc("table", ipvs.TableRef)
		}
		for _, s := range ipvs.Services {
			inDoc("service", s.Ref)
			for _, d := range s.Dests {
				inDoc("dest", d.Ref)
			}
		}
		sum := 0
		for _, g := range ipvs.Conns {
			inDoc("conn", g.First)
			sum += g.Count
		}
		if sum > ipvs.TotalConns {
			t.Fatalf("groups count %d > total %d", sum, ipvs.TotalConns)
		}
		// Merging a table into itself must not panic nor lose services.
		n := len(ipvs.Services)
		m := Merge(ipvs, &evidence.IPVS{Services: ipvs.Services})
		if len(m.Services) < n {
			t.Fatalf("merge lost services")
		}
	})
}
