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
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/lvsdoctor/lvsdoctor/internal/collect"
	"github.com/lvsdoctor/lvsdoctor/internal/printable"
)

type collectOpts struct {
	output         string
	host           string
	role           string
	keepalivedConf []string
	list           bool
	remote         remoteOpts
}

func newCollectCmd() *cobra.Command {
	o := &collectOpts{}
	cmd := &cobra.Command{
		Use:   "collect [--output DIR] [--inventory FILE]",
		Short: "Gather evidence, read-only, from this host or over SSH",
		Long: `Collect gathers the evidence diagnose needs into a case directory, one
folder per host, read-only: nothing on the host is changed.

Without --inventory it collects the host it runs on: links, addresses,
routes, rules and neighbours (netlink), listening sockets (sock_diag),
sysctls (/proc/sys), IPVS (/proc/net/ip_vs*, ipvsadm only when ip_vs is
already loaded), firewall rules (nft -j, iptables-save -c, legacy
ebtables), conntrack and SNMP counters, keepalived.conf with its includes
and keepalived's log, the kernel and installed kernels, the DMI vendor
(cloud detection), libvirt domains and nwfilters on a hypervisor.

With --inventory FILE it collects every host listed there over SSH, with
the commands those hosts already have; nothing is installed on them.
Hosts are reached as ssh reaches them: ~/.ssh/config then
/etc/ssh/ssh_config are read for each host's address (Host aliases,
HostName, User, Port, IdentityFile, ProxyJump chains, StrictHostKeyChecking
accept-new, UserKnownHostsFile, ConnectTimeout, IdentitiesOnly); what the
inventory says wins. ProxyCommand and the other settings that would reach
a host another way are refused, naming the file and line. --ssh-config
FILE reads that file instead (as ssh -F); --ssh-config none reads none.

Nothing is loaded into the kernel: IPVS, nftables, conntrack and
sock_diag are read only when their module is already there (asking for
them would load it). Secrets are redacted: keepalived auth_pass (replaced
by as many '*'), password/secret/token/key settings, private key blocks.
Without root, what needs root is skipped and noted in the host folder's
.collect/manifest.yaml, which records how each file was obtained.`,
		Example: `  # this host, into ./case/$(hostname -s)
  sudo lvsdoctor collect --output case --role director

  # the whole cluster over SSH, then diagnose
  lvsdoctor collect --inventory cluster.yaml --output case
  lvsdoctor diagnose case

  # hosts listed by their ~/.ssh/config aliases (hosts: [lb-ds1, lb-rs1]),
  # with the configuration of a jump box rather than one's own
  lvsdoctor collect --inventory aliases.yaml --ssh-config ./ssh_config --dir case

  # what would be collected
  lvsdoctor collect --list`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runCollect(cmd, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.output, "dir", "", "case directory to write (default lvsdoctor-case-TIME)")
	// --output was the directory before -o/--output became the output
	// format everywhere: it keeps working for one release.
	f.StringVar(&o.output, "output", "", "case directory to write")
	_ = f.MarkHidden("output")
	f.StringVar(&o.host, "host", "", "host folder name (default: this host's short name)")
	f.StringVar(&o.role, "role", "", "role of this host: director, realserver, hypervisor, client, router")
	f.StringSliceVar(&o.keepalivedConf, "keepalived-conf", nil, "keepalived configuration to collect besides the running ones' and "+collect.DefaultKeepalivedConf)
	f.BoolVar(&o.list, "list", false, "list what is collected and exit")
	o.remote.flags(f)
	_ = cmd.RegisterFlagCompletionFunc("role", fixedCompletion("director", "realserver", "hypervisor", "client", "router"))
	return cmd
}

func runCollect(cmd *cobra.Command, o *collectOpts) error {
	if o.list {
		return listItems(cmd.OutOrStdout())
	}
	if err := checkRole(o.role); err != nil {
		return err
	}
	if o.output == "" {
		o.output = "lvsdoctor-case-" + time.Now().Format("20060102-150405")
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, err := collectInto(ctx, cmd.ErrOrStderr(), o)
	if err != nil {
		return err
	}
	out := printable.String(o.output)
	fmt.Fprintf(cmd.ErrOrStderr(), "evidence in %s; next: lvsdoctor diagnose %s\n", out, out)
	return nil
}

// collectInto collects into o.output (local or inventory) and reports on w.
func collectInto(ctx context.Context, w io.Writer, o *collectOpts) ([]*collect.Bundle, error) {
	var bundles []*collect.Bundle
	remote := o.remote.inventory != ""
	if remote {
		var err error
		// written host by host as each one's output arrives
		bundles, err = o.remote.collect(ctx, w, o.output)
		if err != nil {
			return nil, err
		}
	} else {
		if os.Geteuid() != 0 {
			fmt.Fprintln(w, "lvsdoctor: not root: collecting what a user can read (firewall rules, some sysctls and the journal need root)")
		}
		bundles = []*collect.Bundle{collect.Local(ctx, collect.Options{Host: o.host, Role: o.role, KeepalivedConf: o.keepalivedConf})}
	}
	if err := os.MkdirAll(o.output, 0o700); err != nil {
		return nil, &exitError{code: ExitUsage, err: err}
	}
	failed := 0
	for _, b := range bundles {
		if b.Err != "" {
			failed++
			writeBundle(w, b, "")
			continue
		}
		dir := b.Folder(o.output)
		if !remote {
			var err error
			if dir, err = b.Write(o.output); err != nil {
				return bundles, &exitError{code: ExitUsage, err: err}
			}
		}
		writeBundle(w, b, dir)
	}
	if failed == len(bundles) {
		return bundles, &exitError{code: ExitUsage, err: fmt.Errorf("no host could be collected")}
	}
	return bundles, nil
}

// writeBundle reports one host's collection (dir is "" when it failed).
// Host and file names, and the errors, come from the remote host: a
// compromised one must not get to write to the user's terminal.
func writeBundle(w io.Writer, b *collect.Bundle, dir string) {
	if dir == "" {
		fmt.Fprintf(w, "lvsdoctor: %s\n", printable.String(b.Summary()))
		return
	}
	fmt.Fprintf(w, "lvsdoctor: %s -> %s\n", printable.String(b.Summary()), printable.String(dir))
	for _, f := range b.Files {
		if f.Err != "" {
			fmt.Fprintf(w, "  %s: %s\n", printable.String(f.Name), printable.String(f.Err))
		}
	}
}

func listItems(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE\tWHAT\tFROM\tONLY WHEN")
	for _, it := range collect.Items() {
		from := strings.Join(it.Cmd, " ")
		switch {
		case it.Go != nil:
			from = "in-process (remote: " + from + ")"
		case it.Path != "":
			from = it.Path
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", it.File, it.Doc, from, guardText(it.Guard))
	}
	fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", filepath.Join("etc/keepalived", "…"), "keepalived.conf and its includes", "running keepalived's -f, "+collect.DefaultKeepalivedConf, "")
	return tw.Flush()
}

func guardText(g collect.Guard) string {
	var parts []string
	for _, c := range g {
		parts = append(parts, c.Shell)
	}
	return strings.Join(parts, " && ")
}

func checkRole(r string) error {
	switch r {
	case "", "director", "realserver", "hypervisor", "client", "router":
		return nil
	}
	return usageErr("--role %q: want director, realserver, hypervisor, client or router", r)
}
