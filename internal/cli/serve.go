package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lvsdoctor/lvsdoctor/internal/collect"
	"github.com/lvsdoctor/lvsdoctor/internal/inventory"
	"github.com/lvsdoctor/lvsdoctor/internal/printable"
	"github.com/lvsdoctor/lvsdoctor/internal/serve"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

type serveOpts struct {
	listen   string
	interval time.Duration
	host     string
	role     string
	service  serviceFlags
	remote   remoteOpts
}

func newServeCmd() *cobra.Command {
	o := &serveOpts{}
	cmd := &cobra.Command{
		Use:   "serve --listen ADDR [--interval D] [--role R] [--inventory FILE]",
		Short: "Diagnose continuously and serve the result to Prometheus",
		Long: `Serve collects this host every interval, read-only, with the code
'lvsdoctor collect' runs (or, with --inventory FILE, every host listed
there over SSH), diagnoses the evidence as 'lvsdoctor diagnose' does, and
serves the latest result over HTTP:

  /metrics      Prometheus metrics: lvsdoctor_up, the run's duration and
                time, one lvsdoctor_findings{id,host,severity} series per
                current finding, input problems, and per virtual service
                and real server the IPVS counters, rates, weight and
                active/inactive connections, with the forwarding method
  /report       the latest report, for people
  /report.json  the latest diagnosis as lvsdoctor/v1 JSON
  /healthz      200 while the service runs

The first run starts at once; runs never overlap. A run that fails keeps
the last good result served: lvsdoctor_up goes to 0 and
lvsdoctor_last_success_timestamp_seconds stops moving. Nothing on the
host is changed: each run's evidence goes to a temporary directory,
removed when the run ends.

deploy/prometheus/lvsdoctor.rules.yml holds alerting rules for these
metrics, deploy/grafana/lvsdoctor.json a dashboard, and
packaging/lvsdoctor.service a hardened systemd unit.`,
		Example: `  # this director, scraped by the Prometheus on its network
  sudo lvsdoctor serve --listen :9848 --role director

  # the whole cluster over SSH, every 10 minutes
  lvsdoctor serve --listen 127.0.0.1:9848 --inventory cluster.yaml --interval 10m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runServe(cmd, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "", "address to serve HTTP on, e.g. :9848 or 127.0.0.1:9848 (required)")
	f.DurationVar(&o.interval, "interval", serve.DefaultInterval, "time between two runs' starts")
	f.StringVar(&o.host, "host", "", "host name in the metrics and report (default: this host's short name)")
	f.StringVar(&o.role, "role", "", "role of this host: director, realserver, hypervisor, client, router")
	f.StringVar(&o.service.vip, "vip", "", "virtual IP to diagnose (also VIP:PORT); default: the services the evidence shows")
	f.IntVar(&o.service.port, "port", 0, "virtual port")
	f.StringVar(&o.service.proto, "proto", "", "protocol: tcp, udp or sctp")
	f.StringVar(&o.service.mode, "mode", "", "forwarding method if the evidence does not show it: dr, tun, nat, fnat")
	o.remote.flags(f)
	_ = cmd.MarkFlagRequired("listen")
	_ = cmd.RegisterFlagCompletionFunc("role", fixedCompletion("director", "realserver", "hypervisor", "client", "router"))
	_ = cmd.RegisterFlagCompletionFunc("proto", fixedCompletion("tcp", "udp", "sctp"))
	_ = cmd.RegisterFlagCompletionFunc("mode", fixedCompletion("dr", "tun", "nat", "fnat"))
	return cmd
}

// minInterval keeps a typo (--interval 1ms) from turning the service
// into a busy loop on a director.
const minInterval = time.Second

func runServe(cmd *cobra.Command, o *serveOpts) error {
	if err := checkRole(o.role); err != nil {
		return err
	}
	if o.interval < minInterval {
		return usageErr("--interval %s: at least %s", o.interval, minInterval)
	}
	var hints topology.Hints
	var err error
	hints.VIP, hints.Port, hints.Proto, hints.Mode, err = o.service.service()
	if err != nil {
		return err
	}
	remote := o.remote.inventory != ""
	if remote {
		// a broken inventory is the user's to fix now, not a failing run
		// at every interval; it is read again at each run, so edits are
		// taken without a restart
		if _, err := inventory.Load(o.remote.inventory); err != nil {
			return &exitError{code: ExitUsage, err: err}
		}
		if o.host != "" || o.role != "" {
			return usageErr("--host and --role name this host: with --inventory, hosts and roles are the inventory's")
		}
	}
	stderr := cmd.ErrOrStderr()
	if !remote && os.Geteuid() != 0 {
		fmt.Fprintln(stderr, "lvsdoctor: not root: collecting what a user can read (firewall rules, some sysctls and the journal need root)")
	}
	l, err := net.Listen("tcp", o.listen)
	if err != nil {
		return usageErr("--listen %s: %v", o.listen, err)
	}
	s := serve.New(serve.Options{
		Collect:  o.collectFunc(),
		Hints:    hints,
		Interval: o.interval,
		Log:      stderr,
	})
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(stderr, "lvsdoctor: serving on http://%s/ (/metrics, /report, /report.json, /healthz), a run every %s\n",
		printable.String(l.Addr().String()), o.interval)
	if err := s.Serve(ctx, l); err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	return nil
}

// collectFunc collects as 'lvsdoctor collect' does, into the run's
// directory. Its per-host lines are left out: serve logs one line a run,
// and the metrics say which hosts could not be collected.
func (o *serveOpts) collectFunc() serve.CollectFunc {
	return func(ctx context.Context, dir string) ([]*collect.Bundle, error) {
		return collectInto(ctx, io.Discard, &collectOpts{output: dir, host: o.host, role: o.role, remote: o.remote})
	}
}
