// Package sshdtest runs real OpenSSH servers for tests and benchmarks:
// each sshd listens on a free loopback port with throw-away host and user
// keys under the test's temp folder, and is stopped when the test ends.
// The SSH transport and what is built on it are tested against the real
// server only, never a stand-in.
package sshdtest

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/lvsdoctor/lvsdoctor/internal/inventory"
)

// Path is the sshd binary the servers run.
const Path = "/usr/sbin/sshd"

// Need skips tb when a real sshd cannot be run here.
func Need(tb testing.TB) {
	tb.Helper()
	if _, err := os.Stat(Path); err != nil {
		tb.Skipf("%s is absent (Debian package openssh-server): the SSH transport is tested against a real sshd only", Path)
	}
	if os.Geteuid() != 0 {
		tb.Skip("sshd needs root here (privilege separation, logging in as root)")
	}
	// sshd refuses to start without its privilege separation directory,
	// which the package creates at boot and a container may lack.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		tb.Skipf("cannot create /run/sshd for sshd: %v", err)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Server is one running sshd.
type Server struct {
	Dir     string // its configuration, keys and pid file
	Port    int    // on 127.0.0.1
	HostKey ssh.PublicKey
	log     *lockedBuffer
	proc    *os.Process
}

// Addr is host:port to dial.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// Host is an inventory entry for this server, logging in as root.
func (s *Server) Host(name string, identity ...string) inventory.Host {
	return inventory.Host{Name: name, Address: "127.0.0.1", Port: s.Port, User: "root", Identity: identity, Timeout: time.Minute}
}

// KnownHostsLine is this server's line for a known_hosts file.
func (s *Server) KnownHostsLine() string {
	return knownhosts.Line([]string{s.Addr()}, s.HostKey)
}

// Log is what sshd has logged so far (LogLevel VERBOSE).
func (s *Server) Log() string { return s.log.String() }

// Start runs an sshd that lets the given public keys log in as root;
// extra is appended to its configuration.
func Start(tb testing.TB, authorized []ssh.PublicKey, extra string) *Server {
	tb.Helper()
	Need(tb)
	dir := tb.TempDir()
	s := &Server{Dir: dir, log: &lockedBuffer{}}
	hostKeyFile := filepath.Join(dir, "ssh_host_ed25519_key")
	s.HostKey = WriteKey(tb, hostKeyFile, "")
	var ak strings.Builder
	for _, k := range authorized {
		ak.Write(ssh.MarshalAuthorizedKey(k))
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), []byte(ak.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	for attempt := 0; ; attempt++ {
		s.Port = FreePort(tb)
		cfg := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
AuthorizedKeysFile %s
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
StrictModes no
UsePAM no
UseDNS no
PrintMotd no
PidFile %s
MaxStartups 200:30:400
MaxSessions 200
MaxAuthTries 20
LogLevel VERBOSE
%s
`, s.Port, hostKeyFile, filepath.Join(dir, "authorized_keys"), filepath.Join(dir, "sshd.pid"), extra)
		cfgFile := filepath.Join(dir, "sshd_config")
		if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
			tb.Fatal(err)
		}
		cmd := exec.Command(Path, "-D", "-e", "-f", cfgFile)
		cmd.Stdout, cmd.Stderr = s.log, s.log
		if err := cmd.Start(); err != nil {
			tb.Fatalf("start sshd: %v", err)
		}
		s.proc = cmd.Process
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		port := s.Port
		tb.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-exited
			if tb.Failed() {
				tb.Logf("sshd on port %d said (end):\n%s", port, tail(s.log.String(), 2000))
			}
		})
		if waitBanner(s.Addr(), exited) {
			return s
		}
		if attempt == 2 {
			tb.Fatalf("sshd did not start:\n%s", s.log.String())
		}
		// Most likely another test took the port between our probe and
		// sshd's bind; try another.
	}
}

// NewHostKey gives the server a new host key, as a reinstalled host has,
// at the same address: sshd reads it again on SIGHUP. It returns once the
// server offers the new key.
func (s *Server) NewHostKey(tb testing.TB) ssh.PublicKey {
	tb.Helper()
	key := WriteKey(tb, filepath.Join(s.Dir, "ssh_host_ed25519_key"), "")
	logged := len(s.Log())
	if err := s.proc.Signal(syscall.SIGHUP); err != nil {
		tb.Fatalf("SIGHUP sshd: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	// A connection accepted before the restart already gets the new key
	// (each connection's sshd reads the key file), so the key alone does
	// not say the listener is back: its log does.
	for {
		_, after, restarted := strings.Cut(s.Log()[logged:], "Received SIGHUP")
		if restarted && strings.Contains(after, "Server listening on") {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("sshd on port %d did not restart on SIGHUP", s.Port)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for time.Now().Before(deadline) {
		var offered ssh.PublicKey
		_, _ = ssh.Dial("tcp", s.Addr(), &ssh.ClientConfig{
			User: "probe",
			HostKeyCallback: func(_ string, _ net.Addr, k ssh.PublicKey) error {
				offered = k
				return fmt.Errorf("only probing the host key")
			},
			Timeout: 2 * time.Second,
		})
		if offered != nil && bytes.Equal(offered.Marshal(), key.Marshal()) {
			s.HostKey = key
			return key
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatalf("sshd on port %d did not take its new host key", s.Port)
	return nil
}

func waitBanner(addr string, exited <-chan struct{}) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(2 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "SSH-2.0-") {
				return true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// FreePort is a loopback TCP port nothing listened on a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WriteKey writes a new ed25519 private key in OpenSSH format, encrypted
// when passphrase is set, and returns its public half.
func WriteKey(tb testing.TB, path, passphrase string) ssh.PublicKey {
	tb.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		tb.Fatal(err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "lvsdoctor test")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "lvsdoctor test", []byte(passphrase))
	}
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		tb.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		tb.Fatal(err)
	}
	return sp
}

// ClientKey makes a user key file in a new temp folder and returns its
// path and public key.
func ClientKey(tb testing.TB) (string, ssh.PublicKey) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "id_ed25519")
	return path, WriteKey(tb, path, "")
}

// KnownHostsFile writes a known_hosts file holding the given lines.
func KnownHostsFile(tb testing.TB, lines ...string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "known_hosts")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// Cluster starts n servers that all let one new user key in, and returns
// them with that key's file and a known_hosts file naming them all: the
// setup of tests and benchmarks that collect from many hosts.
func Cluster(tb testing.TB, n int) (servers []*Server, key, knownHosts string) {
	tb.Helper()
	key, pub := ClientKey(tb)
	var lines []string
	for i := 0; i < n; i++ {
		s := Start(tb, []ssh.PublicKey{pub}, "")
		servers = append(servers, s)
		lines = append(lines, s.KnownHostsLine())
	}
	return servers, key, KnownHostsFile(tb, lines...)
}

// Hosts are n inventory entries named prefix0, prefix1, ... spread over
// the servers in turn, each with the given timeout.
func Hosts(servers []*Server, n int, prefix, key string, timeout time.Duration) []inventory.Host {
	hosts := make([]inventory.Host, n)
	for i := range hosts {
		hosts[i] = servers[i%len(servers)].Host(fmt.Sprintf("%s%d", prefix, i), key)
		hosts[i].Timeout = timeout
	}
	return hosts
}

// SilentListener accepts TCP connections and never says a word, like a
// host whose sshd hangs before its banner. It returns its port.
func SilentListener(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	tb.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return l.Addr().(*net.TCPAddr).Port
}

// ClientCPU is the CPU this process has used: in a benchmark whose servers
// run on the same machine, the client side's share.
func ClientCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
