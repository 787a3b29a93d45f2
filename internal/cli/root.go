// Package cli is the lvsdoctor command line: verbs in the kubectl style,
// -o for the output format, help that teaches, shell completion.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/lvsdoctor/lvsdoctor/internal/printable"
)

// Exit statuses, as the spec fixes them.
const (
	ExitOK       = 0 // no critical finding
	ExitCritical = 1 // critical finding(s)
	ExitUsage    = 2 // usage or input error
)

// exitError carries an exit status through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

// usageErr marks an error as the user's to fix (exit 2).
func usageErr(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// NewRoot builds the command tree.
func NewRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "lvsdoctor",
		Short: "Find why an LVS/IPVS virtual service does not answer",
		Long: `lvsdoctor names the root cause when "the real servers answer, the VIP does not".

It reads what you already have — ipvsadm, ip, sysctl, iptables/nft, ss,
keepalived.conf and its log, tcpdump output, libvirt XML — from a case
directory (one folder per host) or from pasted terminal sessions, and
reports the cause with the evidence lines and the fix.`,
		Example: `  # diagnose a case directory (one folder per host)
  lvsdoctor diagnose ./case

  # diagnose a pasted terminal session, focusing on one service
  lvsdoctor diagnose session.txt --vip 192.0.2.10 --port 80

  # machine-readable output
  lvsdoctor diagnose ./case -o json

  # what can lvsdoctor recognise?
  lvsdoctor causes
  lvsdoctor explain rs.rp-filter-strict`,
		Version: versionString(),
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			warnOldSpellings(cmd)
		},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// -v is verbosity in the subcommands, as in kubectl; at the root it
	// printed the version, and does so for one release with a notice.
	root.Flags().BoolP("version", "v", false, "print the version (also: lvsdoctor version)")
	_ = root.Flags().MarkShorthandDeprecated("version", "use --version or 'lvsdoctor version'")
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newDiagnoseCmd(), newCollectCmd(), newWatchCmd(), newCausesCmd(), newExplainCmd())
	root.AddCommand(newTraceCmd(), newServeCmd(), newVersionCmd())
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: ExitUsage, err: fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	return root
}

// Main runs the CLI and returns the process exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	root := NewRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			for _, l := range errorLines(ee.err) {
				fmt.Fprintln(stderr, "lvsdoctor:", l)
			}
		}
		return ee.code
	}
	// Cobra's own errors (unknown command, bad args) are usage errors.
	// Their line breaks are cobra's ("Did you mean this?"), the arguments
	// they quote are %q-quoted already.
	fmt.Fprintln(stderr, "lvsdoctor:", printable.Lines(err.Error()))
	return ExitUsage
}

// errorLines is what an error prints at exit: errors quote case file
// names, host names and what a remote host said, so each is escaped to
// one line. Joined errors (every problem of an inventory) keep a line
// each: those line breaks are errors.Join's, not an input's.
func errorLines(err error) []string {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, errorLines(e)...)
		}
		return out
	}
	return []string{printable.String(err.Error())}
}

// Run is main's body.
func Run() { os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr)) }
