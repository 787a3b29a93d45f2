package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/sys/unix"
)

// labDirectorScrape is a scrape of lvsdoctor serve on the lab's director
// (lab/scenarios/collect.sh: real IPVS in Debian's kernel, real servers
// drained to weight 0 after a fix that let traffic through): this
// machine's kernel has no IPVS, so the live serve of the test, on a real
// server, has no IPVS series for the dashboard's IPVS panels to show.
var labDirectorScrape = filepath.Join("..", "testdata", "lab", "collect", "serve-director.prom")

// dashboardOnPrometheus runs every query of deploy/grafana/lvsdoctor.json
// against the test's real Prometheus, its variables set as a user
// choosing every job and instance would, and requires each to return
// series: a panel whose query returns nothing is a broken panel. Grafana
// cannot run here (it is AGPL, and not in Debian), so the queries are
// then drawn by Prometheus' own web UI (Debian's classic UI) in headless
// Chromium, one graph each, and the page is kept as a PNG.
//
// The targets: the live serve of the test (findings, runs, cost) and the
// lab director's recorded scrape served as a second target of the same
// job (IPVS per service and real server, with the method and weight).
func dashboardOnPrometheus(t *testing.T, h *netnsHost, api, cfg, dir, live string) {
	t.Helper()
	b, err := os.ReadFile(labDirectorScrape)
	must(t, err)
	replay := filepath.Join(dir, "replay")
	must(t, os.MkdirAll(replay, 0o755))
	must(t, os.WriteFile(filepath.Join(replay, "metrics"), b, 0o644))
	const director = "127.0.0.1:9101"
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("needs busybox (busybox-static) to serve the lab director's scrape")
	}
	startInNetns(t, h, nil, busybox, "httpd", "-f", "-p", director, "-h", replay)
	cfg = strings.Replace(cfg, fmt.Sprintf("targets: [%q]", live), fmt.Sprintf("targets: [%q, %q]", live, director), 1)
	must(t, os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644))
	if out, err := exec.Command("ip", "netns", "exec", h.name, "curl", "-sf", "-X", "POST", api+"/-/reload").CombinedOutput(); err != nil {
		t.Fatalf("Prometheus /-/reload: %v %s", err, out)
	}
	// rate() needs two samples in its range: a few scrapes of both
	waitUntil(t, 30*time.Second, "both targets scraped 4 times", func() bool {
		v, ok := h.promValue(api, `count(count_over_time(lvsdoctor_up{job="lvsdoctor"}[1m]) >= 4)`)
		return ok && v == 2
	})

	var dash struct {
		Panels []struct {
			Title, Type string
			Targets     []struct{ Expr string }
		}
		Templating struct {
			List []struct {
				Name, Type string
				Query      json.RawMessage // a string for the data source, {query, refId} for a query
			}
		}
	}
	b, err = os.ReadFile(filepath.Join("..", "deploy", "grafana", "lvsdoctor.json"))
	must(t, err)
	must(t, json.Unmarshal(b, &dash))

	// the variables: label_values(METRIC, LABEL) through the same API
	// Grafana's Prometheus data source asks
	vars := map[string][]string{}
	for _, v := range dash.Templating.List {
		if v.Type != "query" {
			continue
		}
		var vq struct{ Query string }
		must(t, json.Unmarshal(v.Query, &vq))
		q := vq.Query
		inner, ok := strings.CutPrefix(q, "label_values(")
		if !ok {
			t.Fatalf("variable %s: query %q is not label_values(...)", v.Name, q)
		}
		inner = strings.TrimSuffix(inner, ")")
		i := strings.LastIndex(inner, ",")
		match, label := strings.TrimSpace(inner[:i]), strings.TrimSpace(inner[i+1:])
		match = strings.ReplaceAll(match, `"$job"`, `"lvsdoctor"`)
		var r struct{ Data []string }
		must(t, json.Unmarshal(h.curl(api+"/api/v1/label/"+label+"/values?match[]="+url.QueryEscape(match)), &r))
		vars[v.Name] = r.Data
		t.Logf("dashboard variable $%s: %v", v.Name, r.Data)
	}
	if !slices.Contains(vars["job"], "lvsdoctor") || !slices.Contains(vars["instance"], live) || !slices.Contains(vars["instance"], director) {
		t.Fatalf("the dashboard's variables do not offer the job and both instances: %v", vars)
	}
	// every value chosen, as Grafana writes a multi-value variable into
	// a regular expression
	expand := strings.NewReplacer("$job", "lvsdoctor", "$instance", strings.Join(vars["instance"], "|"),
		// Grafana's $__rate_interval: four scrape intervals at least
		"$__rate_interval", "10s", "$__interval", "1s")

	var queries []struct{ panel, expr string }
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			e := expand.Replace(tg.Expr)
			if strings.Contains(e, "$") {
				t.Fatalf("panel %q: a variable left in %s", p.Title, e)
			}
			queries = append(queries, struct{ panel, expr string }{p.Title, e})
		}
	}
	for _, q := range queries {
		var r struct {
			Status string
			Error  string
			Data   struct {
				ResultType string
				Result     []struct{ Metric map[string]string }
			}
		}
		body := h.curl(api + "/api/v1/query?query=" + url.QueryEscape(q.expr))
		if err := json.Unmarshal(body, &r); err != nil || r.Status != "success" {
			t.Errorf("panel %q: %s: %v %s %s", q.panel, q.expr, err, r.Error, body)
			continue
		}
		if len(r.Data.Result) == 0 {
			t.Errorf("panel %q returns no series: %s", q.panel, q.expr)
			continue
		}
		t.Logf("panel %q: %d series", q.panel, len(r.Data.Result))
	}

	// the same queries in Prometheus' web UI, one graph each over the
	// last two minutes, nine a page: the classic UI reads g10.* as
	// g1.* params (it sorts them as strings)
	bctx := browser(t)
	proxy := netnsProxy(t, h.name, strings.TrimPrefix(api, "http://"))
	shots := screenshotDir(t)
	for first, n := 0, 1; first < len(queries); first, n = first+9, n+1 {
		page := queries[first:min(first+9, len(queries))]
		v := url.Values{}
		for i, q := range page {
			g := fmt.Sprintf("g%d.", i)
			v.Set(g+"expr", q.expr)
			v.Set(g+"tab", "0")
			v.Set(g+"range_input", "2m")
		}
		shot := filepath.Join(shots, fmt.Sprintf("serve-dashboard-queries-%d.png", n))
		drawInPrometheusUI(t, bctx, "http://"+proxy+"/classic/graph?"+v.Encode(), page, shot)
	}
}

// drawInPrometheusUI opens Prometheus' graph page for queries, waits for
// each graph, and saves the page as a PNG.
func drawInPrometheusUI(t *testing.T, bctx context.Context, page string, queries []struct{ panel, expr string }, shot string) {
	t.Helper()
	ctx, cancel := chromedp.NewContext(bctx)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1400, 900), chromedp.Navigate(page)); err != nil {
		t.Fatalf("%s: %v", page, err)
	}
	// each graph says "Total time series: N" once its query came back
	stats, err := chromedp.Run(ctx, chromedp.Poll[[]string](fmt.Sprintf(
		`(() => { const s = [...document.querySelectorAll(".eval_stats")].map(e => e.textContent);
		           return s.length == %d && s.every(x => x.includes("Total time series")) ? s : null })()`, len(queries)),
		chromedp.WithPollingTimeout(60*time.Second)))
	if err != nil {
		state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](
			`document.querySelectorAll(".graph_area").length + " graphs | " + [...document.querySelectorAll(".eval_stats, .error")].map(e => e.textContent.trim()).join(" / ")`))
		t.Fatalf("Prometheus' graph page did not draw the %d queries: %v\n%s", len(queries), err, state)
	}
	errs, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll(".error")].map(e => e.textContent.trim()).filter(x => x != "")`))
	must(t, err)
	for _, e := range errs {
		t.Errorf("Prometheus' graph page: %s", e)
	}
	for i, s := range stats {
		if strings.Contains(s, "Total time series: 0") {
			t.Errorf("graph of %q draws no series: %s", queries[i].panel, queries[i].expr)
		}
	}
	// drawn: Rickshaw puts an SVG path per series in each graph
	paths, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".graph_area svg path").length`))
	must(t, err)
	if paths < len(queries) {
		t.Errorf("%d SVG paths for %d graphs", paths, len(queries))
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG, less: JPEG
	must(t, err)
	checkNotBlank(t, png)
	must(t, os.WriteFile(shot, png, 0o644))
	t.Logf("%d of the dashboard's queries drawn by Prometheus' web UI: %s (%d KB; LVSDOCTOR_SCREENSHOTS=DIR keeps it)", len(queries), shot, len(png)/1024)
}

// netnsProxy forwards a local port of this (the root) namespace to addr
// inside the namespace ns, where the browser cannot reach: each
// connection is dialled from a thread that entered ns, and the socket
// stays in ns whichever thread then reads it.
func netnsProxy(t *testing.T, ns, addr string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { l.Close() })
	dial := func() (net.Conn, error) {
		type result struct {
			c   net.Conn
			err error
		}
		ch := make(chan result, 1)
		go func() {
			// the thread is left locked: it ends with the goroutine
			// rather than going back to the pool in the other namespace
			runtime.LockOSThread()
			f, err := os.Open("/run/netns/" + ns)
			if err != nil {
				ch <- result{nil, err}
				return
			}
			defer f.Close()
			if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
				ch <- result{nil, err}
				return
			}
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			ch <- result{c, err}
		}()
		r := <-ch
		return r.c, r.err
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				up, err := dial()
				if err != nil {
					return
				}
				defer up.Close()
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
				go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
				<-done
			}()
		}
	}()
	return l.Addr().String()
}
