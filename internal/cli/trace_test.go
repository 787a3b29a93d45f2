package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const labDir = "../../testdata/lab"

func runCLI(args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := Main(args, &out, &errb)
	return out.String(), errb.String(), code
}

// TestTraceCase: `lvsdoctor trace CASE` on the seed 004 lab case tells
// the story hop by hop, finds the loss, and exits 1.
func TestTraceCase(t *testing.T) {
	out, errs, code := runCLI("trace", filepath.Join(labDir, "hypervisor.nwfilter-no-ip-spoofing"), "--no-color")
	if code != ExitCritical {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"lvsdoctor trace: tcp 192.0.2.100:80 (DR)",
		"✓ client sends",
		"✓ director forwards",
		"MACs rewritten: 52:54:00:00:00:0a (client) > 52:54:00:00:00:02 (director) became 52:54:00:00:00:02 (director) > 52:54:00:00:00:0c (rs2)",
		"← last seen",
		"✗ on the way to the real server   hypervisor",
		"last seen: director/eth0.pcap frame 22 at 06:51:14.911010 (director forwards)",
		"lost between director and hypervisor",
		"[CRITICAL] trace.lost-in-transit on hypervisor",
		"director/eth0.pcap:22  06:51:14.911010 52:54:00:00:00:02 > 52:54:00:00:00:0c",
	} {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestTraceFilesJSON: bare capture files, roles from the folder names,
// JSON out; the NAT case's replies that bypass the director.
func TestTraceFilesJSON(t *testing.T) {
	c := filepath.Join(labDir, "rs.nat-gateway-wrong")
	files, _ := filepath.Glob(filepath.Join(c, "*", "*.pcap"))
	args := append([]string{"trace", "--vip", "192.0.2.100:80", "-o", "json"}, files...)
	out, errs, code := runCLI(args...)
	if code != ExitCritical {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r struct {
		Schema  string `json:"schema"`
		Service struct {
			Mode string `json:"mode"`
		} `json:"service"`
		Flows []struct {
			Outcome string `json:"outcome"`
			Hops    []struct {
				Step   string `json:"step"`
				Host   string `json:"host"`
				Seen   bool   `json:"seen"`
				Frames []int  `json:"frames"`
			} `json:"hops"`
		} `json:"flows"`
		Findings []struct {
			ID   string `json:"id"`
			Host string `json:"host"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if r.Schema != "lvsdoctor-trace/v1" || r.Service.Mode != "nat" || len(r.Flows) != 4 {
		t.Fatalf("%+v", r)
	}
	bypassed := 0
	for _, f := range r.Flows {
		if f.Outcome == "reply-bypassed-director" {
			bypassed++
		}
	}
	if bypassed != 2 {
		t.Errorf("%d connections' replies bypassed the director, want 2", bypassed)
	}
	found := false
	for _, f := range r.Findings {
		found = found || f.ID == "trace.reply-lost" && f.Host == "rs1"
	}
	if !found {
		t.Errorf("findings %+v", r.Findings)
	}
}

// TestDiagnoseShowsPacketPath: diagnose's text report has the packet
// path under the root cause when the case has captures.
func TestDiagnoseShowsPacketPath(t *testing.T) {
	out, errs, code := runCLI("diagnose", filepath.Join(labDir, "net.vpc-antispoof"), "--no-color")
	if code != ExitCritical {
		t.Fatalf("exit %d: %s", code, errs)
	}
	root := strings.Index(out, "ROOT CAUSE")
	path := strings.Index(out, "PACKET PATH (from the captures, times UTC; 4 followed: 4 lost-in-transit)")
	also := strings.Index(out, "ALSO FOUND")
	if root < 0 || path < root || also >= 0 && path > also {
		t.Fatalf("packet path not under the root cause:\n%s", out)
	}
	if !strings.Contains(out, "✓ director forwards") || !strings.Contains(out, "✗ real server receives") {
		t.Errorf("timeline missing:\n%s", out[path:])
	}
	// Without captures, no packet path.
	out, _, _ = runCLI("diagnose", filepath.Join(labDir, "director.config-drift"), "--no-color")
	if strings.Contains(out, "PACKET PATH") != hasCapture(t, filepath.Join(labDir, "director.config-drift")) {
		t.Errorf("packet path shown for a case without captures, or missing with them")
	}
}

func hasCapture(t *testing.T, dir string) bool {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.pcap"))
	return len(files) > 0
}

func TestTraceUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"trace"}, "trace needs capture files"},
		{[]string{"trace", "--vip", "nope", "x.pcap"}, "--vip"},
		{[]string{"trace", "--role", "rs1", "x.pcap"}, "HOST=ROLE"},
		{[]string{"trace", "-o", "yaml", "x.pcap"}, "-o/--output"},
		{[]string{"trace", "--format", "yaml", "x.pcap"}, "-o/--output"},
		{[]string{"trace", filepath.Join(labDir, "README.md")}, "not a packet capture"},
		{[]string{"trace", "/nonexistent/x.pcap"}, "no such file"},
	} {
		_, errs, code := runCLI(c.args...)
		if code != ExitUsage || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, %q", c.args, code, errs)
		}
	}
	// A directory with no capture at all.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := runCLI("trace", dir); code != ExitUsage || !strings.Contains(errs, "no packet capture") {
		t.Errorf("empty dir: exit %d %q", code, errs)
	}
}
