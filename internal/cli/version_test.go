package cli

import (
	"bytes"
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// mainRun runs the command in process, as the binary's main does.
func mainRun(args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := Main(args, &out, &errb)
	return out.String(), errb.String(), code
}

// stamp sets what the Makefile's -ldflags set, for one test.
func stamp(t *testing.T, version, commit, date string) {
	t.Helper()
	old := [3]string{Version, Commit, Date}
	Version, Commit, Date = version, commit, date
	t.Cleanup(func() { Version, Commit, Date = old[0], old[1], old[2] })
}

const (
	tVersion = "v1.2.3-4-gabcdef0-dirty"
	tCommit  = "abcdef0123456789abcdef0123456789abcdef01"
	tDate    = "2025-05-20T10:11:12Z"
)

func TestVersionText(t *testing.T) {
	stamp(t, tVersion, tCommit, tDate)
	out, stderr, code := mainRun("version")
	if code != ExitOK || stderr != "" {
		t.Fatalf("version: exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{
		"version:  " + tVersion + "\n",
		"commit:   " + tCommit + "\n",
		"date:     " + tDate + "\n",
		"go:       " + runtime.Version() + "\n",
		"platform: " + runtime.GOOS + "/" + runtime.GOARCH + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("version output lacks %q:\n%s", want, out)
		}
	}
}

func TestVersionJSONAndYAML(t *testing.T) {
	stamp(t, tVersion, tCommit, tDate)
	want := map[string]string{
		"version":  tVersion,
		"commit":   tCommit,
		"date":     tDate,
		"go":       runtime.Version(),
		"platform": runtime.GOOS + "/" + runtime.GOARCH,
	}
	for _, format := range []string{"json", "yaml"} {
		for _, args := range [][]string{{"version", "-o", format}, {"version", "--output=" + format}} {
			out, stderr, code := mainRun(args...)
			if code != ExitOK {
				t.Fatalf("%v: exit %d, stderr %q", args, code, stderr)
			}
			got := map[string]string{}
			var err error
			if format == "json" {
				err = json.Unmarshal([]byte(out), &got)
			} else {
				err = yaml.Unmarshal([]byte(out), &got)
			}
			if err != nil {
				t.Fatalf("%v: %v\n%s", args, err, out)
			}
			if len(got) != len(want) {
				t.Errorf("%v: keys %v, want exactly %v", args, got, want)
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%v: %s = %q, want %q", args, k, got[k], v)
				}
			}
		}
	}
}

// --version keeps cobra's "lvsdoctor version X" and adds the commit and date.
func TestVersionFlag(t *testing.T) {
	stamp(t, tVersion, tCommit, tDate)
	out, _, code := mainRun("--version")
	want := "lvsdoctor version " + tVersion + " (commit " + tCommit + ", " + tDate + ")\n"
	if code != ExitOK || out != want {
		t.Errorf("--version: exit %d, %q, want %q", code, out, want)
	}
}

func TestVersionUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"version", "-o", "xml"},
		{"version", "extra"},
	} {
		_, stderr, code := mainRun(args...)
		if code != ExitUsage || !strings.Contains(stderr, "lvsdoctor") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and an explanation", args, code, stderr)
		}
	}
}

// Unstamped (go test builds like a plain go build): every field still has
// a value, never an empty string.
func TestVersionUnstamped(t *testing.T) {
	stamp(t, "", "", "")
	out, _, code := mainRun("version", "-o", "json")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"version", "commit", "date", "go", "platform"} {
		if got[k] == "" {
			t.Errorf("%s is empty: %s", k, out)
		}
	}
}

// The fallbacks of a plain go build or go install, from the toolchain's
// build information; -ldflags values win over it.
func TestBuildVersionFallbacks(t *testing.T) {
	settings := []debug.BuildSetting{
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "1111111111111111111111111111111111111111"},
		{Key: "vcs.time", Value: "2024-01-02T03:04:05Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	info := func(mainVersion string) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{Main: debug.Module{Path: "github.com/lvsdoctor/lvsdoctor", Version: mainVersion}, Settings: settings}, true
		}
	}
	noInfo := func() (*debug.BuildInfo, bool) { return nil, false }
	for _, tc := range []struct {
		name                  string
		ldVersion, ldCommit   string
		ldDate                string
		read                  func() (*debug.BuildInfo, bool)
		version, commit, date string
	}{
		{"go build in a checkout", "", "", "", info("v0.0.0-20240102030405-111111111111+dirty"),
			"v0.0.0-20240102030405-111111111111+dirty", "1111111111111111111111111111111111111111", "2024-01-02T03:04:05Z"},
		{"go build without a module version", "", "", "", info("(devel)"),
			"dev", "1111111111111111111111111111111111111111", "2024-01-02T03:04:05Z"},
		{"go install @v1.0.0", "", "", "", func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{Main: debug.Module{Version: "v1.0.0"}}, true
		}, "v1.0.0", unknown, unknown},
		{"no build information", "", "", "", noInfo, "dev", unknown, unknown},
		{"make build", tVersion, tCommit, tDate, info("v0.0.0-x"), tVersion, tCommit, tDate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stamp(t, tc.ldVersion, tc.ldCommit, tc.ldDate)
			v := buildVersion(tc.read)
			if v.Version != tc.version || v.Commit != tc.commit || v.Date != tc.date {
				t.Errorf("got %q %q %q, want %q %q %q", v.Version, v.Commit, v.Date, tc.version, tc.commit, tc.date)
			}
		})
	}
}

// TestOldFlagSpellings: -o/--output is the output format everywhere and
// --dir collect's directory; --format, collect's --output and the root's
// -v still work for one release, with a deprecation notice.
func TestOldFlagSpellings(t *testing.T) {
	for _, args := range [][]string{
		{"causes", "--format", "ids"},
		{"causes", "-o", "ids"},
		{"causes", "--output", "ids"},
	} {
		out, errs, code := runCLI(args...)
		if code != 0 || !strings.Contains(out, "rs.rp-filter-strict") {
			t.Errorf("%v: exit %d %q", args, code, errs)
		}
		if args[1] == "--format" && !strings.Contains(errs, "deprecated") {
			t.Errorf("%v: no deprecation notice: %q", args, errs)
		}
	}
	out, errs, code := runCLI("-v")
	if code != 0 || !strings.Contains(out, "lvsdoctor version") || !strings.Contains(out+errs, "deprecated") {
		t.Errorf("-v: exit %d %q %q", code, out, errs)
	}
	cmd := newCollectCmd()
	if cmd.Flags().Lookup("dir") == nil || !cmd.Flags().Lookup("output").Hidden {
		t.Errorf("collect: --dir missing or --output not hidden")
	}
	out, errs, code = runCLI("diagnose", "--format", "json", "../../examples/dr-healthy")
	if code != 0 || !strings.HasPrefix(out, "{") || !strings.Contains(errs, "deprecated") {
		t.Errorf("diagnose --format json: exit %d, stdout %.40q, stderr %q", code, out, errs)
	}
}
