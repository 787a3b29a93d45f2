package sshconfig

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func parse(t *testing.T, text string) *Config {
	t.Helper()
	c, err := Parse(filepath.Join(t.TempDir(), "config"), []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustLookup(t *testing.T, c *Config, name string) *Settings {
	t.Helper()
	s, err := c.Lookup(name)
	if err != nil {
		t.Fatalf("Lookup(%s): %v", name, err)
	}
	return s
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

func TestPatternsAndFirstValueWins(t *testing.T) {
	c := parse(t, `# a comment
Host ds? !ds9 lb-*.example.com
  User ops
  Port 2222
  IdentityFile ~/.ssh/ops_key

Host ds1
  HostName 192.0.2.10
  # too late: Host ds? above set them first
  User root
  Port 22
  IdentityFile %d/.ssh/ds1_%r_%h

Host *
  User admin
  StrictHostKeyChecking accept-new
  IdentityFile ~/.ssh/id_fallback
`)
	s := mustLookup(t, c, "ds1")
	if s.HostName != "192.0.2.10" || s.User != "ops" || s.Port != 2222 || !s.Named {
		t.Errorf("ds1: %+v", s)
	}
	if want := []string{"~/.ssh/ops_key", "%d/.ssh/ds1_%r_%h", "~/.ssh/id_fallback"}; !reflect.DeepEqual(s.IdentityFiles, want) {
		t.Errorf("identity files %q, want %q (every IdentityFile adds one)", s.IdentityFiles, want)
	}
	if s.StrictHostKeyChecking != "accept-new" {
		t.Errorf("StrictHostKeyChecking %q", s.StrictHostKeyChecking)
	}
	if src := s.Source("user"); !strings.HasSuffix(src, "config:3") {
		t.Errorf("User came from %q, want line 3", src)
	}

	// ? is exactly one character, a negated pattern rules the block out.
	for name, user := range map[string]string{"ds": "admin", "ds12": "admin", "ds9": "admin", "ds2": "ops", "lb-1.example.com": "ops", "lb-1.example.org": "admin"} {
		if s := mustLookup(t, c, name); s.User != user {
			t.Errorf("%s: user %q, want %q", name, s.User, user)
		}
	}
	if s := mustLookup(t, c, "ds2"); s.Named {
		t.Errorf("ds2 is matched by wildcards only, yet Named")
	}
	if s := mustLookup(t, c, "other"); s.HostName != "" || s.Port != 0 || s.Named {
		t.Errorf("other: %+v", s)
	}
}

func TestHostNameTokenAndMatchHost(t *testing.T) {
	c := parse(t, `Host *.lab
  HostName %h.example.net
Match host *.example.net
  User labuser
Match host a.lab,b.lab
  Port 2200
Match all
  Port 2201
  ConnectTimeout 1m30s
`)
	s := mustLookup(t, c, "x.lab")
	if s.HostName != "x.lab.example.net" || s.User != "labuser" {
		t.Errorf("x.lab: %+v (Match host tests the name HostName gave)", s)
	}
	if s.Port != 2201 || s.ConnectTimeout != 90*time.Second {
		t.Errorf("x.lab: port %d timeout %s", s.Port, s.ConnectTimeout)
	}
	// Match host tests the HostName, which for a.lab is a.lab.example.net:
	// the pattern list a.lab,b.lab does not match it.
	if s := mustLookup(t, c, "a.lab"); s.Port != 2201 {
		t.Errorf("a.lab: port %d", s.Port)
	}
	if s := mustLookup(t, c, "b.lab.example.net"); s.Port != 2201 || s.User != "labuser" {
		t.Errorf("b.lab.example.net: %+v", s)
	}
}

// RHEL and Fedora ship /etc/ssh/ssh_config.d/50-redhat.conf with
// `Match final all`; `Match canonical` never applies without
// CanonicalizeHostname.
func TestMatchFinalAndCanonical(t *testing.T) {
	c := parse(t, `Match canonical host ds1
  User never
Match final all
  User everyone
  Port 2200
`)
	if s := mustLookup(t, c, "ds1"); s.User != "everyone" || s.Port != 2200 {
		t.Errorf("ds1: %+v", s)
	}
}

func TestInclude(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err := os.Mkdir(filepath.Join(dir, "conf.d"), 0o700); err != nil {
		t.Fatal(err)
	}
	write("conf.d/10-ds.conf", "Host ds1\n  User from-include\n  Port 2010\n")
	write("conf.d/20-ds.conf", "Host ds1\n  User second-include\n  HostName 192.0.2.20\n")
	write("conf.d/ignored.txt", "Host ds1\n  User not-a-conf\n")
	write("bastion.conf", "Host bastion\n  HostName 192.0.2.1\n")
	main := write("config", `Host ds1
  Include `+filepath.Join(dir, "conf.d", "*.conf")+`
  User after-include
Host bastion
  Include `+filepath.Join(dir, "bastion.conf")+`
Host other
  Include `+filepath.Join(dir, "nothing-*.conf")+`
  User other
`)
	c, err := Load(main)
	if err != nil {
		t.Fatal(err)
	}
	s := mustLookup(t, c, "ds1")
	if s.User != "from-include" || s.Port != 2010 || s.HostName != "192.0.2.20" {
		t.Errorf("ds1: %+v; want the included files read in place, in name order", s)
	}
	if !strings.HasSuffix(s.Source("port"), "10-ds.conf:3") {
		t.Errorf("Port from %q", s.Source("port"))
	}
	if s := mustLookup(t, c, "bastion"); s.HostName != "192.0.2.1" || s.User != "" {
		t.Errorf("bastion: %+v", s)
	}
	if s := mustLookup(t, c, "other"); s.User != "other" {
		t.Errorf("an Include matching nothing: %+v", s)
	}

	t.Run("loop", func(t *testing.T) {
		a := filepath.Join(dir, "loop-a")
		b := write("loop-b", "Include "+a+"\n")
		write("loop-a", "Host x\n  Include "+b+"\n")
		_, err := Load(a)
		errHas(t, err, "Include loop", "loop-a includes", "loop-b includes")
	})
	t.Run("self", func(t *testing.T) {
		p := filepath.Join(dir, "self")
		write("self", "Include "+p+"\n")
		_, err := Load(p)
		errHas(t, err, "Include loop")
	})
	t.Run("too large", func(t *testing.T) {
		big := write("big", "Host x\n"+strings.Repeat("# filler line\n", MaxFileSize/14+1))
		_, err := Load(write("inc-big", "Include "+big+"\n"))
		errHas(t, err, "big: larger than 1 MiB")
	})
	t.Run("not a regular file", func(t *testing.T) {
		_, err := Load(write("inc-dev", "Include /dev/zero\n"))
		errHas(t, err, "/dev/zero: not a regular file")
	})
	t.Run("long line", func(t *testing.T) {
		_, err := Load(write("long", "Host x\n  HostName "+strings.Repeat("a", MaxLine)+"\n"))
		errHas(t, err, "long:2: line longer than 4 KiB")
	})
}

func TestLoad(t *testing.T) {
	c, err := Load(None)
	if err != nil || len(c.Files) != 0 {
		t.Fatalf("none: %v %v", c, err)
	}
	if s := mustLookup(t, c, "x"); s.HostName != "" {
		t.Errorf("none found %+v", s)
	}
	var nilConfig *Config
	if s := mustLookup(t, nilConfig, "x"); s.Name != "x" {
		t.Errorf("nil config: %+v", s)
	}
	_, err = Load(filepath.Join(t.TempDir(), "absent"))
	errHas(t, err, "absent", "no such file")
	// The default files may be absent; whatever this machine has parses.
	if _, err := Load(""); err != nil {
		t.Errorf("default files: %v", err)
	}
}

func TestRefusedAndWarned(t *testing.T) {
	c := parse(t, `Host proxied
  ProxyCommand ssh -W %h:%p bastion
Host jumped
  ProxyJump bastion
  ProxyCommand nc %h %p
Host unproxied
  ProxyCommand none
  ProxyJump bastion
Host aliased
  HostKeyAlias other
Host revoked
  RevokedHostKeys ~/.ssh/revoked
Host kcmd
  KnownHostsCommand /bin/true
Host canon
  CanonicalizeHostname always
Host bound
  BindAddress 192.0.2.99
  IdentityAgent ~/.other-agent.sock
Host badport
  Port ssh
Host badstrict
  StrictHostKeyChecking maybe
`)
	s := mustLookup(t, c, "proxied")
	errHas(t, s.ProxyCommandError(), "config:2: ProxyCommand for proxied is not supported", "ProxyJump")
	// ProxyJump came first: it is the one ssh uses.
	if s := mustLookup(t, c, "jumped"); s.ProxyJump != "bastion" || s.ProxyCommandError() != nil {
		t.Errorf("jumped: %+v", s)
	}
	if s := mustLookup(t, c, "unproxied"); s.ProxyJump != "" {
		t.Errorf("ProxyCommand none came first: %+v", s)
	}
	for name, want := range map[string]string{
		"aliased": "HostKeyAlias for aliased", "revoked": "RevokedHostKeys for revoked",
		"kcmd": "KnownHostsCommand for kcmd", "canon": "CanonicalizeHostname always",
		"badport": `Port "ssh" is not a TCP port`, "badstrict": `StrictHostKeyChecking "maybe"`,
	} {
		_, err := c.Lookup(name)
		errHas(t, err, want)
	}
	s = mustLookup(t, c, "bound")
	if len(s.Warnings) != 2 || !strings.Contains(s.Warnings[0], "config:18: BindAddress is not supported") || !strings.Contains(s.Warnings[1], "IdentityAgent") {
		t.Errorf("warnings %q", s.Warnings)
	}

	_, err := Parse("cfg", []byte("Match exec \"true\"\n  User x\n"))
	errHas(t, err, "cfg:1: Match exec true is not supported")
	_, err = Parse("cfg", []byte("Match host a user b\n  User x\n"))
	errHas(t, err, "cfg:1: Match host a user b is not supported")
}

func TestExpandPath(t *testing.T) {
	home := homeDir()
	tok := Tokens{HostName: "192.0.2.10", RemoteUser: "ops", Port: 2222, Alias: "ds1"}
	for in, want := range map[string]string{
		"~/.ssh/id_%h":        filepath.Join(home, ".ssh/id_192.0.2.10"),
		"%d/keys/%r@%n:%p":    home + "/keys/ops@ds1:2222",
		"/keys/%u-100%%":      "/keys/" + localUser() + "-100%",
		"~root/.ssh/id":       "/root/.ssh/id",
		"relative/kept_as_is": "relative/kept_as_is",
	} {
		got, err := ExpandPath(in, tok)
		if err != nil || got != want {
			t.Errorf("ExpandPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"/keys/%C", "/keys/%", "~nosuchuser-lvsdoctor/x"} {
		if got, err := ExpandPath(in, tok); err == nil {
			t.Errorf("ExpandPath(%q) = %q, want an error", in, got)
		}
	}
}

func TestConvTime(t *testing.T) {
	for in, want := range map[string]time.Duration{"10": 10 * time.Second, "1m30s": 90 * time.Second, "2h": 2 * time.Hour, "none": 0, "0": 0} {
		if got, ok := convTime(in); !ok || got != want {
			t.Errorf("convTime(%q) = %s, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "x", "10x", "-1", "m"} {
		if got, ok := convTime(in); ok {
			t.Errorf("convTime(%q) = %s, want refused", in, got)
		}
	}
}

// The parser's cost grows with the square of a line's length: the longest
// line allowed must stay cheap.
func BenchmarkLongestLines(b *testing.B) {
	text := []byte(strings.Repeat("Host x\n  HostName "+strings.Repeat("a", MaxLine-20)+"\n", 4))
	for b.Loop() {
		if _, err := Parse("config", text); err != nil {
			b.Fatal(err)
		}
	}
}
