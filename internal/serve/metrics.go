package serve

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// The metrics are built at each scrape from the latest result (a custom
// collector, not registered gauges): a finding that is gone, or a real
// server removed, disappears from the next scrape instead of lingering as
// a stale series.

var (
	upDesc = newDesc("lvsdoctor_up",
		"1 when the latest run collected and diagnosed; 0 when it failed (the other metrics are then the last good run's) or before the first run ends.", nil)
	runDurationDesc = newDesc("lvsdoctor_run_duration_seconds",
		"How long the latest run took: collection, diagnosis and rendering.", nil)
	lastRunDesc = newDesc("lvsdoctor_last_run_timestamp_seconds",
		"When the latest run ended, successful or not.", nil)
	lastSuccessDesc = newDesc("lvsdoctor_last_success_timestamp_seconds",
		"When the run whose result is served ended; absent before the first successful run.", nil)
	intervalDesc = newDesc("lvsdoctor_interval_seconds",
		"Time between two runs' starts (--interval).", nil)
	runsDesc = newDesc("lvsdoctor_runs_total",
		"Runs ended since start.", nil)
	failuresDesc = newDesc("lvsdoctor_run_failures_total",
		"Runs that failed since start.", nil)

	findingDesc = newDesc("lvsdoctor_findings",
		"One series per finding of the served diagnosis, value 1: the cause id, the host it is on, its severity (critical, warning, info).",
		[]string{"id", "host", "severity"})
	criticalDesc = newDesc("lvsdoctor_critical",
		"1 when the served diagnosis has a critical root cause (diagnose's exit status 1).", nil)
	verdictDesc = newDesc("lvsdoctor_verdict",
		"The served diagnosis's verdict, value 1: findings, no-problem, partial (most checks could not run), no-service, nothing-usable.",
		[]string{"verdict"})
	problemsDesc = newDesc("lvsdoctor_input_problems",
		"Evidence of the served run that could not be read (a garbled line, an unknown file), per host.",
		[]string{"host"})
	hostUpDesc = newDesc("lvsdoctor_host_up",
		"1 when the host was collected in the served run, 0 when it could not be (SSH refused, timed out).",
		[]string{"host"})
	hostCollectDesc = newDesc("lvsdoctor_host_collect_duration_seconds",
		"How long collecting the host took in the served run.", []string{"host"})
	connEntriesDesc = newDesc("lvsdoctor_ipvs_connection_entries",
		"Entries of the host's IPVS connection table (ipvsadm -Lnc, /proc/net/ip_vs_conn) when collected.",
		[]string{"host"})

	serviceLabels = []string{"host", "service", "proto", "scheduler"}
	destLabels    = []string{"host", "service", "real_server", "method"}

	serviceDestsDesc = newDesc("lvsdoctor_ipvs_service_real_servers",
		"Real servers configured for the virtual service, whatever their weight.", serviceLabels)
	weightDesc = newDesc("lvsdoctor_ipvs_real_server_weight",
		"The real server's weight; 0 takes it out of scheduling.", destLabels)
	activeDesc = newDesc("lvsdoctor_ipvs_real_server_active_connections",
		"Active connections to the real server (ipvsadm ActiveConn).", destLabels)
	inactiveDesc = newDesc("lvsdoctor_ipvs_real_server_inactive_connections",
		"Inactive connections to the real server (ipvsadm InActConn).", destLabels)

	serviceStats = newStatDescs("lvsdoctor_ipvs_service", "virtual service", serviceLabels)
	destStats    = newStatDescs("lvsdoctor_ipvs_real_server", "real server", destLabels)
)

// statDescs are the IPVS counters (ipvsadm --stats) and rates (--rate)
// of a service or a real server.
type statDescs struct {
	conns, inPkts, outPkts, inBytes, outBytes *prometheus.Desc
	cps, inPPS, outPPS, inBPS, outBPS         *prometheus.Desc
}

func newStatDescs(prefix, what string, labels []string) statDescs {
	d := func(name, help string) *prometheus.Desc {
		return newDesc(prefix+"_"+name, help+" of the "+what+".", labels)
	}
	return statDescs{
		conns:    d("connections_total", "Connections scheduled (ipvsadm --stats Conns)"),
		inPkts:   d("incoming_packets_total", "Packets in (ipvsadm --stats InPkts)"),
		outPkts:  d("outgoing_packets_total", "Packets out (ipvsadm --stats OutPkts); 0 in DR and TUN, where replies bypass the director"),
		inBytes:  d("incoming_bytes_total", "Bytes in (ipvsadm --stats InBytes)"),
		outBytes: d("outgoing_bytes_total", "Bytes out (ipvsadm --stats OutBytes)"),
		cps:      d("connections_per_second", "Connection rate as the kernel estimates it (ipvsadm --rate CPS)"),
		inPPS:    d("incoming_packets_per_second", "Incoming packet rate (ipvsadm --rate InPPS)"),
		outPPS:   d("outgoing_packets_per_second", "Outgoing packet rate (ipvsadm --rate OutPPS)"),
		inBPS:    d("incoming_bytes_per_second", "Incoming byte rate (ipvsadm --rate InBPS)"),
		outBPS:   d("outgoing_bytes_per_second", "Outgoing byte rate (ipvsadm --rate OutBPS)"),
	}
}

func (d statDescs) all() []*prometheus.Desc {
	return []*prometheus.Desc{d.conns, d.inPkts, d.outPkts, d.inBytes, d.outBytes, d.cps, d.inPPS, d.outPPS, d.inBPS, d.outBPS}
}

// metricNames are the names newDesc was given, in order.
var metricNames []string

func newDesc(name, help string, labels []string) *prometheus.Desc {
	metricNames = append(metricNames, name)
	return prometheus.NewDesc(name, help, labels, nil)
}

// MetricNames lists every metric name serve exports of its own (not the
// process_ and go_ metrics of client_golang): the dashboard and the
// alerting rules must use only these, which their tests check.
func MetricNames() []string { return append([]string(nil), metricNames...) }

func allDescs() []*prometheus.Desc {
	ds := []*prometheus.Desc{upDesc, runDurationDesc, lastRunDesc, lastSuccessDesc, intervalDesc, runsDesc, failuresDesc,
		findingDesc, criticalDesc, verdictDesc, problemsDesc, hostUpDesc, hostCollectDesc, connEntriesDesc,
		serviceDestsDesc, weightDesc, activeDesc, inactiveDesc}
	ds = append(ds, serviceStats.all()...)
	return append(ds, destStats.all()...)
}

type metricsCollector struct{ s *Server }

func (c metricsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs() {
		ch <- d
	}
}

func (c metricsCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.snapshot()
	e := emitter{ch: ch, seen: map[string]bool{}}
	e.gauge(upDesc, b2f(st.runs > 0 && st.lastErr == "" && st.good != nil))
	e.gauge(intervalDesc, c.s.opt.Interval.Seconds())
	e.counter(runsDesc, float64(st.runs))
	e.counter(failuresDesc, float64(st.failures))
	if st.runs > 0 {
		e.gauge(runDurationDesc, st.lastDuration.Seconds())
		e.gauge(lastRunDesc, unix(st.lastRun))
	}
	r := st.good
	if r == nil {
		return
	}
	e.gauge(lastSuccessDesc, unix(r.at))
	e.gauge(criticalDesc, b2f(r.critical))
	e.gauge(verdictDesc, 1, r.verdict)
	for _, f := range r.findings {
		e.gauge(findingDesc, 1, f.id, f.host, f.severity)
	}
	for h, n := range r.problems {
		e.gauge(problemsDesc, float64(n), h)
	}
	for _, h := range r.hosts {
		e.gauge(hostUpDesc, b2f(h.collected), h.name)
		e.gauge(hostCollectDesc, h.elapsed.Seconds(), h.name)
	}
	for _, h := range r.conns {
		e.gauge(connEntriesDesc, float64(h.count), h.host)
	}
	for _, s := range r.services {
		lv := []string{s.host, s.service, s.proto, s.scheduler}
		e.gauge(serviceDestsDesc, float64(s.dests), lv...)
		e.stats(serviceStats, s.stats, s.rate, lv)
	}
	for _, d := range r.dests {
		lv := []string{d.host, d.service, d.realServer, d.method}
		e.gauge(weightDesc, float64(d.weight), lv...)
		e.gauge(activeDesc, float64(d.active), lv...)
		e.gauge(inactiveDesc, float64(d.inactive), lv...)
		e.stats(destStats, d.stats, d.rate, lv)
	}
}

// emitter sends metrics, each series once: evidence may list a service
// or a real server twice (two listings pasted), and a series sent twice
// fails the whole scrape.
type emitter struct {
	ch   chan<- prometheus.Metric
	seen map[string]bool
}

func (e emitter) send(d *prometheus.Desc, t prometheus.ValueType, v float64, lv ...string) {
	key := d.String() + "\xff" + joinLabels(lv)
	if e.seen[key] {
		return
	}
	e.seen[key] = true
	m, err := prometheus.NewConstMetric(d, t, v, lv...)
	if err != nil {
		// a label value client_golang refuses: the series is left out,
		// the scrape goes on
		return
	}
	e.ch <- m
}

func (e emitter) gauge(d *prometheus.Desc, v float64, lv ...string) {
	e.send(d, prometheus.GaugeValue, v, lv...)
}

func (e emitter) counter(d *prometheus.Desc, v float64, lv ...string) {
	e.send(d, prometheus.CounterValue, v, lv...)
}

func (e emitter) stats(d statDescs, s *evidence.Stats, r *evidence.Rate, lv []string) {
	if s != nil {
		e.counter(d.conns, float64(s.Conns), lv...)
		e.counter(d.inPkts, float64(s.InPkts), lv...)
		e.counter(d.outPkts, float64(s.OutPkts), lv...)
		e.counter(d.inBytes, float64(s.InBytes), lv...)
		e.counter(d.outBytes, float64(s.OutBytes), lv...)
	}
	if r != nil {
		e.gauge(d.cps, float64(r.CPS), lv...)
		e.gauge(d.inPPS, float64(r.InPPS), lv...)
		e.gauge(d.outPPS, float64(r.OutPPS), lv...)
		e.gauge(d.inBPS, float64(r.InBPS), lv...)
		e.gauge(d.outBPS, float64(r.OutBPS), lv...)
	}
}

func joinLabels(lv []string) string {
	n := 0
	for _, v := range lv {
		n += len(v) + 1
	}
	b := make([]byte, 0, n)
	for _, v := range lv {
		b = append(b, v...)
		b = append(b, 0xff)
	}
	return string(b)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
