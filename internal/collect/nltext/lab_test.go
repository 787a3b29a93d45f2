package nltext

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// The lab is one network namespace, set up with the real ip tool, that
// every test and benchmark here reads; TestMain tears it down.
type lab struct {
	name   string
	ns     netns.NsHandle
	helper *exec.Cmd
	stdin  io.WriteCloser
	// missing names link kinds this kernel could not create, with why.
	missing []string
}

var (
	labOnce sync.Once
	theLab  *lab
	labSkip string
	labErr  error
)

const helperEnv = "NLTEXT_LISTEN_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		listenHelper()
		return
	}
	code := m.Run()
	if theLab != nil {
		theLab.close()
	}
	os.Exit(code)
}

// getLab returns the lab, skipping when root or a tool is really absent.
func getLab(tb testing.TB) *lab {
	tb.Helper()
	labOnce.Do(func() {
		if os.Geteuid() != 0 {
			labSkip = "needs root to create a network namespace"
			return
		}
		for _, tool := range []string{"ip", "ss"} {
			if _, err := exec.LookPath(tool); err != nil {
				labSkip = "needs " + tool + " (iproute2) in PATH"
				return
			}
		}
		theLab, labErr = newLab()
	})
	if labSkip != "" {
		tb.Skip(labSkip)
	}
	if labErr != nil {
		tb.Fatal(labErr)
	}
	return theLab
}

func (l *lab) ip(args ...string) error {
	out, err := exec.Command("ip", append([]string{"-n", l.name}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip -n %s %s: %v: %s", l.name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// removeStaleLabs deletes the namespaces of earlier runs of this test
// that died before their teardown (their process is gone).
func removeStaleLabs() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], "nltext-") {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimPrefix(f[0], "nltext-"))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); os.IsNotExist(err) {
			_ = exec.Command("ip", "netns", "del", f[0]).Run()
		}
	}
}

func newLab() (*lab, error) {
	removeStaleLabs()
	l := &lab{name: fmt.Sprintf("nltext-%d", os.Getpid())}
	if out, err := exec.Command("ip", "netns", "add", l.name).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ip netns add: %v: %s", err, out)
	}
	ok := false
	defer func() {
		if !ok {
			l.close()
		}
	}()
	ns, err := netns.GetFromName(l.name)
	if err != nil {
		return nil, err
	}
	l.ns = ns
	// DAD would flip IPv6 addresses from "tentative" while the two sides
	// of a comparison are read; this namespace is the test's own.
	if out, err := exec.Command("ip", "netns", "exec", l.name, "sh", "-c",
		"echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad; echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("disabling DAD in %s: %v: %s", l.name, err, out)
	}
	steps := [][]string{
		{"link", "set", "lo", "up"},
		{"addr", "add", "192.0.2.60/32", "dev", "lo", "label", "lo:0"},
		{"link", "add", "veth0", "type", "veth", "peer", "name", "veth1"},
		{"link", "add", "br0", "type", "bridge"},
		{"link", "set", "veth1", "master", "br0"},
		{"link", "set", "veth0", "up"}, {"link", "set", "veth1", "up"}, {"link", "set", "br0", "up"},
		{"link", "property", "add", "dev", "veth0", "altname", "uplink0"},
		{"link", "set", "veth0", "alias", "to the real servers"},
		{"addr", "add", "203.0.113.1/24", "dev", "veth0"},
		{"addr", "add", "203.0.113.2/24", "dev", "veth0", "label", "veth0:1"},
		{"addr", "add", "203.0.113.3/24", "dev", "veth0", "valid_lft", "3600", "preferred_lft", "1800"},
		{"addr", "add", "198.51.100.66", "peer", "198.51.100.67/32", "dev", "veth0"},
		{"addr", "add", "2001:db8:2::1/64", "dev", "veth0"},
		{"addr", "add", "2001:db8:2::2/64", "dev", "veth0", "nodad", "noprefixroute"},
		{"link", "add", "vx0", "type", "vxlan", "id", "42", "dstport", "4789", "local", "203.0.113.1", "dev", "veth0"},
		{"addr", "add", "198.51.100.129/25", "dev", "vx0"},
		{"link", "set", "vx0", "up"},
		{"link", "add", "link", "veth0", "name", "mv0", "type", "macvlan", "mode", "bridge"},
		{"route", "add", "192.0.2.128/25", "via", "203.0.113.254", "dev", "veth0", "proto", "static", "metric", "100"},
		{"route", "add", "192.0.2.192/26", "proto", "keepalived", "nexthop", "via", "203.0.113.250", "dev", "veth0",
			"nexthop", "via", "203.0.113.251", "dev", "veth0", "weight", "2"},
		{"route", "add", "198.51.100.200/32", "via", "203.0.113.254", "dev", "veth0", "mtu", "1400", "advmss", "1360"},
		{"route", "add", "unreachable", "198.51.100.0/26"},
		{"route", "add", "blackhole", "198.51.100.64/27"},
		{"route", "add", "local", "192.0.2.99", "dev", "lo", "table", "local"},
		{"route", "add", "default", "via", "203.0.113.254", "dev", "veth0", "table", "100"},
		{"route", "add", "prohibit", "192.0.2.0/26", "table", "100"},
		{"route", "add", "throw", "198.51.100.0/24", "table", "100"},
		{"-6", "route", "add", "2001:db8:1::/48", "via", "2001:db8:2::fe", "dev", "veth0", "metric", "512"},
		{"-6", "route", "add", "default", "via", "2001:db8:2::fe", "dev", "veth0", "table", "100"},
		{"rule", "add", "from", "192.0.2.0/24", "lookup", "100", "pref", "100"},
		{"rule", "add", "fwmark", "0x1/0xff", "lookup", "100", "pref", "101"},
		{"rule", "add", "fwmark", "0x2", "lookup", "main", "pref", "102"},
		{"rule", "add", "to", "198.51.100.0/24", "iif", "veth0", "lookup", "main", "pref", "103"},
		{"rule", "add", "not", "from", "192.0.2.5", "lookup", "100", "pref", "104"},
		{"rule", "add", "ipproto", "tcp", "dport", "80", "lookup", "100", "pref", "105"},
		{"rule", "add", "oif", "veth0", "blackhole", "pref", "106"},
		{"rule", "add", "pref", "107", "goto", "32766"},
		{"-6", "rule", "add", "from", "2001:db8::/64", "lookup", "100", "pref", "100"},
		{"neigh", "add", "203.0.113.7", "lladdr", "02:00:00:00:00:07", "dev", "veth0", "nud", "permanent"},
		{"neigh", "add", "203.0.113.8", "lladdr", "02:00:00:00:00:08", "dev", "veth0", "nud", "reachable"},
		{"neigh", "add", "203.0.113.9", "lladdr", "02:00:00:00:00:09", "dev", "veth0", "nud", "stale"},
		{"neigh", "add", "203.0.113.10", "lladdr", "02:00:00:00:00:0a", "dev", "veth0", "nud", "noarp"},
		{"neigh", "add", "2001:db8:2::7", "lladdr", "02:00:00:00:00:17", "dev", "veth0", "router", "nud", "stale"},
	}
	for _, s := range steps {
		if err := l.ip(s...); err != nil {
			return nil, err
		}
	}
	// Kinds a kernel may lack: each is set up when it can be, and its
	// absence recorded so tests say what they did not cover.
	optional := []struct {
		kind  string
		steps [][]string
	}{
		{"dummy", [][]string{
			{"link", "add", "dummy0", "type", "dummy"},
			{"link", "set", "dummy0", "up"},
			{"addr", "add", "198.51.100.161/27", "dev", "dummy0"},
			{"addr", "add", "198.51.100.162/27", "dev", "dummy0", "label", "dummy0:vip"},
		}},
		{"ipip", [][]string{
			{"link", "add", "ipip1", "type", "ipip", "remote", "198.51.100.9", "local", "203.0.113.1"},
			{"link", "set", "tunl0", "up"},
			{"addr", "add", "192.0.2.60/32", "dev", "tunl0"},
		}},
		{"ifb", [][]string{
			{"link", "add", "ifb0", "type", "ifb"}, // NOARP
			{"link", "set", "ifb0", "up"},
		}},
	}
	for _, o := range optional {
		for _, s := range o.steps {
			if err := l.ip(s...); err != nil {
				l.missing = append(l.missing, fmt.Sprintf("%s (this kernel: %v)", o.kind, err))
				break
			}
		}
	}
	if err := l.startHelper(); err != nil {
		return nil, err
	}
	ok = true
	return l, nil
}

// startHelper runs this test binary in the namespace as a process that
// holds listening sockets, as an application would.
func (l *lab) startHelper() error {
	cmd := exec.Command("ip", "netns", "exec", l.name, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	l.helper, l.stdin = cmd, in
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- line
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case line := <-ready:
		if strings.TrimSpace(line) != "ready" {
			return fmt.Errorf("listener helper said %q", line)
		}
	case <-time.After(20 * time.Second):
		return fmt.Errorf("listener helper not ready after 20s")
	}
	return nil
}

// listenHelper opens the sockets the ss comparison needs and holds them
// until its standard input closes.
func listenHelper() {
	bindDev := func(dev string) net.ListenConfig {
		return net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) { serr = syscall.BindToDevice(int(fd), dev) })
			if err != nil {
				return err
			}
			return serr
		}}
	}
	var keep []io.Closer
	listen := func(lc net.ListenConfig, network, addr string) {
		var c io.Closer
		var err error
		if strings.HasPrefix(network, "udp") {
			c, err = lc.ListenPacket(context.Background(), network, addr)
		} else {
			c, err = lc.Listen(context.Background(), network, addr)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper:", network, addr, err)
			os.Exit(1)
		}
		keep = append(keep, c)
	}
	var plain net.ListenConfig
	listen(plain, "tcp4", "0.0.0.0:8080")
	listen(plain, "tcp4", "192.0.2.60:80") // the VIP on lo
	listen(plain, "tcp4", "127.0.0.1:8081")
	listen(plain, "tcp6", "[::]:8082") // Go sets IPV6_V6ONLY for tcp6 wildcards
	listen(plain, "tcp", "[::]:8083")  // dual stack
	listen(plain, "tcp6", "[::1]:8084")
	listen(plain, "tcp6", "[2001:db8:2::1]:443")
	listen(bindDev("veth0"), "tcp4", "0.0.0.0:8085")
	listen(plain, "udp4", "0.0.0.0:5353")
	listen(plain, "udp4", "127.0.0.1:5355")
	listen(plain, "udp", "[::]:5354")
	listen(plain, "udp6", "[::]:5356")
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range keep {
		c.Close()
	}
}

func (l *lab) close() {
	if l.stdin != nil {
		l.stdin.Close()
	}
	if l.helper != nil {
		done := make(chan struct{})
		go func() { _ = l.helper.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = l.helper.Process.Kill()
			<-done
		}
	}
	if l.ns.IsOpen() {
		l.ns.Close()
	}
	_ = exec.Command("ip", "netns", "del", l.name).Run()
}

// in runs f on an OS thread switched into the lab's namespace. The thread
// is never unlocked, so Go retires it when f is done instead of reusing a
// thread in the wrong namespace.
func (l *lab) in(f func()) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := netns.Set(l.ns); err != nil {
			errc <- err
			return
		}
		f()
		errc <- nil
	}()
	return <-errc
}

// real runs the real command in the lab's namespace.
func (l *lab) real(args ...string) ([]byte, error) {
	var cmd *exec.Cmd
	if args[0] == "ss" {
		cmd = exec.Command("ip", append([]string{"netns", "exec", l.name}, args...)...)
	} else {
		cmd = exec.Command("ip", append([]string{"-n", l.name}, args[1:]...)...)
	}
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", strings.Join(args, " "), err)
	}
	return out, nil
}
