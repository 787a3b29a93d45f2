package inventory

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadCluster(t *testing.T) {
	home, _ := os.UserHomeDir()
	hosts, err := Load("testdata/cluster.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(hosts) != 6 {
		t.Fatalf("got %d hosts, want 6", len(hosts))
	}
	want := map[string]struct {
		user, role, jump string
		port             int
		sudo             bool
		timeout          time.Duration
		line             int
		identity         []string
	}{
		"bastion": {"ops", "router", "", 22, false, 45 * time.Second, 9, []string{filepath.Join(home, ".ssh/id_ed25519")}},
		"ds1":     {"root", "director", "bastion", 22, false, 45 * time.Second, 12, []string{filepath.Join(home, ".ssh/id_ed25519")}},
		"rs1":     {"ops", "realserver", "bastion", 22, true, 45 * time.Second, 20, []string{filepath.Join(home, ".ssh/id_ed25519")}},
		"rs2":     {"ops", "realserver", "bastion", 22, true, 45 * time.Second, 24, []string{"testdata/keys/rs_ed25519", "/etc/lvsdoctor/rs_rsa"}},
		"kvm1":    {"ops", "hypervisor", "bastion", 2222, false, 2 * time.Minute, 29, []string{filepath.Join(home, ".ssh/id_ed25519")}},
	}
	for _, h := range hosts {
		w, ok := want[h.Name]
		if !ok {
			continue
		}
		got := []any{h.User, h.Role, h.Jump, h.Port, h.Sudo, h.Timeout, h.Line, h.Identity}
		exp := []any{w.user, w.role, w.jump, w.port, w.sudo, w.timeout, w.line, w.identity}
		if !reflect.DeepEqual(got, exp) {
			t.Errorf("%s: got %v, want %v", h.Name, got, exp)
		}
		if (h.Jump == "") != (h.JumpHost == nil) {
			t.Errorf("%s: Jump %q but JumpHost %v", h.Name, h.Jump, h.JumpHost)
		}
		if h.JumpHost != nil && (h.JumpHost.Name != "bastion" || h.JumpHost.Address != "203.0.113.5") {
			t.Errorf("%s: JumpHost %+v, want the bastion entry", h.Name, h.JumpHost)
		}
	}
	if hosts[0].Name != "bastion" || hosts[5].Name != "kvm1" || hosts[5].Address != "kvm1.example.net" {
		t.Errorf("order or addresses not kept: %v", hosts)
	}
}

func TestLoadMinimal(t *testing.T) {
	hosts, err := Load("testdata/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(hosts) != 2 {
		t.Fatalf("got %d hosts", len(hosts))
	}
	for i, addr := range []string{"192.0.2.11", "192.0.2.12"} {
		h := hosts[i]
		if h.Name != addr || h.Address != addr || h.Port != 22 || h.Timeout != 30*time.Second || h.User == "" || h.Sudo || h.Jump != "" || h.Identity != nil {
			t.Errorf("host %d: defaults not applied: %+v", i, h)
		}
	}
	if hosts[0].Line != 2 || hosts[1].Line != 3 {
		t.Errorf("lines %d, %d; want 2, 3", hosts[0].Line, hosts[1].Line)
	}
}

func TestLoadChain(t *testing.T) {
	hosts, err := Load("testdata/chain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	gw, rs1 := hosts[0], hosts[2]
	if gw.JumpHost == nil || gw.JumpHost.Address != "203.0.113.9" || gw.JumpHost.Port != 2201 || gw.JumpHost.User != "jumper" || gw.JumpHost.Timeout != 10*time.Second {
		t.Fatalf("gw's jump address not resolved: %+v", gw.JumpHost)
	}
	if rs1.Address != "2001:db8::11" || rs1.JumpHost == nil || rs1.JumpHost.Name != "gw" {
		t.Fatalf("rs1: %+v", rs1)
	}
	// The copy rs1 holds must carry gw's own hop too.
	if rs1.JumpHost.JumpHost == nil || rs1.JumpHost.JumpHost.Address != "203.0.113.9" {
		t.Fatalf("rs1's chain stops at gw: %+v", rs1.JumpHost)
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string // each must appear; ":LINE:" included
	}{
		{"empty file", "", []string{"empty; it needs a hosts: list"}},
		{"comments only", "# nothing\n", []string{"empty; it needs a hosts: list"}},
		{"syntax", "hosts:\n  - name: a\n    address: [b\n", []string{"inv.yaml:", "did not find expected"}},
		{"tab indent", "hosts:\n\t- a\n", []string{"inv.yaml:2:", "found character that cannot start any token"}},
		{"not a mapping", "- 192.0.2.1\n", []string{"inv.yaml:1:", "top level must be a mapping"}},
		{"no hosts", "defaults:\n  user: root\n", []string{"no hosts: list"}},
		{"hosts empty", "hosts:\n", []string{"inv.yaml:1:", "hosts: is empty"}},
		{"hosts empty list", "hosts: []\n", []string{"hosts: is empty"}},
		{"hosts not a list", "hosts:\n  rs1: 192.0.2.1\n", []string{"inv.yaml:2:", "must be a list"}},
		{"unknown top key", "host:\n  - a\nhosts: [192.0.2.1]\n", []string{"inv.yaml:1:", `unknown key "host" at the top level`}},
		{"duplicate top key", "hosts: [192.0.2.1]\nhosts: [192.0.2.2]\n", []string{"inv.yaml:2:", "given twice (first on line 1)"}},
		{"unknown host key", "hosts:\n  - address: 192.0.2.1\n    adress: x\n", []string{"inv.yaml:3:", `unknown key "adress" in host`}},
		{"unknown key suggestion", "hosts:\n  - address: 192.0.2.1\n    identity_file: k\n", []string{"inv.yaml:3:", "did you mean identity?"}},
		{"unknown defaults key", "defaults:\n  role: director\nhosts: [192.0.2.1]\n", []string{"inv.yaml:2:", `unknown key "role" in defaults`, "belongs on each host"}},
		{"defaults not mapping", "defaults: [a]\nhosts: [192.0.2.1]\n", []string{"inv.yaml:1:", "defaults must be a mapping"}},
		{"duplicate host key", "hosts:\n  - address: 192.0.2.1\n    address: 192.0.2.2\n", []string{"inv.yaml:3:", "address: given twice in this host (first on line 2)"}},
		{"missing address", "hosts:\n  - name: rs1\n    role: realserver\n", []string{"inv.yaml:2:", `host "rs1" has no address`}},
		{"empty address", "hosts:\n  - address: ''\n", []string{"inv.yaml:2:", "address is empty"}},
		{"address with port", "hosts:\n  - address: 192.0.2.1:2222\n", []string{"inv.yaml:2:", "holds a port; write it as port: 2222"}},
		{"address with user", "hosts:\n  - address: root@192.0.2.1\n", []string{"holds a user; write it as user:"}},
		{"address garbage", "hosts:\n  - address: 'a b'\n", []string{"neither an IP address nor a DNS name"}},
		{"address list", "hosts:\n  - address: [a, b]\n", []string{"inv.yaml:2:", "address must be a single value"}},
		{"host is a list", "hosts:\n  - [a]\n", []string{"inv.yaml:2:", "a host must be a mapping"}},
		{"host is null", "hosts:\n  -\n", []string{"inv.yaml:2:", "a host must be a mapping"}},
		{"duplicate names", "hosts:\n  - {name: rs1, address: 192.0.2.1}\n  - {name: rs1, address: 192.0.2.2}\n", []string{"inv.yaml:3:", `host name "rs1" is used twice (first on line 2)`}},
		{"duplicate default names", "hosts:\n  - 192.0.2.1\n  - 192.0.2.1\n", []string{"inv.yaml:3:", `"192.0.2.1" is used twice`}},
		{"name with slash", "hosts:\n  - {name: a/b, address: 192.0.2.1}\n", []string{"inv.yaml:2:", "names become folder names"}},
		{"name dotdot", "hosts:\n  - {name: '..', address: 192.0.2.1}\n", []string{"cannot be a folder name"}},
		{"name dot", "hosts:\n  - {name: '.', address: 192.0.2.1}\n", []string{"inv.yaml:2:", "cannot be a folder name"}},
		{"name starting with a dot", "hosts:\n  - 192.0.2.2\n  - {name: .collect, address: 192.0.2.1}\n", []string{"inv.yaml:3:", `host name ".collect" starts with a dot`}},
		{"name with backslash", "hosts:\n  - {name: 'a\\b', address: 192.0.2.1}\n", []string{"inv.yaml:2:", "names become folder names"}},
		{"name with NUL", "hosts:\n  - {name: \"a\\0b\", address: 192.0.2.1}\n", []string{"inv.yaml:2:", "control character"}},
		{"name with escape", "hosts:\n  - {name: \"a\\e[2Jb\", address: 192.0.2.1}\n", []string{"inv.yaml:2:", "control character"}},
		{"name with newline", "hosts:\n  - {name: \"a\\nb\", address: 192.0.2.1}\n", []string{"inv.yaml:2:", "control character"}},
		{"bad role", "hosts:\n  - {address: 192.0.2.1, role: lb}\n", []string{"inv.yaml:2:", `role "lb" is not one of director, realserver, hypervisor, client, router`}},
		{"bad port", "hosts:\n  - address: 192.0.2.1\n    port: 70000\n", []string{"inv.yaml:3:", `port "70000" is not a TCP port`}},
		{"port word", "defaults:\n  port: ssh\nhosts: [192.0.2.1]\n", []string{"inv.yaml:2:", `port "ssh" is not a TCP port`}},
		{"bad duration", "hosts:\n  - address: 192.0.2.1\n    timeout: 30 seconds\n", []string{"inv.yaml:3:", `timeout "30 seconds" is not a duration`}},
		{"duration no unit", "defaults:\n  timeout: 30\nhosts: [192.0.2.1]\n", []string{"inv.yaml:2:", "timeout 30 has no unit; write 30s"}},
		{"duration zero", "defaults:\n  timeout: 0s\nhosts: [192.0.2.1]\n", []string{"inv.yaml:2:", "out of range"}},
		{"duration negative", "defaults:\n  timeout: -5s\nhosts: [192.0.2.1]\n", []string{"out of range"}},
		{"bad sudo", "hosts:\n  - address: 192.0.2.1\n    sudo: yes please\n", []string{"inv.yaml:3:", "sudo must be true or false"}},
		{"sudo yes", "hosts:\n  - address: 192.0.2.1\n    sudo: yes\n", []string{"sudo must be true or false"}},
		{"identity map", "hosts:\n  - address: 192.0.2.1\n    identity: {a: b}\n", []string{"inv.yaml:3:", "identity must be a key file or a list"}},
		{"identity empty item", "hosts:\n  - address: 192.0.2.1\n    identity: [a, '']\n", []string{"identity is empty"}},
		{"user with space", "defaults:\n  user: a b\nhosts: [192.0.2.1]\n", []string{"inv.yaml:2:", "which no login name has"}},
		{"jump unknown", "hosts:\n  - name: rs1\n    address: 192.0.2.1\n    jump: bastoin\n", []string{"inv.yaml:4:", `jump "bastoin" names no host in the inventory`}},
		{"jump unknown from defaults", "defaults:\n  jump: gw\nhosts: [192.0.2.1]\n", []string{"inv.yaml:2:", `jump "gw" names no host`}},
		{"jump itself", "hosts:\n  - name: rs1\n    address: 192.0.2.1\n    jump: rs1\n", []string{"inv.yaml:4:", `"rs1" jumps through itself`}},
		{"jump cycle", "hosts:\n  - {name: a, address: 192.0.2.1, jump: b}\n  - {name: b, address: 192.0.2.2, jump: c}\n  - {name: c, address: 192.0.2.3, jump: a}\n", []string{"jump hosts form a loop: a → b → c → a"}},
		{"jump cycle behind a tail", "hosts:\n  - {name: x, address: 192.0.2.9, jump: a}\n  - {name: a, address: 192.0.2.1, jump: b}\n  - {name: b, address: 192.0.2.2, jump: a}\n", []string{"loop: a → b → a"}},
		{"jump bad port", "hosts:\n  - {name: rs1, address: 192.0.2.1, jump: 'gw.example:0'}\n", []string{"inv.yaml:2:", `port "0" is not a TCP port`}},
		{"jump list", "hosts:\n  - {name: rs1, address: 192.0.2.1, jump: [a]}\n", []string{"jump must be a single value"}},
		{"two documents", "hosts: [192.0.2.1]\n---\nhosts: [192.0.2.2]\n", []string{"inv.yaml:2:", "more than one YAML document"}},
		{"control char", "hosts:\n  - address: \"192.0.2.1\\x01\"\n", []string{"control character"}},
		{"several errors at once", "hosts:\n  - {address: 192.0.2.1, role: x}\n  - {address: 192.0.2.2, port: 0}\n", []string{"inv.yaml:2:", "inv.yaml:3:"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hosts, err := Parse("inv.yaml", []byte(c.yaml))
			if err == nil {
				t.Fatalf("no error; hosts %+v", hosts)
			}
			if hosts != nil {
				t.Errorf("hosts returned along with the error: %+v", hosts)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			var ie *Error
			if !errors.As(err, &ie) || ie.File != "inv.yaml" {
				t.Errorf("error %v is not an *Error naming the file", err)
			}
		})
	}
}

func TestLoadAccepted(t *testing.T) {
	cases := []struct {
		name, yaml string
		check      func(t *testing.T, hs []Host)
	}{
		{"defaults jump skips its own host", "defaults:\n  jump: bastion\nhosts:\n  - {name: bastion, address: 203.0.113.5}\n  - 192.0.2.1\n", func(t *testing.T, hs []Host) {
			if hs[0].Jump != "" || hs[1].Jump != "bastion" || hs[1].JumpHost == nil {
				t.Errorf("%+v", hs)
			}
		}},
		{"jump none overrides defaults", "defaults:\n  jump: bastion\nhosts:\n  - {name: bastion, address: 203.0.113.5}\n  - {address: 192.0.2.1, jump: none}\n  - {address: 192.0.2.2, jump: ''}\n  - {address: 192.0.2.3, jump: }\n", func(t *testing.T, hs []Host) {
			for _, h := range hs[1:] {
				if h.Jump != "" || h.JumpHost != nil {
					t.Errorf("%s still jumps: %q", h.Name, h.Jump)
				}
			}
		}},
		{"identity string and ~", "defaults:\n  identity: ~/k\nhosts: [192.0.2.1]\n", func(t *testing.T, hs []Host) {
			home, _ := os.UserHomeDir()
			if !reflect.DeepEqual(hs[0].Identity, []string{filepath.Join(home, "k")}) {
				t.Errorf("%v", hs[0].Identity)
			}
		}},
		{"relative identity is from the file's folder", "hosts:\n  - {address: 192.0.2.1, identity: keys/a}\n", func(t *testing.T, hs []Host) {
			if !reflect.DeepEqual(hs[0].Identity, []string{"conf/keys/a"}) {
				t.Errorf("%v", hs[0].Identity)
			}
		}},
		{"anchors", "x: &k [/a, /b]\n", nil}, // unknown top key: covered as an error below
		{"aliases for values", "hosts:\n  - {name: a, address: 192.0.2.1, identity: &ids [/k1, /k2]}\n  - {name: b, address: 192.0.2.2, identity: *ids}\n", func(t *testing.T, hs []Host) {
			if !reflect.DeepEqual(hs[1].Identity, []string{"/k1", "/k2"}) {
				t.Errorf("%v", hs[1].Identity)
			}
		}},
		{"ipv6 in brackets", "hosts:\n  - '[2001:db8::1]'\n", func(t *testing.T, hs []Host) {
			if hs[0].Address != "2001:db8::1" || hs[0].Name != "2001:db8::1" {
				t.Errorf("%+v", hs[0])
			}
		}},
		{"sudo true, timeout 1m30s", "defaults: {sudo: true, timeout: 1m30s}\nhosts: [192.0.2.1]\n", func(t *testing.T, hs []Host) {
			if !hs[0].Sudo || hs[0].Timeout != 90*time.Second {
				t.Errorf("%+v", hs[0])
			}
		}},
		{"empty defaults", "defaults:\nhosts: [192.0.2.1]\n", func(t *testing.T, hs []Host) {
			if hs[0].Port != 22 {
				t.Errorf("%+v", hs[0])
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hs, err := Parse("conf/inv.yaml", []byte(c.yaml))
			if c.check == nil {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, hs)
		})
	}
}

func TestLoadFileProblems(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "absent.yaml")); err == nil || !strings.Contains(err.Error(), "absent.yaml") {
		t.Errorf("missing file: %v", err)
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, []byte("hosts:\n"+strings.Repeat("# padding\n", MaxFileSize/10+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "larger than 4 MiB") {
		t.Errorf("big file: %v", err)
	}
	many := "hosts:\n" + strings.Repeat("  - 192.0.2.1\n", MaxHosts+1)
	if _, err := Parse("many.yaml", []byte(many)); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("at most %d", MaxHosts)) {
		t.Errorf("too many hosts: %v", err)
	}
	var b strings.Builder
	b.WriteString("hosts:\n")
	for i := 0; i < 50; i++ {
		b.WriteString("  - {address: 192.0.2.1, role: nope}\n")
	}
	_, err := Parse("errs.yaml", []byte(b.String()))
	if err == nil || strings.Count(err.Error(), "\n") > maxErrors+1 || !strings.Contains(err.Error(), "too many errors") {
		t.Errorf("error count not bounded: %v", err)
	}
}

// chainYAML is n hosts, each jumping through the one before it.
func chainYAML(n int) []byte {
	var b strings.Builder
	b.WriteString("hosts:\n  - {name: h0, address: 192.0.2.1}\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  - {name: h%d, address: 192.0.2.1, jump: h%d}\n", i, i-1)
	}
	return []byte(b.String())
}

func TestJumpChainLength(t *testing.T) {
	// MaxJumpHops jump hosts in front of the last host: followed.
	hosts, err := Parse("inv.yaml", chainYAML(MaxJumpHops+1))
	if err != nil {
		t.Fatal(err)
	}
	last := hosts[len(hosts)-1]
	hops := 0
	for j := last.JumpHost; j != nil; j = j.JumpHost {
		hops++
	}
	if hops != MaxJumpHops {
		t.Errorf("%s has %d jump hosts in front, want %d", last.Name, hops, MaxJumpHops)
	}

	// One more: refused at the line of the host that is too far.
	_, err = Parse("inv.yaml", chainYAML(MaxJumpHops+2))
	errLine := fmt.Sprintf("inv.yaml:%d:", MaxJumpHops+3)
	if err == nil || !strings.Contains(err.Error(), errLine) || !strings.Contains(err.Error(), fmt.Sprintf(`host "h%d" is reached through %d jump hosts (h%d → h%d → … → h0); at most %d are followed`, MaxJumpHops+1, MaxJumpHops+1, MaxJumpHops, MaxJumpHops-1, MaxJumpHops)) {
		t.Errorf("chain of %d: %v; want it refused at %s", MaxJumpHops+1, err, errLine)
	}

	// An address outside the inventory counts as a jump host too.
	var b strings.Builder
	fmt.Fprintf(&b, "hosts:\n  - {name: h0, address: 192.0.2.1, jump: 'gw.example:22'}\n")
	for i := 1; i <= MaxJumpHops; i++ {
		fmt.Fprintf(&b, "  - {name: h%d, address: 192.0.2.1, jump: h%d}\n", i, i-1)
	}
	if _, err := Parse("inv.yaml", []byte(b.String())); err == nil || !strings.Contains(err.Error(), "… → gw.example:22") {
		t.Errorf("chain ending at an address: %v", err)
	}

	// 2,000 hosts in a row: refused once, where the chain gets too long
	// (the rest follow from it), quickly: see BenchmarkLoadLongJumpChain.
	_, err = Parse("inv.yaml", chainYAML(2000))
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf(`host "h%d" is reached through`, MaxJumpHops+1)) || strings.Contains(err.Error(), "\n") {
		t.Errorf("2,000 chained hosts: %v", err)
	}
}

func BenchmarkLoadLongJumpChain(b *testing.B) {
	data := chainYAML(2000)
	for b.Loop() {
		if _, err := Parse("inv.yaml", data); err == nil {
			b.Fatal("a chain of 2,000 jump hosts was accepted")
		}
	}
}

func BenchmarkLoad20000Hosts(b *testing.B) {
	var s strings.Builder
	s.WriteString("defaults:\n  user: root\n  identity: ~/.ssh/id_ed25519\nhosts:\n")
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&s, "  - {name: h%d, address: 10.%d.%d.%d, role: realserver}\n", i, i>>16, i>>8&255, i&255)
	}
	data := []byte(s.String())
	for b.Loop() {
		hosts, err := Parse("inv.yaml", data)
		if err != nil || len(hosts) != 20000 {
			b.Fatalf("%d hosts, %v", len(hosts), err)
		}
	}
}
