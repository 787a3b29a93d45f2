package sshexec

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/lvsdoctor/lvsdoctor/internal/inventory"
	"github.com/lvsdoctor/lvsdoctor/internal/sshconfig"
	"github.com/lvsdoctor/lvsdoctor/internal/sshexec/sshdtest"
)

// These tests reach real sshd servers through hosts an ssh client
// configuration describes, as an operator's ~/.ssh/config does.

func sshConfigFile(t *testing.T, text string) *sshconfig.Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := sshconfig.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func inventoryWith(t *testing.T, cfg *sshconfig.Config, yaml string) []inventory.Host {
	t.Helper()
	hosts, err := inventory.ParseWith(filepath.Join(t.TempDir(), "inventory.yaml"), []byte(yaml), inventory.Options{SSHConfig: cfg})
	if err != nil {
		t.Fatal(err)
	}
	return hosts
}

// serverPort is the port the script saw its connection arrive on.
func serverPort(r Result) string {
	f := strings.Fields(string(r.Stdout))
	if len(f) != 4 {
		return ""
	}
	return f[3]
}

func TestSSHConfigAliases(t *testing.T) {
	key, pub := sshdtest.ClientKey(t)
	s := sshdtest.Start(t, []ssh.PublicKey{pub}, "")
	kh := sshdtest.KnownHostsFile(t, s.KnownHostsLine())
	deadPort := sshdtest.FreePort(t)
	cfg := sshConfigFile(t, fmt.Sprintf(`Host ds1 ds1-*
  HostName 127.0.0.1
  Port %d
Host *
  User root
  IdentityFile %s
  UserKnownHostsFile %s
`, s.Port, key, kh))
	hosts := inventoryWith(t, cfg, fmt.Sprintf(`hosts:
  - ds1
  - {name: director, address: ds1-a, role: director}
  - {name: ds1-b}
  - {name: explicit-port, address: ds1, port: %d}
`, deadPort))
	h := hosts[0]
	if h.Name != "ds1" || h.Address != "127.0.0.1" || h.Port != s.Port || h.User != "root" || len(h.Identity) != 1 || h.Identity[0] != key ||
		len(h.KnownHosts) != 2 || h.KnownHosts[0] != kh {
		t.Errorf("ds1 resolved to %+v", h)
	}
	res := Run(context.Background(), hosts, "echo \"$SSH_CONNECTION\"\n", Options{})
	for _, r := range res[:3] {
		if r.Err != nil || serverPort(r) != strconv.Itoa(s.Port) {
			t.Errorf("%s: %v %q", r.Host.Name, r.Err, r.Stdout)
		}
	}
	// The inventory's port wins over the configuration's.
	errHas(t, res[3].Err, "explicit-port (127.0.0.1:"+strconv.Itoa(deadPort)+"): connection refused")

	// A name alone, which no Host line names, is still a missing address.
	_, err := inventory.ParseWith("inv.yaml", []byte("hosts:\n  - {name: nowhere}\n"), inventory.Options{SSHConfig: cfg})
	errHas(t, err, `inv.yaml:2: host "nowhere" has no address, and no Host line of the ssh configuration`)
}

func TestSSHConfigProxyJump(t *testing.T) {
	key, pub := sshdtest.ClientKey(t)
	target := sshdtest.Start(t, []ssh.PublicKey{pub}, "")
	// Each bastion forwards only to the next host of the chain: a success
	// means the connection went outer → inner → target.
	inner := sshdtest.Start(t, []ssh.PublicKey{pub}, fmt.Sprintf("AllowTcpForwarding yes\nPermitOpen 127.0.0.1:%d", target.Port))
	outer := sshdtest.Start(t, []ssh.PublicKey{pub}, fmt.Sprintf("AllowTcpForwarding yes\nPermitOpen 127.0.0.1:%d", inner.Port))
	kh := sshdtest.KnownHostsFile(t, target.KnownHostsLine(), inner.KnownHostsLine(), outer.KnownHostsLine())
	cfg := sshConfigFile(t, fmt.Sprintf(`Host target-chain
  ProxyJump outer,inner
Host target-nested
  ProxyJump inner-via-outer
Host target-*
  HostName 127.0.0.1
  Port %[1]d
Host inner-via-outer
  ProxyJump outer
Host inner inner-via-outer
  HostName 127.0.0.1
  Port %[2]d
Host outer
  HostName 127.0.0.1
  Port %[3]d
Host *
  User root
  IdentityFile %[4]s
  UserKnownHostsFile %[5]s
`, target.Port, inner.Port, outer.Port, key, kh))
	hosts := inventoryWith(t, cfg, `hosts:
  - target-chain
  - target-nested
  - {name: target-inventory-jump, address: target-chain, jump: inner}
`)
	if j := hosts[0].JumpHost; j == nil || j.Name != "inner" || j.Port != inner.Port || j.JumpHost == nil || j.JumpHost.Name != "outer" || j.JumpHost.JumpHost != nil {
		t.Fatalf("target-chain's jump hosts: %+v", j)
	}
	res := Run(context.Background(), hosts, "echo \"$SSH_CONNECTION\"\n", Options{})
	for _, r := range res {
		if r.Err != nil || serverPort(r) != strconv.Itoa(target.Port) {
			t.Errorf("%s: %v %q", r.Host.Name, r.Err, r.Stdout)
		}
	}
	// The first two share the way in (one login on each bastion); the
	// third's jump: in the inventory replaces the chain: it goes through
	// inner alone, reached directly.
	if n := strings.Count(outer.Log(), "Accepted publickey"); n != 1 {
		t.Errorf("outer bastion saw %d logins, want 1", n)
	}
	if n := strings.Count(inner.Log(), "Accepted publickey"); n != 2 {
		t.Errorf("inner bastion saw %d logins, want 2", n)
	}

	// A hop that refuses to forward is named.
	cfg2 := sshConfigFile(t, fmt.Sprintf(`Host skip-inner
  HostName 127.0.0.1
  Port %d
  ProxyJump outer
Host outer
  HostName 127.0.0.1
  Port %d
Host *
  User root
  IdentityFile %s
  UserKnownHostsFile %s
`, target.Port, outer.Port, key, kh))
	r := Run(context.Background(), inventoryWith(t, cfg2, "hosts: [skip-inner]\n"), "true\n", Options{})[0]
	errHas(t, r.Err, "skip-inner (127.0.0.1:"+strconv.Itoa(target.Port)+"): jump host outer refused to forward")
}

func TestSSHConfigHostKeys(t *testing.T) {
	key, pub := sshdtest.ClientKey(t)
	s := sshdtest.Start(t, []ssh.PublicKey{pub}, "")
	dir := t.TempDir()
	kh := filepath.Join(dir, "known_hosts")
	marker := filepath.Join(dir, "ran")
	script := "touch " + marker + "\necho ok\n"
	ranScript := func() bool { _, err := os.Stat(marker); return err == nil }
	cfg := sshConfigFile(t, fmt.Sprintf(`Host new-ok
  StrictHostKeyChecking accept-new
Host lax
  StrictHostKeyChecking no
Host strict
  StrictHostKeyChecking yes
Host *
  HostName 127.0.0.1
  Port %d
  User root
  IdentityFile %s
  UserKnownHostsFile %s
  HashKnownHosts yes
`, s.Port, key, kh))
	hosts := inventoryWith(t, cfg, "hosts: [new-ok, lax, strict, unset]\n")
	run := func(h inventory.Host, opt Options) Result {
		return Run(context.Background(), []inventory.Host{h}, script, opt)[0]
	}

	// Unknown: refused by default and with yes, recorded with accept-new.
	for _, h := range []inventory.Host{hosts[2], hosts[3]} {
		r := run(h, Options{})
		errHas(t, r.Err, h.Name+" (", "host key is not in "+kh, "StrictHostKeyChecking accept-new")
	}
	if ranScript() {
		t.Fatal("the script ran on a host with an unknown key")
	}
	if r := run(hosts[0], Options{}); r.Err != nil || string(r.Stdout) != "ok\n" {
		t.Fatalf("accept-new: %v %q", r.Err, r.Stdout)
	}
	data, err := os.ReadFile(kh)
	if err != nil {
		t.Fatal(err)
	}
	// One hashed line, as HashKnownHosts asks, that ssh and the next run
	// read as this server's key.
	if lines := strings.Split(strings.TrimSpace(string(data)), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "|1|") || strings.Contains(lines[0], "127.0.0.1") {
		t.Errorf("known_hosts holds %q, want one hashed line", data)
	}
	check, err := knownhosts.New(kh)
	if err != nil {
		t.Fatal(err)
	}
	if err := check(s.Addr(), zeroAddr, s.HostKey); err != nil {
		t.Errorf("the recorded line does not hold the server's key: %v", err)
	}
	if out, err := exec.Command("ssh-keygen", "-F", fmt.Sprintf("[127.0.0.1]:%d", s.Port), "-f", kh).CombinedOutput(); err == nil && !strings.Contains(string(out), "found") {
		t.Errorf("ssh-keygen -F does not find the recorded key:\n%s", out)
	}
	if r := run(hosts[2], Options{}); r.Err != nil {
		t.Errorf("strict, once recorded: %v", r.Err)
	}

	// The host is reinstalled: its new key is refused whatever the
	// setting, and the script does not run.
	os.Remove(marker)
	s.NewHostKey(t)
	for _, h := range hosts {
		r := run(h, Options{})
		errHas(t, r.Err, h.Name+" (127.0.0.1:"+strconv.Itoa(s.Port)+"): HOST KEY CHANGED", kh+":1")
		if h.Name == "lax" {
			errHas(t, r.Err, "StrictHostKeyChecking no in the ssh configuration does not make lvsdoctor accept a changed key")
		}
	}
	if r := run(hosts[0], Options{HostKeys: AcceptNew}); r.Err == nil {
		t.Errorf("--accept-new-host-keys let a changed key through")
	}
	if ranScript() {
		t.Error("the script ran on a host whose key changed")
	}

	// --known-hosts wins over UserKnownHostsFile; --accept-new-host-keys
	// over StrictHostKeyChecking yes.
	other := filepath.Join(t.TempDir(), "known_hosts")
	if r := run(hosts[2], Options{KnownHosts: []string{other}, HostKeys: AcceptNew}); r.Err != nil {
		t.Errorf("flags over the configuration: %v", r.Err)
	}
	if check, err := knownhosts.New(other); err != nil || check(s.Addr(), zeroAddr, s.HostKey) != nil {
		t.Errorf("the --known-hosts file does not hold the new key (%v)", err)
	}
}

func TestSSHConfigConnectTimeout(t *testing.T) {
	port := sshdtest.SilentListener(t)
	key, _ := sshdtest.ClientKey(t)
	cfg := sshConfigFile(t, fmt.Sprintf("Host silent\n  HostName 127.0.0.1\n  Port %d\n  ConnectTimeout 1\n  IdentityFile %s\n", port, key))
	hosts := inventoryWith(t, cfg, "defaults: {timeout: 1m}\nhosts: [silent]\n")
	start := time.Now()
	r := Run(context.Background(), hosts, "true\n", Options{})[0]
	errHas(t, r.Err, "silent (127.0.0.1:"+strconv.Itoa(port)+"): no answer within 1s (its ConnectTimeout in the ssh configuration) while logging in")
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("gave up after %s; ConnectTimeout is 1s", d)
	}
}

func TestSSHConfigIdentitiesOnly(t *testing.T) {
	key, pub := sshdtest.ClientKey(t)
	s := sshdtest.Start(t, []ssh.PublicKey{pub}, "")
	kh := sshdtest.KnownHostsFile(t, s.KnownHostsLine())
	sock := startAgent(t)
	add := exec.Command("ssh-add", key)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v %s", err, out)
	}
	t.Setenv("SSH_AUTH_SOCK", sock)
	// The identity file is a key the server does not know; the agent holds
	// the one it does.
	unknown, _ := sshdtest.ClientKey(t)
	cfg := sshConfigFile(t, fmt.Sprintf(`Host only
  IdentitiesOnly yes
Host *
  HostName 127.0.0.1
  Port %d
  User root
  IdentityFile %s
  UserKnownHostsFile %s
`, s.Port, unknown, kh))
	hosts := inventoryWith(t, cfg, "hosts: [only, any]\n")
	res := Run(context.Background(), hosts, "echo ok\n", Options{Agent: true})
	errHas(t, res[0].Err, "only (", "login as root refused", unknown)
	if res[1].Err != nil || string(res[1].Stdout) != "ok\n" {
		t.Errorf("without IdentitiesOnly the agent's key logs in: %v %q", res[1].Err, res[1].Stdout)
	}
}
