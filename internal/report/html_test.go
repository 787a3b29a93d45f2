package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"regexp"
	"strings"
	"testing"

	nethtml "golang.org/x/net/html"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/trace"
)

// svgBreak tries to close the SVG text, the SVG and the document.
const svgBreak = `</text></svg>"'><script>alert(2)</script><img src=x onerror=alert(3)>`

// hostilePath gives the hostile diagnosis a packet path whose every
// string is hostile too, the failed hop linked to its root cause.
func hostilePath(d *diagnosis.Diagnosis) {
	d.PacketPath = &trace.Path{
		Service: trace.Service{VIP: "192.0.2.10", Port: 80, Proto: "tcp", Mode: "dr", ModeWhy: "seen on " + forged + svgBreak},
		Points:  []trace.PointInfo{{Host: forged, Role: "realserver", Source: forged + "/eth0\x1b[2J.pcap"}},
		Flows: []trace.Flow{{
			ID: 1, Proto: "tcp", Client: "198.51.100.1:1234", VIP: "192.0.2.10:80", RealServer: svgBreak, Outcome: "lost-in-transit",
			Summary: osc8,
			Hops: []trace.Hop{
				{Step: "client sends " + svgBreak, Host: forged, Role: "client", Source: osc52, Seen: true, First: cr, Last: bidi, Count: 1, Frames: []int{1}, Change: html},
				{Step: "director forwards", Host: svgBreak, Role: "director", Source: svgBreak, Seen: true, LastSeen: true, Rewrite: "mac", Change: "MACs rewritten " + c1 + c1raw},
				{Step: "on the way to the real server", Host: "ds1" + cls, Seen: false, Note: html + cr},
			},
			LostBetween: []string{forged, osc52},
			Causes:      []string{d.Findings[0].Key()},
		}},
		Summary:      trace.Summary{Outcomes: map[string]int{"lost-in-transit": 1}},
		Observations: []diagnosis.Finding{{ID: "packet.reset", Severity: diagnosis.Info, Host: svgBreak, Title: osc8, Evidence: []evidence.Ref{{Host: forged, Source: svgBreak, Line: 1, Text: svgBreak}}}},
	}
	d.Hosts = append(d.Hosts, diagnosis.Host{Name: svgBreak, Role: "director"})
	d.Findings[0].Title += " " + svgBreak
	d.Findings[0].Evidence = append(d.Findings[0].Evidence, evidence.Ref{Host: svgBreak, Source: svgBreak + "/x", Line: 9, Text: svgBreak + " https://evil.test/x.js"})
}

func renderHTML(t *testing.T, d *diagnosis.Diagnosis) string {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, "html", d, Options{}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// allowedTags are the elements the template writes: nothing that loads,
// links or runs (no script, img, link, a, iframe, object, form, base).
var allowedTags = map[string]bool{
	"html": true, "head": true, "meta": true, "title": true, "style": true, "body": true, "header": true,
	"h1": true, "h2": true, "h3": true, "p": true, "section": true, "figure": true, "figcaption": true,
	"div": true, "svg": true, "g": true, "rect": true, "line": true, "polyline": true, "polygon": true, "text": true,
	"table": true, "tr": true, "th": true, "td": true, "br": true, "strong": true, "span": true,
	"ul": true, "ol": true, "li": true, "article": true, "code": true, "pre": true, "footer": true,
}

// allowedAttrs are the attributes it writes: none names a URL, a script
// or an inline style.
var allowedAttrs = map[string]bool{
	"lang": true, "charset": true, "http-equiv": true, "content": true, "name": true, "id": true, "class": true,
	"role": true, "aria-label": true, "width": true, "height": true, "viewbox": true, "x": true, "y": true,
	"x1": true, "y1": true, "x2": true, "y2": true, "rx": true, "points": true,
}

type htmlDoc struct {
	text   string   // every text node and attribute value, decoded, one a line
	styles []string // the style elements' content
	csp    string
	tags   map[string]int
}

// parseHTML tokenizes out as a browser would and fails on any element or
// attribute the template does not write.
func parseHTML(t *testing.T, out string) htmlDoc {
	t.Helper()
	doc := htmlDoc{tags: map[string]int{}}
	var text []string
	z := nethtml.NewTokenizer(strings.NewReader(out))
	inStyle := false
	for {
		tt := z.Next()
		if tt == nethtml.ErrorToken {
			if z.Err() != io.EOF {
				t.Fatal(z.Err())
			}
			break
		}
		tok := z.Token()
		switch tt {
		case nethtml.StartTagToken, nethtml.SelfClosingTagToken:
			doc.tags[tok.Data]++
			if !allowedTags[tok.Data] {
				t.Errorf("element <%s> in the report", tok.Data)
			}
			for _, a := range tok.Attr {
				if !allowedAttrs[a.Key] || a.Namespace != "" {
					t.Errorf("attribute %s=%q on <%s>", a.Key, a.Val, tok.Data)
				}
				if a.Key == "http-equiv" && a.Val == "Content-Security-Policy" {
					for _, b := range tok.Attr {
						if b.Key == "content" {
							doc.csp = b.Val
						}
					}
				}
				text = append(text, a.Val)
			}
			inStyle = tok.Data == "style" && tt == nethtml.StartTagToken
		case nethtml.EndTagToken:
			inStyle = false
		case nethtml.TextToken:
			if inStyle {
				doc.styles = append(doc.styles, tok.Data)
			} else {
				text = append(text, tok.Data)
			}
		}
	}
	doc.text = strings.Join(text, "\n")
	return doc
}

func TestHostileHTML(t *testing.T) {
	d, _ := hostile()
	hostilePath(d)
	out := renderHTML(t, d)
	doc := parseHTML(t, out)
	if doc.tags["svg"] != 1 || doc.tags["script"] != 0 || doc.tags["img"] != 0 {
		t.Errorf("elements: %v", doc.tags)
	}
	// What a reader sees: every hostile string shown escaped, none acting.
	assertSafe(t, "html", doc.text)
	for _, want := range []string{"<script>alert(1)</script>", svgBreak, "https://evil.test/x.js"} {
		if !strings.Contains(doc.text, want) {
			t.Errorf("the hostile string %q is not shown as text", want)
		}
	}
	// What a ticket system's scanner sees: no URL and no raw markup.
	for _, bad := range []string{"http://", "https://", "<script", "<img", "url(", "@import", "javascript:"} {
		if strings.Contains(strings.ToLower(out), bad) {
			t.Errorf("the file holds %q", bad)
		}
	}
	// The hop where the packet died carries its cause.
	if !regexp.MustCompile(`(?s)✗ died here.*cause: rs\.rp-filter-strict on rs1\\nROOT CAUSE: forged`).MatchString(doc.text) {
		t.Errorf("the failed hop does not name its cause:\n%s", doc.text)
	}
}

// The policy forbids every load and allows only the report's own style,
// by its hash: a stray style or script would not apply.
func TestHTMLContentSecurityPolicy(t *testing.T) {
	out := renderHTML(t, sample())
	doc := parseHTML(t, out)
	if len(doc.styles) != 1 {
		t.Fatalf("%d style elements", len(doc.styles))
	}
	sum := sha256.Sum256([]byte(doc.styles[0]))
	hash := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	for _, want := range []string{"default-src 'none'", "style-src " + hash, "script-src 'none'", "connect-src 'none'", "img-src 'none'", "base-uri 'none'", "form-action 'none'"} {
		if !strings.Contains(doc.csp, want) {
			t.Errorf("CSP %q lacks %q", doc.csp, want)
		}
	}
	if i, j := strings.Index(out, "Content-Security-Policy"), strings.Index(out, "<style>"); i < 0 || i > j {
		t.Error("the policy must come before the style it allows")
	}
}

// The page says what the text report says: the headline first, each
// root cause with its consequences under it, the deciding line marked,
// the fixes and the notes.
func TestHTMLContent(t *testing.T) {
	d := sample()
	d.Findings = append(d.Findings, diagnosis.Finding{
		ID: "trace.rs-not-replying", Severity: diagnosis.Critical, Host: "rs1", Title: "rs1 got the SYNs and sent no reply",
		CausedBy: []string{"rs.rp-filter-strict@rs1"}, Evidence: []evidence.Ref{{Host: "rs1", Source: "rs1/eth0.pcap", Line: 3, Text: "SYN"}},
	})
	d.Findings[0].RootCause = true
	out := renderHTML(t, d)
	doc := parseHTML(t, out)
	headline := Headline(d)
	if !strings.Contains(out, `<h1 id="headline">`+nethtml.EscapeString(headline)+`</h1>`) {
		t.Errorf("headline %q not the h1", headline)
	}
	for _, want := range []string{"rs1/sysctl.txt:12", "net.ipv4.conf.all.rp_filter = 1", "sysctl -w net.ipv4.conf.all.rp_filter=2", "sysctl -a"} {
		if !strings.Contains(doc.text, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if !regexp.MustCompile(`(?s)<tr class="deciding"><td class="loc mono">rs1/sysctl.txt:12<`).MatchString(out) {
		t.Error("the first evidence line is not marked as the deciding one")
	}
	// The consequence sits inside its root cause's card.
	if !regexp.MustCompile(`(?s)<article class="card critical">.*rs.rp-filter-strict.*<div class="consequences">.*trace.rs-not-replying.*</article>\s*</div>\s*</article>`).MatchString(out) {
		t.Errorf("the consequence is not under its root cause:\n%s", out)
	}
	if strings.Count(out, `<article class="card`) != 2 {
		t.Error("each finding once")
	}
	// No capture: the sketch of the hosts, the cause on its host.
	if !strings.Contains(doc.text, "no capture shows a connection") || !strings.Contains(doc.text, "cause: rs.rp-filter-strict on rs1") {
		t.Errorf("no sketch of the path:\n%s", doc.text)
	}
}

// Each kind of failure marks its own hop, and the rewrite of each hop is
// named.
func TestPathDiagramMarks(t *testing.T) {
	hops := func(seen ...bool) []trace.Hop {
		var hs []trace.Hop
		for i, s := range seen {
			hs = append(hs, trace.Hop{Step: "hop" + string(rune('A'+i)), Host: "h", Seen: s})
		}
		return hs
	}
	for _, c := range []struct {
		name    string
		flow    trace.Flow
		fault   int // the node marked, -1 none
		mark    string
		columns int
	}{
		{"answered", trace.Flow{Outcome: "answered", Hops: hops(true, true)}, -1, "", 2},
		{"lost after the last seen", func() trace.Flow {
			f := trace.Flow{Outcome: "lost-in-transit", Hops: hops(true, true, false, false)}
			f.Hops[1].LastSeen = true
			return f
		}(), 2, "✗ died here", 4},
		{"seen everywhere, then nothing", trace.Flow{Outcome: "incomplete", Hops: hops(true, true)}, 2, "? not seen beyond", 3},
		{"refused by the real server", func() trace.Flow {
			f := trace.Flow{Outcome: "refused", Hops: hops(true, true, true)}
			f.Hops[1].Change = "refused: the real server answered with a reset"
			f.Hops[2].LastSeen = true
			return f
		}(), 1, "✗ refused here", 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			pd := flowDiagram(&c.flow, nil)
			if len(pd.Columns) != c.columns {
				t.Fatalf("%d columns, want %d", len(pd.Columns), c.columns)
			}
			for i, col := range pd.Columns {
				n := col[0]
				if n.Fault != (i == c.fault) || (n.Fault && n.Mark != c.mark) {
					t.Errorf("node %d: fault %v mark %q; want the fault at %d marked %q", i, n.Fault, n.Mark, c.fault, c.mark)
				}
			}
		})
	}
	for r, want := range map[string]string{"mac": "MAC", "ipip": "IPIP", "gre": "GRE", "nat": "NAT", "fnat": "FNAT", "": ""} {
		if got := rewriteLabel(r); got != want {
			t.Errorf("rewriteLabel(%q) = %q, want %q", r, got, want)
		}
	}
}

func TestWrapChars(t *testing.T) {
	for _, c := range []struct {
		in    string
		width int
		lines int
		want  []string
	}{
		{"cause: director.fnat-local-address-not-local on lvs-a", 20, 3, []string{"cause: director.", "fnat-local-address-", "not-local on lvs-a"}},
		{"short", 10, 2, []string{"short"}},
		{"aaaaaaaaaaaaaaaaaaaaaaaaa", 10, 2, []string{"aaaaaaaaaa", "aaaaaaaaa…"}},
	} {
		got := wrapChars(c.in, c.width, c.lines)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("wrapChars(%q, %d, %d) = %q, want %q", c.in, c.width, c.lines, got, c.want)
		}
	}
}
