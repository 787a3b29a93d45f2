package droptrace

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The test lab: three namespaces joined by veth pairs, all addresses from
// the documentation ranges, created and removed by each test.
//
//	cli  cli0 192.0.2.1/24 ----- lb0 192.0.2.2/24     lb (director / real server)
//	     lo   198.18.0.5/32                            lo  203.0.113.10/32 = VIP
//	                                                   lb1 198.51.100.2/24 ---- oth0 198.51.100.1/24  oth
//
// lb has strict rp_filter and routes 198.18.0.0/15 via oth, so packets from
// 198.18.0.5 that arrive on lb0 fail it. Neighbour entries are permanent,
// so no ARP timing (and no rp_filter refusing ARP) gets in the way.
var (
	vip       = netip.MustParseAddr("203.0.113.10")
	cliAddr   = netip.MustParseAddr("192.0.2.1")
	lbAddr    = netip.MustParseAddr("192.0.2.2")
	rpSrc     = netip.MustParseAddr("198.18.0.5")
	othAddr   = netip.MustParseAddr("198.51.100.1")
	lbOthAddr = netip.MustParseAddr("198.51.100.2")
)

type lab struct {
	t              testing.TB
	cli, lb, oth   string // namespace names
	lb0MAC, cliMAC string
}

// needRoot skips when tracing cannot run here, with Supported's reason.
func needTracing(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: tracing loads BPF programs and the lab creates namespaces")
	}
	if err := Supported(); err != nil {
		t.Skipf("drop tracing not supported here: %v", err)
	}
}

func needCmd(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Skipf("%s is not installed", n)
		}
	}
}

func newLab(t testing.TB) *lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	needCmd(t, "ip")
	p := fmt.Sprintf("dt%d", os.Getpid()%100000)
	l := &lab{t: t, cli: p + "-cli", lb: p + "-lb", oth: p + "-oth"}
	t.Cleanup(l.down)
	l.down() // a crashed earlier run of this pid
	for _, ns := range []string{l.cli, l.lb, l.oth} {
		l.ip("netns", "add", ns)
		l.ip("-n", ns, "link", "set", "lo", "up")
	}
	l.ip("link", "add", "cli0", "netns", l.cli, "type", "veth", "peer", "name", "lb0", "netns", l.lb)
	l.ip("link", "add", "lb1", "netns", l.lb, "type", "veth", "peer", "name", "oth0", "netns", l.oth)
	l.ip("-n", l.cli, "addr", "add", "192.0.2.1/24", "dev", "cli0")
	l.ip("-n", l.cli, "addr", "add", "198.18.0.5/32", "dev", "lo")
	l.ip("-n", l.lb, "addr", "add", "192.0.2.2/24", "dev", "lb0")
	l.ip("-n", l.lb, "addr", "add", "198.51.100.2/24", "dev", "lb1")
	l.ip("-n", l.lb, "addr", "add", "203.0.113.10/32", "dev", "lo")
	l.ip("-n", l.oth, "addr", "add", "198.51.100.1/24", "dev", "oth0")
	for _, d := range [][2]string{{l.cli, "cli0"}, {l.lb, "lb0"}, {l.lb, "lb1"}, {l.oth, "oth0"}} {
		l.ip("-n", d[0], "link", "set", d[1], "up")
	}
	l.ip("-n", l.cli, "route", "add", "203.0.113.0/24", "via", "192.0.2.2")
	l.ip("-n", l.cli, "route", "add", "198.51.100.0/24", "via", "192.0.2.2")
	l.ip("-n", l.lb, "route", "add", "198.18.0.0/15", "via", "198.51.100.1")
	l.sysctl(l.lb, "net.ipv4.conf.all.rp_filter", "1")
	l.sysctl(l.lb, "net.ipv4.conf.lb0.rp_filter", "1")
	l.lb0MAC = l.mac(l.lb, "lb0")
	l.cliMAC = l.mac(l.cli, "cli0")
	l.ip("-n", l.cli, "neigh", "replace", "192.0.2.2", "lladdr", l.lb0MAC, "dev", "cli0", "nud", "permanent")
	l.ip("-n", l.lb, "neigh", "replace", "192.0.2.1", "lladdr", l.cliMAC, "dev", "lb0", "nud", "permanent")
	return l
}

func (l *lab) down() {
	for _, ns := range []string{l.cli, l.lb, l.oth} {
		exec.Command("ip", "netns", "del", ns).Run()
	}
}

func (l *lab) ip(args ...string) string {
	l.t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		l.t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// sysctl writes a sysctl of a lab namespace (never the host's).
func (l *lab) sysctl(ns, key, value string) {
	l.t.Helper()
	err := inNetns(ns, func() error {
		return os.WriteFile("/proc/sys/"+strings.ReplaceAll(key, ".", "/"), []byte(value), 0o644)
	})
	if err != nil {
		l.t.Fatalf("sysctl %s=%s in %s: %v", key, value, ns, err)
	}
}

func (l *lab) mac(ns, dev string) string {
	l.t.Helper()
	var mac string
	err := inNetns(ns, func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		mac = ifi.HardwareAddr.String()
		return nil
	})
	if err != nil {
		l.t.Fatal(err)
	}
	return mac
}

func (l *lab) ifindex(ns, dev string) int {
	l.t.Helper()
	var idx int
	err := inNetns(ns, func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		idx = ifi.Index
		return nil
	})
	if err != nil {
		l.t.Fatal(err)
	}
	return idx
}

func (l *lab) nft(ns, ruleset string) {
	l.t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	if out, err := cmd.CombinedOutput(); err != nil {
		l.t.Fatalf("nft in %s: %v\n%s", ns, err, out)
	}
}

// sendUDP sends one datagram from namespace ns, from src (unspecified: the
// kernel's choice) to dst:port, optionally with DF set and a payload size.
func sendUDP(t testing.TB, ns string, src, dst netip.Addr, port uint16, size int, df bool) {
	t.Helper()
	err := inNetns(ns, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if df {
			if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_PROBE); err != nil {
				return err
			}
		}
		if src.IsValid() {
			if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: src.As4()}); err != nil {
				return fmt.Errorf("bind %s: %w", src, err)
			}
		}
		return unix.Sendto(fd, make([]byte, size), 0, &unix.SockaddrInet4{Addr: dst.As4(), Port: int(port)})
	})
	if err != nil {
		t.Fatalf("send UDP from %s to %s:%d: %v", ns, dst, port, err)
	}
}

// sendSYN starts a TCP connect from ns and gives up at once: the SYN is
// out, what happens to it is the test's business.
func sendSYN(t testing.TB, ns string, dst netip.Addr, port uint16) {
	t.Helper()
	err := inNetns(ns, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		err = unix.Connect(fd, &unix.SockaddrInet4{Addr: dst.As4(), Port: int(port)})
		if err != nil && err != unix.EINPROGRESS {
			return err
		}
		time.Sleep(50 * time.Millisecond) // the SYN leaves before close
		return nil
	})
	if err != nil {
		t.Fatalf("connect from %s to %s:%d: %v", ns, dst, port, err)
	}
}

// sendRawIPv4 sends a complete IPv4 packet (header included) from ns: for
// spoofed sources and IPIP.
func sendRawIPv4(t testing.TB, ns string, pkt []byte, dst netip.Addr) {
	t.Helper()
	err := inNetns(ns, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return unix.Sendto(fd, pkt, 0, &unix.SockaddrInet4{Addr: dst.As4()})
	})
	if err != nil {
		t.Fatalf("raw send from %s: %v", ns, err)
	}
}

// ipv4Packet builds an IPv4 header (with checksum) around payload.
func ipv4Packet(src, dst netip.Addr, proto uint8, payload []byte) []byte {
	h := make([]byte, 20, 20+len(payload))
	h[0] = 0x45
	n := 20 + len(payload)
	h[2], h[3] = byte(n>>8), byte(n)
	h[5] = 1 // id
	h[8] = 64
	h[9] = proto
	s, d := src.As4(), dst.As4()
	copy(h[12:16], s[:])
	copy(h[16:20], d[:])
	c := checksum(h)
	h[10], h[11] = byte(c>>8), byte(c)
	return append(h, payload...)
}

// tcpSYN is a TCP SYN header with its checksum for src→dst.
func tcpSYN(src, dst netip.Addr, sport, dport uint16) []byte {
	th := make([]byte, 20)
	th[0], th[1] = byte(sport>>8), byte(sport)
	th[2], th[3] = byte(dport>>8), byte(dport)
	th[7] = 1       // seq
	th[12] = 5 << 4 // data offset
	th[13] = 0x02   // SYN
	th[14], th[15] = 0xfa, 0xf0
	s, d := src.As4(), dst.As4()
	pseudo := append(append(append([]byte{}, s[:]...), d[:]...), 0, 6, 0, 20)
	c := checksum(append(pseudo, th...))
	th[16], th[17] = byte(c>>8), byte(c)
	return th
}

func udpHeader(sport, dport uint16, payload int) []byte {
	n := 8 + payload
	u := make([]byte, n)
	u[0], u[1] = byte(sport>>8), byte(sport)
	u[2], u[3] = byte(dport>>8), byte(dport)
	u[4], u[5] = byte(n>>8), byte(n)
	return u // checksum 0: none, valid for IPv4 UDP
}

func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

// startTracer starts a tracer for the test and stops it at the end.
func startTracer(t testing.TB, f Filter, o Options) *Tracer {
	t.Helper()
	if o.PollInterval == 0 {
		o.PollInterval = 20 * time.Millisecond
	}
	tr, err := Start(context.Background(), f, o)
	if err != nil {
		t.Fatalf("Start(%+v, %+v): %v", f, o, err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// waitEvent returns the first event ok accepts, failing after 3 s with
// what was seen instead.
func waitEvent(t *testing.T, tr *Tracer, what string, ok func(Event) bool) Event {
	t.Helper()
	var seen []string
	timeout := time.After(3 * time.Second)
	for {
		select {
		case ev, open := <-tr.Events():
			if !open {
				t.Fatalf("%s: tracer closed; seen: %v", what, seen)
			}
			if ok(ev) {
				return ev
			}
			seen = append(seen, fmt.Sprintf("%s@%s netns=%s dev=%s %+v", ev.Reason, ev.Location, ev.Netns, ev.Dev, ev.Packet))
		case <-timeout:
			t.Fatalf("%s: no such event within 3 s; seen %d: %v; stats %+v; warnings %v", what, len(seen), seen, tr.Stats(), tr.Warnings())
		}
	}
}

// funcOf is a location's function: without offset, module and the
// compiler's clone suffixes ("ip_rcv_finish_core.constprop.0+0x1ab").
func funcOf(loc string) string {
	f, _, _ := strings.Cut(loc, "+")
	f, _, _ = strings.Cut(f, ".")
	return f
}
