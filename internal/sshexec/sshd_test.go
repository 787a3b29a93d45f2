package sshexec

// Real OpenSSH servers for the tests: each sshd runs on a free loopback port
// with throw-away host and user keys under t.TempDir().

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
	"testing"
	"time"

	"github.com/lvsdoctor/lvsdoctor/internal/inventory"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

const sshdPath = "/usr/sbin/sshd"

// needSSHD skips when a real sshd cannot be run here.
func needSSHD(tb testing.TB) {
	tb.Helper()
	if _, err := os.Stat(sshdPath); err != nil {
		tb.Skipf("%s is absent (Debian package openssh-server): the SSH transport is tested against a real sshd only", sshdPath)
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

type sshd struct {
	dir     string
	port    int
	hostKey ssh.PublicKey
	log     *lockedBuffer
}

func (s *sshd) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// host is an inventory entry for this server, logging in as root.
func (s *sshd) host(name string, identity ...string) inventory.Host {
	return inventory.Host{Name: name, Address: "127.0.0.1", Port: s.port, User: "root", Identity: identity, Timeout: time.Minute}
}

// knownHostsLine is this server's line for a known_hosts file.
func (s *sshd) knownHostsLine() string {
	return knownhosts.Line([]string{s.addr()}, s.hostKey)
}

// startSSHD runs an sshd that lets the given public keys log in as root;
// extra is appended to its configuration.
func startSSHD(tb testing.TB, authorized []ssh.PublicKey, extra string) *sshd {
	tb.Helper()
	needSSHD(tb)
	dir := tb.TempDir()
	s := &sshd{dir: dir, log: &lockedBuffer{}}
	hostKeyFile := filepath.Join(dir, "ssh_host_ed25519_key")
	s.hostKey = writeKey(tb, hostKeyFile, "")
	var ak strings.Builder
	for _, k := range authorized {
		ak.Write(ssh.MarshalAuthorizedKey(k))
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), []byte(ak.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	for attempt := 0; ; attempt++ {
		s.port = freePort(tb)
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
`, s.port, hostKeyFile, filepath.Join(dir, "authorized_keys"), filepath.Join(dir, "sshd.pid"), extra)
		cfgFile := filepath.Join(dir, "sshd_config")
		if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
			tb.Fatal(err)
		}
		cmd := exec.Command(sshdPath, "-D", "-e", "-f", cfgFile)
		cmd.Stdout, cmd.Stderr = s.log, s.log
		if err := cmd.Start(); err != nil {
			tb.Fatalf("start sshd: %v", err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		tb.Cleanup(func() {
			cmd.Process.Kill()
			<-exited
			if tb.Failed() {
				tb.Logf("sshd on port %d said (end):\n%s", s.port, tail(s.log.String(), 2000))
			}
		})
		if waitBanner(s.addr(), exited) {
			return s
		}
		if attempt == 2 {
			tb.Fatalf("sshd did not start:\n%s", s.log.String())
		}
		// Most likely another test took the port between our probe and
		// sshd's bind; try another.
	}
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
			c.SetDeadline(time.Now().Add(2 * time.Second))
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

func freePort(tb testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// writeKey writes a new ed25519 private key in OpenSSH format, encrypted
// when passphrase is set, and returns its public half.
func writeKey(tb testing.TB, path, passphrase string) ssh.PublicKey {
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

// clientKey makes a user key file in a new temp folder.
func clientKey(tb testing.TB) (string, ssh.PublicKey) {
	path := filepath.Join(tb.TempDir(), "id_ed25519")
	return path, writeKey(tb, path, "")
}

// knownHostsFile writes a known_hosts file holding the given lines.
func knownHostsFile(tb testing.TB, lines ...string) string {
	path := filepath.Join(tb.TempDir(), "known_hosts")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// silentListener accepts TCP connections and never says a word, like a
// host whose sshd hangs before its banner.
func silentListener(tb testing.TB) int {
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

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
