package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// lvsdoctor serve on a real server in a network namespace, scraped by a
// real Prometheus (Debian's) with deploy/prometheus/lvsdoctor.rules.yml
// loaded: a fault injected with the real tools makes the alert fire, its
// fix clears it. Both processes live in the namespace and listen on its
// loopback; the test talks to them with curl run inside it.
func TestServeAlertFiresAndClearsInPrometheus(t *testing.T) {
	needNetns(t)
	prometheus, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("needs Debian's prometheus (scripts/test-deps installs it)")
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("needs promtool (Debian package prometheus)")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("needs curl")
	}
	rules, err := filepath.Abs(filepath.Join("..", "deploy", "prometheus", "lvsdoctor.rules.yml"))
	must(t, err)

	h := newNetnsHost(t, "serve")
	h.sh(healthyRealServer)
	h.listen("0.0.0.0:80")
	before := h.settled()

	// lvsdoctor serve, a run a second
	const interval = time.Second
	srv := startInNetns(t, h, []string{"LVSDOCTOR_E2E_MAIN=1"}, os.Args[0], "serve", "--listen", "127.0.0.1:0",
		"--interval", interval.String(), "--role", "realserver", "--host", "rs1", "--vip", rsVIP+":80", "--mode", "dr")
	m := srv.waitFor(t, regexp.MustCompile(`serving on http://(127\.0\.0\.1:\d+)/`), 20*time.Second)
	target := m[1]

	// Prometheus: scrapes and evaluates every second
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: lvsdoctor
    static_configs:
      - targets: [%q]
`, rules, target)
	must(t, os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644))
	const promAddr = "127.0.0.1:9090" // the namespace's own loopback: free
	startInNetns(t, h, nil, prometheus, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+promAddr, "--log.level=warn",
		"--web.enable-lifecycle") // POST /-/reload: the dashboard's second target, below
	api := "http://" + promAddr

	// ready: Prometheus up, the target scraped, no alert yet
	waitUntil(t, 30*time.Second, "Prometheus scraping lvsdoctor_up == 1", func() bool {
		v, ok := h.promValue(api, `lvsdoctor_up{job="lvsdoctor"}`)
		return ok && v == 1
	})
	if a := faultAlerts(h.alerts(api)); len(a) > 0 {
		t.Fatalf("alerts on the healthy real server: %+v\n%s", a, h.curl("http://"+target+"/report"))
	}

	// promtool, Prometheus' own linter, on the live /metrics
	metrics := h.curl("http://" + target + "/metrics")
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(metrics)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}

	for _, fault := range []struct{ id, inject, fix string }{
		{"rs.firewall-drops-vip",
			"nft add table inet lvsd; nft add chain inet lvsd input '{ type filter hook input priority 0; }'; nft add rule inet lvsd input ip daddr " + rsVIP + " tcp dport 80 drop",
			"nft delete table inet lvsd"},
		// the VIP not on lo after a reboot (added by hand, never persisted)
		{"rs.vip-missing", "ip addr del " + rsVIP + "/32 dev lo", "ip addr add " + rsVIP + "/32 dev lo label lo:vip"},
	} {
		t0 := time.Now()
		h.sh(fault.inject)
		firing := func() bool {
			for _, a := range h.alerts(api) {
				if a.Labels["alertname"] == "LVSDoctorCriticalFinding" && a.Labels["id"] == fault.id &&
					a.Labels["host"] == "rs1" && a.State == "firing" {
					return true
				}
			}
			return false
		}
		waitUntil(t, 20*time.Second, fault.id+" firing", firing)
		fired := time.Since(t0)
		if rep := h.curl("http://" + target + "/report"); !bytes.Contains(rep, []byte(fault.id)) {
			t.Errorf("/report does not name %s:\n%s", fault.id, rep)
		}
		t1 := time.Now()
		h.sh(fault.fix)
		waitUntil(t, 20*time.Second, fault.id+" cleared", func() bool { return len(faultAlerts(h.alerts(api))) == 0 })
		cleared := time.Since(t1)
		t.Logf("%s: alert firing %.1f s after the fault, cleared %.1f s after the fix (serve interval %s, scrape and evaluation 1 s)",
			fault.id, fired.Seconds(), cleared.Seconds(), interval)
		// a run, a scrape and an evaluation: each at most a second
		// apart, plus the runs' own time, which a loaded machine
		// stretches (serve says how long its latest run took)
		run := runDuration(h.curl("http://" + target + "/metrics"))
		limit := 2*(interval+run) + 3*time.Second
		if load, cpus := loadAverage(), runtime.NumCPU(); (fired > limit || cleared > limit) && load > float64(cpus) {
			// The bound is for a machine serve has to itself; the alert
			// did fire and clear (waitUntil), only later.
			t.Logf("%s: fired after %s, cleared after %s, beyond %s, with the load average at %.1f on %d cores: timing not judged", fault.id, fired, cleared, limit, load, cpus)
		} else if fired > limit || cleared > limit {
			t.Errorf("%s: fired after %s, cleared after %s: want both within %s", fault.id, fired, cleared, limit)
		}
	}

	// the dashboard's queries, each run by this Prometheus, and drawn
	// by its own web UI in Chromium
	dashboardOnPrometheus(t, h, api, cfg, dir, target)

	// serve ran a run a second all along: the host is as it was
	after := h.state()
	for k := range before {
		if before[k] != after[k] {
			t.Errorf("lvsdoctor serve changed the host's %s:\nbefore:\n%s\nafter:\n%s", k, before[k], after[k])
		}
	}
	if runs, ok := h.promValue(api, `lvsdoctor_runs_total{instance="`+target+`"}`); !ok || runs < 5 {
		t.Errorf("lvsdoctor_runs_total %v", runs)
	}
	if f, _ := h.promValue(api, `lvsdoctor_run_failures_total{instance="`+target+`"}`); f != 0 {
		t.Errorf("%v runs failed:\n%s", f, srv.output())
	}
}

// process is a command run in a namespace, its output kept.
type process struct {
	mu    sync.Mutex
	out   bytes.Buffer
	lines chan string
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitFor waits for a line of output matching re.
func (p *process) waitFor(t *testing.T, re *regexp.Regexp, d time.Duration) []string {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("exited before printing %s:\n%s", re, p.output())
			}
			if m := re.FindStringSubmatch(l); m != nil {
				return m
			}
		case <-deadline:
			t.Fatalf("no line %s in %s:\n%s", re, d, p.output())
		}
	}
}

// startInNetns starts argv inside h; it is stopped (SIGTERM, then
// killed) when the test ends.
func startInNetns(t *testing.T, h *netnsHost, env []string, argv ...string) *process {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", h.name}, argv...)...)
	cmd.Env = append(os.Environ(), env...)
	r, w, err := os.Pipe()
	must(t, err)
	cmd.Stdout, cmd.Stderr = w, w
	must(t, cmd.Start())
	w.Close()
	p := &process{lines: make(chan string, 1024)}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default: // nobody waits for lines any more
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s:\n%s", argv[0], p.output())
		}
	})
	return p
}

// curl fetches a URL from inside the namespace; nil when it fails.
func (h *netnsHost) curl(u string) []byte {
	out, err := exec.Command("ip", "netns", "exec", h.name, "curl", "-sf", "--max-time", "5", u).Output()
	if err != nil {
		return nil
	}
	return out
}

type promAlert struct {
	Labels map[string]string
	State  string
}

// alerts are the pending and firing alerts of Prometheus' API.
func (h *netnsHost) alerts(api string) []promAlert {
	var r struct {
		Data struct{ Alerts []promAlert }
	}
	if err := json.Unmarshal(h.curl(api+"/api/v1/alerts"), &r); err != nil {
		h.t.Fatalf("Prometheus /api/v1/alerts: %v", err)
	}
	return r.Data.Alerts
}

// promValue is the value of an instant query that returns one series.
func (h *netnsHost) promValue(api, query string) (float64, bool) {
	var r struct {
		Data struct {
			Result []struct{ Value []any }
		}
	}
	body := h.curl(api + "/api/v1/query?query=" + url.QueryEscape(query))
	if json.Unmarshal(body, &r) != nil || len(r.Data.Result) != 1 || len(r.Data.Result[0].Value) != 2 {
		return 0, false
	}
	var v float64
	_, err := fmt.Sscan(fmt.Sprint(r.Data.Result[0].Value[1]), &v)
	return v, err == nil
}

// waitUntil polls cond every 100 ms.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The systemd unit keeps three of root's capabilities and no device
// (packaging/lvsdoctor.service). Collected as root with only those and
// the /dev of PrivateDevices=yes, a host gives every file it gives with
// all of root's and the host's /dev; without
// CAP_NET_ADMIN the firewall cannot be read, and without CAP_SYSLOG the
// kernel log cannot where dmesg_restrict is on: each one is needed.
func TestCollectWithTheUnitsCapabilities(t *testing.T) {
	h := newNetnsHost(t, "caps")
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("needs setpriv (util-linux) to set the bounding set")
	}
	h.sh(healthyRealServer + "nft add table inet lvsd; nft add chain inet lvsd input '{ type filter hook input priority 0; }'; nft add rule inet lvsd input ip daddr " + rsVIP + " tcp dport 80 drop")
	// collect returns, per file of the manifest, "" when it was read and
	// else why not
	collect := func(caps string) map[string]string {
		t.Helper()
		dir := t.TempDir()
		argv := []string{"netns", "exec", h.name}
		if caps != "" {
			// the unit's PrivateDevices=yes: a /dev of its own holding
			// the pseudo-devices only, no /dev/kmsg (dmesg then reads
			// the ring buffer with syslog(2)), in a mount namespace
			argv = append(argv, "unshare", "--mount", "--propagation", "private", "sh", "-ec", privateDevices+`exec "$@"`, "sh")
			// exec as root gives exactly the bounding set, as systemd's
			// CapabilityBoundingSet= does
			argv = append(argv, "setpriv", "--bounding-set=-all"+caps, "--inh-caps=-all", "--no-new-privs")
		}
		cmd := exec.Command("ip", append(argv, os.Args[0], "collect", "--dir", dir, "--host", "rs1")...)
		cmd.Env = append(os.Environ(), "LVSDOCTOR_E2E_MAIN=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("collect with %q: %v\n%s", caps, err, out)
		}
		b, err := os.ReadFile(filepath.Join(dir, "rs1", ".collect", "manifest.yaml"))
		must(t, err)
		var m struct {
			Files []struct {
				File, Error, Skipped string
				Bytes                int
			}
		}
		must(t, yaml.Unmarshal(b, &m))
		got := map[string]string{}
		for _, f := range m.Files {
			switch {
			case f.Error != "":
				got[f.File] = "error: " + f.Error
			case f.Skipped != "":
				got[f.File] = "skipped: " + f.Skipped
			default:
				got[f.File] = ""
			}
		}
		return got
	}
	root := collect("")
	unit := collect(",+net_admin,+net_raw,+syslog")
	read := 0
	for f, why := range root {
		if why != "" {
			continue
		}
		read++
		if unit[f] != "" {
			t.Errorf("%s: read as root, not with the unit's capabilities: %s", f, unit[f])
		}
	}
	if root["nft-j-list-ruleset.json"] != "" || root["dmesg.txt"] != "" {
		t.Fatalf("root could not read the firewall or the kernel log: %v", root)
	}
	t.Logf("%d files read with CAP_NET_ADMIN CAP_NET_RAW CAP_SYSLOG as with all of root's capabilities", read)
	if why := collect(",+net_raw,+syslog")["nft-j-list-ruleset.json"]; why == "" {
		t.Error("nft read the ruleset without CAP_NET_ADMIN: the unit keeps a capability it does not need")
	}
	if b, _ := os.ReadFile("/proc/sys/kernel/dmesg_restrict"); strings.TrimSpace(string(b)) == "1" {
		if why := collect(",+net_admin,+net_raw")["dmesg.txt"]; why == "" {
			t.Error("dmesg read the kernel log without CAP_SYSLOG and with dmesg_restrict=1")
		}
	}
}

// privateDevices is the /dev that systemd's PrivateDevices=yes gives a
// unit: a tmpfs with the pseudo-devices (null, zero, full, random,
// urandom, tty) and the fd links, without /dev/kmsg or any disk.
const privateDevices = `mount -t tmpfs -o mode=755,nosuid tmpfs /dev
mknod -m 666 /dev/null c 1 3; mknod -m 666 /dev/zero c 1 5; mknod -m 666 /dev/full c 1 7
mknod -m 666 /dev/random c 1 8; mknod -m 666 /dev/urandom c 1 9; mknod -m 666 /dev/tty c 5 0
ln -s /proc/self/fd /dev/fd; ln -s /proc/self/fd/0 /dev/stdin; ln -s /proc/self/fd/1 /dev/stdout; ln -s /proc/self/fd/2 /dev/stderr
`

// lvsdoctor serve --inventory collects the fleet over SSH at each run (a
// real sshd in a real server's namespace): a host that refuses the
// connection is lvsdoctor_host_up 0 and the run still succeeds; a fault
// fixed on a host leaves the next run's metrics; the inventory is read
// again at each run, and runs where no host can be collected fail and
// keep the last good result served.
func TestServeInventoryOverSSH(t *testing.T) {
	ops, rs, dir, inv := sshRealServer(t)
	id := "user"
	hosts := func(list string) {
		must(t, os.WriteFile(inv, []byte("defaults:\n  user: root\n  identity: "+filepath.Join(dir, id)+"\nhosts:\n"+list), 0o644))
	}
	const rs1 = "  - {name: rs1, address: 192.0.2.11, role: realserver}\n"
	const rs2 = "  - {name: rs2, address: 192.0.2.11, port: 2222, role: realserver}\n" // refused at once
	hosts(rs1 + rs2)
	srv := startInNetns(t, ops, []string{"LVSDOCTOR_E2E_MAIN=1"}, os.Args[0], "serve", "--listen", "127.0.0.1:0",
		"--interval", "1s", "--inventory", inv, "--known-hosts", filepath.Join(dir, "known_hosts"), "--no-agent",
		"--vip", rsVIP+":80", "--mode", "dr")
	target := srv.waitFor(t, regexp.MustCompile(`serving on http://(127\.0\.0\.1:\d+)/`), 20*time.Second)[1]
	metrics := func() string { return string(ops.curl("http://" + target + "/metrics")) }
	has := func(m string, lines ...string) bool {
		for _, l := range lines {
			if !strings.Contains(m, "\n"+l+"\n") {
				return false
			}
		}
		return true
	}
	finding := `lvsdoctor_findings{host="rs1",id="rs.firewall-drops-vip",severity="critical"} 1`
	waitUntil(t, 30*time.Second, "rs1 diagnosed over SSH, rs2 not collected", func() bool {
		return has(metrics(), "lvsdoctor_up 1", `lvsdoctor_host_up{host="rs1"} 1`, `lvsdoctor_host_up{host="rs2"} 0`, finding)
	})

	rs.sh("nft delete table inet f")
	waitUntil(t, 30*time.Second, "the fixed fault gone from the metrics", func() bool {
		m := metrics()
		return has(m, "lvsdoctor_up 1") && !strings.Contains(m, `id="rs.firewall-drops-vip"`)
	})

	hosts(rs2) // read at the next run: nothing can be collected any more
	waitUntil(t, 30*time.Second, "runs failing", func() bool {
		m := metrics()
		return has(m, "lvsdoctor_up 0", `lvsdoctor_host_up{host="rs1"} 1`) && !strings.Contains(m, "lvsdoctor_run_failures_total 0\n")
	})
	if !strings.Contains(srv.output(), "still serving the result of") {
		t.Errorf("the log does not say the last good result is served:\n%s", srv.output())
	}
}

// runDuration reads lvsdoctor_run_duration_seconds from a /metrics page.
func runDuration(metrics []byte) time.Duration {
	for _, l := range strings.Split(string(metrics), "\n") {
		if v, ok := strings.CutPrefix(l, "lvsdoctor_run_duration_seconds "); ok {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				return time.Duration(f * float64(time.Second))
			}
		}
	}
	return 0
}

// faultAlerts leaves out LVSDoctorStale while it is only pending: with
// serve's 1 s interval, a run slowed past 3 s by a loaded machine makes it
// pending (it fires after 5 minutes), which says nothing of the host.
func faultAlerts(all []promAlert) []promAlert {
	var out []promAlert
	for _, a := range all {
		if a.Labels["alertname"] == "LVSDoctorStale" && a.State == "pending" {
			continue
		}
		out = append(out, a)
	}
	return out
}

// loadAverage is the machine's one-minute load average (0 when unknown).
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
