package cli

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

// Version, Commit and Date are set at build time by the Makefile:
//
//	-ldflags "-X github.com/lvsdoctor/lvsdoctor/internal/cli.Version=v1.2.3
//	          -X .../cli.Commit=<git rev-parse HEAD> -X .../cli.Date=<commit date>"
//
// Date is the commit's date, not the clock at build time, so that two builds
// of one commit are byte for byte the same. Left empty (a plain `go build` or
// `go install`), they are filled from the build information the Go toolchain
// stamps into every binary (see buildVersion).
var (
	Version = ""
	Commit  = ""
	Date    = ""
)

// versionInfo is what `lvsdoctor version` prints; the JSON and YAML keys
// are a contract for scripts that check what is deployed.
type versionInfo struct {
	Version  string `json:"version" yaml:"version"`
	Commit   string `json:"commit" yaml:"commit"`
	Date     string `json:"date" yaml:"date"`
	Go       string `json:"go" yaml:"go"`
	Platform string `json:"platform" yaml:"platform"`
}

// unknown stands for a value neither the linker nor the toolchain supplied:
// an empty string in JSON would read as a bug, not as "not recorded".
const unknown = "unknown"

// buildVersion resolves the version from the -ldflags values first, then
// from the toolchain's build information: `go install ...@v1.2.3` records
// the module version, and a build inside a git checkout records
// vcs.revision, vcs.time and (Go 1.24 on) a pseudo-version of the commit
// (unless -buildvcs=false, which some GOFLAGS set: then "dev", "unknown").
// read is debug.ReadBuildInfo, a parameter so the fallbacks can be tested.
func buildVersion(read func() (*debug.BuildInfo, bool)) versionInfo {
	v := versionInfo{
		Version:  Version,
		Commit:   Commit,
		Date:     Date,
		Go:       runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi, ok := read(); ok {
		if v.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && v.Commit == "":
				v.Commit = s.Value
			case s.Key == "vcs.time" && v.Date == "":
				v.Date = s.Value
			}
		}
	}
	if v.Version == "" {
		// What --version always said of an unstamped build.
		v.Version = "dev"
	}
	if v.Commit == "" {
		v.Commit = unknown
	}
	if v.Date == "" {
		v.Date = unknown
	}
	return v
}

func newVersionCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		Long: `Print lvsdoctor's version, the commit it was built from and that commit's
date (the build date of a reproducible build), the Go version and the platform.

Release builds (make build, make dist) carry the values of git describe;
a plain "go build" reports what the Go toolchain recorded of the checkout.`,
		Example: `  lvsdoctor version
  lvsdoctor version -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := buildVersion(debug.ReadBuildInfo)
			w := cmd.OutOrStdout()
			switch format {
			case "text":
				_, err := fmt.Fprintf(w, "version:  %s\ncommit:   %s\ndate:     %s\ngo:       %s\nplatform: %s\n",
					v.Version, v.Commit, v.Date, v.Go, v.Platform)
				return err
			case "json":
				b, err := json.MarshalIndent(v, "", "  ")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(w, "%s\n", b)
				return err
			case "yaml":
				b, err := yaml.Marshal(v)
				if err != nil {
					return err
				}
				_, err = w.Write(b)
				return err
			}
			return usageErr("--output %q: want text, json or yaml", format)
		},
	}
	// -o/--output, the kubectl spelling (issue 14 moves the other commands
	// to it); "-o json" is what people type either way.
	cmd.Flags().StringVarP(&format, "output", "o", "text", "output format: text, json or yaml")
	_ = cmd.RegisterFlagCompletionFunc("output", fixedCompletion("text", "json", "yaml"))
	return cmd
}

// versionString is root.Version, which cobra prints for --version as
// "lvsdoctor version X": the commit and its date follow X on that line.
func versionString() string {
	v := buildVersion(debug.ReadBuildInfo)
	return fmt.Sprintf("%s (commit %s, %s)", v.Version, v.Commit, v.Date)
}
