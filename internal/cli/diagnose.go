package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lvsdoctor/lvsdoctor/internal/engine"
	"github.com/lvsdoctor/lvsdoctor/internal/intake"
	"github.com/lvsdoctor/lvsdoctor/internal/report"
	"github.com/lvsdoctor/lvsdoctor/internal/rules"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

type diagnoseOpts struct {
	format  string
	vip     string
	port    int
	proto   string
	mode    string
	noColor bool
	verbose bool
	// collection before diagnosis
	live   bool
	watch  time.Duration
	probe  bool
	role   string
	save   string
	remote remoteOpts
}

func newDiagnoseCmd() *cobra.Command {
	o := &diagnoseOpts{}
	cmd := &cobra.Command{
		Use:   "diagnose PATH...",
		Short: "Name the root cause from a case directory or pasted transcripts",
		Long: `Diagnose reads evidence and reports findings, root cause first.

PATH is a case directory, a transcript file, or - for a paste read from
standard input; several may be given.

A case directory holds an optional case.yaml (vip, port, proto, client,
symptom) and one folder per host. Each host folder holds raw command
outputs and config files; a file's first line may name the command
("$ ipvsadm -Ln" or a prompt like "[root@ds1 ~]# ip addr"), else the file
name or the content tells what it is. An optional "role" file says
director, realserver, hypervisor, client or router.

A transcript is a pasted terminal session: prompts such as
"[root@ds1 ~]# cmd", "root@rs1:~# cmd", "lb01:~ # cmd" or zsh's
"ops@lb01 ~ % cmd" split it into commands and say which host printed what.

Exit status: 0 no critical finding, 1 critical finding(s), 2 usage or
input error, including evidence that allows no conclusion (nothing
understood, no virtual service identified): never a clean bill of health
for what was not read.`,
		Example: `  lvsdoctor diagnose examples/kvm-dr-nwfilter
  lvsdoctor diagnose ticket-4711.txt --vip 192.0.2.10:80
  xclip -o | lvsdoctor diagnose - --vip 192.0.2.10:80
  lvsdoctor diagnose ./case -o json | jq '.findings[0].id'`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && !o.live && o.remote.inventory == "" {
				return usageErr("diagnose needs a case directory or transcript file, or --live, or --inventory FILE (see 'lvsdoctor diagnose --help')")
			}
			if o.live && o.remote.inventory != "" {
				return usageErr("--live collects this host, --inventory the hosts it lists: give one (list this host in the inventory)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return runDiagnose(cmd, o, args) },
	}
	f := cmd.Flags()
	outputFlag(cmd, f, &o.format, "text", "output format: "+strings.Join(report.Formats, ", "), report.Formats...)
	f.StringVar(&o.vip, "vip", "", "virtual IP to diagnose (also VIP:PORT)")
	f.IntVar(&o.port, "port", 0, "virtual port")
	f.StringVar(&o.proto, "proto", "", "protocol: tcp, udp or sctp")
	f.StringVar(&o.mode, "mode", "", "forwarding method if the evidence does not show it: dr, tun, nat, fnat")
	f.BoolVar(&o.noColor, "no-color", false, "no ANSI colours in text output")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "list every input problem")
	f.BoolVar(&o.live, "live", false, "collect this host first (read-only, as 'lvsdoctor collect'), then diagnose it with any PATHs given")
	f.DurationVar(&o.watch, "watch", 0, "with --live: after collecting, watch the kernel drop the VIP's packets for this long (reproduce the failure meanwhile) and use the drops as evidence")
	f.BoolVar(&o.probe, "probe", false, "with --watch: connect to the VIP a few times while watching")
	f.StringVar(&o.role, "role", "", "with --live: this host's role (director, realserver, hypervisor, client, router)")
	f.StringVar(&o.save, "save", "", "with --live or --inventory: keep the collected evidence in this directory (default: discarded)")
	o.remote.flags(f)
	_ = cmd.RegisterFlagCompletionFunc("role", fixedCompletion("director", "realserver", "hypervisor", "client", "router"))
	_ = cmd.RegisterFlagCompletionFunc("proto", fixedCompletion("tcp", "udp", "sctp"))
	_ = cmd.RegisterFlagCompletionFunc("mode", fixedCompletion("dr", "tun", "nat", "fnat"))
	return cmd
}

func fixedCompletion(vals ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return vals, cobra.ShellCompDirectiveNoFileComp
	}
}

func (o *diagnoseOpts) hints() (topology.Hints, error) {
	var h topology.Hints
	var err error
	h.VIP, h.Port, h.Proto, h.Mode, err = serviceFlags{vip: o.vip, port: o.port, proto: o.proto, mode: o.mode}.service()
	return h, err
}

func runDiagnose(cmd *cobra.Command, o *diagnoseOpts, args []string) error {
	valid := false
	for _, f := range report.Formats {
		valid = valid || f == o.format
	}
	if !valid && o.format != "md" {
		return usageErr("-o/--output %q: want %s", o.format, strings.Join(report.Formats, ", "))
	}
	hints, err := o.hints()
	if err != nil {
		return err
	}
	if o.live || o.remote.inventory != "" {
		dir, cleanup, err := o.collectFirst(cmd)
		if err != nil {
			return err
		}
		defer cleanup()
		args = append(args, dir)
	}
	c, err := intake.Load(args...)
	if err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	if len(c.Hosts) == 0 {
		return usageErr("no evidence found in %s", strings.Join(args, ", "))
	}
	d := engine.Run(c, hints, rules.All())
	err = report.Write(cmd.OutOrStdout(), o.format, d, report.Options{
		Color:   useColor(cmd.OutOrStdout(), o.noColor),
		Verbose: o.verbose,
		Width:   termWidth(cmd.OutOrStdout()),
	})
	if err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	if d.Coverage.Inconclusive() {
		// Not a clean bill of health: the input did not allow a diagnosis.
		return &exitError{code: ExitUsage}
	}
	if d.HasCritical() {
		return &exitError{code: ExitCritical}
	}
	return nil
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// useColor says whether text output gets ANSI colour: only on a terminal,
// and neither --no-color nor NO_COLOR (https://no-color.org: set to
// anything but the empty string) asks otherwise.
func useColor(w any, noColor bool) bool {
	return !noColor && isTerminal(w) && os.Getenv("NO_COLOR") == ""
}

// collectFirst runs the collection --live or --inventory ask for and
// returns the case directory it wrote.
func (o *diagnoseOpts) collectFirst(cmd *cobra.Command) (string, func(), error) {
	if err := checkRole(o.role); err != nil {
		return "", nil, err
	}
	dir, cleanup := o.save, func() {}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "lvsdoctor-case-")
		if err != nil {
			return "", nil, err
		}
		dir, cleanup = tmp, func() { _ = os.RemoveAll(tmp) }
	}
	co := &collectOpts{output: dir, role: o.role, remote: o.remote}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	bundles, err := collectInto(ctx, cmd.ErrOrStderr(), co)
	if err != nil {
		cleanup()
		return "", nil, err
	}
	if o.watch > 0 && o.live && len(bundles) == 1 {
		if err := o.watchInto(ctx, cmd, filepath.Join(dir, bundles[0].Host)); err != nil {
			cleanup()
			return "", nil, err
		}
	}
	return dir, cleanup, nil
}

// watchInto runs a watch of this host's network namespace for the
// VIP the user named and stores its lines as the host's watch.txt.
func (o *diagnoseOpts) watchInto(ctx context.Context, cmd *cobra.Command, hostDir string) error {
	if o.vip == "" {
		return usageErr("--watch needs --vip: the VIP whose packets to watch")
	}
	wo := &watchOpts{vip: o.vip, port: o.port, proto: o.proto, duration: o.watch, format: "lines", probe: o.probe, mode: "auto", fib: true}
	f, err := wo.filter()
	if err != nil {
		return err
	}
	f.Netns = fmt.Sprintf("/proc/%d/ns/net", os.Getpid())
	fmt.Fprintf(cmd.ErrOrStderr(), "lvsdoctor: watching drops of %s for %s: reproduce the failure now\n", o.vip, o.watch)
	lines, err := watch(ctx, io.Discard, cmd.ErrOrStderr(), wo, f)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(hostDir, "watch.txt"), []byte(strings.Join(lines, "\n")+"\n"), 0o600)
}
