package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lvsdoctor/lvsdoctor/internal/cli"
)

// The test binary doubles as lvsdoctor and as a listener, so a test can
// run either inside a network namespace with `ip netns exec`.
func TestMain(m *testing.M) {
	switch {
	case os.Getenv("LVSDOCTOR_E2E_MAIN") == "1":
		os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
	case os.Getenv("LVSDOCTOR_E2E_LISTEN") != "":
		for _, a := range strings.Split(os.Getenv("LVSDOCTOR_E2E_LISTEN"), ",") {
			l, err := net.Listen("tcp", a)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(3)
			}
			defer l.Close()
		}
		fmt.Println("listening")
		time.Sleep(10 * time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// netnsHost is a network namespace standing for one host of a cluster.
type netnsHost struct {
	t    *testing.T
	name string
}

func needNetns(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2's ip")
	}
}

func newNetnsHost(t *testing.T, name string) *netnsHost {
	t.Helper()
	needNetns(t)
	// the process id keeps two test runs on one machine (two worktrees,
	// two engineers) out of each other's namespaces
	h := &netnsHost{t: t, name: fmt.Sprintf("lvsd-e2e-%s-%d", name, os.Getpid())}
	_ = exec.Command("ip", "netns", "del", h.name).Run()
	if out, err := exec.Command("ip", "netns", "add", h.name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", h.name).Run() })
	return h
}

// sh runs a shell command inside the namespace.
func (h *netnsHost) sh(script string) string {
	h.t.Helper()
	out, err := exec.Command("ip", "netns", "exec", h.name, "sh", "-ec", script).CombinedOutput()
	if err != nil {
		h.t.Fatalf("%s: %s: %v\n%s", h.name, script, err, out)
	}
	return string(out)
}

// lvsdoctor runs the CLI inside the namespace and returns its exit status.
func (h *netnsHost) lvsdoctor(args ...string) (string, int) {
	h.t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", h.name, os.Args[0]}, args...)...)
	cmd.Env = append(os.Environ(), "LVSDOCTOR_E2E_MAIN=1")
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		h.t.Fatal(err)
	}
	return string(out), code
}

// listen starts a process listening on addrs inside the namespace.
func (h *netnsHost) listen(addrs ...string) {
	h.t.Helper()
	cmd := exec.Command("ip", "netns", "exec", h.name, os.Args[0])
	cmd.Env = append(os.Environ(), "LVSDOCTOR_E2E_LISTEN="+strings.Join(addrs, ","))
	out, err := cmd.StdoutPipe()
	if err != nil {
		h.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	buf := make([]byte, 16)
	if n, _ := out.Read(buf); !strings.HasPrefix(string(buf[:n]), "listening") {
		h.t.Fatalf("listener in %s did not start", h.name)
	}
}

// state is what collection must never change: sysctls, addresses,
// routes, rules, firewall and the kernel's modules.
func (h *netnsHost) state() map[string]string {
	h.t.Helper()
	s := map[string]string{
		"sysctl":  h.sh(`sysctl -a 2>/dev/null | grep '^net\.' | grep -v -e nf_conntrack_count -e '\.stable_secret' | sort`),
		"addr":    h.sh("ip -d addr show"),
		"routes":  h.sh("ip route show table all; ip -6 route show table all"),
		"rules":   h.sh("ip rule show; ip -6 rule show"),
		"nft":     h.sh("nft list ruleset 2>/dev/null || true"),
		"modules": h.sh("cat /proc/modules 2>/dev/null || true; ls /sys/module"),
	}
	if _, err := exec.LookPath("iptables-save"); err == nil {
		s["iptables"] = h.sh("iptables-save | grep -v '^#' || true")
	}
	return s
}

// settled is the state once the kernel has finished with the setup (IPv6
// duplicate address detection adds link-local addresses and routes for a
// second or two after links come up): two equal snapshots in a row.
func (h *netnsHost) settled() map[string]string {
	s := h.state()
	for i := 0; i < 50; i++ {
		time.Sleep(100 * time.Millisecond)
		n := h.state()
		if fmt.Sprint(n) == fmt.Sprint(s) && !strings.Contains(n["addr"], "tentative") {
			return n
		}
		s = n
	}
	h.t.Fatalf("%s: the state does not settle", h.name)
	return nil
}

// rsVIP is the VIP of the real server healthyRealServer sets up.
const rsVIP = "192.0.2.100"

// healthyRealServer makes a namespace a healthy DR real server: eth0
// (192.0.2.11, a veth), the VIP on lo, ARP suppressed, no strict
// rp_filter. The tests then inject one fault at a time.
const healthyRealServer = `ip link set lo up
ip link add eth0 type veth peer name peer0
ip link set peer0 up
ip link set eth0 up
ip addr add 192.0.2.11/24 dev eth0
ip route add default via 192.0.2.1 dev eth0
ip addr add ` + rsVIP + `/32 dev lo label lo:vip
sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
sysctl -qw net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2
sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0 net.ipv4.conf.default.rp_filter=0
`

// A real server, set up with the real tools in a namespace, collected
// with `lvsdoctor collect` inside it and diagnosed: the diagnosis must
// name the fault injected, and the collection must not change the host.
func TestCollectLocalDiagnosesInjectedFault(t *testing.T) {
	needNetns(t)
	const vip = rsVIP
	healthy := healthyRealServer
	for _, tc := range []struct {
		name, fault string
		listen      bool
		want        string // "" means healthy
	}{
		{name: "healthy", listen: true},
		{name: "firewall", listen: true, want: "rs.firewall-drops-vip",
			fault: "nft add table inet f; nft add chain inet f input '{ type filter hook input priority 0; }'; nft add rule inet f input ip daddr " + vip + " tcp dport 80 drop"},
		{name: "arp", listen: true, want: "rs.arp-not-suppressed",
			fault: "sysctl -qw net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.eth0.arp_ignore=0 net.ipv4.conf.all.arp_announce=0 net.ipv4.conf.eth0.arp_announce=0"},
		{name: "nolisten", want: "rs.app-not-listening"},
		{name: "vipmissing", listen: true, want: "rs.vip-missing", fault: "ip addr del " + vip + "/32 dev lo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newNetnsHost(t, "rs1-"+tc.name)
			h.sh(healthy)
			if tc.fault != "" {
				h.sh(tc.fault)
			}
			if tc.listen {
				h.listen("0.0.0.0:80")
			}
			before := h.settled()
			dir := t.TempDir()
			out, code := h.lvsdoctor("collect", "--output", dir, "--host", "rs1", "--role", "realserver")
			if code != 0 {
				t.Fatalf("collect exit %d:\n%s", code, out)
			}
			after := h.state()
			for k := range before {
				if before[k] != after[k] {
					t.Errorf("collect changed the host's %s:\nbefore:\n%s\nafter:\n%s", k, before[k], after[k])
				}
			}
			// the director's side is real lab evidence of the same cluster
			// (this kernel has no IPVS to collect from): rs1 is 192.0.2.11
			copyDir(t, filepath.Join("..", "testdata", "lab", "dr-healthy", "director"), filepath.Join(dir, "director"))
			must(t, os.WriteFile(filepath.Join(dir, "case.yaml"), []byte("vip: "+vip+"\nport: 80\nproto: tcp\n"), 0o644))
			var d struct {
				Findings []struct{ ID, Severity, Host string }
			}
			stdout, _, code := run("diagnose", dir, "-o", "json")
			if err := json.Unmarshal([]byte(stdout), &d); err != nil {
				t.Fatalf("diagnose exit %d: %v\n%s", code, err, stdout)
			}
			var critical []string
			for _, f := range d.Findings {
				if f.Severity == "critical" {
					critical = append(critical, f.ID)
				}
			}
			switch {
			case tc.want == "" && len(critical) > 0:
				t.Errorf("healthy real server, but critical findings %v", critical)
			case tc.want != "" && (len(critical) == 0 || critical[0] != tc.want):
				t.Errorf("critical findings %v, want %s first", critical, tc.want)
			}
			// the folder reads like a paste: no problems with any file
			stdout, _, _ = run("diagnose", dir, "-v")
			if strings.Contains(stdout, "INPUT PROBLEMS") {
				t.Errorf("diagnose had trouble with collected files:\n%s", stdout)
			}
		})
	}
}

// The manifest says how every file was obtained, and no file written
// holds an unredacted secret.
func TestCollectManifestAndRedaction(t *testing.T) {
	h := newNetnsHost(t, "ds1-redact")
	h.sh("ip link set lo up")
	conf := filepath.Join(t.TempDir(), "keepalived.conf")
	must(t, os.WriteFile(conf, []byte("vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  authentication {\n    auth_type PASS\n    auth_pass Sup3rS3cret\n  }\n}\n"), 0o644))
	dir := t.TempDir()
	if out, code := h.lvsdoctor("collect", "--output", dir, "--host", "ds1", "--keepalived-conf", conf); code != 0 {
		t.Fatalf("collect exit %d:\n%s", code, out)
	}
	var files []string
	_ = filepath.Walk(filepath.Join(dir, "ds1"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			data, _ := os.ReadFile(p)
			if strings.Contains(string(data), "Sup3rS3cret") {
				t.Errorf("%s holds the auth_pass", p)
			}
			rel, _ := filepath.Rel(filepath.Join(dir, "ds1"), p)
			files = append(files, rel)
		}
		return nil
	})
	sort.Strings(files)
	want := []string{".collect/manifest.yaml", "ip-d-addr.txt", "ip-route-table-all.txt", "sysctl-a.txt", "ss-lntup.txt", strings.TrimPrefix(conf, "/")}
	for _, w := range want {
		if i := sort.SearchStrings(files, w); i == len(files) || files[i] != w {
			t.Errorf("collected %v, lacks %s", files, w)
		}
	}
	kc, _ := os.ReadFile(filepath.Join(dir, "ds1", conf))
	if !strings.Contains(string(kc), "auth_pass ***********") {
		t.Errorf("auth_pass not replaced by as many '*': %s", kc)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Without root, collect gathers what a user can read and says, per file,
// what it could not: the firewall needs CAP_NET_ADMIN.
func TestCollectWithoutRoot(t *testing.T) {
	h := newNetnsHost(t, "user")
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("needs setpriv (util-linux) to drop root")
	}
	h.sh("ip link set lo up; nft add table inet f")
	dir := t.TempDir()
	must(t, os.Chmod(dir, 0o777))
	must(t, os.Chmod(filepath.Dir(dir), 0o755))
	cmd := exec.Command("ip", "netns", "exec", h.name, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		os.Args[0], "collect", "--output", dir, "--host", "u")
	cmd.Env = append(os.Environ(), "LVSDOCTOR_E2E_MAIN=1", "HOME=/nonexistent")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("collect as nobody: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "not root") {
		t.Errorf("no word that this is a user's collection:\n%s", out)
	}
	for _, f := range []string{"ip-d-addr.txt", "sysctl-a.txt", "ip-route-table-all.txt"} {
		if _, err := os.Stat(filepath.Join(dir, "u", f)); err != nil {
			t.Errorf("%s not collected without root", f)
		}
	}
	// a command that could not run leaves no file: an empty iptables-save
	// would read as "no rules"
	if _, err := os.Stat(filepath.Join(dir, "u", "nft-j-list-ruleset.json")); err == nil {
		t.Error("nft failed without root, yet its file was written")
	}
	m, err := os.ReadFile(filepath.Join(dir, "u", ".collect", "manifest.yaml"))
	must(t, err)
	if !strings.Contains(string(m), "nft-j-list-ruleset.json") || !strings.Contains(string(m), "error:") {
		t.Errorf("the manifest does not say what failed without root:\n%s", m)
	}
}
