package cli

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lvsdoctor/lvsdoctor/internal/capture"
	"github.com/lvsdoctor/lvsdoctor/internal/casedir"
	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/engine"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/intake"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/tcpdump"
	"github.com/lvsdoctor/lvsdoctor/internal/report"
	"github.com/lvsdoctor/lvsdoctor/internal/rules"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
	"github.com/lvsdoctor/lvsdoctor/internal/trace"
)

type traceOpts struct {
	format  string
	vip     string
	port    int
	proto   string
	client  string
	mode    string
	roles   []string
	flows   int
	noColor bool
	verbose bool
}

func newTraceCmd() *cobra.Command {
	o := &traceOpts{}
	cmd := &cobra.Command{
		Use:   "trace PATH...",
		Short: "Follow the service's packets through captures taken at several points",
		Long: `Trace reads packet captures (pcap, pcapng; Ethernet, Linux cooked v1/v2,
raw IP; VLAN; IPIP, GRE, VXLAN) taken on the hosts a connection crosses and
shows, for each connection to the VIP, the hops it was seen at in path
order (client → director → bridge → real server → application → back),
what changed on the way (MACs rewritten, encapsulated, addresses
rewritten), and where it was last seen; then what the packets show:
connections not forwarded or lost between two points, real servers not
replying, replies lost, ARP conflicts, ICMP errors and who sent them,
tunnel MTU, SYN retransmissions, resets, VRRP adverts.

PATH is a capture file, a folder of captures, or a case directory (one
folder per host, with an optional role file and case.yaml, as diagnose
reads). A capture's host is its folder's name (case/rs1/eth0.pcap is on
rs1), else its file name (rs1.pcap); its role comes from the role file,
--role, the name, or what the packets show.

Without --vip, the VIP is the address the captures' connections are
forwarded for (or VRRP advertises). Captures are streamed: memory grows
with the connections to the VIP, not with the size of the files.

Exit status: 0 no critical finding, 1 critical finding(s), 2 usage or
input error.`,
		Example: `  lvsdoctor trace ./case
  lvsdoctor trace client.pcap ds1/eth0.pcap rs1/eth0.pcap --vip 192.0.2.100:80
  lvsdoctor trace *.pcap --role br0=hypervisor -o json | jq '.flows[0].hops'`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr("trace needs capture files or a case directory (see 'lvsdoctor trace --help')")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return runTrace(cmd, o, args) },
	}
	f := cmd.Flags()
	outputFlag(cmd, f, &o.format, "text", "output format: "+strings.Join(report.TraceFormats, ", "), report.TraceFormats...)
	f.StringVar(&o.vip, "vip", "", "virtual IP to follow (also VIP:PORT); found from the packets when not given")
	f.IntVar(&o.port, "port", 0, "virtual port")
	f.StringVar(&o.proto, "proto", "", "protocol: tcp, udp or sctp")
	f.StringVar(&o.client, "client", "", "follow only this client's connections")
	f.StringVar(&o.mode, "mode", "", "forwarding method to assume when the packets do not show it: dr, tun, nat, fnat")
	f.StringArrayVar(&o.roles, "role", nil, "HOST=ROLE: the role of a capture point (director, realserver, hypervisor, client, router); repeatable")
	f.IntVar(&o.flows, "flows", 3, "connections shown hop by hop in text output")
	f.BoolVar(&o.noColor, "no-color", false, "no ANSI colours in text output")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "list every input problem")
	_ = cmd.RegisterFlagCompletionFunc("proto", fixedCompletion("tcp", "udp", "sctp"))
	_ = cmd.RegisterFlagCompletionFunc("mode", fixedCompletion("dr", "tun", "nat", "fnat"))
	return cmd
}

func runTrace(cmd *cobra.Command, o *traceOpts, args []string) error {
	valid := false
	for _, f := range report.TraceFormats {
		valid = valid || f == o.format
	}
	if !valid {
		return usageErr("-o/--output %q: want %s", o.format, strings.Join(report.TraceFormats, ", "))
	}
	cfg, err := o.config()
	if err != nil {
		return err
	}
	roles, err := parseRoles(o.roles)
	if err != nil {
		return err
	}
	if len(args) == 1 && isCaseDir(args[0]) {
		return traceCase(cmd, o, cfg, roles, args[0])
	}
	var inputs []trace.Input
	var probs []evidence.Problem
	for _, a := range args {
		in, cc, err := traceInputs(a)
		if err != nil {
			return usageErr("%v", err)
		}
		inputs = append(inputs, in...)
		// case.yaml fills in what the flags leave open.
		if !cfg.VIP.IsValid() && cc.VIP.IsValid() {
			cfg.VIP = cc.VIP
			if cfg.Port == 0 {
				cfg.Port = cc.Port
			}
		}
		if cfg.Proto == "" {
			cfg.Proto = cc.Proto
		}
		if cfg.Mode == "" {
			cfg.Mode = cc.Mode
		}
	}
	if len(inputs) == 0 {
		return usageErr("no packet capture in %s", strings.Join(args, ", "))
	}
	for i := range inputs {
		if r, ok := roles[inputs[i].Host]; ok {
			inputs[i].Role = r
		}
	}
	r := trace.Run(inputs, cfg)
	r.Problems = append(probs, r.Problems...)
	return writeTraceResult(cmd, o, r)
}

// writeTraceResult prints r and sets the exit status from its findings.
func writeTraceResult(cmd *cobra.Command, o *traceOpts, r *trace.Result) error {
	err := report.WriteTrace(cmd.OutOrStdout(), o.format, r, report.TraceOptions{
		Options: report.Options{
			Color:   useColor(cmd.OutOrStdout(), o.noColor),
			Width:   termWidth(cmd.OutOrStdout()),
			Verbose: o.verbose,
		},
		Flows: o.flows,
	})
	if err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	for _, f := range r.Findings {
		if f.Severity == diagnosis.Critical {
			return &exitError{code: ExitCritical}
		}
	}
	return nil
}

// isCaseDir reports whether path is a case directory (host folders or a
// case.yaml), which trace reads as diagnose does, rather than a folder
// of loose captures named after their hosts.
func isCaseDir(path string) bool {
	entries, err := os.ReadDir(path)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") || e.Name() == "case.yaml" || e.Name() == "case.yml" {
			return true
		}
	}
	return false
}

// traceCase traces a case directory with the engine diagnose runs: the
// same evidence (captures and tcpdump printouts), the same packet path,
// and the same packet causes, ranked and linked as diagnose ranks them.
func traceCase(cmd *cobra.Command, o *traceOpts, cfg trace.Config, roles map[string]evidence.Role, dir string) error {
	c, err := intake.Load(dir)
	if err != nil {
		return usageErr("%v", err)
	}
	for _, h := range c.Hosts {
		if r, ok := roles[h.Name]; ok {
			h.Role = r
		}
	}
	if cfg.Client.IsValid() {
		c.Client = evidence.Endpoint{Addr: cfg.Client, Ref: evidence.Ref{Source: "--client"}}
	}
	d, path := engine.RunWithPath(c, topology.Hints{VIP: cfg.VIP, Port: cfg.Port, Proto: cfg.Proto, Mode: cfg.Mode}, rules.All())
	if path == nil {
		return usageErr("no packet capture or tcpdump printout in %s for the service (give --vip if it is not found)", dir)
	}
	r := &trace.Result{Path: path.Path, Notes: path.Notes, Problems: path.Problems, Findings: packetCauses(d, path)}
	return writeTraceResult(cmd, o, r)
}

// packetCauses are the diagnosis' findings of the causes the packets
// can show: those of the rules that read the packet path, and those the
// tracer names itself (ARP conflicts, ICMP errors, tunnel MTU).
func packetCauses(d *diagnosis.Diagnosis, path *trace.Result) []diagnosis.Finding {
	ids := map[string]bool{}
	for _, r := range rules.All() {
		if slices.Contains(r.Requires, rules.PacketPath) {
			ids[r.ID] = true
		}
	}
	for _, f := range path.Findings {
		ids[f.ID] = true
	}
	out := []diagnosis.Finding{}
	for _, f := range d.Findings {
		if ids[f.ID] {
			out = append(out, f)
		}
	}
	return out
}

func (o *traceOpts) config() (trace.Config, error) {
	var cfg trace.Config
	var err error
	cfg.VIP, cfg.Port, cfg.Proto, cfg.Mode, err = serviceFlags{vip: o.vip, port: o.port, proto: o.proto, mode: o.mode}.service()
	if err != nil {
		return cfg, err
	}
	if o.client != "" {
		a, err := netip.ParseAddr(o.client)
		if err != nil {
			return cfg, usageErr("--client %q: not an IP address", o.client)
		}
		cfg.Client = a
	}
	if o.flows < 0 {
		return cfg, usageErr("--flows %d: want 0 or more", o.flows)
	}
	return cfg, nil
}

func parseRoles(specs []string) (map[string]evidence.Role, error) {
	out := map[string]evidence.Role{}
	for _, s := range specs {
		host, role, ok := strings.Cut(s, "=")
		if !ok || host == "" {
			return nil, usageErr("--role %q: want HOST=ROLE", s)
		}
		r := evidence.Role(strings.ToLower(role))
		switch r {
		case evidence.RoleDirector, evidence.RoleRealServer, evidence.RoleHypervisor, evidence.RoleClient, evidence.RoleRouter:
		default:
			return nil, usageErr("--role %q: the role is one of director, realserver, hypervisor, client, router", s)
		}
		out[host] = r
	}
	return out, nil
}

// caseHints is what a case directory's case.yaml says of the service.
type caseHints struct {
	VIP   netip.Addr
	Port  uint16
	Proto string
	Mode  string
}

// traceInputs lists the captures under path with the host each was
// taken on.
func traceInputs(path string) ([]trace.Input, caseHints, error) {
	var hints caseHints
	st, err := os.Stat(path)
	if err != nil {
		return nil, hints, err
	}
	if !st.IsDir() {
		if !isCaptureFile(path) {
			return nil, hints, fmt.Errorf("%s: not a packet capture", path)
		}
		host := hostOfFile(path)
		return []trace.Input{{Point: trace.Point{Host: host, Role: roleFile(filepath.Dir(path)), Source: filepath.ToSlash(path), Iface: tcpdump.IfaceFromName(path)}, Path: path}}, hints, nil
	}
	hints = readCaseHints(path)
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, hints, err
	}
	var out []trace.Input
	for _, e := range entries {
		p := filepath.Join(path, e.Name())
		if e.IsDir() {
			// A host folder: its captures, role and interfaces.
			files, err := os.ReadDir(p)
			if err != nil {
				continue
			}
			host := &hostInfo{name: e.Name(), dir: p, role: roleFile(p)}
			for _, f := range files {
				fp := filepath.Join(p, f.Name())
				if f.Type().IsRegular() && isCaptureFile(fp) {
					out = append(out, host.input(fp, filepath.ToSlash(filepath.Join(e.Name(), f.Name()))))
				}
			}
			continue
		}
		if e.Type().IsRegular() && isCaptureFile(p) {
			out = append(out, trace.Input{Point: trace.Point{Host: hostOfFile(p), Source: e.Name(), Iface: tcpdump.IfaceFromName(e.Name())}, Path: p})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Source < out[j].Source })
	return out, hints, nil
}

// hostInfo is a host folder of a case: its interfaces are read once, for
// the MACs and addresses that tell its packets from others'.
type hostInfo struct {
	name, dir string
	role      evidence.Role
	h         *evidence.Host
}

func (hi *hostInfo) input(path, source string) trace.Input {
	if hi.h == nil {
		hi.h = readInterfaces(hi.name, hi.dir)
		hi.h.Role = hi.role
	}
	in := trace.Input{Point: trace.Point{Host: hi.name, Role: hi.role, Source: source, Iface: tcpdump.IfaceFromName(source)}, Path: path}
	for _, l := range hi.h.Links {
		if l.MAC != "" && l.MAC != "00:00:00:00:00:00" && l.Kind != "loopback" {
			in.MACs = append(in.MACs, l.MAC)
		}
		if l.Index > 0 && l.Name != "" {
			if in.IfNames == nil {
				in.IfNames = map[int]string{}
			}
			in.IfNames[l.Index] = l.Name
		}
	}
	for _, a := range hi.h.Addrs {
		// A real server's VIP on lo is not where its packets come from.
		if a.Iface != "lo" || hi.role != evidence.RoleRealServer {
			in.Addrs = append(in.Addrs, a.Prefix.Addr())
		}
	}
	return in
}

// readInterfaces reads a host folder's `ip link`/`ip addr` printouts.
func readInterfaces(name, dir string) *evidence.Host {
	h := evidence.NewHost(name)
	files, err := os.ReadDir(dir)
	if err != nil {
		return h
	}
	for _, f := range files {
		base := f.Name()
		lb := strings.ToLower(base)
		if !f.Type().IsRegular() || !(strings.Contains(lb, "link") || strings.Contains(lb, "addr") || strings.HasPrefix(lb, "ip-a") || strings.HasPrefix(lb, "ip_a")) {
			continue
		}
		p := filepath.Join(dir, base)
		if isCaptureFile(p) {
			continue
		}
		data, err := readSmall(p, 4<<20)
		if err != nil {
			continue
		}
		blocks := intake.SplitTranscript(string(data))
		for _, b := range blocks {
			k, _ := intake.Detect(b.Command, base, len(blocks) == 1, b.Text)
			if k != nil && (k.Name == "ip-link" || k.Name == "ip-addr") {
				k.Apply(evidence.Doc{Host: name, Source: p, Start: b.Start, Command: b.Command, Text: b.Text}, h)
			}
		}
	}
	return h
}

func isCaptureFile(p string) bool {
	f, _, err := casedir.OpenRegular(p)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 8)
	n, _ := io.ReadFull(f, head)
	if n < 4 || !capture.IsCapture(head[:n]) {
		return false
	}
	if head[0] == 0x1f && head[1] == 0x8b {
		// gzip: only when named as a capture.
		l := strings.ToLower(p)
		return strings.Contains(l, ".pcap") || strings.Contains(l, ".cap")
	}
	return true
}

// hostOfFile names the host a lone capture was taken on: its folder when
// that is a host folder (with a role file, or named like a host), else
// the file's name without its extension.
func hostOfFile(p string) string {
	dir := filepath.Base(filepath.Dir(p))
	if roleFile(filepath.Dir(p)) != "" || trace.RoleFromName(dir) != "" && dir != "." {
		return dir
	}
	base := filepath.Base(p)
	for {
		ext := filepath.Ext(base)
		if ext == "" || ext == base {
			break
		}
		switch strings.ToLower(ext) {
		case ".pcap", ".pcapng", ".cap", ".gz":
			base = strings.TrimSuffix(base, ext)
			continue
		}
		break
	}
	return base
}

// readSmall reads a file of a case that is a regular file of at most
// limit bytes: a FIFO or device named like evidence must not block.
func readSmall(p string, limit int64) ([]byte, error) {
	f, st, err := casedir.OpenNoFollow(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st.Size() > limit {
		return nil, fmt.Errorf("%s: larger than %s", p, casedir.Size(limit))
	}
	return casedir.Read(f, st.Size(), limit, nil)
}

// roleFile reads a host folder's role file.
func roleFile(dir string) evidence.Role {
	f, _, err := casedir.OpenNoFollow(filepath.Join(dir, "role"))
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 4096))
	for sc.Scan() {
		w := strings.ToLower(strings.TrimSpace(sc.Text()))
		if w == "" || strings.HasPrefix(w, "#") {
			continue
		}
		switch r := evidence.Role(strings.Fields(w)[0]); r {
		case evidence.RoleDirector, evidence.RoleRealServer, evidence.RoleHypervisor, evidence.RoleClient, evidence.RoleRouter:
			return r
		}
		if w == "real-server" || w == "rs" {
			return evidence.RoleRealServer
		}
		return ""
	}
	return ""
}

// readCaseHints reads vip, port, proto and mode from a case.yaml.
func readCaseHints(dir string) caseHints {
	var h caseHints
	for _, name := range []string{"case.yaml", "case.yml"} {
		f, _, err := casedir.OpenNoFollow(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(io.LimitReader(f, 64<<10))
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if !ok || strings.HasPrefix(strings.TrimSpace(k), "#") {
				continue
			}
			v = strings.Trim(strings.TrimSpace(v), `"'`)
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "vip":
				if a, p, err := intake.ParseVIP(v); err == nil {
					h.VIP = a
					if p != 0 {
						h.Port = p
					}
				}
			case "port":
				var n int
				if _, err := fmt.Sscanf(v, "%d", &n); err == nil && n > 0 && n < 65536 {
					h.Port = uint16(n)
				}
			case "proto":
				h.Proto = strings.ToLower(v)
			case "mode":
				h.Mode = intake.NormalizeMode(v)
			}
		}
		f.Close()
		break
	}
	return h
}
