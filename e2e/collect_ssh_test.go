package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lvsdoctor/lvsdoctor/internal/inventory"
)

// sshRealServer sets up, for the SSH tests, a real server (rs1,
// 192.0.2.11) in its own namespace with a DROP rule on its VIP and a
// real sshd with throw-away keys, and a namespace standing for the
// admin's machine (ops, 192.0.2.5) on the same link. dir holds the keys,
// known_hosts and sshd's files; inv is an inventory listing rs1.
func sshRealServer(t *testing.T) (ops, rs *netnsHost, dir, inv string) {
	t.Helper()
	needNetns(t)
	const sshd = "/usr/sbin/sshd"
	if _, err := os.Stat(sshd); err != nil {
		t.Skipf("%s is absent (Debian package openssh-server)", sshd)
	}
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen is absent (openssh-client)")
	}
	must(t, os.MkdirAll("/run/sshd", 0o755)) // privilege separation dir

	ops = newNetnsHost(t, "ops")
	rs = newNetnsHost(t, "rs1-ssh")
	if out, err := exec.Command("ip", "link", "add", "lvsd-e2e-o", "netns", ops.name, "type", "veth",
		"peer", "name", "eth0", "netns", rs.name).CombinedOutput(); err != nil {
		t.Fatalf("veth: %v %s", err, out)
	}
	ops.sh("ip link set lo up; ip link set lvsd-e2e-o up; ip addr add 192.0.2.5/24 dev lvsd-e2e-o")
	rs.sh(`ip link set lo up
ip link set eth0 up
ip addr add 192.0.2.11/24 dev eth0
ip route add default via 192.0.2.1 dev eth0
ip addr add 192.0.2.100/32 dev lo
sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2
nft add table inet f
nft add chain inet f input '{ type filter hook input priority 0; }'
nft add rule inet f input ip daddr 192.0.2.100 tcp dport 80 drop`)
	rs.listen("0.0.0.0:80")

	// throw-away keys and an sshd on 192.0.2.11:22 inside rs1
	dir = t.TempDir()
	keygen := func(name string) string {
		p := filepath.Join(dir, name)
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", p).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v %s", err, out)
		}
		pub, err := os.ReadFile(p + ".pub")
		must(t, err)
		return strings.TrimSpace(string(pub))
	}
	hostPub, userPub := keygen("host"), keygen("user")
	must(t, os.WriteFile(filepath.Join(dir, "authorized_keys"), []byte(userPub+"\n"), 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "known_hosts"), []byte("192.0.2.11 "+hostPub+"\n"), 0o600))
	cfg := strings.Join([]string{"Port 22", "ListenAddress 192.0.2.11",
		"HostKey " + filepath.Join(dir, "host"), "AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"),
		"PermitRootLogin prohibit-password", "StrictModes no", "UsePAM no", "PasswordAuthentication no",
		"KbdInteractiveAuthentication no", "PidFile " + filepath.Join(dir, "sshd.pid")}, "\n") + "\n"
	must(t, os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(cfg), 0o600))
	daemon := exec.Command("ip", "netns", "exec", rs.name, sshd, "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	must(t, daemon.Start())
	t.Cleanup(func() { _ = daemon.Process.Kill(); _ = daemon.Wait() })
	for i := 0; !strings.Contains(rs.sh("ss -ltn"), "192.0.2.11:22"); i++ {
		if i > 100 {
			t.Fatal("sshd did not start listening")
		}
		time.Sleep(50 * time.Millisecond)
	}

	inv = filepath.Join(dir, "cluster.yaml")
	must(t, os.WriteFile(inv, []byte("defaults:\n  user: root\n  identity: "+filepath.Join(dir, "user")+
		"\nhosts:\n  - {name: rs1, address: 192.0.2.11, role: realserver}\n"), 0o644))
	return ops, rs, dir, inv
}

// Remote collection end to end: a real server in its own namespace runs
// a real sshd; lvsdoctor, in another namespace standing for the admin's
// machine, collects it over SSH from an inventory and diagnoses the case.
func TestCollectOverSSHDiagnosesInjectedFault(t *testing.T) {
	ops, rs, dir, inv := sshRealServer(t)
	before := rs.settled()
	caseDir := t.TempDir()
	out, code := ops.lvsdoctor("collect", "--inventory", inv, "--known-hosts", filepath.Join(dir, "known_hosts"),
		"--no-agent", "--output", caseDir)
	if code != 0 {
		t.Fatalf("collect over SSH: exit %d\n%s", code, out)
	}
	if after := rs.state(); !equalState(before, after) {
		t.Errorf("collection over SSH changed the host: before %v\nafter %v", before, after)
	}

	// over SSH the folder holds what a local collection holds
	local := t.TempDir()
	if out, code := rs.lvsdoctor("collect", "--output", local, "--host", "rs1", "--role", "realserver"); code != 0 {
		t.Fatalf("local collect: exit %d\n%s", code, out)
	}
	if l, r := fileSet(t, filepath.Join(local, "rs1")), fileSet(t, filepath.Join(caseDir, "rs1")); l != r {
		t.Errorf("local collection wrote\n  %s\nover SSH\n  %s", l, r)
	}

	copyDir(t, filepath.Join("..", "testdata", "lab", "dr-healthy", "director"), filepath.Join(caseDir, "director"))
	must(t, os.WriteFile(filepath.Join(caseDir, "case.yaml"), []byte("vip: 192.0.2.100\nport: 80\n"), 0o644))
	stdout, _, _ := run("diagnose", caseDir, "-o", "json")
	var d struct {
		Findings []struct{ ID, Severity string }
		Problems []any
	}
	if err := json.Unmarshal([]byte(stdout), &d); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if len(d.Findings) == 0 || d.Findings[0].ID != "rs.firewall-drops-vip" {
		t.Errorf("findings %+v, want rs.firewall-drops-vip first", d.Findings)
	}
	if stdout, _, _ := run("diagnose", caseDir, "-v"); strings.Contains(stdout, "INPUT PROBLEMS") {
		t.Errorf("files collected over SSH were not all understood:\n%s", stdout)
	}

	// an unknown host key is refused, and says what to do
	must(t, os.WriteFile(filepath.Join(dir, "empty_known_hosts"), nil, 0o600))
	out, code = ops.lvsdoctor("collect", "--inventory", inv, "--known-hosts", filepath.Join(dir, "empty_known_hosts"),
		"--no-agent", "--output", t.TempDir())
	if code != 2 || !strings.Contains(out, "rs1") || !strings.Contains(out, "--accept-new-host-keys") {
		t.Errorf("unknown host key: exit %d\n%s", code, out)
	}
}

func equalState(a, b map[string]string) bool {
	for k := range a {
		if a[k] != b[k] {
			return false
		}
	}
	return len(a) == len(b)
}

// fileSet lists a host folder's evidence files (the manifest aside).
func fileSet(t *testing.T, dir string) string {
	t.Helper()
	var names []string
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if info.IsDir() {
			if rel == ".collect" {
				return filepath.SkipDir
			}
			return nil
		}
		names = append(names, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}

// The README's inventory example loads as written.
func TestExampleInventoryLoads(t *testing.T) {
	hosts, err := inventory.Load(filepath.Join("..", "examples", "inventory", "cluster.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(hosts) != 6 || hosts[1].Jump != "bastion" || !hosts[1].Sudo || hosts[0].Jump != "" && hosts[0].Jump != "none" {
		t.Errorf("hosts %+v", hosts)
	}
}
