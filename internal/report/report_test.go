package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

func sample() *diagnosis.Diagnosis {
	return &diagnosis.Diagnosis{
		Schema:  diagnosis.Schema,
		Service: diagnosis.Service{VIP: "192.0.2.10", Port: 80, Proto: "tcp", Mode: "dr"},
		Hosts:   []diagnosis.Host{{Name: "ds1", Role: "director"}, {Name: "rs1", Role: "realserver"}},
		Findings: []diagnosis.Finding{{
			ID: "rs.rp-filter-strict", Severity: diagnosis.Critical, Host: "rs1", Title: "strict | rp_filter",
			Explanation: "why", Fix: []string{"sysctl -w net.ipv4.conf.all.rp_filter=2"},
			Evidence: []evidence.Ref{{Host: "rs1", Source: "rs1/sysctl.txt", Line: 12, Text: "net.ipv4.conf.all.rp_filter = 1"}},
		}},
		Notes: []string{"run `sysctl -a` on rs2: it would settle rs.tcp-tw-recycle", "2 virtual services checked"},
		NextSteps: []diagnosis.NextStep{{On: "rs2", Command: "sysctl -a", Why: "it would settle rs.tcp-tw-recycle",
			Settles: []string{"rs.tcp-tw-recycle"}}},
	}
}

// The JSON contract of spec.md: these names may not change.
func TestJSONContract(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, "json", sample(), Options{}); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema", "service", "hosts", "findings", "notes"} {
		if _, ok := m[k]; !ok {
			t.Errorf("missing top-level %q", k)
		}
	}
	f := m["findings"].([]any)[0].(map[string]any)
	for _, k := range []string{"id", "severity", "host", "title", "explanation", "evidence", "fix"} {
		if _, ok := f[k]; !ok {
			t.Errorf("finding lacks %q", k)
		}
	}
	ev := f["evidence"].([]any)[0].(map[string]any)
	for _, k := range []string{"host", "source", "line", "text"} {
		if _, ok := ev[k]; !ok {
			t.Errorf("evidence lacks %q", k)
		}
	}
	svc := m["service"].(map[string]any)
	if svc["vip"] != "192.0.2.10" || svc["port"].(float64) != 80 || svc["proto"] != "tcp" || svc["mode"] != "dr" {
		t.Errorf("service = %v", svc)
	}
}

func TestTextAndMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, "text", sample(), Options{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"ROOT CAUSE", "rs.rp-filter-strict", "rs1/sysctl.txt:12", "sysctl -w net.ipv4.conf.all.rp_filter=2",
		"NEXT STEPS", "1. on rs2:\n     sysctl -a\n", "1 more note: -v"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "NOTES") {
		t.Errorf("notes without -v:\n%s", out)
	}
	b.Reset()
	if err := Write(&b, "text", sample(), Options{Verbose: true}); err != nil {
		t.Fatal(err)
	}
	// With -v the other notes, not the step said already.
	if v := b.String(); !strings.Contains(v, "NOTES\n - 2 virtual services checked\n") || strings.Contains(v, "run `sysctl -a` on rs2") {
		t.Errorf("-v notes:\n%s", v)
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("colour codes without Color")
	}
	b.Reset()
	if err := Write(&b, "markdown", sample(), Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `strict \| rp_filter`) || !strings.Contains(b.String(), "### 1. `rs.rp-filter-strict`") {
		t.Errorf("markdown:\n%s", b.String())
	}
	b.Reset()
	if err := Write(&b, "yaml", sample(), Options{}); err != nil || !strings.Contains(b.String(), "schema: lvsdoctor/v1") {
		t.Errorf("yaml: %v\n%s", err, b.String())
	}
	if err := Write(&b, "xml", sample(), Options{}); err == nil {
		t.Error("unknown format accepted")
	}
}

// A consequence is shown under its root cause, not numbered and marked
// as a cause of its own; a second root cause comes before it would.
func TestTextGroupsConsequences(t *testing.T) {
	d := sample()
	ev := []evidence.Ref{{Host: "rs1", Source: "rs1/eth0.pcap", Line: 3, Text: "SYN"}}
	d.Findings[0].RootCause = true
	d.Findings = append(d.Findings,
		diagnosis.Finding{ID: "trace.rs-not-replying", Severity: diagnosis.Critical, Host: "rs1", Title: "rs1 answered none",
			Evidence: ev, CausedBy: []string{"rs.rp-filter-strict@rs1"}},
		diagnosis.Finding{ID: "rs.vip-missing", Severity: diagnosis.Critical, Host: "rs2", Title: "no VIP on rs2", RootCause: true, Evidence: ev},
		diagnosis.Finding{ID: "net.tunnel-mtu", Severity: diagnosis.Warning, Host: "ds1", Title: "MTU", Evidence: ev})
	var b bytes.Buffer
	if err := Write(&b, "text", d, Options{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	cons := strings.Index(out, "→ consequence trace.rs-not-replying on rs1: rs1 answered none")
	second := strings.Index(out, "2. [CRITICAL] rs.vip-missing on rs2")
	also := strings.Index(out, "ALSO FOUND\n3. [WARNING] net.tunnel-mtu on ds1")
	if cons < 0 || second < cons || also < second || strings.Count(out, "ROOT CAUSE\n") != 1 {
		t.Errorf("groups:\n%s", out)
	}
	if strings.Contains(out, "[CRITICAL] trace.rs-not-replying") {
		t.Errorf("a consequence is marked as a critical cause of its own:\n%s", out)
	}
}

// Prose follows the width given (the terminal's), 80 when none is.
func TestTextWidth(t *testing.T) {
	d := sample()
	d.Findings[0].Explanation = strings.Repeat("word ", 60)
	longest := func(o Options) int {
		var b bytes.Buffer
		if err := Write(&b, "text", d, o); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, l := range strings.Split(b.String(), "\n") {
			if strings.HasPrefix(l, "   word") {
				n = max(n, len(l))
			}
		}
		return n
	}
	for _, c := range []struct{ width, max, min int }{{0, 80, 70}, {120, 120, 110}, {60, 60, 50}, {10, 40, 30}} {
		if n := longest(Options{Width: c.width}); n > c.max || n < c.min {
			t.Errorf("width %d: prose lines up to %d columns, want %d-%d", c.width, n, c.min, c.max)
		}
	}
}

// TestAddressesLine: what hidden addresses were read as is said beside the
// service (which may be one of them), not only among the notes.
func TestAddressesLine(t *testing.T) {
	d := &diagnosis.Diagnosis{Notes: []string{"x", "paste.txt: " + evidence.AnonymisedNote + " (<public-ip> as 245.202.67.51, x.y.z.1 as 254.176.226.1); the evidence quotes show them so"}}
	want := "addresses hidden in the input: <public-ip> as 245.202.67.51, x.y.z.1 as 254.176.226.1"
	if got := AddressesLine(d); got != want {
		t.Errorf("AddressesLine = %q, want %q", got, want)
	}
	var b strings.Builder
	if err := Write(&b, "text", d, Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "<public-ip> as 245.202.67.51") {
		t.Errorf("the text report does not say it:\n%s", b.String())
	}
	if AddressesLine(&diagnosis.Diagnosis{Notes: []string{"x"}}) != "" {
		t.Error("an addresses line without hidden addresses")
	}
}
