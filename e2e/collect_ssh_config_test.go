package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/lvsdoctor/lvsdoctor/internal/sshexec/sshdtest"
)

// collect --inventory reaches a host by the alias an ssh client
// configuration gives it, as `ssh ALIAS` would, from a real sshd.
func TestCollectThroughSSHConfig(t *testing.T) {
	key, pub := sshdtest.ClientKey(t)
	s := sshdtest.Start(t, []ssh.PublicKey{pub}, "")
	dir := t.TempDir()
	kh := sshdtest.KnownHostsFile(t, s.KnownHostsLine())
	cfg := filepath.Join(dir, "ssh_config")
	must(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`Host lb-alias
  HostName 127.0.0.1
  Port %d
  User root
  IdentityFile %s
  UserKnownHostsFile %s
  BindAddress 127.0.0.1
Host proxied
  ProxyCommand nc %%h %%p
`, s.Port, key, kh)), 0o600))
	inv := filepath.Join(dir, "cluster.yaml")
	must(t, os.WriteFile(inv, []byte("hosts:\n  - {name: lb1, address: lb-alias, role: director}\n"), 0o600))

	caseDir := t.TempDir()
	_, stderr, code := run("collect", "--inventory", inv, "--ssh-config", cfg, "--no-agent", "--dir", caseDir)
	if code != 0 {
		t.Fatalf("collect: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(caseDir, "lb1", ".collect", "manifest.yaml")); err != nil {
		t.Errorf("no host folder for lb1: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "lvsdoctor: warning: ssh config "+cfg+":7: BindAddress is not supported") {
		t.Errorf("the unsupported BindAddress was not reported:\n%s", stderr)
	}
	if n := strings.Count(s.Log(), "Accepted publickey for root"); n != 1 {
		t.Errorf("sshd saw %d logins, want 1", n)
	}

	// ProxyCommand would reach the host another way: refused, not ignored.
	must(t, os.WriteFile(inv, []byte("hosts:\n  - {name: lb2, address: proxied}\n"), 0o600))
	_, stderr, code = run("collect", "--inventory", inv, "--ssh-config", cfg, "--no-agent", "--dir", t.TempDir())
	if code != 2 || !strings.Contains(stderr, `host "lb2": ssh config `+cfg+":9: ProxyCommand for proxied is not supported") {
		t.Errorf("ProxyCommand: exit %d\n%s", code, stderr)
	}
	_, stderr, code = run("collect", "--inventory", inv, "--ssh-config", filepath.Join(dir, "absent"), "--dir", t.TempDir())
	if code != 2 || !strings.Contains(stderr, "--ssh-config none") {
		t.Errorf("a missing --ssh-config file: exit %d\n%s", code, stderr)
	}
}
