package inventory

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lvsdoctor/lvsdoctor/internal/sshconfig"
)

func sshConfig(t *testing.T, text string) *sshconfig.Config {
	t.Helper()
	c, err := sshconfig.Parse(filepath.Join(t.TempDir(), "config"), []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func parseWith(t *testing.T, cfg *sshconfig.Config, yaml string) []Host {
	t.Helper()
	hosts, err := ParseWith("inv.yaml", []byte(yaml), Options{SSHConfig: cfg})
	if err != nil {
		t.Fatal(err)
	}
	return hosts
}

func byName(hosts []Host) map[string]Host {
	m := map[string]Host{}
	for _, h := range hosts {
		m[h.Name] = h
	}
	return m
}

// What the inventory says wins, entry over defaults:; the ssh
// configuration fills what neither says, before the built-in defaults.
func TestSSHConfigPrecedence(t *testing.T) {
	cfg := sshConfig(t, `Host ds*
  HostName %h.example.net
  User config-user
  Port 2222
  IdentityFile /keys/%r@%h:%p
  IdentityFile ~/.ssh/second
  ConnectTimeout 7
  StrictHostKeyChecking accept-new
  IdentitiesOnly yes
  HashKnownHosts yes
  UserKnownHostsFile /kh/%n %d/kh2
Host rs*
  HostName 192.0.2.50
  GlobalKnownHostsFile none
`)
	home, _ := os.UserHomeDir()
	hosts := byName(parseWith(t, cfg, `hosts:
  - ds1
  - {name: ds2, user: entry-user, port: 22, identity: /keys/entry}
  - {name: rs1, address: rs1, timeout: 5s}
`))
	ds1 := hosts["ds1"]
	want := Host{Name: "ds1", Address: "ds1.example.net", User: "config-user", Port: 2222, Line: 2, Timeout: 30 * time.Second,
		Identity:   []string{"/keys/config-user@ds1.example.net:2222", filepath.Join(home, ".ssh/second")},
		KnownHosts: []string{"/kh/ds1", home + "/kh2", "/etc/ssh/ssh_known_hosts"}, StrictHostKeyChecking: "accept-new",
		HashKnownHosts: true, IdentitiesOnly: true, ConnectTimeout: 7 * time.Second}
	if !reflect.DeepEqual(ds1, want) {
		t.Errorf("ds1:\n got %+v\nwant %+v", ds1, want)
	}
	if ds2 := hosts["ds2"]; ds2.User != "entry-user" || ds2.Port != 22 || !reflect.DeepEqual(ds2.Identity, []string{"/keys/entry"}) || ds2.Address != "ds2.example.net" {
		t.Errorf("ds2: %+v", ds2)
	}
	rs1 := hosts["rs1"]
	if rs1.Address != "192.0.2.50" || rs1.User != currentUser() || rs1.Port != 22 || rs1.Identity != nil || rs1.Timeout != 5*time.Second ||
		!reflect.DeepEqual(rs1.KnownHosts, []string{filepath.Join(homeDir(), ".ssh", "known_hosts"), os.DevNull}) {
		t.Errorf("rs1: %+v", rs1)
	}

	// defaults: beat the configuration too.
	hosts = byName(parseWith(t, cfg, "defaults: {user: root, port: 22, identity: /keys/default}\nhosts: [ds1]\n"))
	if h := hosts["ds1"]; h.User != "root" || h.Port != 22 || !reflect.DeepEqual(h.Identity, []string{"/keys/default"}) || h.Address != "ds1.example.net" {
		t.Errorf("ds1 with defaults: %+v", h)
	}

	// Without the configuration nothing changes.
	plain, err := Parse("inv.yaml", []byte("hosts: [ds1]\n"))
	if err != nil || plain[0].Address != "ds1" || plain[0].Port != 22 || plain[0].KnownHosts != nil {
		t.Errorf("no ssh config: %+v %v", plain, err)
	}
}

func TestSSHConfigJumps(t *testing.T) {
	cfg := sshConfig(t, `Host target
  HostName 192.0.2.10
  ProxyJump ops@outer:2200,inner
Host inner
  HostName 192.0.2.2
  User jumper
  ProxyJump ignored-for-a-middle-hop
Host outer
  HostName 192.0.2.1
  ProxyJump first
Host first
  HostName 192.0.2.100
Host loop-a
  ProxyJump loop-b
Host loop-b
  ProxyJump loop-a
Host bastion-alias
  HostName 192.0.2.200
  User b
`)
	hosts := byName(parseWith(t, cfg, `defaults: {user: root}
hosts:
  - target
  - {name: no-jump, address: target, jump: none}
  - {name: via-inventory, address: 192.0.2.30, jump: bastion}
  - {name: bastion, address: 192.0.2.31}
  - {name: via-alias, address: 192.0.2.32, jump: bastion-alias}
  - {name: via-address, address: 192.0.2.33, jump: "ssh://admin@target:2022"}
`))
	var chain []string
	for j := hosts["target"].JumpHost; j != nil; j = j.JumpHost {
		chain = append(chain, j.Name+"="+j.User+"@"+j.Address+":"+strconv.Itoa(j.Port))
	}
	// ProxyJump hops take the ssh configuration's settings, not the
	// inventory's defaults; the first hop's own ProxyJump leads to it,
	// the later hops' do not (the chain says how they are reached).
	want := []string{"inner=jumper@192.0.2.2:22", "ops@outer:2200=ops@192.0.2.1:2200", "first=" + currentUser() + "@192.0.2.100:22"}
	if !reflect.DeepEqual(chain, want) {
		t.Errorf("target's jump hosts %q, want %q", chain, want)
	}
	if h := hosts["no-jump"]; h.JumpHost != nil || h.Jump != "" {
		t.Errorf("jump: none lost to ProxyJump: %+v", h)
	}
	if j := hosts["via-inventory"].JumpHost; j == nil || j.Address != "192.0.2.31" {
		t.Errorf("via-inventory: %+v", j)
	}
	// An alias the configuration names is a jump host the inventory need
	// not list; the inventory's defaults apply to it before the
	// configuration's (user root, not b).
	if j := hosts["via-alias"].JumpHost; j == nil || j.Address != "192.0.2.200" || j.User != "root" {
		t.Errorf("via-alias: %+v", j)
	}
	if j := hosts["via-address"].JumpHost; j == nil || j.Address != "192.0.2.10" || j.User != "admin" || j.Port != 2022 || j.JumpHost == nil || j.JumpHost.Name != "inner" {
		t.Errorf("via-address: %+v", j)
	}

	_, err := ParseWith("inv.yaml", []byte("hosts: [loop-a]\n"), Options{SSHConfig: cfg})
	errHas(t, err, `inv.yaml:1: host "loop-a": ProxyJump`, "more than 8 jump hosts; do ProxyJump settings loop?")
	_, err = ParseWith("inv.yaml", []byte("hosts:\n  - {address: 192.0.2.9, jump: nobastion}\n"), Options{SSHConfig: cfg})
	errHas(t, err, `jump "nobastion" names no host in the inventory`, "or name it in a Host line of the ssh configuration")
}

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

func TestSSHConfigRefusals(t *testing.T) {
	cfg := sshConfig(t, `Host proxied
  ProxyCommand nc %h %p
Host warned*
  BindAddress 192.0.2.99
Host via-proxied
  ProxyJump proxied
`)
	_, err := ParseWith("inv.yaml", []byte("hosts:\n  - ok\n  - proxied\n  - via-proxied\n"), Options{SSHConfig: cfg})
	errHas(t, err, `inv.yaml:3: host "proxied": ssh config`, "config:2: ProxyCommand for proxied is not supported",
		`inv.yaml:4: host "via-proxied": ProxyJump proxied`)
	// The inventory saying how to reach it wins over ProxyCommand, as -J
	// does in ssh.
	hosts := byName(parseWith(t, cfg, "hosts:\n  - {address: proxied, jump: none}\n  - {name: b, address: 192.0.2.1}\n  - {address: proxied, name: p2, jump: b}\n"))
	if hosts["proxied"].JumpHost != nil || hosts["p2"].JumpHost == nil || hosts["p2"].JumpHost.Name != "b" {
		t.Errorf("jump: over ProxyCommand: %+v", hosts)
	}
	var warnings []string
	_, err = ParseWith("inv.yaml", []byte("hosts: [warned1, warned2]\n"), Options{SSHConfig: cfg, Warn: func(s string) { warnings = append(warnings, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "config:4: BindAddress is not supported") {
		t.Errorf("warnings %q, want the one line once", warnings)
	}
}
