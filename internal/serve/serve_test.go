package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/lvsdoctor/lvsdoctor/internal/collect"
)

// The runs read real lab cases (testdata/lab: evidence gathered from
// real directors and real servers), copied into the run's directory as
// collect would have written them.
func labCase(name string) CollectFunc {
	return func(_ context.Context, dir string) ([]*collect.Bundle, error) {
		src := filepath.Join("..", "..", "testdata", "lab", name)
		if err := copyTree(src, dir); err != nil {
			return nil, err
		}
		var bs []*collect.Bundle
		ents, _ := os.ReadDir(src)
		for _, e := range ents {
			if e.IsDir() {
				bs = append(bs, &collect.Bundle{Host: e.Name(), Elapsed: 40 * time.Millisecond})
			}
		}
		return bs, nil
	}
}

func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		// streamed: the benchmark copies a 70 MB connection table, which
		// must not count in the run's peak memory
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		out, err := os.Create(dst)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, src); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}

// switchable collects whatever its current function says: a test
// changes the case between runs, as a host changes between intervals.
type switchable struct {
	mu sync.Mutex
	f  CollectFunc
}

func (s *switchable) set(f CollectFunc) { s.mu.Lock(); s.f = f; s.mu.Unlock() }
func (s *switchable) collect(ctx context.Context, dir string) ([]*collect.Bundle, error) {
	s.mu.Lock()
	f := s.f
	s.mu.Unlock()
	return f(ctx, dir)
}

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec
}

// scrape returns the metric families /metrics serves, parsed as
// Prometheus parses them.
func scrape(t *testing.T, s *Server) map[string]*dto.MetricFamily {
	t.Helper()
	rec := get(t, s.Handler(), "/metrics")
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d %s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return mfs
}

// value is the value of the series of name whose labels include want;
// ok is false when there is none.
func value(mfs map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

func mustValue(t *testing.T, mfs map[string]*dto.MetricFamily, name string, want map[string]string, v float64) {
	t.Helper()
	got, ok := value(mfs, name, want)
	if !ok {
		t.Errorf("%s%v: no such series", name, want)
		return
	}
	if got != v {
		t.Errorf("%s%v = %v, want %v", name, want, got, v)
	}
}

// The IPVS metrics are the director's ipvsadm listings, with the
// forwarding method as a label: testdata/lab/dr-healthy/director's
// ipvsadm-Ln, -Ln --stats and -Ln --rate.
func TestMetricsOfAHealthyDirector(t *testing.T) {
	s := New(Options{Collect: labCase("dr-healthy"), Interval: time.Minute})
	if err := s.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := scrape(t, s)
	mustValue(t, m, "lvsdoctor_up", nil, 1)
	mustValue(t, m, "lvsdoctor_runs_total", nil, 1)
	mustValue(t, m, "lvsdoctor_run_failures_total", nil, 0)
	mustValue(t, m, "lvsdoctor_interval_seconds", nil, 60)
	mustValue(t, m, "lvsdoctor_critical", nil, 0)
	mustValue(t, m, "lvsdoctor_host_up", map[string]string{"host": "rs1"}, 1)
	mustValue(t, m, "lvsdoctor_input_problems", map[string]string{"host": "director"}, 0)
	svc := map[string]string{"host": "director", "service": "TCP 192.0.2.100:80", "proto": "TCP", "scheduler": "rr"}
	mustValue(t, m, "lvsdoctor_ipvs_service_real_servers", svc, 2)
	mustValue(t, m, "lvsdoctor_ipvs_service_connections_total", svc, 4)
	mustValue(t, m, "lvsdoctor_ipvs_service_incoming_packets_total", svc, 28)
	mustValue(t, m, "lvsdoctor_ipvs_service_incoming_bytes_total", svc, 1560)
	mustValue(t, m, "lvsdoctor_ipvs_service_incoming_bytes_per_second", svc, 46)
	mustValue(t, m, "lvsdoctor_ipvs_service_incoming_packets_per_second", svc, 1)
	rs := map[string]string{"host": "director", "service": "TCP 192.0.2.100:80", "real_server": "192.0.2.11:80", "method": "dr"}
	mustValue(t, m, "lvsdoctor_ipvs_real_server_weight", rs, 1)
	mustValue(t, m, "lvsdoctor_ipvs_real_server_active_connections", rs, 0)
	mustValue(t, m, "lvsdoctor_ipvs_real_server_inactive_connections", rs, 2)
	mustValue(t, m, "lvsdoctor_ipvs_real_server_connections_total", rs, 2)
	mustValue(t, m, "lvsdoctor_ipvs_real_server_incoming_bytes_total", rs, 780)
	mustValue(t, m, "lvsdoctor_ipvs_real_server_incoming_bytes_per_second", rs, 23)
	mustValue(t, m, "lvsdoctor_ipvs_real_server_outgoing_packets_total", rs, 0)
	if mf := m["lvsdoctor_ipvs_real_server_weight"]; mf == nil || len(mf.Metric) != 4 {
		t.Errorf("want 2 real servers on each of 2 directors, got %v", mf)
	}
	if mf := m["lvsdoctor_ipvs_service_connections_total"]; mf == nil || mf.GetType() != dto.MetricType_COUNTER {
		t.Errorf("IPVS counters must be counters: %v", mf)
	}
	if _, ok := m["process_cpu_seconds_total"]; !ok {
		t.Error("no process metrics: the cost of the service is not on the dashboard")
	}
	for _, f := range m["lvsdoctor_findings"].GetMetric() {
		for _, l := range f.Label {
			if l.GetName() == "severity" && l.GetValue() == "critical" {
				t.Errorf("critical finding on the healthy lab case: %v", f.Label)
			}
		}
	}
}

// A finding is a series while it lasts and is gone from the next scrape
// once a run no longer finds it: alerts clear when the fault is fixed.
func TestFindingsFollowTheLatestRun(t *testing.T) {
	sw := &switchable{f: labCase("director.no-available-realserver")}
	s := New(Options{Collect: sw.collect})
	if err := s.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := scrape(t, s)
	f := map[string]string{"id": "director.no-available-realserver", "host": "director", "severity": "critical"}
	mustValue(t, m, "lvsdoctor_findings", f, 1)
	mustValue(t, m, "lvsdoctor_critical", nil, 1)
	mustValue(t, m, "lvsdoctor_verdict", map[string]string{"verdict": "findings"}, 1)
	rs := map[string]string{"host": "director", "real_server": "192.0.2.12:80", "method": "dr"}
	mustValue(t, m, "lvsdoctor_ipvs_real_server_weight", rs, 0)

	sw.set(labCase("dr-healthy"))
	if err := s.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	m = scrape(t, s)
	if _, ok := value(m, "lvsdoctor_findings", f); ok {
		t.Error("the finding is still served after a run that no longer finds it")
	}
	if _, ok := value(m, "lvsdoctor_verdict", map[string]string{"verdict": "findings"}); ok {
		t.Error("the old verdict is still served")
	}
	mustValue(t, m, "lvsdoctor_critical", nil, 0)
	mustValue(t, m, "lvsdoctor_ipvs_real_server_weight", rs, 1)
}

// A failed run keeps the last good result served and says so: up 0,
// the success time unchanged, the failure counted, the report marked.
func TestFailedRunKeepsTheLastGoodResult(t *testing.T) {
	sw := &switchable{f: labCase("director.no-available-realserver")}
	var logs bytes.Buffer
	s := New(Options{Collect: sw.collect, Log: &logs})
	h := s.Handler()
	if rec := get(t, h, "/report"); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("/report before any run: %d, want 503", rec.Code)
	}
	if err := s.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := scrape(t, s)
	success, _ := value(m, "lvsdoctor_last_success_timestamp_seconds", nil)

	sw.set(func(context.Context, string) ([]*collect.Bundle, error) {
		return nil, errors.New("no host could be collected")
	})
	if err := s.RunOnce(context.Background()); err == nil {
		t.Fatal("the failing run reported no error")
	}
	m = scrape(t, s)
	mustValue(t, m, "lvsdoctor_up", nil, 0)
	mustValue(t, m, "lvsdoctor_runs_total", nil, 2)
	mustValue(t, m, "lvsdoctor_run_failures_total", nil, 1)
	mustValue(t, m, "lvsdoctor_last_success_timestamp_seconds", nil, success)
	if last, _ := value(m, "lvsdoctor_last_run_timestamp_seconds", nil); last <= success {
		t.Errorf("last run %v not after the last success %v", last, success)
	}
	mustValue(t, m, "lvsdoctor_findings", map[string]string{"id": "director.no-available-realserver"}, 1)
	rec := get(t, h, "/report")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "STALE: the latest run") ||
		!strings.Contains(rec.Body.String(), "director.no-available-realserver") {
		t.Errorf("/report after a failed run:\n%s", rec.Body)
	}
	if rec := get(t, h, "/report.json"); rec.Header().Get("X-Lvsdoctor-Stale") == "" {
		t.Error("/report.json after a failed run does not say it is stale")
	}
	if !strings.Contains(logs.String(), "still serving the result of") {
		t.Errorf("the log does not say the old result is served:\n%s", logs.String())
	}
	// and it recovers
	sw.set(labCase("dr-healthy"))
	if err := s.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	mustValue(t, scrape(t, s), "lvsdoctor_up", nil, 1)
	if rec := get(t, h, "/report"); strings.Contains(rec.Body.String(), "STALE") {
		t.Error("the report is still marked stale after a good run")
	}
}

// /report.json is the lvsdoctor/v1 document diagnose -o json prints;
// /report the human report; /healthz answers.
func TestReportEndpoints(t *testing.T) {
	s := New(Options{Collect: labCase("director.no-available-realserver")})
	h := s.Handler()
	if rec := get(t, h, "/healthz"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "first run") {
		t.Errorf("/healthz before the first run: %d %s", rec.Code, rec.Body)
	}
	if err := s.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec := get(t, h, "/report.json")
	var d struct {
		Schema   string
		Findings []struct{ ID string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil || d.Schema != "lvsdoctor/v1" || len(d.Findings) == 0 ||
		d.Findings[0].ID != "director.no-available-realserver" {
		t.Errorf("/report.json: %v %+v\n%.300s", err, d, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("/report.json Content-Type %q", ct)
	}
	rec = get(t, h, "/report")
	ct := rec.Header().Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "text/html"):
		if !strings.Contains(rec.Body.String(), "director.no-available-realserver") {
			t.Errorf("/report (HTML) lacks the finding:\n%.500s", rec.Body)
		}
	case strings.HasPrefix(ct, "text/plain"):
		if !strings.Contains(rec.Body.String(), "director.no-available-realserver") {
			t.Errorf("/report (text) lacks the finding:\n%.500s", rec.Body)
		}
	default:
		t.Errorf("/report Content-Type %q", ct)
	}
	if rec := get(t, h, "/healthz"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "latest run ended") {
		t.Errorf("/healthz: %d %s", rec.Code, rec.Body)
	}
	if rec := get(t, h, "/nothing"); rec.Code != 404 {
		t.Errorf("/nothing: %d", rec.Code)
	}
}

// Each run's case directory is its own and is gone when the run ends.
func TestRunsCleanUpTheirDirectory(t *testing.T) {
	tmp := t.TempDir()
	var dirs []string
	base := labCase("dr-healthy")
	s := New(Options{TempDir: tmp, Collect: func(ctx context.Context, dir string) ([]*collect.Bundle, error) {
		dirs = append(dirs, dir)
		return base(ctx, dir)
	}})
	for range 2 {
		if err := s.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(dirs) != 2 || dirs[0] == dirs[1] {
		t.Fatalf("runs' directories: %v", dirs)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("left behind in %s: %v", tmp, ents)
	}
}

// The first run starts at once, not an interval later, and runs never
// overlap even when one takes longer than the interval.
func TestRunLoopStartsAtOnceAndNeverOverlaps(t *testing.T) {
	var inFlight, most, runs atomic.Int32
	first := make(chan struct{})
	base := labCase("dr-healthy")
	s := New(Options{Interval: 10 * time.Millisecond, Collect: func(ctx context.Context, dir string) ([]*collect.Bundle, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		if runs.Add(1) == 1 {
			close(first)
		}
		time.Sleep(30 * time.Millisecond) // three intervals
		return base(ctx, dir)
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	select {
	case <-first:
	case <-time.After(10 * time.Second):
		t.Fatal("no run started")
	}
	for runs.Load() < 4 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if most.Load() != 1 {
		t.Errorf("%d runs at once", most.Load())
	}

	// an interval of an hour: the first run must not wait for it
	slow := New(Options{Interval: time.Hour, Collect: labCase("dr-healthy")})
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	go slow.Run(ctx)
	deadline := time.Now().Add(20 * time.Second)
	for slow.snapshot().runs == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the first run did not start at once")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Shutdown ends the loop: no run starts once the context is done, even
// with a tick pending (select would pick it half the time).
func TestNoRunStartsAfterShutdown(t *testing.T) {
	for i := 0; i < 20; i++ {
		var calls atomic.Int32
		started := make(chan struct{})
		s := New(Options{Interval: time.Millisecond, Collect: func(ctx context.Context, dir string) ([]*collect.Bundle, error) {
			if calls.Add(1) == 1 {
				close(started)
			}
			<-ctx.Done() // a run under way at shutdown, longer than the interval
			return nil, ctx.Err()
		}})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { s.Run(ctx); close(done) }()
		<-started
		time.Sleep(5 * time.Millisecond) // ticks pile up behind the run
		cancel()
		<-done
		if n := calls.Load(); n != 1 {
			t.Fatalf("%d runs, want the one under way at shutdown", n)
		}
	}
}

// A host whose name carries control characters (a compromised host
// names itself) gets a printable label, and the scrape still works.
func TestHostileHostNamesArePrintableLabels(t *testing.T) {
	base := labCase("dr-healthy")
	s := New(Options{Collect: func(ctx context.Context, dir string) ([]*collect.Bundle, error) {
		bs, err := base(ctx, dir)
		if err != nil {
			return nil, err
		}
		if err := os.Rename(filepath.Join(dir, "director"), filepath.Join(dir, "ds\x1b]52;c;x\a")); err != nil {
			return nil, err
		}
		bs = append(bs, &collect.Bundle{Host: "evil\x1b[2J", Err: "ssh: refused"})
		return bs, nil
	}})
	if err := s.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec := get(t, s.Handler(), "/metrics")
	body := rec.Body.String()
	if strings.ContainsAny(body, "\x1b\a") {
		t.Error("a control character reached /metrics")
	}
	m := scrape(t, s)
	mustValue(t, m, "lvsdoctor_host_up", map[string]string{"host": `evil\x1b[2J`}, 0)
	if _, ok := value(m, "lvsdoctor_ipvs_real_server_weight", map[string]string{"host": `ds\x1b]52;c;x\a`}); !ok {
		t.Errorf("the renamed director's real servers are not served:\n%s", body)
	}
}

// promtool, Prometheus' own linter, accepts what /metrics serves.
func TestPromtoolChecksMetrics(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian package prometheus; scripts/test-deps installs it)")
	}
	s := New(Options{Collect: labCase("director.no-available-realserver")})
	if err := s.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	body := get(t, s.Handler(), "/metrics").Body.String()
	if err := checkMetrics(promtool, strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}
}

// checkMetrics runs promtool check metrics on an exposition.
func checkMetrics(promtool string, exposition io.Reader) error {
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = exposition
	out, err := cmd.CombinedOutput()
	if err != nil {
		return errors.New("promtool check metrics: " + err.Error() + "\n" + string(out))
	}
	return nil
}

// A run that panics (a parser tripped by hostile evidence) fails alone:
// the service keeps serving the last good result and the next run runs.
func TestPanickingRunFailsAlone(t *testing.T) {
	sw := &switchable{f: labCase("dr-healthy")}
	s := New(Options{Collect: sw.collect})
	if err := s.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	sw.set(func(context.Context, string) ([]*collect.Bundle, error) { panic("index out of range") })
	err := s.RunOnce(context.Background())
	if err == nil || !strings.Contains(err.Error(), "internal error: index out of range") {
		t.Fatalf("panicking run: %v", err)
	}
	m := scrape(t, s)
	mustValue(t, m, "lvsdoctor_up", nil, 0)
	mustValue(t, m, "lvsdoctor_run_failures_total", nil, 1)
	mustValue(t, m, "lvsdoctor_ipvs_service_real_servers", map[string]string{"host": "director"}, 2)
	sw.set(labCase("dr-healthy"))
	if err := s.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	mustValue(t, scrape(t, s), "lvsdoctor_up", nil, 1)
}
