package ipvsadm

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// referenceParseConns is ParseConns as it was before its fast path for
// the common numeric IPv4 line: every line through splitFields and
// parseConnLine. The fast path must give exactly what this gives
// (TestConnsFastPathSame, FuzzConnsFastPath).
func referenceParseConns(doc evidence.Doc) (*evidence.IPVS, []evidence.Problem) {
	ipvs := &evidence.IPVS{}
	probs := problems{doc: doc}
	groups := make(map[connKey]*groupAcc)
	var layout connLayout
	f := parseCommand(doc.Command)
	layout.hex = strings.Contains(f.procFile, "ip_vs_conn")
	sawTitle := false
	dropped := 0
	var streak []pending

	text := doc.Text
	var fields [16]string
	for i := 0; len(text) > 0; i++ {
		var line string
		if j := strings.IndexByte(text, '\n'); j >= 0 {
			line, text = text[:j], text[j+1:]
		} else {
			line, text = text, ""
		}
		n := splitFields(line, fields[:])
		if n == 0 {
			continue
		}
		t := fields[:n]
		switch {
		case t[0] == "IPVS" || t[0] == "pro":
			sawTitle = true
			if t[0] == "pro" {
				layout.hex = false
				layout.local = containsField(t, "local") || containsField(t, "lip") || containsField(t, "laddr")
			}
			continue
		case t[0] == "Pro" && n > 1 && t[1] == "FromIP":
			sawTitle = true
			layout.hex = true
			layout.local = containsField(t, "LocalIP")
			layout.origin = containsField(t, "Origin")
			continue
		case t[0] == "Every":
			continue // watch(1) title
		}
		g, tmpl, state, ok := parseConnLine(t, &layout)
		if !ok {
			if ev, bad := unavailableLine(line); bad {
				probs.add(i, "ipvsadm could not read the IPVS connections: %s", ev)
				continue
			}
			if len(streak) < 3 {
				streak = append(streak, pending{i, evidence.Clip(strings.TrimSpace(line), 80)})
			}
			if (sawTitle || ipvs.TotalConns > 0) && len(streak) >= 3 {
				rest := strings.Count(text, "\n") + 1
				probs.add(streak[0].line, "%d more lines from here on not understood (text pasted after the output?)", i-streak[0].line+rest)
				streak = nil
				break
			}
			continue
		}
		for _, b := range streak {
			probs.add(b.line, "not an IPVS connection line: %q", b.text)
		}
		streak = streak[:0]
		ipvs.TotalConns++
		k := connKey{g.v, g.d, protoID(g.proto), tmpl}
		acc := groups[k]
		if acc == nil {
			if len(groups) >= maxConnGroups {
				dropped++
				continue
			}
			acc = &groupAcc{g: &evidence.ConnGroup{
				Proto:    g.proto,
				Virtual:  g.v,
				Dest:     g.d,
				Template: tmpl,
				First:    doc.Ref(i, line),
			}}
			groups[k] = acc
			ipvs.Conns = append(ipvs.Conns, acc.g)
		}
		acc.g.Count++
		if state == "SYN_RECV" && len(acc.g.Unanswered) < evidence.MaxUnanswered {
			if c, ok := conAddrPort(t[3]); ok {
				acc.g.Unanswered = append(acc.g.Unanswered, evidence.ConnEntry{Client: c, Ref: doc.Ref(i, line)})
			}
		}
		if si := stateIndex(state); si >= 0 {
			acc.known[si]++
		} else {
			if acc.others == nil {
				acc.others = map[string]int{}
			}
			if len(acc.others) < 32 {
				acc.others[internState(state)]++
			}
		}
	}
	for _, acc := range groups {
		acc.g.States = make(map[string]int, 4)
		for si, n := range acc.known {
			if n > 0 {
				acc.g.States[knownStates[si]] = n
			}
		}
		for st, n := range acc.others {
			acc.g.States[st] += n
		}
	}
	for _, b := range streak {
		probs.add(b.line, "not an IPVS connection line: %q", b.text)
	}
	if dropped > 0 {
		probs.add(-1, "%d connections to more than %d distinct destinations were counted but not grouped", dropped, maxConnGroups)
	}
	if !sawTitle && ipvs.TotalConns == 0 && strings.TrimSpace(doc.Text) != "" {
		if ev, ok := Unavailable(doc); ok {
			return nil, []evidence.Problem{doc.Problemf(ev.Ref.Line-lineBase(doc), "ipvsadm could not read the IPVS connections: %s", ev.Detail)}
		}
	}
	return ipvs, probs.done()
}

// fastPathCases are lines at the edges of what fastConnLine takes.
var fastPathCases = []string{
	"TCP 14:59  ESTABLISHED 203.0.113.1:1024   192.0.2.100:80     10.1.0.1:80",
	"UDP 04:59  UDP         203.0.113.1:53     192.0.2.100:53     10.1.0.1:53\r",
	"SCTP 00:59 ESTABLISHED 203.0.113.1:5000 192.0.2.100:5000 10.1.0.1:5000",
	"TCP 05:59  NONE        203.0.113.1:0      192.0.2.100:0      10.1.0.1:0",
	"  TCP\t14:59\tFIN_WAIT\t203.0.113.1:1024\t192.0.2.100:80\t10.1.0.1:80  ",
	"tcp 14:59  ESTABLISHED 203.0.113.1:1024   192.0.2.100:80     10.1.0.1:80",
	"TCPX 14:59  ESTABLISHED 203.0.113.1:1024   192.0.2.100:80     10.1.0.1:80",
	"TCP 14:59  ESTABLISHED 203.0.113.01:1024   192.0.2.100:80     10.1.0.1:80",
	"TCP 14:59  ESTABLISHED 203.0.113.1:000080   192.0.2.100:00080     10.1.0.1:80",
	"TCP 14:59  ESTABLISHED 203.0.113.1:65536   192.0.2.100:80     10.1.0.1:80",
	"TCP 14:59  ESTABLISHED 203.0.113.256:1   192.0.2.100:80     10.1.0.1:80",
	"TCP 14:59  ESTABLISHED 203.0.113:1   192.0.2.100:80     10.1.0.1:80",
	"TCP 14:59  ESTABLISHED 203.0.113.1.5:1   192.0.2.100:80     10.1.0.1:80",
	"TCP 14:59  ESTABLISHED 203.0.113.1:   192.0.2.100:80     10.1.0.1:80",
	"TCP 14:59  ESTABLISHED 203.0.113.1:http   192.0.2.100:www     10.1.0.1:http",
	"TCP 14:59  ESTABLISHED client.example:1024 192.0.2.100:80 rs1.example:80",
	"TCP 14:59  ESTABLISHED [2001:db8::1]:1024 [2001:db8::100]:80 [2001:db8::11]:80",
	"TCP 14:59  ESTABLISHED ::ffff:203.0.113.1:1024 192.0.2.100:80 10.1.0.1:80",
	"TCP 14:59  ESTABLISHED 203.0.113.1:1024 192.0.2.100:80 10.1.0.9:7000 10.1.0.1:80",
	"TCP 14:59  ESTABLISHED 203.0.113.1:1024 192.0.2.100:80 10.1.0.1:80 sip 0123",
	"TCP C0000201 0050 ESTABLISHED 203.0.113.1:1024 192.0.2.100:80 10.1.0.1:80",
	"TCP 0A000001 0050 ESTA 203.0.113.1:1024 192.0.2.100:80 10.1.0.1:80",
	"TCP 0A000001 0050 C0000264 0050 0A010001 0050 ESTABLISHED 14",
	"TCP 14:59  BOGUS_STATE_NAME_LONGER_THAN_16 203.0.113.1:1024 192.0.2.100:80 10.1.0.1:80",
	"TCP 14:59  ESTABLISHED 203.0.113.1:1024 192.0.2.100:80",
	"TCP",
	"TCP ",
	"TCP 14:59",
	"TCP 14:59  ESTABLISHED 203.0.113.1:1024 192.0.2.100:80 10.1.0.1:80\x00",
	"TCP 14:59  ESTABLISHED 203.0.113.1:1024 192.0.2.100:80 10.1.0.1:8\v0",
	"TCP 14:59  ESTABLISHED 1.2.3.4:5 192.0.2.100:80 10.1.0.1:80",
	"TCP 14:59  ESTABLISHED 0.0.0.0:5 255.255.255.255:65535 10.1.0.1:80",
	"TCP 14:59  ESTABLISHED 2555.0.0.0:5 192.0.2.100:80 10.1.0.1:80",
	"TCP 14:59  ESTABLISHED 203.0.113.1:+80 192.0.2.100:80 10.1.0.1:80",
	"IPVS connection entries",
	"pro expire state       source             virtual            destination",
	"pro expire state       source             virtual            local              destination",
	"Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData",
	"Every 0.5s: ipvsadm -Ln -c",
	"Can't initialize ipvs: Protocol not available",
	"some prose pasted after the table",
	"",
}

// sameConns fails when ParseConns and referenceParseConns disagree on
// doc, read in one piece and cut in 2 to 5 chunks read ahead.
func sameConns(t *testing.T, doc evidence.Doc) {
	t.Helper()
	want, wp := referenceParseConns(doc)
	for workers := 1; workers <= 5; workers++ {
		got, gp := parseSpeculating(doc, workers)
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gp, wp) {
			t.Fatalf("%d chunks: fast path differs on %q (command %q):\n got %s %v\nwant %s %v", workers, doc.Text, doc.Command, dumpConns(got), gp, dumpConns(want), wp)
		}
	}
}

// parseSpeculating is ParseConns with the table cut in up to workers
// chunks whatever its size (1: not cut).
func parseSpeculating(doc evidence.Doc, workers int) (*evidence.IPVS, []evidence.Problem) {
	above, chunk, spec := speculateAbove, chunkBytes, speculators
	defer func() { speculateAbove, chunkBytes, speculators = above, chunk, spec }()
	speculateAbove, chunkBytes, speculators = 0, 1, func() int { return workers }
	return ParseConns(doc)
}

func dumpConns(ipvs *evidence.IPVS) string {
	if ipvs == nil {
		return "<nil>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "total=%d", ipvs.TotalConns)
	for _, g := range ipvs.Conns {
		fmt.Fprintf(&b, " [%s %s %s t=%v n=%d %v %+v]", g.Proto, g.Virtual, g.Dest, g.Template, g.Count, g.States, g.First)
	}
	return b.String()
}

func TestConnsFastPathSame(t *testing.T) {
	var docs []evidence.Doc
	for _, dir := range []string{"testdata/lab", "testdata/lab2", "testdata/hand"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			name := strings.TrimPrefix(p, "testdata/")
			docs = append(docs, evidence.Doc{Host: "ds1", Source: name, Start: 2, Command: fixtureCommands[name], Text: string(b)})
		}
	}
	docs = append(docs, evidence.Doc{Source: "gen", Command: "ipvsadm -Lnc", Text: genConns(5000)})
	// A chunk read ahead must not be merged where reading it line by line
	// gives something else: after the /proc layout's title, after bad
	// lines (which the first good one reports), past the line where three
	// bad ones stop the reading, with unknown states.
	title := "IPVS connection entries\npro expire state       source             virtual            destination\n"
	gen := genConns(400)
	docs = append(docs,
		evidence.Doc{Source: "proc-title", Text: gen + "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n" + gen},
		evidence.Doc{Source: "bad-then-good", Text: title + gen + "garbage one\ngarbage two\n" + gen},
		evidence.Doc{Source: "three-bad", Text: title + gen + "garbage one\ngarbage two\ngarbage three\n" + gen + gen},
		evidence.Doc{Source: "unknown-state", Text: title + strings.ReplaceAll(gen, "SYN_RECV", "SOMETHING") + "\n\n \t\r\n" + gen},
		evidence.Doc{Source: "blank-lines", Text: strings.ReplaceAll(gen, "\n", "\n\n  \r\n")},
		evidence.Doc{Source: "no-final-newline", Text: strings.TrimSuffix(gen, "\n")},
		evidence.Doc{Source: "ipv6-mixed", Text: gen + fastPathCases[16] + "\n" + gen},
	)
	for _, cmd := range []string{"", "ipvsadm -Lnc", "cat /proc/net/ip_vs_conn"} {
		for _, l := range fastPathCases {
			docs = append(docs, evidence.Doc{Source: "one", Command: cmd, Text: l + "\n"})
			docs = append(docs, evidence.Doc{Source: "titled", Command: cmd, Text: "IPVS connection entries\npro expire state       source             virtual            destination\n" + l + "\n" + fastPathCases[0] + "\n" + l})
		}
		docs = append(docs, evidence.Doc{Source: "all", Command: cmd, Text: strings.Join(fastPathCases, "\n")})
	}
	for _, d := range docs {
		sameConns(t, d)
	}
}

// TestConnsGroupsFull: past maxConnGroups, lines are counted and not
// grouped, the fast path as the general one.
func TestConnsGroupsFull(t *testing.T) {
	var b strings.Builder
	for i := range maxConnGroups + 50 {
		fmt.Fprintf(&b, "TCP 14:59  ESTABLISHED 203.0.113.1:1024 192.0.2.100:80 10.%d.%d.1:80\n", i/256, i%256)
		if i%1000 == 0 {
			fmt.Fprintf(&b, "TCP 14:59  ESTABLISHED [2001:db8::1]:1024 [2001:db8::100]:80 [2001:db8::%x]:80\n", i)
		}
	}
	doc := evidence.Doc{Source: "full", Command: "ipvsadm -Lnc", Text: b.String()}
	sameConns(t, doc)
	var only4 strings.Builder
	for i := range maxConnGroups + 50 {
		fmt.Fprintf(&only4, "TCP 14:59  ESTABLISHED 203.0.113.1:1024 192.0.2.100:80 10.%d.%d.1:80\n", i/256, i%256)
		fmt.Fprintf(&only4, "TCP 14:59  FIN_WAIT    203.0.113.1:1025 192.0.2.100:80 10.%d.%d.1:80\n", i/256, i%256)
	}
	sameConns(t, evidence.Doc{Source: "full4", Command: "ipvsadm -Lnc", Text: only4.String()})
	ipvs, probs := ParseConns(doc)
	if len(ipvs.Conns) != maxConnGroups || len(probs) != 1 {
		t.Errorf("%d groups, %v", len(ipvs.Conns), probs)
	}
}

// FuzzConnsFastPath checks the fast path against the general one on any
// input: same groups, counts, states, evidence lines and problems.
func FuzzConnsFastPath(f *testing.F) {
	for _, l := range fastPathCases {
		f.Add("ipvsadm -Lnc", l+"\n"+fastPathCases[0])
	}
	f.Add("", genConns(50))
	for _, p := range []string{"testdata/lab/ipvsadm-Lnc.txt", "testdata/hand/fnat-Lnc.txt", "testdata/hand/watch-Lnc.txt", "testdata/lab/proc-ip_vs_conn.txt"} {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add("", string(b))
		}
	}
	f.Fuzz(func(t *testing.T, cmd, text string) {
		sameConns(t, evidence.Doc{Host: "h", Source: "f", Start: 3, Command: cmd, Text: text})
	})
}
