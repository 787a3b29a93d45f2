package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lvsdoctor/lvsdoctor/internal/droptrace"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/intake"
	"github.com/lvsdoctor/lvsdoctor/internal/printable"
	"github.com/lvsdoctor/lvsdoctor/internal/rules"
)

type watchOpts struct {
	vip      string
	port     int
	proto    string
	duration time.Duration
	netns    string
	format   string
	fib      bool
	nftrace  bool
	all      bool
	mode     string
	counters bool
	probe    bool
}

func newWatchCmd() *cobra.Command {
	o := &watchOpts{}
	cmd := &cobra.Command{
		Use:   "watch --vip IP[:PORT]",
		Short: "Watch the kernel drop the service's packets, and say why",
		Long: `Watch attaches to the kernel's drop tracepoint (skb:kfree_skb, eBPF),
keeps only the packets of the VIP (filtered in the kernel, outer or IPIP
inner header), and prints each drop with the kernel's reason, the kernel
function that dropped it, the network namespace, the device and the
packet, with the cause of the catalog the reason points to.

Reproduce the failure while it runs (or pass --probe to have it connect to
the VIP itself). Save the output into a host folder of a case (as
watch.txt) and diagnose reads it.

  --fib       adds the route lookups of the VIP: next to an IP_RPFILTER
              drop, the reverse lookup shows where the reply would go
  --nftrace   adds nftables trace events naming the rule of a
              NETFILTER_DROP; the kernel traces only packets a rule marks
              (nft add rule inet filter prerouting ip daddr VIP meta
              nftrace set 1): lvsdoctor never adds rules itself

Where the kernel has kprobes and ip_vs is loaded, IPVS's own decisions are
probed too (IPVS_NO_SERVICE, IPVS_NO_DEST, IPVS_DROP), telling a packet
IPVS refused apart from a firewall drop.

Without eBPF (no BTF, not root) or with --counters it falls back to
counter deltas (/proc/net/snmp, netstat, per-device drop counters) around
the reproduction, and says what those can and cannot tell.

Read-only: nothing on the host is changed; events lost because the ring
buffer was full are counted and reported.`,
		Example: `  sudo lvsdoctor watch --vip 192.0.2.100:80 --duration 30s
  sudo lvsdoctor watch --vip 192.0.2.100 --netns rs1 --fib > case/rs1/watch.txt
  sudo lvsdoctor watch --vip 192.0.2.100:80 --probe --duration 3s -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runWatch(cmd, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.vip, "vip", "", "the VIP (IPv4), optionally VIP:PORT")
	f.IntVar(&o.port, "port", 0, "the service port (0: any)")
	f.StringVar(&o.proto, "proto", "", "tcp, udp, icmp or ipip (default: any)")
	f.DurationVar(&o.duration, "duration", 30*time.Second, "how long to watch (Ctrl-C ends it early)")
	f.StringVar(&o.netns, "netns", "", "only this network namespace (an `ip netns` name)")
	outputFlag(cmd, f, &o.format, "text", "text (a line per event, as it happens) or json (one document at the end)", "text", "json")
	f.BoolVar(&o.fib, "fib", false, "also show the VIP's route lookups (rp_filter attribution)")
	f.BoolVar(&o.nftrace, "nftrace", false, "also show nftables trace events (needs a 'meta nftrace set 1' rule)")
	f.BoolVar(&o.all, "all", false, "also show benign drops (NOT_SPECIFIED at TCP teardown, TCP_OLD_DATA)")
	f.StringVar(&o.mode, "mode", "auto", "attach mode: auto, tp_btf or raw_tp")
	f.BoolVar(&o.counters, "counters", false, "use counter deltas instead of eBPF")
	f.BoolVar(&o.probe, "probe", false, "connect to the VIP a few times while watching (from this host)")
	_ = cmd.RegisterFlagCompletionFunc("proto", fixedCompletion("tcp", "udp", "icmp", "ipip"))
	_ = cmd.RegisterFlagCompletionFunc("mode", fixedCompletion("auto", "tp_btf", "raw_tp"))
	return cmd
}

func (o *watchOpts) filter() (droptrace.Filter, error) {
	if o.vip == "" {
		return droptrace.Filter{}, usageErr("watch needs --vip (the service's virtual IP)")
	}
	vip, port, err := intake.ParseVIP(o.vip)
	if err != nil || !vip.Is4() {
		return droptrace.Filter{}, usageErr("--vip %q: want an IPv4 address, optionally with :PORT", o.vip)
	}
	if o.port != 0 {
		if o.port < 0 || o.port > 65535 {
			return droptrace.Filter{}, usageErr("--port %d: not a port number", o.port)
		}
		port = uint16(o.port)
	}
	switch o.proto {
	case "", "tcp", "udp", "icmp", "ipip":
	default:
		return droptrace.Filter{}, usageErr("--proto %q: want tcp, udp, icmp or ipip", o.proto)
	}
	switch o.format {
	case "text", "json", "lines": // lines: diagnose --watch, kept, not printed
	default:
		return droptrace.Filter{}, usageErr("-o/--output %q: want text or json", o.format)
	}
	return droptrace.Filter{Addr: vip, Port: port, Proto: o.proto, Netns: o.netns}, nil
}

func runWatch(cmd *cobra.Command, o *watchOpts) error {
	f, err := o.filter()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, err = watch(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), o, f)
	return err
}

// watchResult is the JSON document of a watch (lvsdoctor-watch/v1).
type watchResult struct {
	Schema   string         `json:"schema"`
	Filter   string         `json:"filter"`
	Mode     string         `json:"mode"`
	Events   []watchEvent   `json:"events"`
	FIB      []watchFIB     `json:"fib,omitempty"`
	NFTrace  []watchNFT     `json:"nftrace,omitempty"`
	Stats    watchStats     `json:"stats"`
	Counters []watchCounter `json:"counters,omitempty"`
	Warnings []string       `json:"warnings,omitempty"`
}

type watchTuple struct {
	Proto    string `json:"proto"`
	Src      string `json:"src"`
	Dst      string `json:"dst"`
	SPort    uint16 `json:"sport,omitempty"`
	DPort    uint16 `json:"dport,omitempty"`
	TCPFlags string `json:"tcp_flags,omitempty"`
	ICMPType uint8  `json:"icmp_type,omitempty"`
	ICMPCode uint8  `json:"icmp_code,omitempty"`
}

// watchEvent is a drop as written: the kernel's skb address is left out
// (a kernel pointer in a report would weaken KASLR).
type watchEvent struct {
	Time       time.Time   `json:"time"`
	Reason     string      `json:"reason"`
	ReasonCode uint32      `json:"reason_code"`
	Location   string      `json:"location"`
	Netns      string      `json:"netns,omitempty"`
	NetnsInode uint32      `json:"netns_inode,omitempty"`
	Dev        string      `json:"dev,omitempty"`
	Ifindex    int         `json:"ifindex,omitempty"`
	Len        int         `json:"len"`
	Mark       uint32      `json:"mark,omitempty"`
	By         string      `json:"by,omitempty"`
	Packet     watchTuple  `json:"packet"`
	Inner      *watchTuple `json:"inner,omitempty"`
	Causes     []string    `json:"causes,omitempty"`
	Line       string      `json:"line"`
}

type watchFIB struct {
	Time  time.Time `json:"time"`
	Table uint32    `json:"table"`
	Src   string    `json:"src"`
	Dst   string    `json:"dst"`
	Iif   int       `json:"iif"`
	Oif   int       `json:"oif"`
	Dev   string    `json:"dev,omitempty"`
	Netns string    `json:"netns,omitempty"`
	Err   int       `json:"err,omitempty"`
	Line  string    `json:"line"`
}

type watchNFT struct {
	Time    time.Time `json:"time"`
	Family  string    `json:"family"`
	Table   string    `json:"table"`
	Chain   string    `json:"chain"`
	Handle  uint64    `json:"handle,omitempty"`
	Type    string    `json:"type"`
	Verdict string    `json:"verdict,omitempty"`
	Comment string    `json:"comment,omitempty"`
	Netns   string    `json:"netns,omitempty"`
	Line    string    `json:"line"`
}

type watchStats struct {
	Calls   uint64 `json:"calls"`
	Matched uint64 `json:"matched"`
	Lost    uint64 `json:"lost"`
}

type watchCounter struct {
	Name  string `json:"name"`
	Delta int64  `json:"delta"`
	Means string `json:"means,omitempty"`
}

func tupleJSON(t droptrace.Tuple) watchTuple {
	return watchTuple{Proto: t.Proto, Src: t.Src.String(), Dst: t.Dst.String(), SPort: t.SPort, DPort: t.DPort,
		TCPFlags: t.TCPFlags, ICMPType: t.ICMPType, ICMPCode: t.ICMPCode}
}

func eventJSON(e droptrace.Event, line string) watchEvent {
	w := watchEvent{Time: e.Time, Reason: e.Reason, ReasonCode: e.ReasonCode, Location: e.Location, Netns: e.Netns,
		NetnsInode: e.NetnsInode, Dev: e.Dev, Ifindex: e.Ifindex, Len: e.Len, Mark: e.Mark, Packet: tupleJSON(e.Packet),
		Causes: causesOf(e.Reason), Line: line}
	if e.Inner != nil {
		in := tupleJSON(*e.Inner)
		w.Inner = &in
	}
	return w
}

// watch runs one watch, printing text lines as events come (format text)
// or the whole document at the end (json). It returns the text lines, the
// form diagnose reads back.
func watch(ctx context.Context, out, errw io.Writer, o *watchOpts, f droptrace.Filter) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	res := watchResult{Schema: "lvsdoctor-watch/v1", Filter: filterText(f)}
	var lines []string
	emit := func(l string) {
		lines = append(lines, l)
		if o.format == "text" {
			// Device, netns, nftables table, chain and counter names are
			// the host's: a container can name an interface with an ESC
			// in it (the kernel refuses only '/', ':' and spaces).
			fmt.Fprintln(out, printable.String(l))
		}
	}
	why := droptrace.Supported()
	if o.counters || why != nil {
		if why != nil {
			fmt.Fprintf(errw, "lvsdoctor watch: no eBPF here (%s): counter deltas instead\n", printable.String(why.Error()))
		}
		res.Mode = "counters"
		deltas, err := watchCounters(ctx, errw, o, f)
		if err != nil {
			return nil, &exitError{code: ExitUsage, err: err}
		}
		for _, d := range deltas {
			res.Counters = append(res.Counters, watchCounter{Name: d.Name, Delta: d.Delta, Means: d.Means})
		}
		emit(fmt.Sprintf("counter deltas in netns %s over %s:", orDash(f.Netns), o.duration))
		for _, d := range deltas {
			emit(fmt.Sprintf("  %-32s %+d  %s", d.Name, d.Delta, d.Means))
		}
		return lines, writeWatchJSON(out, o, res)
	}
	t, err := droptrace.Start(ctx, f, droptrace.Options{Mode: o.mode, FIB: o.fib, NFTrace: o.nftrace, ShowBenign: o.all})
	if err != nil {
		return nil, &exitError{code: ExitUsage, err: fmt.Errorf("watch: %w", err)}
	}
	res.Warnings = t.Warnings()
	for _, w := range res.Warnings {
		fmt.Fprintln(errw, "lvsdoctor watch:", printable.String(w))
	}
	st := t.Stats()
	fmt.Fprintf(errw, "lvsdoctor watch: attached (mode %s), %s, for %s\n", printable.String(st.Mode), printable.String(res.Filter), o.duration)
	if o.probe && f.Port != 0 {
		go probeVIP(ctx, f)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for x := range t.FIB() {
			mu.Lock()
			l := fibLine(x)
			res.FIB = append(res.FIB, watchFIB{Time: x.Time, Table: x.Table, Src: x.Src.String(), Dst: x.Dst.String(),
				Iif: x.Iif, Oif: x.Oif, Dev: x.Dev, Netns: x.Netns, Err: x.Err, Line: l})
			emit(l)
			mu.Unlock()
		}
	}()
	go func() {
		defer wg.Done()
		for x := range t.NFTrace() {
			mu.Lock()
			l := nftLine(x)
			res.NFTrace = append(res.NFTrace, watchNFT{Time: x.Time, Family: x.Family, Table: x.Table, Chain: x.Chain,
				Handle: x.Handle, Type: x.Type, Verdict: x.Verdict, Comment: x.Comment, Netns: x.Netns, Line: l})
			emit(l)
			mu.Unlock()
		}
	}()
	// The events are read until the channel closes: Close, called when
	// the time is up, first drains the ring buffer into it.
	closed := make(chan error, 1)
	go func() {
		<-ctx.Done()
		closed <- t.Close()
	}()
	ipvsDropped := map[uint64]bool{} // skbs IPVS's hook dropped
	for e := range t.Events() {
		mu.Lock()
		by := ""
		switch {
		case e.Reason == droptrace.IPVSDrop && e.SKB != 0:
			if len(ipvsDropped) > 4096 {
				clear(ipvsDropped)
			}
			ipvsDropped[e.SKB] = true
		case e.Reason == "NETFILTER_DROP" && ipvsDropped[e.SKB]:
			// the netfilter verdict was IPVS's hook's, not a rule's
			by = "ipvs"
			delete(ipvsDropped, e.SKB)
		}
		l := eventLine(e, by)
		ev := eventJSON(e, l)
		if by != "" {
			ev.By, ev.Causes = by, nil
		}
		res.Events = append(res.Events, ev)
		emit(l)
		mu.Unlock()
	}
	err = <-closed
	wg.Wait()
	st = t.Stats()
	res.Mode = st.Mode
	res.Stats = watchStats{Calls: st.Calls, Matched: st.Matched, Lost: st.Lost}
	emit(fmt.Sprintf("lvsdoctor watch: %d events; bpf: calls=%d matched=%d lost=%d", len(res.Events), st.Calls, st.Matched, st.Lost))
	if st.Lost > 0 {
		fmt.Fprintf(errw, "lvsdoctor watch: %d events LOST (ring buffer full): there were more drops than shown\n", st.Lost)
	}
	if err != nil {
		fmt.Fprintln(errw, "lvsdoctor watch:", printable.String(err.Error()))
	}
	return lines, writeWatchJSON(out, o, res)
}

func writeWatchJSON(out io.Writer, o *watchOpts, res watchResult) error {
	if o.format != "json" {
		return nil
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// watchCounters is the fallback: counter snapshots around the duration.
func watchCounters(ctx context.Context, errw io.Writer, o *watchOpts, f droptrace.Filter) ([]droptrace.CounterDelta, error) {
	a, err := droptrace.Counters(f.Netns)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(errw, "lvsdoctor watch: reading counters for %s; reproduce the failure now\n", o.duration)
	if o.probe && f.Port != 0 {
		go probeVIP(ctx, f)
	}
	<-ctx.Done()
	b, err := droptrace.Counters(f.Netns)
	if err != nil {
		return nil, err
	}
	return a.Delta(b), nil
}

// probeVIP connects to the VIP a few times, as a user reproducing would.
func probeVIP(ctx context.Context, f droptrace.Filter) {
	addr := netip.AddrPortFrom(f.Addr, f.Port).String()
	for i := 0; i < 3 && ctx.Err() == nil; i++ {
		d := net.Dialer{Timeout: time.Second}
		if c, err := d.DialContext(ctx, "tcp", addr); err == nil {
			_ = c.Close()
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// causesOf names the causes a drop reason points to (any role).
func causesOf(reason string) []string { return rules.CausesOfDrop(reason, evidence.RoleUnknown) }

// eventLine prints an event as the watch text format (the droptrace
// prototype's, which internal/parse/droptrace reads back).
func eventLine(e droptrace.Event, by string) string {
	var b strings.Builder
	kind := "kfree_skb"
	if strings.HasPrefix(e.Reason, "IPVS_") {
		kind = "ipvs"
	}
	fmt.Fprintf(&b, "%s %s reason=%s(%d) at=%s netns=%s dev=%s/%d ", e.Time.Format("15:04:05.000000"), kind, e.Reason, e.ReasonCode,
		orDash(e.Location), netnsText(e.Netns, e.NetnsInode), orDash(e.Dev), e.Ifindex)
	if e.Inner != nil {
		fmt.Fprintf(&b, "ipip[%s>%s] %s", e.Packet.Src, e.Packet.Dst, tupleText(*e.Inner))
	} else {
		b.WriteString(tupleText(e.Packet))
	}
	fmt.Fprintf(&b, " len=%d", e.Len)
	if by != "" {
		b.WriteString(" by=" + by)
	} else if c := causesOf(e.Reason); len(c) > 0 {
		b.WriteString(" cause=" + strings.Join(c, "|"))
	}
	return b.String()
}

func tupleText(t droptrace.Tuple) string {
	ep := func(a netip.Addr, p uint16) string {
		if t.Proto == "tcp" || t.Proto == "udp" {
			return netip.AddrPortFrom(a, p).String()
		}
		return a.String()
	}
	s := fmt.Sprintf("%s %s > %s", t.Proto, ep(t.Src, t.SPort), ep(t.Dst, t.DPort))
	switch t.Proto {
	case "tcp":
		s += " flags=" + t.TCPFlags
	case "icmp":
		s += fmt.Sprintf(" type=%d code=%d", t.ICMPType, t.ICMPCode)
	}
	return s
}

func fibLine(x droptrace.FIBLookup) string {
	dev := x.Dev
	if dev == "" {
		dev = "err" + strconv.Itoa(x.Err)
	}
	return fmt.Sprintf("%s fib_table_lookup table=%d %s -> %s iif=%d oif=%d => dev=%s/%d netns=%s",
		x.Time.Format("15:04:05.000000"), x.Table, x.Src, x.Dst, x.Iif, x.Oif, dev, x.Ifindex, netnsText(x.Netns, x.NetnsInode))
}

func nftLine(x droptrace.NFTraceEvent) string {
	s := fmt.Sprintf("%s trace id=%08x %s %s %s type=%s", x.Time.Format("15:04:05.000000"), x.ID, x.Family, x.Table, x.Chain, x.Type)
	if x.Type == "rule" {
		s += fmt.Sprintf(" rule-handle=%d verdict=%s iif=%d", x.Handle, x.Verdict, x.Iif)
		if !x.PacketUnknown {
			s += " " + tupleText(x.Packet)
		}
		if x.Comment != "" {
			s += fmt.Sprintf(" comment=%q", x.Comment)
		}
	} else if x.Verdict != "" {
		s += " verdict=" + x.Verdict
	}
	return s
}

func netnsText(name string, inode uint32) string {
	switch {
	case name != "" && inode != 0:
		return fmt.Sprintf("%s:%d", name, inode)
	case name != "":
		return name
	case inode != 0:
		return strconv.FormatUint(uint64(inode), 10)
	}
	return "-"
}

func filterText(f droptrace.Filter) string {
	s := "ip=" + f.Addr.String()
	if f.Port != 0 {
		s += " port=" + strconv.Itoa(int(f.Port))
	}
	if f.Proto != "" {
		s += " proto=" + f.Proto
	}
	if f.Netns != "" {
		s += " netns=" + f.Netns
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
