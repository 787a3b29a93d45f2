package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/lvsdoctor/lvsdoctor/internal/cli"
	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/report"
)

// browser starts Debian's chromium, headless, once for a test; it skips
// the test, saying why, only when chromium is not installed.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Skip("chromium is not installed (scripts/test-deps installs Debian's chromium package)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // the tests run as root, where chromium's sandbox cannot start
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	// Start the browser now, so that each page is a tab of this one.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("chromium %s does not start: %v", path, err)
	}
	return ctx
}

// pageEvents is what a tab reported while a page was open.
type pageEvents struct {
	mu       sync.Mutex
	requests []string // every URL the page asked for, the document's included
	console  []string // console calls, exceptions, browser log entries
	blocked  map[network.RequestID]network.BlockedReason
	ids      map[string]network.RequestID
}

func listen(ctx context.Context, t *testing.T) *pageEvents {
	t.Helper()
	ev := &pageEvents{blocked: map[network.RequestID]network.BlockedReason{}, ids: map[string]network.RequestID{}}
	err := chromedp.Listen(ctx, func(e any) {
		ev.mu.Lock()
		defer ev.mu.Unlock()
		switch e := e.(type) {
		case *network.EventRequestWillBeSent:
			ev.requests = append(ev.requests, e.Request.URL)
			ev.ids[e.Request.URL] = e.RequestID
		case *network.EventLoadingFailed:
			ev.blocked[e.RequestID] = e.BlockedReason
		case *runtime.EventConsoleAPICalled:
			var args []string
			for _, a := range e.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			ev.console = append(ev.console, fmt.Sprintf("console.%s: %s", e.Type, strings.Join(args, " ")))
		case *runtime.EventExceptionThrown:
			ev.console = append(ev.console, "exception: "+e.ExceptionDetails.Text)
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning {
				ev.console = append(ev.console, fmt.Sprintf("%s %s: %s", e.Entry.Source, e.Entry.Level, e.Entry.Text))
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// screenshotDir is where the screenshots go: $LVSDOCTOR_SCREENSHOTS for a
// person to look at, else the test's temporary directory.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("LVSDOCTOR_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// TestHTMLReportInChromium opens every example's HTML report in a real
// headless Chromium: the page renders (a PNG that is not blank), the
// verdict and the packet path's diagram are in the DOM and visible, the
// failed hop names the root cause, nothing is written to the console,
// and the page asks for nothing but itself.
func TestHTMLReportInChromium(t *testing.T) {
	bctx := browser(t)
	examples, _ := schemaInputs(t)
	dir := t.TempDir()
	shots := screenshotDir(t)
	for _, in := range examples {
		name := strings.TrimSuffix(filepath.Base(in), ".txt")
		t.Run(name, func(t *testing.T) {
			var js, page, errb bytes.Buffer
			cli.Main([]string{"diagnose", "-o", "json", in}, &js, &errb)
			var d diagnosis.Diagnosis
			if err := json.Unmarshal(js.Bytes(), &d); err != nil {
				t.Fatalf("%v: %s", err, errb.String())
			}
			cli.Main([]string{"diagnose", "-o", "html", in}, &page, &errb)
			file := filepath.Join(dir, name+".html")
			if err := os.WriteFile(file, page.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, bad := range []string{"http://", "https://"} {
				if bytes.Contains(page.Bytes(), []byte(bad)) {
					t.Errorf("the file holds %q", bad)
				}
			}

			ctx, cancel := chromedp.NewContext(bctx)
			defer cancel()
			ctx, cancelT := context.WithTimeout(ctx, 20*time.Second)
			defer cancelT()
			ev := listen(ctx, t)
			url := "file://" + file
			if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("headline")),
				chromedp.WaitVisible(chromedp.CSS("svg.path"))); err != nil {
				t.Fatalf("%s: %v", url, err)
			}
			headline, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("headline")))
			if err != nil {
				t.Fatal(err)
			}
			if want := report.Headline(&d); strings.Join(strings.Fields(headline), " ") != strings.Join(strings.Fields(want), " ") {
				t.Errorf("headline %q, want %q", headline, want)
			}
			box, err := chromedp.Run(ctx, chromedp.Dimensions(chromedp.CSS("svg.path")))
			if err != nil {
				t.Fatal(err)
			}
			if box.Width < 200 || box.Height < 50 {
				t.Errorf("the diagram is %dx%d px", box.Width, box.Height)
			}
			hops, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll("svg.path g.node")))
			if err != nil || len(hops) == 0 {
				t.Errorf("no hop in the diagram: %v", err)
			}
			diagram, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS("svg.path")))
			if err != nil {
				t.Fatal(err)
			}
			// The leading root cause is attached to the hop where the
			// packet died (or, with no connection captured, its host).
			if len(d.Findings) > 0 {
				id := d.Findings[0].ID
				if !strings.Contains(strings.Join(strings.Fields(diagram), ""), "cause:"+id) {
					t.Errorf("the diagram does not name %s:\n%s", id, diagram)
				}
			}
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			checkNotBlank(t, png)
			shot := filepath.Join(shots, name+".png")
			if err := os.WriteFile(shot, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot %s", shot)

			ev.mu.Lock()
			defer ev.mu.Unlock()
			for _, c := range ev.console {
				t.Errorf("console: %s", c)
			}
			for _, r := range ev.requests {
				if r != url {
					t.Errorf("the page asked for %s", r)
				}
			}
		})
	}
}

// checkNotBlank fails on an image of one colour or nearly: a page that
// did not render.
func checkNotBlank(t *testing.T, b []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	r := img.Bounds()
	if r.Dx() < 800 || r.Dy() < 300 {
		t.Errorf("screenshot %dx%d", r.Dx(), r.Dy())
	}
	colours := map[[3]uint32]bool{}
	ink := 0
	for y := r.Min.Y; y < r.Max.Y; y += 2 {
		for x := r.Min.X; x < r.Max.X; x += 2 {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			colours[[3]uint32{cr >> 8, cg >> 8, cb >> 8}] = true
			if cr>>8 < 200 || cg>>8 < 200 || cb>>8 < 200 {
				ink++
			}
		}
	}
	if len(colours) < 16 || ink*100 < (r.Dx()/2)*(r.Dy()/2) {
		t.Errorf("screenshot looks blank: %d colours, %d dark samples of %d", len(colours), ink, (r.Dx()/2)*(r.Dy()/2))
	}
}

// TestHTMLPolicyBlocksInChromium: the report's Content-Security-Policy
// holds in a real browser. Markup that got past the escaping (here put
// in by hand) can neither load anything, nor run a script, nor style the
// page inline: a local listener receives no request. Chromium still opens
// a TCP connection ahead of a frame's navigation (a preconnect, no byte
// sent) before the policy refuses it, so the policy is the second line:
// the first is that no input ever becomes markup (TestHostileHTML).
func TestHTMLPolicyBlocksInChromium(t *testing.T) {
	bctx := browser(t)
	var page, errb bytes.Buffer
	cli.Main([]string{"diagnose", "-o", "html", "../examples/kvm-dr-nwfilter"}, &page, &errb)
	for _, c := range []struct {
		name, markup string
		preconnect   bool // a connection without a request is Chromium's, not the page's
	}{
		{"loads and scripts", `<img src="%[1]s/img.png"><link rel="stylesheet" href="%[1]s/x.css"><script src="%[1]s/x.js"></script>` +
			`<script>document.title="script ran"</script><p id="styled" style="display:none">x</p>`, false},
		{"a frame", `<iframe src="%[1]s/frame"></iframe><p id="styled" style="display:none">x</p>`, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			var mu sync.Mutex
			conns, requests := 0, 0
			go func() {
				for {
					conn, err := ln.Accept()
					if err != nil {
						return
					}
					_ = conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
					n, _ := conn.Read(make([]byte, 512))
					mu.Lock()
					conns++
					if n > 0 {
						requests++
					}
					mu.Unlock()
					conn.Close()
				}
			}()
			base := "http://" + ln.Addr().String()
			html := strings.Replace(page.String(), "</body>", fmt.Sprintf(c.markup, base)+"</body>", 1)
			file := filepath.Join(t.TempDir(), "injected.html")
			if err := os.WriteFile(file, []byte(html), 0o644); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := chromedp.NewContext(bctx)
			defer cancel()
			ctx, cancelT := context.WithTimeout(ctx, 20*time.Second)
			defer cancelT()
			ev := listen(ctx, t)
			if err := chromedp.Do(ctx, chromedp.Navigate("file://"+file), chromedp.WaitVisible(chromedp.ID("headline"))); err != nil {
				t.Fatal(err)
			}
			if title, err := chromedp.Run(ctx, chromedp.Title()); err != nil || title == "script ran" {
				t.Errorf("an inline script ran (%v)", err)
			}
			// The inline style attribute is refused: the paragraph shows.
			if _, err := chromedp.Run(ctx, chromedp.Dimensions(chromedp.ID("styled"))); err != nil {
				t.Errorf("an inline style applied: %v", err)
			}
			time.Sleep(500 * time.Millisecond) // time for a load let through to arrive
			mu.Lock()
			if requests > 0 || (conns > 0 && !c.preconnect) {
				t.Errorf("the listener saw %d connections, %d requests", conns, requests)
			}
			mu.Unlock()
			ev.mu.Lock()
			defer ev.mu.Unlock()
			if len(ev.console) == 0 {
				t.Error("chromium reported no policy violation")
			}
			for _, r := range ev.requests {
				if strings.HasPrefix(r, base) && ev.blocked[ev.ids[r]] != network.BlockedReasonCsp {
					t.Errorf("%s: not blocked by the policy (%q)", r, ev.blocked[ev.ids[r]])
				}
			}
		})
	}
}
