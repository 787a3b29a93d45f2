package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lvsdoctor/lvsdoctor/internal/printable"
)

// Handler serves /metrics, /report, /report.json and /healthz.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{
		// a scrape is cheap, but a flood of them must not pile up
		// next to the runs on a director
		MaxRequestsInFlight: 4,
		Timeout:             30 * time.Second,
	}))
	mux.HandleFunc("GET /report", s.serveReport)
	mux.HandleFunc("GET /report.json", s.serveReport)
	mux.HandleFunc("GET /healthz", s.serveHealth)
	mux.HandleFunc("GET /{$}", s.serveIndex)
	return mux
}

// serveReport writes the served run's report: HTML at /report when the
// report package renders HTML, text until then, JSON at /report.json.
// Headers say when it was made and whether the runs since failed; the
// text report also says it on its first lines, where a person looks.
func (s *Server) serveReport(w http.ResponseWriter, r *http.Request) {
	st := s.snapshot()
	if st.good == nil {
		msg := "no run has finished yet"
		if st.lastErr != "" {
			msg = "no run has succeeded yet: " + printable.String(st.lastErr)
		}
		http.Error(w, "lvsdoctor: "+msg, http.StatusServiceUnavailable)
		return
	}
	format, ctype := "text", "text/plain; charset=utf-8"
	switch {
	case r.URL.Path == "/report.json":
		format, ctype = "json", "application/json"
	case st.good.reports["html"] != nil:
		format, ctype = "html", "text/html; charset=utf-8"
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Last-Modified", st.good.at.UTC().Format(http.TimeFormat))
	h.Set("Cache-Control", "no-cache")
	// the report quotes evidence: it is never a page to run scripts in
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	h.Set("X-Content-Type-Options", "nosniff")
	stale := staleNote(st)
	if stale != "" {
		h.Set("X-Lvsdoctor-Stale", stale)
	}
	if format == "text" {
		fmt.Fprintf(w, "lvsdoctor serve: result of the run that ended %s\n", st.good.at.Format(time.RFC3339))
		if stale != "" {
			fmt.Fprintf(w, "lvsdoctor serve: STALE: %s\n", stale)
		}
		fmt.Fprintln(w)
	}
	body := st.good.reports[format]
	if format == "html" {
		// The same two lines, first in the page: a stale report must say
		// so where it is read, not only in a header.
		note := "lvsdoctor serve: result of the run that ended " + st.good.at.Format(time.RFC3339)
		if stale != "" {
			note += " — STALE: " + stale
		}
		body = insertAfterBodyTag(body, "<p><strong>"+html.EscapeString(note)+"</strong></p>\n")
	}
	_, _ = w.Write(body)
}

// insertAfterBodyTag puts s right after the page's <body ...> tag (at the
// start when there is none).
func insertAfterBodyTag(page []byte, s string) []byte {
	i := bytes.Index(page, []byte("<body"))
	if i < 0 {
		return append([]byte(s), page...)
	}
	j := bytes.IndexByte(page[i:], '>')
	if j < 0 {
		return append([]byte(s), page...)
	}
	at := i + j + 1
	out := make([]byte, 0, len(page)+len(s))
	out = append(append(append(out, page[:at]...), s...), page[at:]...)
	return out
}

// staleNote says why the served result is not the latest run's, or "".
func staleNote(st state) string {
	if st.lastErr == "" || st.good == nil {
		return ""
	}
	return fmt.Sprintf("the latest run (ended %s) failed: %s", st.lastRun.Format(time.RFC3339), printable.String(st.lastErr))
}

// serveHealth answers 200 while the service is up: a failing run is
// reported by the metrics and alerts, and restarting the service would
// not fix it. The body says how the runs go.
func (s *Server) serveHealth(w http.ResponseWriter, _ *http.Request) {
	st := s.snapshot()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	switch {
	case st.runs == 0:
		fmt.Fprintln(w, "ok: first run in progress")
	case st.lastErr != "":
		fmt.Fprintf(w, "ok: serving; latest run failed: %s\n", printable.String(st.lastErr))
	default:
		fmt.Fprintf(w, "ok: latest run ended %s\n", st.lastRun.Format(time.RFC3339))
	}
}

func (s *Server) serveIndex(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	fmt.Fprint(w, `<!doctype html><meta charset="utf-8"><title>lvsdoctor</title>
<h1>lvsdoctor serve</h1>
<ul>
<li><a href="metrics">/metrics</a> — Prometheus metrics
<li><a href="report">/report</a> — the latest diagnosis
<li><a href="report.json">/report.json</a> — the same, lvsdoctor/v1 JSON
<li><a href="healthz">/healthz</a>
</ul>
`)
}

// Serve runs the diagnosis loop and serves HTTP on l until ctx ends,
// then stops both, letting requests in flight finish.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	runs := make(chan struct{})
	go func() {
		defer close(runs)
		s.Run(ctx)
	}()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-served:
	}
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(shut)
	stop()
	<-runs
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
