// Package serve is lvsdoctor as a service: every interval it collects
// (this host, or the hosts of an inventory) with the code `lvsdoctor
// collect` runs, diagnoses the evidence with the engine `diagnose` runs,
// and keeps the latest result for Prometheus (/metrics) and for people
// (/report, /report.json). Latent faults — a leftover DROP, rp_filter
// turned strict on a real server, a service whose real servers all sit at
// weight 0 — are then seen when they appear, not at the next failover.
//
// It never changes a host: collection is read-only, and the only thing a
// run writes is its own temporary case directory, removed when the run
// ends. A run that fails leaves the last good result in place, and the
// metrics say that it failed and how old that result is.
package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/lvsdoctor/lvsdoctor/internal/collect"
	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/engine"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/intake"
	"github.com/lvsdoctor/lvsdoctor/internal/printable"
	"github.com/lvsdoctor/lvsdoctor/internal/report"
	"github.com/lvsdoctor/lvsdoctor/internal/rules"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

// DefaultInterval is the time between two runs' starts. bench/serve.sh
// measured a run at 0.55-0.61 s of CPU on a director with 1,000 real servers
// and 1,000,000 connections, and 1.5 s at 3,500,000 (the 256 MiB collect
// keeps of /proc/net/ip_vs_conn): 0.2 % and 0.5 % of one core every 5
// minutes, leaving room for what the benchmark cannot include (the
// kernel printing a real connection table). 1 % would allow a minute on
// the first; small directors may run every minute at 0.1 %.
const DefaultInterval = 5 * time.Minute

// DefaultRunTimeout bounds one run. Each collected command has its own
// timeout (30 s) and SSH its own; this one catches the rest, so that a
// wedged run cannot stop the ones after it.
const DefaultRunTimeout = 5 * time.Minute

// CollectFunc collects the evidence of one run into dir, a fresh case
// directory (one folder per host) that the run removes afterwards, and
// returns each host's bundle: a bundle whose Err is set is a host that
// could not be collected at all. An error means there is nothing to
// diagnose.
type CollectFunc func(ctx context.Context, dir string) ([]*collect.Bundle, error)

// Options configure a Server.
type Options struct {
	// Collect gathers one run's evidence (required).
	Collect CollectFunc
	// Hints name the service to diagnose, as diagnose's --vip and
	// friends do; zero means what the evidence shows.
	Hints topology.Hints
	// Interval between two runs' starts (0: DefaultInterval).
	Interval time.Duration
	// RunTimeout bounds one run (0: DefaultRunTimeout).
	RunTimeout time.Duration
	// TempDir holds the runs' case directories ("": os.TempDir()).
	TempDir string
	// Log gets one line per run (nil: nothing).
	Log io.Writer
}

// Server runs the diagnosis loop and serves its latest result.
type Server struct {
	opt      Options
	registry *prometheus.Registry

	mu    sync.Mutex
	state state
}

// state is what the runs so far left; the metrics and handlers read a
// copy of it.
type state struct {
	runs, failures uint64
	lastRun        time.Time     // when the latest run ended
	lastDuration   time.Duration // how long it took
	lastErr        string        // why it failed; "" when it succeeded
	// good is the latest successful run's result, nil before the first.
	good *result
}

// result is one successful run, reduced to what is served: the reports
// rendered, and the few fields the metrics need, with strings of their
// own (a Ref's text is a slice of the file it quotes, and holding one
// would keep a 100 MB connection table alive until the next run).
type result struct {
	at       time.Time // when the run ended
	verdict  string
	critical bool
	findings []findingRow
	problems map[string]int // input problems per host
	hosts    []hostRow
	services []serviceRow
	dests    []destRow
	conns    []hostCount // IPVS connection entries per host
	// reports by format: "text", "json", and "html" when the report
	// package renders it.
	reports map[string][]byte
}

type findingRow struct{ id, host, severity string }

type hostRow struct {
	name      string
	collected bool
	elapsed   time.Duration
}

type hostCount struct {
	host  string
	count int
}

type serviceRow struct {
	host, service, proto, scheduler string
	dests                           int
	stats                           *evidence.Stats
	rate                            *evidence.Rate
}

type destRow struct {
	host, service, realServer, method string
	weight, active, inactive          int
	stats                             *evidence.Stats
	rate                              *evidence.Rate
}

// New returns a Server; Run starts its runs, Handler serves them.
func New(opt Options) *Server {
	if opt.Interval <= 0 {
		opt.Interval = DefaultInterval
	}
	if opt.RunTimeout <= 0 {
		opt.RunTimeout = DefaultRunTimeout
	}
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	s := &Server{opt: opt, registry: prometheus.NewRegistry()}
	// The process's own CPU and memory beside the diagnosis: the cost of
	// running lvsdoctor is on the dashboard it is watched with.
	s.registry.MustRegister(metricsCollector{s},
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector())
	return s
}

// Interval is the time between two runs' starts.
func (s *Server) Interval() time.Duration { return s.opt.Interval }

// Run runs at once, then every interval until ctx ends. Runs never
// overlap: a run that takes longer than the interval delays the next,
// which then starts as soon as it ends.
func (s *Server) Run(ctx context.Context) {
	tick := time.NewTicker(s.opt.Interval)
	defer tick.Stop()
	for {
		_ = s.RunOnce(ctx)
		// select picks at random among ready cases: a tick pending at
		// shutdown would start runs bound to fail (and count as failures)
		if ctx.Err() != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// RunOnce collects, diagnoses and stores the result; on error the last
// good result stays and the error is what the metrics report.
func (s *Server) RunOnce(ctx context.Context) error {
	start := time.Now()
	res, err := s.diagnose(ctx)
	end := time.Now()
	s.mu.Lock()
	s.state.runs++
	s.state.lastRun, s.state.lastDuration = end, end.Sub(start)
	if err != nil {
		s.state.failures++
		s.state.lastErr = err.Error()
	} else {
		s.state.lastErr = ""
		s.state.good = res
	}
	good := s.state.good
	s.mu.Unlock()
	took := end.Sub(start).Round(time.Millisecond)
	switch {
	case err == nil:
		fmt.Fprintf(s.opt.Log, "lvsdoctor: run took %s: %s\n", took, summary(res))
	case good != nil:
		fmt.Fprintf(s.opt.Log, "lvsdoctor: run failed after %s: %s; still serving the result of %s\n",
			took, printable.String(err.Error()), good.at.Format(time.RFC3339))
	default:
		fmt.Fprintf(s.opt.Log, "lvsdoctor: run failed after %s: %s; no result to serve yet\n", took, printable.String(err.Error()))
	}
	return err
}

func summary(r *result) string {
	n := map[string]int{}
	for _, f := range r.findings {
		n[f.severity]++
	}
	failed := 0
	for _, h := range r.hosts {
		if !h.collected {
			failed++
		}
	}
	s := fmt.Sprintf("%s, %d findings (%d critical, %d warning), %d hosts", r.verdict, len(r.findings),
		n[string(diagnosis.Critical)], n[string(diagnosis.Warning)], len(r.hosts))
	if failed > 0 {
		s += fmt.Sprintf(", %d not collected", failed)
	}
	return s
}

// errNothing is a run whose collection gave no evidence at all.
var errNothing = errors.New("no evidence collected")

// diagnose is one run: collect into a temporary case directory, read it
// as diagnose reads a case, run the engine, render.
func (s *Server) diagnose(ctx context.Context) (res *result, err error) {
	// A long-running service must outlive a bug in a parser or renderer
	// that one host's evidence trips: the run fails, the next one runs.
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("internal error: %v (%s)", r, firstFrame(debug.Stack()))
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, s.opt.RunTimeout)
	defer cancel()
	dir, err := os.MkdirTemp(s.opt.TempDir, "lvsdoctor-serve-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bundles, err := s.opt.Collect(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	c, err := intake.Load(dir)
	if err != nil {
		return nil, err
	}
	if len(c.Hosts) == 0 {
		return nil, errNothing
	}
	d := engine.Run(c, s.opt.Hints, rules.All())
	res = &result{verdict: d.Coverage.Verdict, critical: d.HasCritical(), reports: map[string][]byte{}}
	for _, f := range reportFormats() {
		var b strings.Builder
		if err := report.Write(&b, f, d, report.Options{}); err != nil {
			return nil, fmt.Errorf("report %s: %w", f, err)
		}
		res.reports[f] = []byte(b.String())
	}
	res.fill(d, c, bundles)
	res.at = time.Now()
	return res, nil
}

// reportFormats are the formats a run renders: text and JSON, and HTML
// when the report package has it.
func reportFormats() []string {
	fs := []string{"text", "json"}
	if slices.Contains(report.Formats, "html") {
		fs = append(fs, "html")
	}
	return fs
}

// fill copies what the metrics need out of the diagnosis and the case.
func (r *result) fill(d *diagnosis.Diagnosis, c *evidence.Case, bundles []*collect.Bundle) {
	for _, f := range d.Findings {
		r.findings = append(r.findings, findingRow{id: label(f.ID), host: label(f.Host), severity: label(string(f.Severity))})
	}
	// every host has its series, 0 when all its evidence was read: an
	// absent series would not tell "none" from "not collected"
	r.problems = map[string]int{}
	for _, h := range d.Hosts {
		r.problems[label(h.Name)] = 0
	}
	for _, p := range d.Problems {
		r.problems[label(p.Host)]++
	}
	for _, b := range bundles {
		r.hosts = append(r.hosts, hostRow{name: label(b.Host), collected: b.Err == "", elapsed: b.Elapsed})
	}
	for _, h := range c.Hosts {
		if h.IPVS == nil {
			continue
		}
		host := label(h.Name)
		r.conns = append(r.conns, hostCount{host, h.IPVS.TotalConns})
		for _, vs := range h.IPVS.Services {
			svc := label(vs.Key())
			r.services = append(r.services, serviceRow{host: host, service: svc, proto: label(vs.Proto),
				scheduler: label(vs.Scheduler), dests: len(vs.Dests), stats: copyStats(vs.Stats), rate: copyRate(vs.Rate)})
			for _, rs := range vs.Dests {
				r.dests = append(r.dests, destRow{host: host, service: svc,
					realServer: label(netip.AddrPortFrom(rs.Addr, rs.Port).String()), method: method(rs.Method),
					weight: rs.Weight, active: rs.ActiveConn, inactive: rs.InActConn,
					stats: copyStats(rs.Stats), rate: copyRate(rs.Rate)})
			}
		}
	}
}

// method is the forwarding method as a label: the mode names lvsdoctor
// uses everywhere (dr, tun, nat, fnat), "local" for a real server on the
// director itself.
func method(m string) string {
	if mode := evidence.ModeOfMethod(m); mode != "" {
		return mode
	}
	return label(strings.ToLower(m))
}

func copyStats(s *evidence.Stats) *evidence.Stats {
	if s == nil {
		return nil
	}
	// the counters only: the Ref quotes the listing
	return &evidence.Stats{Conns: s.Conns, InPkts: s.InPkts, OutPkts: s.OutPkts, InBytes: s.InBytes, OutBytes: s.OutBytes}
}

func copyRate(r *evidence.Rate) *evidence.Rate {
	if r == nil {
		return nil
	}
	c := *r
	return &c
}

// label makes a label value of what a host or its evidence named: one
// printable line (a compromised host's name must not put escape
// sequences into an operator's alert), a string of its own.
func label(s string) string { return strings.Clone(printable.String(s)) }

func firstFrame(stack []byte) string {
	lines := strings.Split(string(stack), "\n")
	// goroutine header, debug.Stack, then the deferred function and the
	// panic: the frame that panicked follows "panic(".
	for i, l := range lines {
		if strings.HasPrefix(l, "panic(") && i+2 < len(lines) {
			return strings.TrimSpace(lines[i+2])
		}
	}
	return "no stack"
}

// snapshot is a copy of the state, safe to read without the lock: the
// result it points to is never changed after its run.
func (s *Server) snapshot() state {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}
