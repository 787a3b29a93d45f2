package report

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/trace"
)

// Hostile strings as they come in evidence from a compromised host or a
// ticket.
const (
	osc52   = "\x1b]52;c;QUJDREVG\x07"                         // writes the reader's clipboard
	osc8    = "\x1b]8;;http://x.test\x1b\\click\x1b]8;;\x1b\\" // hyperlink
	cls     = "\x1b[2J"                                        // clears the screen
	cr      = "ok\rFAILED"                                     // overwrites the line
	forged  = "rs1\nROOT CAUSE: forged"                        // a second report line
	bidi    = "rm -rf \u202e/ hs.txt"                          // shows a command reversed
	c1      = "\u009b2J"                                       // C1 CSI
	c1raw   = "\x9b2J"                                         // C1 CSI, not UTF-8
	html    = "<script>alert(1)</script> & [x](http://x.test)"
	ticks   = "a ``` b ` c ```` d"
	symptom = "VIP down\x1b]0;pwned\x07\nROOT CAUSE: forged"
)

func hostile() (*diagnosis.Diagnosis, *evidence.Case) {
	ev := []evidence.Ref{
		{Host: forged, Source: forged + "/sysctl\x1b[2J.txt", Line: 3, Text: osc52 + " " + osc8},
		{Host: "rs1", Source: "rs1/ip-addr.txt", Line: 4, Text: cls + cr + " " + bidi},
		{Host: "rs1", Source: "rs1/x.txt", Line: 5, Text: c1 + c1raw + " " + html + " " + ticks},
	}
	d := &diagnosis.Diagnosis{
		Schema:  diagnosis.Schema,
		Service: diagnosis.Service{VIP: "192.0.2.10", Port: 80, Proto: "tcp\x1b[2J", Mode: "dr\nROOT CAUSE: forged"},
		Hosts:   []diagnosis.Host{{Name: forged, Role: "realserver"}, {Name: osc52, Role: "director" + bidi}},
		Findings: []diagnosis.Finding{{
			ID: "rs.rp-filter-strict", Severity: diagnosis.Critical, Host: forged,
			Title:       "rp_filter on " + forged + " " + osc8 + " " + html,
			Explanation: "the interface " + forged + " drops " + cr + " `ip addr` " + ticks,
			Fix:         []string{"sysctl -w net.ipv4.conf." + forged + ".rp_filter=2 " + osc52, "```\n" + html},
			Evidence:    ev,
			CausedBy:    []string{"x@" + forged},
		}},
		Notes: []string{"run `sysctl -a` on " + forged + " " + bidi, html},
		Problems: []evidence.Problem{
			{Host: forged, Source: forged + "/weird\x1b]0;t\x07.txt", Line: 2, Message: "cannot read " + osc52 + cr},
			{Source: "case.yaml", Message: html + " " + c1},
		},
	}
	c := &evidence.Case{Symptom: symptom, Hosts: []*evidence.Host{evidence.NewHost(forged)}}
	return d, c
}

// assertSafe checks what no hostile input may leave in a human format.
func assertSafe(t *testing.T, format, out string) {
	t.Helper()
	if strings.ContainsAny(out, "\x1b\r\x07\x00\x7f") {
		t.Errorf("%s: control byte in output:\n%q", format, out)
	}
	for _, r := range out {
		if (r >= 0x80 && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) ||
			(r >= 0x200b && r <= 0x200f) || r == 0x2028 || r == 0x2029 || r == 0xfeff {
			t.Errorf("%s: rune %U in output", format, r)
		}
	}
	if !strings.Contains(out, "\n") {
		t.Fatalf("%s: empty output", format)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimLeft(l, " -#*|"), "ROOT CAUSE: forged") {
			t.Errorf("%s: the forged line starts a line: %q", format, l)
		}
	}
	for _, want := range []string{`\x1b]52;c;QUJDREVG\a`, `\x1b]8;;http://x.test`, `\x1b[2J`, `ok\rFAILED`,
		`rs1\nROOT CAUSE: forged`, `\u202e`, `\u009b2J`, `\x9b2J`} {
		if !strings.Contains(out, want) {
			t.Errorf("%s: escaped form %s not visible:\n%s", format, want, out)
		}
	}
}

func TestHostileText(t *testing.T) {
	d, _ := hostile()
	for _, color := range []bool{false, true} {
		var b bytes.Buffer
		if err := Write(&b, "text", d, Options{Verbose: true, Color: color}); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if color {
			// The colours are the renderer's own ESC sequences; take them
			// out to check that no other one is left.
			for _, code := range []string{"\x1b[0m", "\x1b[1m", "\x1b[2m", "\x1b[32m", "\x1b[36m", "\x1b[1;31m", "\x1b[1;33m"} {
				out = strings.ReplaceAll(out, code, "")
			}
		}
		assertSafe(t, "text", out)
		if !strings.Contains(out, "\nROOT CAUSE\n") {
			t.Errorf("the real ROOT CAUSE heading is gone:\n%s", out)
		}
	}
}

// link is link markup that was not escaped.
var link = regexp.MustCompile(`(^|[^\\])\]\(`)

func TestHostileMarkdown(t *testing.T) {
	d, _ := hostile()
	var b bytes.Buffer
	if err := Write(&b, "markdown", d, Options{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	assertSafe(t, "markdown", out)

	// Each block must close where the renderer closed it: the evidence
	// (3 lines) and the fix (2), whatever backtick runs they hold, and
	// the packet path's mermaid diagram (a sketch of the hosts here).
	blocks, mermaid := fencedBlocks(t, out)
	if len(blocks) != 2 || len(blocks[0]) != 3 || len(blocks[1]) != 2 {
		t.Errorf("code blocks %q:\n%s", blocks, out)
	}
	if len(mermaid) != 1 {
		t.Fatalf("%d mermaid blocks:\n%s", len(mermaid), out)
	}
	checkMermaid(t, mermaid[0])
	for _, want := range []string{
		"| " + `rs1\\nROOT CAUSE: forged` + " | realserver |", // one table row, two cells
		"&lt;script&gt;alert(1)&lt;/script&gt; &amp; \\[x\\](http://x.test)",
		"run `sysctl -a` on ", // the rules' code spans are kept
		"<script>alert(1)</script> & [x](http://x.test) a ``` b", // as is inside the block
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
}

// fencedBlocks splits Markdown into its fenced code blocks, the mermaid
// ones apart, and fails on markup outside them or a block left open.
func fencedBlocks(t *testing.T, out string) (blocks, mermaid [][]string) {
	t.Helper()
	inFence, isMermaid := "", false
	for _, l := range strings.Split(out, "\n") {
		if inFence != "" {
			switch {
			case l == inFence:
				inFence = ""
			case isMermaid:
				mermaid[len(mermaid)-1] = append(mermaid[len(mermaid)-1], l)
			default:
				blocks[len(blocks)-1] = append(blocks[len(blocks)-1], l)
			}
			continue
		}
		if strings.HasPrefix(l, "```") {
			inFence = l[:runAt(l, 0)]
			isMermaid = l[len(inFence):] == "mermaid"
			if isMermaid {
				mermaid = append(mermaid, nil)
			} else {
				blocks = append(blocks, nil)
			}
			continue
		}
		// Outside code blocks, no raw HTML and no link markup.
		if strings.Contains(l, "<script") || link.MatchString(l) {
			t.Errorf("markup outside a code block: %q", l)
		}
	}
	if inFence != "" {
		t.Errorf("a block is left open (%q):\n%s", inFence, out)
	}
	return blocks, mermaid
}

// mermaidStatement is every statement the renderer writes; a label holds
// only letters, digits, harmless punctuation, #NNN; entities and the
// renderer's own <br/>, <b> and </b>.
var (
	mermaidStatement = regexp.MustCompile(`^(flowchart LR|  classDef \w+ [a-z0-9:#,.\- ]+|  [nc]\d+\["([^"]*)"\]|  [nc]\d+ (-->|-\.->|-\. lost \.->|---) [nc]\d+|  class [nc]\d+ \w+)$`)
	mermaidLabelText = regexp.MustCompile(`^[A-Za-z0-9 .,:/_\-@()+=*?!'#;]*$`)
)

func checkMermaid(t *testing.T, lines []string) {
	t.Helper()
	for _, l := range lines {
		m := mermaidStatement.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("mermaid statement not the renderer's: %q", l)
			continue
		}
		label := strings.NewReplacer("<br/>", "", "<b>", "", "</b>", "").Replace(m[2])
		if !mermaidLabelText.MatchString(label) {
			t.Errorf("mermaid label holds markup: %q", m[2])
		}
	}
}

func TestHostileMermaidPath(t *testing.T) {
	d, _ := hostile()
	hostilePath(d)
	var b bytes.Buffer
	if err := Write(&b, "markdown", d, Options{}); err != nil {
		t.Fatal(err)
	}
	_, mermaid := fencedBlocks(t, b.String())
	if len(mermaid) != 1 {
		t.Fatalf("%d mermaid blocks", len(mermaid))
	}
	checkMermaid(t, mermaid[0])
	all := strings.Join(mermaid[0], "\n")
	for _, want := range []string{"-. lost .->", "rewrite: MAC", "#10007; died here", "cause: rs.rp-filter-strict on rs1#92;nROOT CAUSE: forged"} {
		if !strings.Contains(all, want) {
			t.Errorf("mermaid lacks %q:\n%s", want, all)
		}
	}
}

// A code span of the input closes where CommonMark closes it; what is
// outside is escaped, what is inside is shown as it is.
func TestMDText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"run `ipvsadm -Ln` on ds1", "run `ipvsadm -Ln` on ds1"},
		{"a | b <i> & [l](u)", `a \| b &lt;i&gt; &amp; \[l\](u)`},
		{"`<b>` and <b>", "`<b>` and &lt;b&gt;"},
		{"open ` never closed <b>", "open \\` never closed &lt;b&gt;"},
		{"``a`b`` `", "``a`b`` \\`"},
		{`\` + "`x`", `\\` + "`x`"}, // an input backslash cannot escape our backtick
		{"x\x1b[2J`\n`", "x\\\\x1b\\[2J`\\n`"},
	} {
		if got := mdText(tc.in); got != tc.want {
			t.Errorf("mdText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := mdCode("a`b"); got != "``a`b``" {
		t.Errorf("mdCode = %q", got)
	}
	if got := mdCode("`x"); got != "`` `x ``" {
		t.Errorf("mdCode = %q", got)
	}
}

// JSON is for programs: it keeps every byte of the input, escaped by the
// encoder only.
func TestHostileJSONKeepsBytes(t *testing.T) {
	d, _ := hostile()
	var b bytes.Buffer
	if err := Write(&b, "json", d, Options{}); err != nil {
		t.Fatal(err)
	}
	if bytes.ContainsAny(b.Bytes(), "\x1b\r\x07") {
		t.Error("raw control byte in JSON")
	}
	var back diagnosis.Diagnosis
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	f, g := d.Findings[0], back.Findings[0]
	if g.Host != f.Host || g.Title != f.Title || g.Explanation != f.Explanation || g.Fix[0] != f.Fix[0] {
		t.Errorf("finding changed: %+v", g)
	}
	for i, e := range f.Evidence {
		if !utf8.ValidString(e.Text) {
			continue // JSON cannot carry bytes that are not UTF-8
		}
		if g.Evidence[i] != e {
			t.Errorf("evidence %d: %q, want %q", i, g.Evidence[i], e)
		}
	}
	if back.Hosts[1].Name != osc52 || back.Problems[0] != d.Problems[0] || back.Notes[0] != d.Notes[0] {
		t.Errorf("round trip: %+v", back)
	}
}

func TestHostileTrace(t *testing.T) {
	r := &trace.Result{Path: trace.Path{
		Service: trace.Service{VIP: "192.0.2.10", Port: 80, Proto: "tcp", Mode: "dr", ModeWhy: "seen on " + forged, VIPFrom: osc52},
		Points:  []trace.PointInfo{{Host: forged, Role: "realserver", Source: forged + "/eth0\x1b[2J.pcap", First: cr, Last: bidi, ClockOffset: c1 + c1raw}},
		Flows: []trace.Flow{{
			ID: 1, Proto: "tcp", Client: "198.51.100.1:1234", VIP: "192.0.2.10:80", RealServer: forged, Outcome: "lost-in-transit",
			Summary: osc8,
			Hops: []trace.Hop{
				{Step: "client sends", Host: forged, Source: osc52, Seen: true, First: "1", Last: "2", Count: 1, Frames: []int{1}, Change: forged},
				{Step: "director forwards", Host: "ds1", Seen: false, Note: html + cr},
			},
			LastSeen:    &trace.Seen{Host: forged, Source: forged + ".pcap", Frame: 1, Time: cls, Step: bidi},
			LostBetween: []string{forged, osc52},
		}},
		Summary: trace.Summary{Outcomes: map[string]int{"lost-in-transit": 1}}},
		Findings: []diagnosis.Finding{{ID: "trace.lost-in-transit", Severity: diagnosis.Critical, Host: forged, Title: osc8, Explanation: cr, Fix: []string{bidi},
			Evidence: []evidence.Ref{{Host: forged, Source: forged, Line: 1, Text: c1 + c1raw}}}},
		Notes:    []string{forged},
		Problems: []evidence.Problem{{Source: forged, Message: osc52}},
	}
	var b bytes.Buffer
	if err := WriteTrace(&b, "text", r, TraceOptions{}); err != nil {
		t.Fatal(err)
	}
	assertSafe(t, "trace", b.String())
}
