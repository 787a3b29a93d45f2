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
		Notes: []string{"run `sysctl -a` on rs2"},
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
	for _, want := range []string{"ROOT CAUSE", "rs.rp-filter-strict", "rs1/sysctl.txt:12", "sysctl -w net.ipv4.conf.all.rp_filter=2", "NOTES"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
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
