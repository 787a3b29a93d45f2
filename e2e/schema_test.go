package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/lvsdoctor/lvsdoctor/internal/cli"
	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
)

// lvsdoctorSchema compiles the lvsdoctor/v1 JSON Schema of the repository.
func lvsdoctorSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(diagnosis.JSONSchema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("lvsdoctor-v1.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("lvsdoctor-v1.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// schemaInputs are every bundled example (the case directories and the
// pasted transcripts), every lab case, the corpus and the inputs that are
// no evidence: their documents cover every verdict, mode and optional
// field the contract has.
func schemaInputs(t *testing.T) (examples, others []string) {
	t.Helper()
	m, _ := filepath.Glob("../examples/*/case.yaml")
	for _, x := range m {
		examples = append(examples, filepath.Dir(x))
	}
	m, _ = filepath.Glob("../examples/transcripts/*.txt")
	examples = append(examples, m...)
	for _, g := range []string{"../testdata/lab/*", "../testdata/corpus/*", "../testdata/not-evidence/*"} {
		m, _ = filepath.Glob(g)
		for _, x := range m {
			if fi, err := os.Stat(x); err == nil && fi.IsDir() {
				others = append(others, x)
			}
		}
	}
	if len(examples) < 9 || len(others) < 40 {
		t.Fatalf("inputs not found: %d examples, %d others", len(examples), len(others))
	}
	return examples, others
}

// TestJSONSchemaValidatesEveryDocument: the schema in the repository
// describes what diagnose writes. Its objects are closed, so a field
// added without being documented there fails here.
func TestJSONSchemaValidatesEveryDocument(t *testing.T) {
	schema := lvsdoctorSchema(t)
	examples, others := schemaInputs(t)
	validated := 0
	fields := map[string]bool{}
	for _, in := range append(examples, others...) {
		var out, errb bytes.Buffer
		code := cli.Main([]string{"diagnose", "-o", "json", in}, &out, &errb)
		if out.Len() == 0 {
			if strings.Contains(in, "not-evidence") {
				continue // some exit 2 before any document (an empty folder)
			}
			t.Errorf("%s: no document (exit %d): %s", in, code, errb.String())
			continue
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if err := schema.Validate(doc); err != nil {
			t.Errorf("%s: the document does not match the schema:\n%v", in, err)
			continue
		}
		validated++
		collectFields(doc, "", fields)
	}
	t.Logf("%d documents validated against lvsdoctor-v1.schema.json (%d examples)", validated, len(examples))
	// The inputs exercise the fields the HTML report and programs rely
	// on, so that the schema's description of them is tested.
	for _, f := range []string{"findings.root_cause", "findings.caused_by", "packet_path.flows.hops.rewrite",
		"packet_path.flows.causes", "packet_path.flows.lost_between", "packet_path.observations.id", "input_problems.message", "coverage.verdict"} {
		if !fields[f] {
			t.Errorf("no document has %s", f)
		}
	}
}

// collectFields records the paths of the object keys in v
// (findings.caused_by), arrays transparent.
func collectFields(v any, prefix string, into map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			into[p] = true
			if prefix == "packet_path.summary" && k == "outcomes" {
				continue // keys are data
			}
			collectFields(e, p, into)
		}
	case []any:
		for _, e := range x {
			collectFields(e, prefix, into)
		}
	}
}

// The schema rejects what the contract does not allow: it is no
// "anything goes" schema that would pass every document.
func TestJSONSchemaRejects(t *testing.T) {
	schema := lvsdoctorSchema(t)
	var out, errb bytes.Buffer
	cli.Main([]string{"diagnose", "-o", "json", "../examples/kvm-dr-nwfilter"}, &out, &errb)
	for name, mutate := range map[string]func(m map[string]any){
		"an undocumented field": func(m map[string]any) { m["extra"] = 1 },
		"another schema":        func(m map[string]any) { m["schema"] = "lvsdoctor/v2" },
		"a finding without id":  func(m map[string]any) { delete(m["findings"].([]any)[0].(map[string]any), "id") },
		"an unknown severity":   func(m map[string]any) { m["findings"].([]any)[0].(map[string]any)["severity"] = "fatal" },
		"an unknown rewrite":    func(m map[string]any) { hop0(m)["rewrite"] = "masq" },
		"a hop without seen":    func(m map[string]any) { delete(hop0(m), "seen") },
		"an unknown verdict":    func(m map[string]any) { m["coverage"].(map[string]any)["verdict"] = "fine" },
		"a caused_by not a key": func(m map[string]any) { m["findings"].([]any)[1].(map[string]any)["caused_by"] = []any{"nohost"} },
		"a negative line number": func(m map[string]any) {
			m["findings"].([]any)[0].(map[string]any)["evidence"].([]any)[0].(map[string]any)["line"] = -1
		},
	} {
		var m map[string]any
		if err := json.Unmarshal(out.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(m); err != nil {
			t.Fatalf("the unchanged document fails: %v", err)
		}
		mutate(m)
		b, _ := json.Marshal(m)
		doc, _ := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if schema.Validate(doc) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func hop0(m map[string]any) map[string]any {
	return m["packet_path"].(map[string]any)["flows"].([]any)[0].(map[string]any)["hops"].([]any)[0].(map[string]any)
}
