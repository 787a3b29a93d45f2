package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"

	"github.com/lvsdoctor/lvsdoctor/internal/collect"
	"github.com/lvsdoctor/lvsdoctor/internal/inventory"
	"github.com/lvsdoctor/lvsdoctor/internal/printable"
	"github.com/lvsdoctor/lvsdoctor/internal/sshconfig"
	"github.com/lvsdoctor/lvsdoctor/internal/sshexec"
)

// remoteOpts are the flags of collection over SSH, shared by collect and
// diagnose.
type remoteOpts struct {
	inventory   string
	sshConfig   string
	knownHosts  []string
	acceptNew   bool
	noAgent     bool
	concurrency int
}

func (r *remoteOpts) flags(f *pflag.FlagSet) {
	f.StringVar(&r.inventory, "inventory", "", "YAML inventory of hosts to collect over SSH (see 'lvsdoctor collect --help')")
	f.StringVar(&r.sshConfig, "ssh-config", "", "ssh client configuration for the inventory's hosts: Host aliases, HostName, User, Port, IdentityFile, ProxyJump, StrictHostKeyChecking... (default ~/.ssh/config then /etc/ssh/ssh_config; 'none' reads none)")
	f.StringSliceVar(&r.knownHosts, "known-hosts", nil, "known_hosts files (default ~/.ssh/known_hosts, /etc/ssh/ssh_known_hosts)")
	f.BoolVar(&r.acceptNew, "accept-new-host-keys", false, "accept and record host keys not seen before (a changed key is still refused)")
	f.BoolVar(&r.noAgent, "no-agent", false, "do not use the ssh-agent at SSH_AUTH_SOCK")
	f.IntVar(&r.concurrency, "concurrency", sshexec.DefaultConcurrency, "hosts collected at once")
}

func (r *remoteOpts) collect(ctx context.Context, w io.Writer, root string) ([]*collect.Bundle, error) {
	cfg, err := sshconfig.Load(r.sshConfig)
	if err != nil {
		return nil, &exitError{code: ExitUsage, err: fmt.Errorf("%w (--ssh-config none reads no ssh configuration)", err)}
	}
	hosts, err := inventory.LoadWith(r.inventory, inventory.Options{
		SSHConfig: cfg,
		Warn:      func(msg string) { fmt.Fprintf(w, "lvsdoctor: warning: %s\n", printable.String(msg)) },
	})
	if err != nil {
		return nil, &exitError{code: ExitUsage, err: err}
	}
	opt := sshexec.Options{KnownHosts: r.knownHosts, Agent: !r.noAgent, Concurrency: r.concurrency}
	if r.acceptNew {
		opt.HostKeys = sshexec.AcceptNew
	}
	tty := isTerminal(w)
	opt.Progress = func(e sshexec.Event) { writeProgress(w, e, tty) }
	return collect.RemoteInto(ctx, hosts, opt, root), nil
}

// writeProgress prints one line per host as it ends; on a terminal the
// count leads. The error text is the remote's (its sshd, its shell) and
// the names are the inventory's: all escaped, to one line each.
func writeProgress(w io.Writer, e sshexec.Event, tty bool) {
	if e.Kind != sshexec.HostDone {
		return
	}
	status := "ok"
	if res := e.Result; res.Err != nil {
		status = "FAILED: " + printable.String(res.Err.Error())
	}
	if tty {
		fmt.Fprintf(w, "[%d/%d] ", e.Done, e.Total)
	}
	fmt.Fprintf(w, "%s (%s) %s %s\n", printable.String(e.Host.Name), printable.String(e.Host.Address), e.Result.Elapsed.Round(time.Millisecond), status)
}
