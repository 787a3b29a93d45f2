package sshconfig

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Settings are what the configuration says for one host name. Strings are
// "" and numbers 0 when no line set them.
type Settings struct {
	// Name is the name looked up, as ssh's command line would give it.
	Name string
	// HostName is the address to connect to, %h expanded.
	HostName string
	User     string
	Port     int
	// IdentityFiles are as written, in order; ExpandPath resolves them
	// once user, host and port are final.
	IdentityFiles []string
	// ProxyJump is "" or the jump hosts, the first one first: "a,b" as
	// written ("none" reads as "").
	ProxyJump string
	// ProxyCommand is set when it, not ProxyJump, came first. lvsdoctor
	// cannot follow it: ProxyCommandError says so, unless the inventory
	// says how the host is reached (which wins, as -J does in ssh).
	ProxyCommand string
	// StrictHostKeyChecking is "", "yes" (also for ask), "no" or
	// "accept-new".
	StrictHostKeyChecking string
	// UserKnownHostsFiles and GlobalKnownHostsFiles are as written.
	UserKnownHostsFiles   []string
	GlobalKnownHostsFiles []string
	ConnectTimeout        time.Duration
	IdentitiesOnly        bool
	HashKnownHosts        bool
	// Named says a Host or Match host line names it without wildcards: the
	// configuration knows this host, not only every host.
	Named bool
	// Warnings name the lines that say something lvsdoctor does not do
	// but that do not change which host is reached or how it is trusted.
	Warnings []string

	sources map[string]string
}

// ProxyCommandError refuses the ProxyCommand set for the host, naming it
// and where it was set; nil when none is.
func (s *Settings) ProxyCommandError() error {
	if s.ProxyCommand == "" {
		return nil
	}
	return fmt.Errorf("ssh config %s: ProxyCommand for %s is not supported: lvsdoctor connects directly or through ProxyJump hosts, never through a command, so it would reach %s another way than ssh does; use ProxyJump (or jump: in the inventory), or --ssh-config none",
		s.Source("proxycommand"), s.Name, s.Name)
}

// Source is where keyword's value came from, as file:line ("" if unset).
func (s *Settings) Source(keyword string) string {
	return s.sources[strings.ToLower(keyword)]
}

// lookup is one walk of the configuration for a name.
type lookup struct {
	s *Settings
	// host is what Match host tests: the name, or HostName once set.
	host string
	errs []string
}

// Lookup resolves name. Its error names the file, line, keyword and host
// of a setting lvsdoctor cannot honour, or of a value it cannot read.
func (c *Config) Lookup(name string) (*Settings, error) {
	l := &lookup{s: &Settings{Name: name, sources: map[string]string{}}, host: name}
	if c != nil {
		for _, f := range c.files {
			l.file(f)
		}
	}
	if len(l.errs) > 0 {
		return l.s, fmt.Errorf("%s", strings.Join(l.errs, "; "))
	}
	return l.s, nil
}

func (l *lookup) file(f *file) {
	for _, b := range f.blocks {
		if !l.matches(b) {
			continue
		}
		for _, n := range b.nodes {
			if n.key == "include" {
				for _, g := range f.includes[n.line] {
					l.file(g)
				}
				continue
			}
			l.apply(f, n)
		}
	}
}

func (l *lookup) matches(b block) bool {
	if b.all {
		return true
	}
	subject := l.s.Name
	if b.match {
		subject = l.host
	}
	ok, named := matchList(subject, b.patterns)
	if ok && named {
		l.s.Named = true
	}
	return ok
}

// first records where keyword was first obtained and says whether this is
// that first time.
func (l *lookup) first(key string, f *file, line int) bool {
	if _, set := l.s.sources[key]; set {
		return false
	}
	l.s.sources[key] = fmt.Sprintf("%s:%d", Tilde(f.path), line)
	return true
}

func (l *lookup) errorf(f *file, line int, format string, args ...any) {
	l.errs = append(l.errs, fmt.Sprintf("ssh config %s:%d: ", Tilde(f.path), line)+fmt.Sprintf(format, args...))
}

func (l *lookup) warnf(f *file, line int, format string, args ...any) {
	l.s.Warnings = append(l.s.Warnings, fmt.Sprintf("ssh config %s:%d: ", Tilde(f.path), line)+fmt.Sprintf(format, args...))
}

func (l *lookup) apply(f *file, n node) {
	v := n.value
	name := l.s.Name
	switch n.key {
	case "identityfile":
		// Each one adds a key, as in ssh.
		l.first(n.key, f, n.line)
		l.s.IdentityFiles = append(l.s.IdentityFiles, v)
		return
	case "proxyjump", "proxycommand":
		// One slot: whichever comes first decides how the host is reached.
		if !l.first("proxy", f, n.line) {
			return
		}
		l.s.sources[n.key] = l.s.sources["proxy"]
		switch {
		case strings.EqualFold(v, "none"):
		case n.key == "proxyjump":
			l.s.ProxyJump = v
		default:
			l.s.ProxyCommand = v
		}
		return
	}
	if !l.first(n.key, f, n.line) {
		return
	}
	switch n.key {
	case "hostname":
		h, err := expand(v, map[byte]string{'h': name})
		if err != "" {
			l.errorf(f, n.line, "HostName %s: %s", v, err)
			return
		}
		l.s.HostName, l.host = h, h
	case "user":
		l.s.User = v
	case "port":
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			l.errorf(f, n.line, "Port %q is not a TCP port (1-65535)", v)
			return
		}
		l.s.Port = p
	case "stricthostkeychecking":
		switch strings.ToLower(v) {
		case "yes", "true", "ask":
			l.s.StrictHostKeyChecking = "yes"
		case "no", "false", "off":
			l.s.StrictHostKeyChecking = "no"
		case "accept-new":
			l.s.StrictHostKeyChecking = "accept-new"
		default:
			l.errorf(f, n.line, "StrictHostKeyChecking %q: want yes, accept-new, no or ask", v)
		}
	case "userknownhostsfile":
		l.s.UserKnownHostsFiles = strings.Fields(v)
	case "globalknownhostsfile":
		l.s.GlobalKnownHostsFiles = strings.Fields(v)
	case "connecttimeout":
		d, ok := convTime(v)
		if !ok {
			l.errorf(f, n.line, "ConnectTimeout %q is not a time (seconds, or like 1m30s)", v)
			return
		}
		l.s.ConnectTimeout = d
	case "identitiesonly", "hashknownhosts":
		b, ok := yesNo(v)
		if !ok {
			l.errorf(f, n.line, "%s %q: want yes or no", n.keyword, v)
			return
		}
		if n.key == "identitiesonly" {
			l.s.IdentitiesOnly = b
		} else {
			l.s.HashKnownHosts = b
		}

	// Settings that decide which host is reached or which keys are
	// trusted for it: ignoring them would not be what ssh does.
	case "knownhostscommand":
		if !strings.EqualFold(v, "none") {
			l.errorf(f, n.line, "KnownHostsCommand for %s is not supported: lvsdoctor checks host keys against known_hosts files only; list them with UserKnownHostsFile, or use --ssh-config none", name)
		}
	case "hostkeyalias":
		l.errorf(f, n.line, "HostKeyAlias for %s is not supported: lvsdoctor looks host keys up under the address it connects to; record the key under that address (ssh-keyscan) and drop HostKeyAlias, or use --ssh-config none", name)
	case "revokedhostkeys":
		if !strings.EqualFold(v, "none") {
			l.errorf(f, n.line, "RevokedHostKeys for %s is not supported: lvsdoctor would not refuse the keys it lists; mark them @revoked in known_hosts instead, or use --ssh-config none", name)
		}
	case "canonicalizehostname":
		if b, ok := yesNo(v); b || !ok {
			l.errorf(f, n.line, "CanonicalizeHostname %s for %s is not supported: lvsdoctor would not rewrite the name the same way; give the full name, or a HostName", v, name)
		}

	// Settings lvsdoctor does not follow but which change only how the
	// connection is made, not where it goes or whom it trusts.
	case "bindaddress", "bindinterface", "certificatefile", "securitykeyprovider":
		l.warnf(f, n.line, "%s is not supported; lvsdoctor connects without it", n.keyword)
	case "addressfamily":
		if !strings.EqualFold(v, "any") {
			l.warnf(f, n.line, "AddressFamily %s is not supported; lvsdoctor connects to whichever address the name resolves to", v)
		}
	case "pkcs11provider":
		if !strings.EqualFold(v, "none") {
			l.warnf(f, n.line, "PKCS11Provider is not supported: its keys are not offered")
		}
	case "identityagent":
		if v != "SSH_AUTH_SOCK" {
			l.warnf(f, n.line, "IdentityAgent %s is not supported: lvsdoctor uses the agent at SSH_AUTH_SOCK (--no-agent to use none)", v)
		}
	}
}

func yesNo(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "yes", "true":
		return true, true
	case "no", "false":
		return false, true
	}
	return false, false
}

// convTime reads OpenSSH's time format: seconds, or a sequence of numbers
// with s, m, h, d or w; "none" and 0 are no timeout.
func convTime(v string) (time.Duration, bool) {
	if strings.EqualFold(v, "none") {
		return 0, true
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 || n > 365*24*3600 {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	units := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}
	var total time.Duration
	rest := strings.ToLower(v)
	if rest == "" {
		return 0, false
	}
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i > 7 {
			return 0, false
		}
		n, _ := strconv.Atoi(rest[:i])
		unit := time.Second
		if i < len(rest) {
			u, ok := units[rest[i]]
			if !ok {
				return 0, false
			}
			unit = u
			i++
		}
		total += time.Duration(n) * unit
		rest = rest[i:]
	}
	return total, total <= 365*24*time.Hour
}

// Tokens are the values of the % tokens in IdentityFile and
// UserKnownHostsFile, once the host's settings are final.
type Tokens struct {
	HostName   string // %h
	RemoteUser string // %r
	Port       int    // %p
	Alias      string // %n: the name as given
}

// ExpandPath resolves a file setting: % tokens (%d home, %u local user,
// %l and %L local host name, %i uid, %h, %r, %p, %n) and a leading ~ or
// ~user.
func ExpandPath(p string, t Tokens) (string, error) {
	local := localUser()
	hostname, _ := os.Hostname()
	short, _, _ := strings.Cut(hostname, ".")
	s, msg := expand(p, map[byte]string{
		'd': homeDir(), 'u': local, 'l': hostname, 'L': short, 'i': strconv.Itoa(os.Getuid()),
		'h': t.HostName, 'r': t.RemoteUser, 'p': strconv.Itoa(t.Port), 'n': t.Alias,
	})
	if msg != "" {
		return "", fmt.Errorf("%s: %s", p, msg)
	}
	switch {
	case s == "~" || strings.HasPrefix(s, "~/"):
		s = filepath.Join(homeDir(), s[1:])
	case strings.HasPrefix(s, "~"):
		name, rest, _ := strings.Cut(s[1:], "/")
		u, err := user.Lookup(name)
		if err != nil {
			return "", fmt.Errorf("%s: no user %s for its ~", p, name)
		}
		s = filepath.Join(u.HomeDir, rest)
	}
	return s, nil
}

func localUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}

// expand replaces %x tokens from values; %% is a %. Its message says
// which token is not understood.
func expand(s string, values map[byte]string) (string, string) {
	if !strings.Contains(s, "%") {
		return s, ""
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) {
			return "", "ends in a lone %"
		}
		i++
		if s[i] == '%' {
			b.WriteByte('%')
			continue
		}
		v, ok := values[s[i]]
		if !ok {
			return "", fmt.Sprintf("the token %%%c is not supported here", s[i])
		}
		b.WriteString(v)
	}
	return b.String(), ""
}
