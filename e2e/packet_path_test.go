package e2e

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/catalog"
	"github.com/lvsdoctor/lvsdoctor/internal/cli"
	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/trace"
)

// TestTraceAgreesWithDiagnose: on every case with captures, `trace` and
// `diagnose` compute one packet path and name the same packet causes;
// every finding is a catalog cause, and what is not a cause is an
// observation.
func TestTraceAgreesWithDiagnose(t *testing.T) {
	var dirs []string
	for _, g := range []string{"../testdata/lab/*/case.yaml", "../examples/*/case.yaml", "../testdata/corpus/*/case.yaml"} {
		m, _ := filepath.Glob(g)
		for _, x := range m {
			dirs = append(dirs, filepath.Dir(x))
		}
	}
	withPath := 0
	for _, dir := range dirs {
		d, code, stderr := diagnose(t, dir)
		if code == cli.ExitUsage {
			t.Fatalf("%s: %s", dir, stderr)
		}
		for _, f := range d.Findings {
			if _, ok := catalog.Lookup(f.ID); !ok {
				t.Errorf("%s: diagnose reports %s, not a catalog cause", dir, f.ID)
			}
		}
		if d.PacketPath == nil {
			continue
		}
		withPath++
		var out, errb bytes.Buffer
		if code := cli.Main([]string{"trace", "-o", "json", dir}, &out, &errb); code == cli.ExitUsage {
			t.Errorf("%s: trace: %s", dir, errb.String())
			continue
		}
		var r trace.Result
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			t.Fatalf("%s: trace JSON: %v", dir, err)
		}
		for _, f := range r.Findings {
			if _, ok := catalog.Lookup(f.ID); !ok {
				t.Errorf("%s: trace reports %s, not a catalog cause", dir, f.ID)
			}
		}
		for _, o := range r.Observations {
			if !strings.HasPrefix(o.ID, "packet.") {
				t.Errorf("%s: observation %s", dir, o.ID)
			}
		}
		if a, b := packetIDs(d.Findings), packetIDs(r.Findings); !slices.Equal(a, b) {
			t.Errorf("%s: diagnose names %v, trace names %v", filepath.Base(dir), a, b)
		}
		if len(d.PacketPath.Flows) != len(r.Flows) {
			t.Errorf("%s: diagnose's path has %d connections, trace's %d", dir, len(d.PacketPath.Flows), len(r.Flows))
		}
		for _, f := range d.PacketPath.Flows {
			if len(f.Hops) == 0 {
				t.Errorf("%s: connection %d has no hops in the diagnosis' packet_path", dir, f.ID)
			}
		}
	}
	if withPath < 40 {
		t.Errorf("only %d cases carry a packet path", withPath)
	}
	t.Logf("%d cases with captures: trace and diagnose agree on every one", withPath)
}

// packetIDs are the distinct trace.* causes among findings, sorted.
func packetIDs(fs []diagnosis.Finding) []string {
	var out []string
	for _, f := range fs {
		if strings.HasPrefix(f.ID, "trace.") && !slices.Contains(out, f.ID) {
			out = append(out, f.ID)
		}
	}
	slices.Sort(out)
	return out
}
