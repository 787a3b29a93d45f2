package sshexec

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lvsdoctor/lvsdoctor/internal/inventory"
	"github.com/lvsdoctor/lvsdoctor/internal/sshexec/sshdtest"
	"golang.org/x/crypto/ssh"
)

// errHas fails unless err's message holds every part.
func errHas(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one saying %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q\n  lacks %q", err, p)
		}
	}
}

func TestRunSuccess(t *testing.T) {
	key, pub := sshdtest.ClientKey(t)
	s := sshdtest.Start(t, []ssh.PublicKey{pub}, "")
	// A script longer than any channel window, so feeding stdin is tested
	// beyond one write.
	filler := strings.Repeat("# padding line to make the script long\n", 10000)
	script := filler + `echo "hello from $(hostname)"
echo to-stderr >&2
id -u
exit 3
`
	var events []Event
	res := Run(context.Background(), []inventory.Host{s.Host("rs1", key)}, script, Options{
		KnownHosts: []string{sshdtest.KnownHostsFile(t, s.KnownHostsLine())},
		Progress:   func(e Event) { events = append(events, e) },
	})
	if len(res) != 1 {
		t.Fatalf("%d results", len(res))
	}
	r := res[0]
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	host, _ := os.Hostname()
	if want := "hello from " + host + "\n0\n"; string(r.Stdout) != want {
		t.Errorf("stdout %q, want %q", r.Stdout, want)
	}
	if string(r.Stderr) != "to-stderr\n" {
		t.Errorf("stderr %q", r.Stderr)
	}
	if r.ExitStatus != 3 {
		t.Errorf("exit status %d, want 3", r.ExitStatus)
	}
	if r.Host.Name != "rs1" || r.Elapsed <= 0 {
		t.Errorf("result %+v", r)
	}
	if len(events) != 2 || events[0].Kind != HostStarted || events[1].Kind != HostDone || events[1].Result == nil || events[1].Done != 1 || events[1].Total != 1 {
		t.Errorf("events %+v", events)
	}
}

func TestRunSudo(t *testing.T) {
	key, pub := sshdtest.ClientKey(t)
	kh := func(s *sshdtest.Server) Options {
		return Options{KnownHosts: []string{sshdtest.KnownHostsFile(t, s.KnownHostsLine())}}
	}

	t.Run("real sudo", func(t *testing.T) {
		if _, err := exec.LookPath("sudo"); err != nil {
			t.Skip("sudo is not installed (Debian package sudo); the refusal messages are tested below without it")
		}
		s := sshdtest.Start(t, []ssh.PublicKey{pub}, "")
		h := s.Host("rs1", key)
		h.Sudo = true
		r := Run(context.Background(), []inventory.Host{h}, "id -u; echo \"via=$SUDO_USER\"\n", kh(s))[0]
		if r.Err != nil || r.ExitStatus != 0 {
			t.Fatalf("err %v, status %d, stderr %q", r.Err, r.ExitStatus, r.Stderr)
		}
		if string(r.Stdout) != "0\nvia=root\n" {
			t.Errorf("stdout %q; want the script run by sudo (SUDO_USER set)", r.Stdout)
		}
	})

	// sudo's refusals, whether or not it is installed: the session's PATH
	// is pointed at a folder where sudo is absent, or where a stand-in
	// prints what sudo -n prints when it would need a password.
	t.Run("not installed", func(t *testing.T) {
		bin := t.TempDir()
		s := sshdtest.Start(t, []ssh.PublicKey{pub}, "SetEnv PATH="+bin)
		h := s.Host("rs1", key)
		h.Sudo = true
		r := Run(context.Background(), []inventory.Host{h}, "echo ran\n", kh(s))[0]
		errHas(t, r.Err, "rs1 ("+s.Addr()+")", "sudo is not installed there", "log in as root")
		if r.ExitStatus != 127 || len(r.Stdout) != 0 {
			t.Errorf("status %d stdout %q", r.ExitStatus, r.Stdout)
		}
	})
	t.Run("password required", func(t *testing.T) {
		bin := t.TempDir()
		fake := "#!/bin/sh\n[ \"$1\" = -n ] || exit 99\necho 'sudo: a password is required' >&2\nexit 1\n"
		if err := os.WriteFile(filepath.Join(bin, "sudo"), []byte(fake), 0o755); err != nil {
			t.Fatal(err)
		}
		s := sshdtest.Start(t, []ssh.PublicKey{pub}, "SetEnv PATH="+bin+":/usr/bin:/bin")
		h := s.Host("rs1", key)
		h.Sudo = true
		r := Run(context.Background(), []inventory.Host{h}, "echo ran\n", kh(s))[0]
		errHas(t, r.Err, "rs1 (", "sudo asks root for a password", "sudo -n", "NOPASSWD")
		// Without -n the stand-in exits 99: the message must come from -n.
		if r.ExitStatus != 1 {
			t.Errorf("status %d", r.ExitStatus)
		}
	})
}

func TestHostKeys(t *testing.T) {
	key, pub := sshdtest.ClientKey(t)
	s := sshdtest.Start(t, []ssh.PublicKey{pub}, "")
	marker := filepath.Join(t.TempDir(), "ran")
	script := "touch " + marker + "\necho ok\n"
	ranScript := func() bool { _, err := os.Stat(marker); return err == nil }

	t.Run("unknown refused", func(t *testing.T) {
		kh := sshdtest.KnownHostsFile(t, "# empty")
		r := Run(context.Background(), []inventory.Host{s.Host("rs1", key)}, script, Options{KnownHosts: []string{kh}})[0]
		errHas(t, r.Err, "rs1 ("+s.Addr()+"): host key is not in "+kh, "ED25519 SHA256:",
			"ssh-keyscan -p "+strconv.Itoa(s.Port)+" 127.0.0.1 >> "+kh, "--accept-new-host-keys")
		if ranScript() || len(r.Stdout) != 0 || r.ExitStatus != -1 {
			t.Errorf("the script ran on a host with an unknown key")
		}
	})
	t.Run("missing known_hosts file refused", func(t *testing.T) {
		kh := filepath.Join(t.TempDir(), "nope", "known_hosts")
		r := Run(context.Background(), []inventory.Host{s.Host("rs1", key)}, script, Options{KnownHosts: []string{kh}})[0]
		errHas(t, r.Err, "host key is not in")
		if ranScript() {
			t.Errorf("the script ran")
		}
	})
	t.Run("changed refused", func(t *testing.T) {
		other := sshdtest.WriteKey(t, filepath.Join(t.TempDir(), "other"), "")
		kh := sshdtest.KnownHostsFile(t, "# first line", fmt.Sprintf("[127.0.0.1]:%d %s", s.Port, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(other)))))
		for _, policy := range []HostKeyPolicy{Strict, AcceptNew} {
			r := Run(context.Background(), []inventory.Host{s.Host("rs1", key)}, script, Options{KnownHosts: []string{kh}, HostKeys: policy})[0]
			errHas(t, r.Err, "rs1 ("+s.Addr()+"): HOST KEY CHANGED", ssh.FingerprintSHA256(s.HostKey), ssh.FingerprintSHA256(other),
				kh+":2", fmt.Sprintf("ssh-keygen -R '[127.0.0.1]:%d'", s.Port))
		}
		if ranScript() {
			t.Errorf("the script ran on a host with a changed key")
		}
	})
	t.Run("accept new, then strict", func(t *testing.T) {
		kh := filepath.Join(t.TempDir(), "dot-ssh", "known_hosts")
		// Five entries for one server: the key is recorded once.
		var hosts []inventory.Host
		for i := 0; i < 5; i++ {
			hosts = append(hosts, s.Host(fmt.Sprintf("rs%d", i), key))
		}
		for _, r := range Run(context.Background(), hosts, "echo ok\n", Options{KnownHosts: []string{kh}, HostKeys: AcceptNew}) {
			if r.Err != nil || string(r.Stdout) != "ok\n" {
				t.Fatalf("accept-new: %v %q", r.Err, r.Stdout)
			}
		}
		data, err := os.ReadFile(kh)
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != s.KnownHostsLine()+"\n" {
			t.Errorf("known_hosts holds %q, want the one line %q", data, s.KnownHostsLine())
		}
		if st, _ := os.Stat(kh); st.Mode().Perm() != 0o600 {
			t.Errorf("known_hosts mode %v", st.Mode())
		}
		r := Run(context.Background(), hosts[:1], "echo again\n", Options{KnownHosts: []string{kh}})[0]
		if r.Err != nil || string(r.Stdout) != "again\n" {
			t.Errorf("strict run after accept-new: %v %q", r.Err, r.Stdout)
		}
	})
	t.Run("accept new appends after a line without newline", func(t *testing.T) {
		kh := filepath.Join(t.TempDir(), "known_hosts")
		os.WriteFile(kh, []byte("# no newline at the end"), 0o600)
		r := Run(context.Background(), []inventory.Host{s.Host("rs1", key)}, "true\n", Options{KnownHosts: []string{kh}, HostKeys: AcceptNew})[0]
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		data, _ := os.ReadFile(kh)
		if string(data) != "# no newline at the end\n"+s.KnownHostsLine()+"\n" {
			t.Errorf("known_hosts %q", data)
		}
	})
	t.Run("key type chosen from known_hosts", func(t *testing.T) {
		// The server holds an RSA key too and would prefer ed25519; known_hosts
		// records only the RSA one, which must not read as a changed key.
		rsaKey := filepath.Join(t.TempDir(), "ssh_host_rsa_key")
		out, err := exec.Command("ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", rsaKey).CombinedOutput()
		if err != nil {
			t.Skipf("ssh-keygen (openssh-client) is needed to make an RSA host key: %v %s", err, out)
		}
		s2 := sshdtest.Start(t, []ssh.PublicKey{pub}, "HostKey "+rsaKey)
		rsaPub, _ := os.ReadFile(rsaKey + ".pub")
		fields := strings.Fields(string(rsaPub))
		kh := sshdtest.KnownHostsFile(t, fmt.Sprintf("[127.0.0.1]:%d %s %s", s2.Port, fields[0], fields[1]))
		r := Run(context.Background(), []inventory.Host{s2.Host("rs1", key)}, "echo ok\n", Options{KnownHosts: []string{kh}})[0]
		if r.Err != nil || string(r.Stdout) != "ok\n" {
			t.Errorf("%v %q", r.Err, r.Stdout)
		}
	})
	t.Run("malformed known_hosts", func(t *testing.T) {
		kh := sshdtest.KnownHostsFile(t, "[127.0.0.1]:22 ssh-ed25519 !!!notbase64")
		r := Run(context.Background(), []inventory.Host{s.Host("rs1", key)}, script, Options{KnownHosts: []string{kh}})[0]
		errHas(t, r.Err, "rs1 (", "cannot read known hosts", kh)
	})
}

func TestClientKeys(t *testing.T) {
	key, pub := sshdtest.ClientKey(t)
	s := sshdtest.Start(t, []ssh.PublicKey{pub}, "")
	opt := Options{KnownHosts: []string{sshdtest.KnownHostsFile(t, s.KnownHostsLine())}}

	t.Run("wrong key refused", func(t *testing.T) {
		wrong, _ := sshdtest.ClientKey(t)
		r := Run(context.Background(), []inventory.Host{s.Host("rs1", wrong)}, "echo ok\n", opt)[0]
		errHas(t, r.Err, "rs1 ("+s.Addr()+"): login as root refused", wrong, "/root/.ssh/authorized_keys on rs1")
	})
	t.Run("second identity used", func(t *testing.T) {
		wrong, _ := sshdtest.ClientKey(t)
		r := Run(context.Background(), []inventory.Host{s.Host("rs1", wrong, key)}, "echo ok\n", opt)[0]
		if r.Err != nil || string(r.Stdout) != "ok\n" {
			t.Errorf("%v %q", r.Err, r.Stdout)
		}
	})
	t.Run("missing identity file", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "id_nope")
		r := Run(context.Background(), []inventory.Host{s.Host("rs1", missing)}, "echo ok\n", opt)[0]
		errHas(t, r.Err, "rs1 (", "identity file "+missing+" does not exist")
	})
	t.Run("public key named as identity", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "id.pub")
		os.WriteFile(p, ssh.MarshalAuthorizedKey(pub), 0o600)
		r := Run(context.Background(), []inventory.Host{s.Host("rs1", p)}, "echo ok\n", opt)[0]
		errHas(t, r.Err, "holds a public key")
	})
	t.Run("no key at all", func(t *testing.T) {
		t.Setenv("HOME", t.TempDir())
		t.Setenv("SSH_AUTH_SOCK", "")
		r := Run(context.Background(), []inventory.Host{s.Host("rs1")}, "echo ok\n", Options{KnownHosts: opt.KnownHosts, Agent: true})[0]
		errHas(t, r.Err, "rs1 (", "no key to log in with", "SSH_AUTH_SOCK is not set")
	})
	t.Run("default key in ~/.ssh", func(t *testing.T) {
		home := t.TempDir()
		t.Setenv("HOME", home)
		os.Mkdir(filepath.Join(home, ".ssh"), 0o700)
		data, _ := os.ReadFile(key)
		os.WriteFile(filepath.Join(home, ".ssh", "id_ed25519"), data, 0o600)
		r := Run(context.Background(), []inventory.Host{s.Host("rs1")}, "echo ok\n", opt)[0]
		if r.Err != nil || string(r.Stdout) != "ok\n" {
			t.Errorf("%v %q", r.Err, r.Stdout)
		}
	})

	encrypted := filepath.Join(t.TempDir(), "id_enc")
	encPub := sshdtest.WriteKey(t, encrypted, "correct horse")
	s2 := sshdtest.Start(t, []ssh.PublicKey{encPub}, "")
	opt2 := Options{KnownHosts: []string{sshdtest.KnownHostsFile(t, s2.KnownHostsLine())}}
	t.Run("passphrase-protected key", func(t *testing.T) {
		t.Setenv("SSH_AUTH_SOCK", "")
		r := Run(context.Background(), []inventory.Host{s2.Host("rs1", encrypted)}, "echo ok\n", opt2)[0]
		errHas(t, r.Err, "rs1 (", "identity file "+encrypted+" is protected by a passphrase", "ssh-add "+encrypted)
	})
	t.Run("passphrase-protected key through ssh-agent", func(t *testing.T) {
		sock := startAgent(t)
		// ssh-add needs the passphrase; SSH_ASKPASS answers it.
		askpass := filepath.Join(t.TempDir(), "askpass")
		os.WriteFile(askpass, []byte("#!/bin/sh\necho 'correct horse'\n"), 0o755)
		add := exec.Command("ssh-add", encrypted)
		add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock, "SSH_ASKPASS="+askpass, "SSH_ASKPASS_REQUIRE=force", "DISPLAY=none")
		if out, err := add.CombinedOutput(); err != nil {
			t.Fatalf("ssh-add: %v %s", err, out)
		}
		t.Setenv("SSH_AUTH_SOCK", sock)
		o := opt2
		o.Agent = true
		r := Run(context.Background(), []inventory.Host{s2.Host("rs1", encrypted)}, "echo ok\n", o)[0]
		if r.Err != nil || string(r.Stdout) != "ok\n" {
			t.Errorf("%v %q", r.Err, r.Stdout)
		}
		// The agent alone, with no identity file named.
		t.Setenv("HOME", t.TempDir())
		r = Run(context.Background(), []inventory.Host{s2.Host("rs1")}, "echo ok\n", o)[0]
		if r.Err != nil || string(r.Stdout) != "ok\n" {
			t.Errorf("agent only: %v %q", r.Err, r.Stdout)
		}
	})
}

// startAgent runs a real ssh-agent on a socket in a temp folder.
func startAgent(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("ssh-agent"); err != nil {
		t.Skip("ssh-agent is not installed (Debian package openssh-client)")
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	cmd := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 200; i++ {
		if _, err := os.Stat(sock); err == nil {
			return sock
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("ssh-agent did not create its socket")
	return ""
}

func TestUnreachableAndSlow(t *testing.T) {
	key, pub := sshdtest.ClientKey(t)
	s := sshdtest.Start(t, []ssh.PublicKey{pub}, "")
	slow := sshdtest.Start(t, []ssh.PublicKey{pub}, "")
	kh := sshdtest.KnownHostsFile(t, s.KnownHostsLine(), slow.KnownHostsLine())

	closed := s.Host("closed", key)
	closed.Port = sshdtest.FreePort(t)
	silent := s.Host("silent", key)
	silent.Port = sshdtest.SilentListener(t)
	silent.Timeout = 2 * time.Second
	// The timeout leaves room for a login on a loaded machine; the script
	// sleeps far longer on that server only.
	sleepy := slow.Host("sleepy", key)
	sleepy.Timeout = 15 * time.Second
	good := s.Host("good", key)
	good.Timeout = 60 * time.Second
	badname := s.Host("badname", key)
	badname.Address = "no-such-host.invalid"
	script := fmt.Sprintf("echo start\nif [ \"${SSH_CONNECTION##* }\" = %d ]; then sleep 30; fi\necho done\n", slow.Port)

	// One at a time, so the good host's result shows the slow ones were
	// abandoned rather than waited for.
	start := time.Now()
	hosts := []inventory.Host{closed, silent, sleepy, good, badname}
	res := Run(context.Background(), hosts, script, Options{KnownHosts: []string{kh}, Concurrency: 1})
	elapsed := time.Since(start)

	errHas(t, res[0].Err, "closed (127.0.0.1:"+strconv.Itoa(closed.Port)+"): connection refused", "is sshd running there")
	errHas(t, res[1].Err, "silent (127.0.0.1:"+strconv.Itoa(silent.Port)+"): no answer within 2s while logging in (SSH handshake)", "abandoned", "raise its timeout:")
	errHas(t, res[2].Err, "sleepy (", "no answer within 15s while running the script")
	if string(res[2].Stdout) != "start\n" {
		t.Errorf("the abandoned host's output so far is lost: %q", res[2].Stdout)
	}
	if res[3].Err != nil || string(res[3].Stdout) != "start\ndone\n" || res[3].ExitStatus != 0 {
		t.Errorf("good host: %v %q", res[3].Err, res[3].Stdout)
	}
	errHas(t, res[4].Err, "badname (no-such-host.invalid:"+strconv.Itoa(s.Port)+"): cannot resolve no-such-host.invalid", "check its address:")
	for i, r := range res[:3] {
		if r.ExitStatus != -1 {
			t.Errorf("host %d: exit status %d for a script that did not finish", i, r.ExitStatus)
		}
	}
	if res[1].Elapsed > 4*time.Second || res[2].Elapsed > 17*time.Second {
		t.Errorf("timeouts not kept: %v, %v", res[1].Elapsed, res[2].Elapsed)
	}
	if elapsed > 30*time.Second {
		t.Errorf("run took %v; the sleeping host was waited for", elapsed)
	}
}

func TestJumpHost(t *testing.T) {
	key, pub := sshdtest.ClientKey(t)
	target := sshdtest.Start(t, []ssh.PublicKey{pub}, "")
	// The bastion forwards only to the target, so a success proves the
	// connection went through it.
	deadTarget := sshdtest.FreePort(t)
	bastion := sshdtest.Start(t, []ssh.PublicKey{pub}, fmt.Sprintf("AllowTcpForwarding yes\nPermitOpen 127.0.0.1:%d 127.0.0.1:%d", target.Port, deadTarget))
	closedBastion := sshdtest.Start(t, []ssh.PublicKey{pub}, "AllowTcpForwarding no")
	kh := sshdtest.KnownHostsFile(t, target.KnownHostsLine(), bastion.KnownHostsLine(), closedBastion.KnownHostsLine())

	dir := t.TempDir()
	inv := filepath.Join(dir, "inventory.yaml")
	deadPort := sshdtest.FreePort(t)
	yaml := fmt.Sprintf(`defaults:
  user: root
  identity: %s
  timeout: 20s
hosts:
  - {name: bastion, address: 127.0.0.1, port: %d, role: router}
  - {name: closed-bastion, address: 127.0.0.1, port: %d}
  - {name: dead-bastion, address: 127.0.0.1, port: %d}
  - {name: rs1, address: 127.0.0.1, port: %d, jump: bastion, role: realserver}
  - {name: rs2, address: 127.0.0.1, port: %d, jump: bastion}
  - {name: rs3, address: 127.0.0.1, port: %d, jump: closed-bastion}
  - {name: rs4, address: 127.0.0.1, port: %d, jump: dead-bastion}
  - {name: rs5, address: 127.0.0.1, port: %d, jump: "root@127.0.0.1:%d"}
`, key, bastion.Port, closedBastion.Port, deadPort, target.Port, target.Port, target.Port, target.Port, target.Port, bastion.Port)
	if err := os.WriteFile(inv, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	hosts, err := inventory.Load(inv)
	if err != nil {
		t.Fatal(err)
	}
	script := "echo \"$SSH_CONNECTION\"\n"
	res := Run(context.Background(), hosts[3:], script, Options{KnownHosts: []string{kh}})
	for _, i := range []int{0, 1, 4} {
		r := res[i]
		f := strings.Fields(string(r.Stdout))
		if r.Err != nil || len(f) != 4 || f[3] != strconv.Itoa(target.Port) {
			t.Errorf("%s through the bastion: %v %q", r.Host.Name, r.Err, r.Stdout)
		}
	}
	errHas(t, res[2].Err, "rs3 (127.0.0.1:"+strconv.Itoa(target.Port)+"): jump host closed-bastion refused to forward", "AllowTcpForwarding")
	errHas(t, res[3].Err, "rs4 (127.0.0.1:"+strconv.Itoa(target.Port)+"): not reached: its jump host dead-bastion (127.0.0.1:"+strconv.Itoa(deadPort)+") failed: connection refused")
	// rs1, rs2 and rs5 (whose jump address is the bastion's, with the same
	// user and key) shared one login on the bastion.
	if n := strings.Count(bastion.Log(), "Accepted publickey"); n != 1 {
		t.Errorf("bastion saw %d logins, want 1", n)
	}

	// Nothing listens at the target's address, as seen from the bastion.
	h := hosts[3]
	h.Port = deadTarget
	r := Run(context.Background(), []inventory.Host{h}, script, Options{KnownHosts: []string{kh}})[0]
	errHas(t, r.Err, "rs1 (127.0.0.1:"+strconv.Itoa(deadTarget)+"): jump host bastion could not connect to 127.0.0.1:"+strconv.Itoa(deadTarget), "as seen from bastion")
}

func TestOutputCap(t *testing.T) {
	key, pub := sshdtest.ClientKey(t)
	s := sshdtest.Start(t, []ssh.PublicKey{pub}, "")
	opt := Options{KnownHosts: []string{sshdtest.KnownHostsFile(t, s.KnownHostsLine())}, MaxOutput: 1 << 20}
	h := s.Host("rs1", key)
	h.Timeout = 20 * time.Second
	start := time.Now()
	res := Run(context.Background(), []inventory.Host{h}, "head -c 3000000 /dev/zero\necho unreachable >&2\n", opt)
	errHas(t, res[0].Err, "rs1 (", "printed more than 1 MiB; kept the first 1 MiB")
	if len(res[0].Stdout) != 1<<20 {
		t.Errorf("kept %d bytes, want %d", len(res[0].Stdout), 1<<20)
	}
	// A script that never stops printing is stopped at the cap, not at its
	// timeout.
	res = Run(context.Background(), []inventory.Host{h}, "yes\n", opt)
	errHas(t, res[0].Err, "printed more than 1 MiB")
	if time.Since(start) > 10*time.Second || len(res[0].Stdout) != 1<<20 {
		t.Errorf("endless output: %v, %d bytes", time.Since(start), len(res[0].Stdout))
	}
	// Exactly at the cap is fine.
	res = Run(context.Background(), []inventory.Host{h}, "head -c 1048576 /dev/zero\n", opt)
	if res[0].Err != nil || len(res[0].Stdout) != 1<<20 {
		t.Errorf("at the cap: %v %d", res[0].Err, len(res[0].Stdout))
	}
}

func TestCancel(t *testing.T) {
	key, pub := sshdtest.ClientKey(t)
	s := sshdtest.Start(t, []ssh.PublicKey{pub}, "")
	var hosts []inventory.Host
	for i := 0; i < 4; i++ {
		hosts = append(hosts, s.Host(fmt.Sprintf("rs%d", i), key))
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(time.Second, cancel)
	start := time.Now()
	res := Run(ctx, hosts, "sleep 5\n", Options{KnownHosts: []string{sshdtest.KnownHostsFile(t, s.KnownHostsLine())}, Concurrency: 2})
	if time.Since(start) > 4*time.Second {
		t.Errorf("cancel took %v", time.Since(start))
	}
	errHas(t, res[0].Err, "rs0 (", "cancelled while")
	errHas(t, res[3].Err, "rs3 (", "not started: context canceled")
}

// TestManyHosts collects from 100 inventory entries spread over four real
// servers at once.
func TestManyHosts(t *testing.T) {
	if testing.Short() {
		t.Skip("100 SSH logins; skipped with -short")
	}
	servers, key, kh := sshdtest.Cluster(t, 4)
	// logins take seconds on a loaded machine
	hosts := sshdtest.Hosts(servers, 100, "h", key, 2*time.Minute)
	maxRunning := 0
	start := time.Now()
	res := Run(context.Background(), hosts, "echo \"$SSH_CONNECTION\"\n", Options{
		KnownHosts: []string{kh},
		Progress: func(e Event) {
			if e.Running > maxRunning {
				maxRunning = e.Running
			}
		},
	})
	t.Logf("100 hosts in %v (%.0f hosts/s), at most %d at once", time.Since(start), 100/time.Since(start).Seconds(), maxRunning)
	for i, r := range res {
		f := strings.Fields(string(r.Stdout))
		if r.Err != nil || r.ExitStatus != 0 || len(f) != 4 || f[3] != strconv.Itoa(hosts[i].Port) || r.Host.Name != hosts[i].Name {
			t.Errorf("host %d: %v status %d stdout %q", i, r.Err, r.ExitStatus, r.Stdout)
		}
	}
	if maxRunning > DefaultConcurrency || maxRunning < 2 {
		t.Errorf("at most %d hosts ran at once; want 2..%d", maxRunning, DefaultConcurrency)
	}
}

func TestNoHosts(t *testing.T) {
	if res := Run(context.Background(), nil, "true", Options{}); len(res) != 0 {
		t.Errorf("%v", res)
	}
}

func BenchmarkRun(b *testing.B) {
	servers, key, kh := sshdtest.Cluster(b, 4)
	for _, n := range []int{10, 50, 100} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			hosts := sshdtest.Hosts(servers, n, "h", key, 2*time.Minute)
			cpu0 := sshdtest.ClientCPU()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for _, r := range Run(context.Background(), hosts, "echo ok\n", Options{KnownHosts: []string{kh}}) {
					if r.Err != nil {
						b.Fatal(r.Err)
					}
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "hosts/s")
			// The servers' side (sshd forks, the login shell's startup files)
			// dominates on one machine; this is what the transport itself costs.
			b.ReportMetric(float64((sshdtest.ClientCPU()-cpu0).Microseconds())/1000/float64(n*b.N), "client-cpu-ms/host")
		})
	}
}

// Jobs: a script of its own per host, and stdout read as it arrives.
func TestRunJobsStream(t *testing.T) {
	key, pub := sshdtest.ClientKey(t)
	s := sshdtest.Start(t, []ssh.PublicKey{pub}, "")
	opt := Options{KnownHosts: []string{sshdtest.KnownHostsFile(t, s.KnownHostsLine())}, MaxOutput: 1 << 20}
	var hosts []inventory.Host
	for _, n := range []string{"echo", "endless", "at-cap", "refused", "early"} {
		h := s.Host(n, key)
		h.Timeout = 30 * time.Second
		hosts = append(hosts, h)
	}
	scripts := map[string]string{
		"echo":    "echo \"I am $0\"\n",
		"endless": "yes\n",
		"at-cap":  "head -c 1048576 /dev/zero\n",
		"refused": "echo forged\necho more\n",
		// stops reading after one line: the rest is discarded, the script
		// still ends normally
		"early": "echo first\nhead -c 300000 /dev/zero\nexit 4\n",
	}
	read := make([]int64, len(hosts))
	first := make([]string, len(hosts))
	var order []string
	start := time.Now()
	res := RunJobs(context.Background(), hosts, func(i int, h inventory.Host) Job {
		return Job{
			Script: strings.Replace(scripts[h.Name], "$0", h.Name, 1),
			Stdout: func(r io.Reader) error {
				if h.Name == "early" {
					line, err := bufio.NewReader(r).ReadString('\n')
					first[i] = line
					return err
				}
				if h.Name == "refused" {
					return fmt.Errorf("this output is refused")
				}
				var buf [4096]byte
				for {
					n, err := r.Read(buf[:])
					if first[i] == "" {
						first[i] = string(buf[:n])
					}
					read[i] += int64(n)
					if err == io.EOF {
						return nil
					}
					if err != nil {
						return err
					}
				}
			},
			Done: func(res *Result) { order = append(order, "done "+res.Host.Name) },
		}
	}, Options{KnownHosts: opt.KnownHosts, MaxOutput: opt.MaxOutput, Concurrency: 1, Progress: func(e Event) {
		if e.Kind == HostDone {
			order = append(order, "progress "+e.Host.Name)
		}
	}})
	if res[0].Err != nil || first[0] != "I am echo\n" || len(res[0].Stdout) != 0 {
		t.Errorf("echo: %v, read %q, kept %q", res[0].Err, first[0], res[0].Stdout)
	}
	errHas(t, res[1].Err, "endless (", "printed more than 1 MiB; kept the first 1 MiB")
	if read[1] != 1<<20 {
		t.Errorf("endless: read %d bytes, want the cap, %d", read[1], 1<<20)
	}
	if res[2].Err != nil || read[2] != 1<<20 {
		t.Errorf("at the cap: %v, read %d", res[2].Err, read[2])
	}
	errHas(t, res[3].Err, "refused ("+s.Addr()+"): this output is refused")
	if res[4].Err != nil || res[4].ExitStatus != 4 || first[4] != "first\n" {
		t.Errorf("early: %v, status %d, read %q", res[4].Err, res[4].ExitStatus, first[4])
	}
	if time.Since(start) > 20*time.Second {
		t.Errorf("took %v: the endless host was not stopped at the cap", time.Since(start))
	}
	want := []string{"done echo", "progress echo", "done endless", "progress endless"}
	if len(order) < 4 || !reflect.DeepEqual(order[:4], want) {
		t.Errorf("callbacks %q, want each host's Done before its Progress", order)
	}
}
