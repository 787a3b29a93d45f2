package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// What ships in deploy/ for Prometheus and Grafana is checked against
// what serve exports: a renamed metric must not leave an alert that can
// never fire or a dashboard panel that stays empty.

var (
	rulesFile     = filepath.Join("..", "..", "deploy", "prometheus", "lvsdoctor.rules.yml")
	rulesTestFile = filepath.Join("..", "..", "deploy", "prometheus", "lvsdoctor.rules.test.yml")
	dashboardFile = filepath.Join("..", "..", "deploy", "grafana", "lvsdoctor.json")
)

func needPromtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian package prometheus; scripts/test-deps installs it)")
	}
	return p
}

// exported is every metric name a scrape of serve can hold: its own
// (MetricNames) and client_golang's process_ and go_ metrics, as a real
// scrape after a run shows them.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, n := range MetricNames() {
		names[n] = true
	}
	s := New(Options{Collect: labCase("dr-healthy")})
	if err := s.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	for n := range scrape(t, s) {
		names[n] = true
	}
	return names
}

// promtool checks the rules and runs their unit tests
// (lvsdoctor.rules.test.yml): each alert fires on the series serve
// exports, when it should and not before.
func TestAlertingRules(t *testing.T) {
	promtool := needPromtool(t)
	for _, args := range [][]string{{"check", "rules", rulesFile}, {"test", "rules", rulesTestFile}} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	var rf struct {
		Groups []struct {
			Rules []struct {
				Alert, Expr string
			}
		}
	}
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &rf); err != nil {
		t.Fatal(err)
	}
	names := exported(t)
	var alerts []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			for _, m := range metricsIn(r.Expr) {
				if !names[m] {
					t.Errorf("alert %s: %s is not a metric serve exports", r.Alert, m)
				}
			}
		}
	}
	for _, want := range []string{"LVSDoctorCriticalFinding", "LVSDoctorRunsFailing", "LVSDoctorStale", "LVSDoctorNoAvailableRealServer", "LVSDoctorWarningFinding"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no alert %s in %s", want, rulesFile)
		}
	}
}

// The dashboard is JSON Grafana can load, each query is PromQL the real
// parser (promtool's) accepts, and each names metrics serve exports.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title, UID string
		Panels     []struct {
			Title, Type string
			Targets     []struct{ Expr string }
		}
		Templating struct {
			List []struct {
				Name, Type string
				Query      any
			}
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if dash.Title == "" || dash.UID == "" {
		t.Errorf("dashboard without title or uid")
	}
	var exprs []string
	for _, p := range dash.Panels {
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	// label_values(METRIC{...}, label) of the variables: the metric
	// must exist too
	labelValues := regexp.MustCompile(`^label_values\((.*),\s*\w+\)$`)
	for _, v := range dash.Templating.List {
		if q, ok := v.Query.(map[string]any); ok {
			if m := labelValues.FindStringSubmatch(fmt.Sprint(q["query"])); m != nil {
				exprs = append(exprs, m[1])
			}
		}
	}
	if len(exprs) < 10 {
		t.Fatalf("%d queries in the dashboard", len(exprs))
	}
	names := exported(t)
	for _, e := range exprs {
		ms := metricsIn(grafanaToPromQL(e))
		if len(ms) == 0 {
			t.Errorf("query names no metric: %s", e)
		}
		for _, m := range ms {
			if !names[m] {
				t.Errorf("%s is not a metric serve exports: %s", m, e)
			}
		}
	}
	// the syntax, by Prometheus' own parser: every query as a recording
	// rule, through promtool check rules
	promtool := needPromtool(t)
	var rf strings.Builder
	rf.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, e := range exprs {
		q, _ := json.Marshal(grafanaToPromQL(e)) // a JSON string is a YAML string
		fmt.Fprintf(&rf, "      - record: dashboard:query%d\n        expr: %s\n", i, q)
	}
	p := filepath.Join(t.TempDir(), "dashboard.rules.yml")
	if err := os.WriteFile(p, []byte(rf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", p).CombinedOutput(); err != nil {
		t.Errorf("dashboard queries do not parse: %v\n%s", err, out)
	}
}

// grafanaToPromQL replaces Grafana's variables with what they expand to.
func grafanaToPromQL(e string) string {
	return strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$job", ".*", "$instance", ".*").Replace(e)
}

var (
	promqlStrings   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	promqlMatchers  = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]`)
	promqlGrouping  = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlNumbers   = regexp.MustCompile(`\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?:ms|[smhdwy])*\b`)
	promqlIdent     = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?`)
	promqlNotMetric = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true,
		"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
		"inf": true, "nan": true, "Inf": true, "NaN": true}
)

// metricsIn lists the metric names a PromQL expression selects: the
// identifiers left once strings, label matchers, ranges, grouping
// label lists and numbers (5m, 1e3) are taken out, other than functions and keywords.
func metricsIn(expr string) []string {
	e := promqlStrings.ReplaceAllString(expr, `""`)
	e = promqlMatchers.ReplaceAllString(e, " ")
	e = promqlGrouping.ReplaceAllString(e, " ")
	e = promqlNumbers.ReplaceAllString(e, " ")
	seen := map[string]bool{}
	for _, m := range promqlIdent.FindAllStringSubmatch(e, -1) {
		id := strings.TrimRight(strings.TrimSuffix(strings.TrimSpace(m[0]), "("), " ")
		if m[1] != "" || promqlNotMetric[id] {
			continue // a function call or a keyword
		}
		seen[id] = true
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func TestMetricsIn(t *testing.T) {
	for expr, want := range map[string]string{
		`lvsdoctor_findings{severity="critical"} == 1`:                                                     "lvsdoctor_findings",
		`count by (severity) (lvsdoctor_findings{job=~".*"})`:                                              "lvsdoctor_findings",
		`a unless on (job, instance) (b > 0)`:                                                              "a b",
		`rate(process_cpu_seconds_total{instance=~"x"}[5m]) * 8 or vector(0)`:                              "process_cpu_seconds_total",
		`time() - lvsdoctor_last_success_timestamp_seconds > 3 * lvsdoctor_interval_seconds`:               "lvsdoctor_interval_seconds lvsdoctor_last_success_timestamp_seconds",
		`sum without (le) (x_bucket{a="by (b)"}) / ignoring(le) group_left(instance) y offset 5m > bool 1`: "x_bucket y",
	} {
		if got := strings.Join(metricsIn(expr), " "); got != want {
			t.Errorf("metricsIn(%s) = %q, want %q", expr, got, want)
		}
	}
}

// The systemd unit is one systemd accepts, and as hardened as its
// comments say: systemd's own exposure score, and only the three
// capabilities collection reads with.
func TestSystemdUnit(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (Debian package systemd)")
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "packaging", "lvsdoctor.service"))
	if err != nil {
		t.Fatal(err)
	}
	unit := string(b)
	if !strings.Contains(unit, "\nExecStart=/usr/bin/lvsdoctor serve --listen ") {
		t.Fatal("ExecStart is not /usr/bin/lvsdoctor serve --listen ...")
	}
	var caps []string
	for _, l := range strings.Split(unit, "\n") {
		if v, ok := strings.CutPrefix(l, "CapabilityBoundingSet="); ok {
			caps = append(caps, strings.Fields(v)...)
		}
	}
	if got := strings.Join(caps, " "); got != "CAP_NET_ADMIN CAP_NET_RAW CAP_SYSLOG" {
		t.Errorf("capability bounding set %q", got)
	}
	for _, want := range []string{"NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "ProtectKernelTunables=yes", "PrivateDevices=yes"} {
		if !strings.Contains(unit, "\n"+want+"\n") {
			t.Errorf("the unit lacks %s", want)
		}
	}
	// verify checks that ExecStart's program exists: this test binary
	// stands in for /usr/bin/lvsdoctor
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "lvsdoctor.service")
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(unit, "/usr/bin/lvsdoctor", self)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(sa, "verify", "--man=no", p).CombinedOutput(); err != nil {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err := exec.Command(sa, "security", "--offline=true", p).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for lvsdoctor.service: ([0-9.]+)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	// 0 is a sealed box, 10 a unit with no hardening; up to 3.9 systemd
	// calls OK. Ours is bounded by what reading a director needs: root's
	// files, netlink, the host's network, the kernel log (README: the
	// 2.5 and what each remaining point is for).
	var level float64
	fmt.Sscan(m[1], &level)
	if level > 2.5 {
		t.Errorf("exposure level %s, want 2.5 or less:\n%s", m[1], out)
	}
	t.Logf("systemd-analyze security: exposure level %s", m[1])
}
