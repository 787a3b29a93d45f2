// Package inventory reads the YAML list of hosts that remote collection
// visits: directors, real servers, hypervisors, and the jump hosts that lead
// to them.
//
//	defaults:
//	  user: root
//	  identity: [~/.ssh/id_ed25519]
//	  jump: bastion
//	  timeout: 30s
//	hosts:
//	  - {name: bastion, address: 192.0.2.1}
//	  - {name: ds1, address: 192.0.2.10, role: director}
//	  - {name: rs1, address: 192.0.2.11, role: realserver, sudo: true, user: ops}
package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"

	yaml "go.yaml.in/yaml/v3"

	"github.com/lvsdoctor/lvsdoctor/internal/sshconfig"
)

// Host is one inventory entry after defaults are applied.
type Host struct {
	Name    string
	Address string
	Port    int
	User    string
	Role    string // director|realserver|hypervisor|client|router|""
	// Identity lists private key files, ~ expanded; a relative path is taken
	// from the inventory file's folder so an inventory and its keys can move
	// together.
	Identity []string
	// Jump is "" or another host's name or [user@]addr[:port], as written.
	Jump string
	Sudo bool
	// Timeout bounds dial, handshake and the script's run on this host.
	Timeout time.Duration
	// Line is the entry's line in the inventory file, for messages.
	Line int
	// JumpHost is Jump resolved: the inventory entry it names, or for an
	// address an entry built from it and the defaults (user, port, identity,
	// timeout). It is nil when Jump is "". Its own JumpHost continues the
	// chain.
	JumpHost *Host

	// What the ssh client configuration says besides (Options.SSHConfig);
	// the zero values leave the run's own settings in force.

	// KnownHosts are the known_hosts files its key is checked against
	// (UserKnownHostsFile, then GlobalKnownHostsFile); a new key is
	// recorded in the first.
	KnownHosts []string
	// StrictHostKeyChecking is "", "yes", "no" or "accept-new".
	StrictHostKeyChecking string
	HashKnownHosts        bool
	// IdentitiesOnly offers only its identity files' keys, not every key
	// the agent holds.
	IdentitiesOnly bool
	// ConnectTimeout, when set, bounds dial and handshake only.
	ConnectTimeout time.Duration
}

// Options change how an inventory is read.
type Options struct {
	// SSHConfig, when set, fills in what an entry and the defaults leave
	// unset, as ssh would for the entry's address (its name when it has
	// none): HostName, User, Port, IdentityFile, ProxyJump, and the host
	// key settings. What the inventory says wins.
	SSHConfig *sshconfig.Config
	// Warn hears, once each, what the ssh configuration says that
	// lvsdoctor does not follow.
	Warn func(string)
}

// Roles a host may declare, the same words a case folder's role file uses.
var Roles = []string{"director", "realserver", "hypervisor", "client", "router"}

// Limits that keep a hostile or mistaken file from costing much.
const (
	MaxFileSize = 4 << 20
	// MaxHosts bounds the case folder more than the loader, whose checks
	// are all linear: one folder per host is already a lot to diagnose.
	MaxHosts = 50000
	// MaxJumpHops is the longest chain of jump hosts in front of a host,
	// here and in sshexec, which follows no more: a longer chain is a
	// mistake (or a loop) better refused with the file's line than met
	// one SSH login at a time.
	MaxJumpHops = 8

	maxIdentities  = 32
	maxErrors      = 20
	maxTimeout     = 24 * time.Hour
	defaultTimeout = 30 * time.Second
)

// Error is one problem found in an inventory file, located by line.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Load reads and checks an inventory file. Every problem found is reported
// (up to a limit), each as an *Error joined into the one returned.
func Load(path string) ([]Host, error) { return LoadWith(path, Options{}) }

// LoadWith is Load with options.
func LoadWith(path string, opt Options) ([]Host, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, MaxFileSize+1)); err != nil {
		return nil, fmt.Errorf("inventory %s: %w", path, err)
	}
	if buf.Len() > MaxFileSize {
		return nil, &Error{File: path, Msg: fmt.Sprintf("larger than %d MiB; an inventory lists hosts, not data", MaxFileSize>>20)}
	}
	return ParseWith(path, buf.Bytes(), opt)
}

// Parse checks inventory text; file names it in messages and anchors
// relative identity paths (its folder).
func Parse(file string, data []byte) ([]Host, error) { return ParseWith(file, data, Options{}) }

// ParseWith is Parse with options.
func ParseWith(file string, data []byte, opt Options) (hosts []Host, err error) {
	p := &parser{file: file, dir: filepath.Dir(file), ssh: opt.SSHConfig, warn: opt.Warn, warned: map[string]bool{}}
	// yaml has panicked on malformed input in past releases; a bad file
	// must still be a plain error.
	defer func() {
		if r := recover(); r != nil {
			hosts, err = nil, &Error{File: file, Msg: fmt.Sprintf("cannot parse YAML (%v)", r)}
		}
	}()
	if len(data) > MaxFileSize {
		return nil, &Error{File: file, Msg: fmt.Sprintf("larger than %d MiB; an inventory lists hosts, not data", MaxFileSize>>20)}
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: file, Msg: "empty; it needs a hosts: list"}
		}
		line, msg := yamlErr(err)
		return nil, &Error{File: file, Line: line, Msg: msg}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &Error{File: file, Line: extra.Line, Msg: "more than one YAML document; keep one inventory per file"}
	}
	hosts = p.document(&doc)
	if len(p.errs) > 0 {
		return nil, p.joined()
	}
	return hosts, nil
}

type parser struct {
	file string
	dir  string
	ssh  *sshconfig.Config
	warn func(string)
	// warned keeps each ssh configuration warning to one telling.
	warned map[string]bool
	// defs is what the defaults: mapping set, to tell it from built-in
	// defaults, which the ssh configuration overrides.
	defs entry
	base Host // the defaults: applied to the built-in ones
	errs []error
	home string
	// homes caches ~user lookups, which read the user database each time.
	homes map[string]string
}

func (p *parser) errorf(line int, format string, args ...any) {
	if len(p.errs) == maxErrors {
		p.errs = append(p.errs, &Error{File: p.file, Line: line, Msg: "too many errors; stopped here"})
	}
	if len(p.errs) > maxErrors {
		return
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) joined() error {
	if len(p.errs) == 1 {
		return p.errs[0]
	}
	return errors.Join(p.errs...)
}

// entry holds what one mapping set, before defaults are applied. A nil
// pointer is a key not written.
type entry struct {
	line     int
	name     *string
	address  *string
	port     *int
	user     *string
	role     *string
	identity []string
	idSet    bool
	jump     *string
	jumpLine int
	sudo     *bool
	timeout  *time.Duration
}

var (
	defaultsKeys = []string{"user", "port", "identity", "jump", "sudo", "timeout"}
	hostKeys     = []string{"name", "address", "port", "user", "role", "identity", "jump", "sudo", "timeout"}
)

func (p *parser) document(doc *yaml.Node) []Host {
	root := doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			p.errorf(0, "empty; it needs a hosts: list")
			return nil
		}
		root = root.Content[0]
	}
	root = deref(root)
	if root.Kind != yaml.MappingNode {
		p.errorf(root.Line, "the top level must be a mapping with defaults: and hosts:, not %s", kindName(root))
		return nil
	}
	var defs entry
	var hostsNode *yaml.Node
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], deref(root.Content[i+1])
		if prev, dup := seen[k.Value]; dup {
			p.errorf(k.Line, "%s: given twice (first on line %d)", k.Value, prev)
			continue
		}
		seen[k.Value] = k.Line
		switch k.Value {
		case "defaults":
			if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
				continue
			}
			defs = p.mapping(v, "defaults", defaultsKeys)
		case "hosts":
			hostsNode = v
		default:
			p.errorf(k.Line, "unknown key %q at the top level; expected defaults or hosts", k.Value)
		}
	}
	if hostsNode == nil {
		p.errorf(root.Line, "no hosts: list")
		return nil
	}
	if hostsNode.Kind == yaml.ScalarNode && hostsNode.Tag == "!!null" {
		p.errorf(hostsNode.Line, "hosts: is empty")
		return nil
	}
	if hostsNode.Kind != yaml.SequenceNode {
		p.errorf(hostsNode.Line, "hosts: must be a list (lines starting with -), not %s", kindName(hostsNode))
		return nil
	}
	if len(hostsNode.Content) == 0 {
		p.errorf(hostsNode.Line, "hosts: is empty")
		return nil
	}
	if len(hostsNode.Content) > MaxHosts {
		p.errorf(hostsNode.Line, "%d hosts; at most %d are supported", len(hostsNode.Content), MaxHosts)
		return nil
	}
	p.defs = defs
	base := p.applyDefaults(defs)
	p.base = base
	hosts := make([]Host, 0, len(hostsNode.Content))
	jumpLines := make([]int, 0, len(hostsNode.Content))
	for _, item := range hostsNode.Content {
		line := item.Line
		item = deref(item)
		var e entry
		switch {
		case item.Kind == yaml.ScalarNode && item.Tag != "!!null":
			// "- 192.0.2.11" is a host known only by its address.
			s := item.Value
			e = entry{line: line, address: &s}
		case item.Kind == yaml.MappingNode:
			e = p.mapping(item, "host", hostKeys)
			e.line = line
		default:
			p.errorf(line, "a host must be a mapping (name:, address:, ...) or an address, not %s", kindName(item))
			continue
		}
		h, ok := p.host(e, base, defs)
		if ok {
			hosts = append(hosts, h)
			jl := e.jumpLine
			if e.jump == nil {
				jl = defs.jumpLine
			}
			jumpLines = append(jumpLines, jl)
		}
	}
	if len(p.errs) > 0 {
		return nil
	}
	p.resolveJumps(hosts, jumpLines, base)
	return hosts
}

// applyDefaults is the host every entry starts from.
func (p *parser) applyDefaults(d entry) Host {
	h := Host{Port: 22, Timeout: defaultTimeout, User: currentUser()}
	if d.user != nil {
		h.User = *d.user
	}
	if d.port != nil {
		h.Port = *d.port
	}
	if d.idSet {
		h.Identity = d.identity
	}
	if d.jump != nil {
		h.Jump = *d.jump
	}
	if d.sudo != nil {
		h.Sudo = *d.sudo
	}
	if d.timeout != nil {
		h.Timeout = *d.timeout
	}
	return h
}

func (p *parser) host(e entry, base Host, defs entry) (Host, bool) {
	h := base
	h.Identity = append([]string(nil), base.Identity...)
	h.Line = e.line
	ok := true
	if e.address == nil && p.ssh != nil && e.name != nil {
		// The ssh configuration may know it by that name: applySSHConfig
		// says so, or refuses it.
		h.Address = *e.name
	} else if e.address == nil {
		p.errorf(e.line, "host%s has no address", nameHint(e.name))
		ok = false
	} else {
		addr, msg := checkAddress(*e.address)
		if msg != "" {
			p.errorf(e.line, "host%s: %s", nameHint(e.name), msg)
			ok = false
		}
		h.Address = addr
	}
	h.Name = h.Address
	if e.name != nil {
		h.Name = *e.name
	}
	if msg := checkName(h.Name); msg != "" && ok {
		p.errorf(e.line, "%s", msg)
		ok = false
	}
	if e.port != nil {
		h.Port = *e.port
	}
	if e.user != nil {
		h.User = *e.user
	}
	if e.role != nil {
		h.Role = *e.role
	}
	if e.idSet {
		h.Identity = e.identity
	}
	if e.jump != nil {
		h.Jump = *e.jump
	} else if defs.jump != nil && base.Jump == h.Name {
		// The defaults' jump host does not jump through itself.
		h.Jump = ""
	}
	if h.Jump == "none" {
		h.Jump = ""
	}
	if e.sudo != nil {
		h.Sudo = *e.sudo
	}
	if e.timeout != nil {
		h.Timeout = *e.timeout
	}
	if ok && p.ssh != nil {
		ok = p.applySSHConfig(&h, e)
	}
	return h, ok
}

func nameHint(name *string) string {
	if name == nil {
		return ""
	}
	return fmt.Sprintf(" %q", *name)
}

// mapping reads one defaults or host mapping, reporting unknown keys and
// values of the wrong kind on their own lines.
func (p *parser) mapping(n *yaml.Node, what string, allowed []string) entry {
	e := entry{line: n.Line}
	if n.Kind != yaml.MappingNode {
		p.errorf(n.Line, "%s must be a mapping of keys (%s), not %s", what, strings.Join(allowed, ", "), kindName(n))
		return e
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, raw := n.Content[i], n.Content[i+1]
		v := deref(raw)
		key := k.Value
		if !contains(allowed, key) {
			hint := ""
			if what == "defaults" && (key == "name" || key == "address" || key == "role") {
				hint = "; it belongs on each host"
			} else if s := suggest(key, allowed); s != "" {
				hint = fmt.Sprintf("; did you mean %s?", s)
			}
			p.errorf(k.Line, "unknown key %q in %s (known: %s)%s", key, what, strings.Join(allowed, ", "), hint)
			continue
		}
		if prev, dup := seen[key]; dup {
			p.errorf(k.Line, "%s: given twice in this %s (first on line %d)", key, what, prev)
			continue
		}
		seen[key] = k.Line
		switch key {
		case "name", "address", "user", "role":
			s, ok := p.str(v, key)
			if !ok {
				continue
			}
			switch key {
			case "name":
				e.name = &s
			case "address":
				e.address = &s
			case "user":
				if msg := checkUser(s); msg != "" {
					p.errorf(v.Line, "%s", msg)
					continue
				}
				e.user = &s
			case "role":
				if !contains(Roles, s) {
					p.errorf(v.Line, "role %q is not one of %s", s, strings.Join(Roles, ", "))
					continue
				}
				e.role = &s
			}
		case "jump":
			s := ""
			if !isNull(v) && !(v.Kind == yaml.ScalarNode && strings.TrimSpace(v.Value) == "") {
				var ok bool
				if s, ok = p.str(v, key); !ok {
					continue
				}
			}
			e.jump, e.jumpLine = &s, v.Line
		case "port":
			n, err := strconv.Atoi(v.Value)
			if v.Kind != yaml.ScalarNode || err != nil || n < 1 || n > 65535 {
				p.errorf(v.Line, "port %s is not a TCP port (1-65535)", short(v))
				continue
			}
			e.port = &n
		case "sudo":
			if v.Kind != yaml.ScalarNode || (v.Tag != "!!bool") {
				p.errorf(v.Line, "sudo must be true or false, not %s", short(v))
				continue
			}
			b := v.Value == "true" || v.Value == "True" || v.Value == "TRUE"
			e.sudo = &b
		case "timeout":
			d, msg := parseTimeout(v)
			if msg != "" {
				p.errorf(v.Line, "%s", msg)
				continue
			}
			e.timeout = &d
		case "identity":
			ids, ok := p.identities(v)
			if ok {
				e.identity, e.idSet = ids, true
			}
		}
	}
	return e
}

func (p *parser) str(v *yaml.Node, key string) (string, bool) {
	if v.Kind != yaml.ScalarNode || isNull(v) {
		p.errorf(v.Line, "%s must be a single value, not %s", key, kindName(v))
		return "", false
	}
	s := strings.TrimSpace(v.Value)
	if s == "" {
		p.errorf(v.Line, "%s is empty", key)
		return "", false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			p.errorf(v.Line, "%s %q holds a control character", key, s)
			return "", false
		}
	}
	return s, true
}

func (p *parser) identities(v *yaml.Node) ([]string, bool) {
	var items []*yaml.Node
	switch v.Kind {
	case yaml.ScalarNode:
		items = []*yaml.Node{v}
	case yaml.SequenceNode:
		items = v.Content
	default:
		p.errorf(v.Line, "identity must be a key file or a list of them, not %s", kindName(v))
		return nil, false
	}
	if len(items) > maxIdentities {
		p.errorf(v.Line, "identity lists %d files; at most %d", len(items), maxIdentities)
		return nil, false
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		it = deref(it)
		s, ok := p.str(it, "identity")
		if !ok {
			return nil, false
		}
		out = append(out, p.expand(s))
	}
	return out, true
}

// expand resolves ~ and relative key paths the way the file's reader means
// them: home for ~, the inventory's folder for a relative path.
func (p *parser) expand(s string) string {
	if s == "~" || strings.HasPrefix(s, "~/") {
		if p.home == "" {
			p.home = homeDir()
		}
		return filepath.Join(p.home, s[1:])
	}
	if strings.HasPrefix(s, "~") {
		// ~user/...: that user's home.
		name, rest, _ := strings.Cut(s[1:], "/")
		if p.homes == nil {
			p.homes = map[string]string{}
		}
		home, ok := p.homes[name]
		if !ok {
			if u, err := user.Lookup(name); err == nil {
				home = u.HomeDir
			}
			p.homes[name] = home
		}
		if home == "" {
			return s
		}
		return filepath.Join(home, rest)
	}
	if !filepath.IsAbs(s) {
		return filepath.Join(p.dir, s)
	}
	return s
}

// resolveJumps links each Jump to the host it names, builds entries for jump
// addresses, and refuses unknown names and loops.
func (p *parser) resolveJumps(hosts []Host, lines []int, base Host) {
	byName := make(map[string]int, len(hosts))
	for i, h := range hosts {
		if prev, dup := byName[h.Name]; dup {
			p.errorf(h.Line, "host name %q is used twice (first on line %d); give one of them a distinct name:", h.Name, hosts[prev].Line)
			continue
		}
		byName[h.Name] = i
	}
	if len(p.errs) > 0 {
		return
	}
	next := make([]int, len(hosts)) // index of the inventory host jumped through, or -1
	for i := range hosts {
		next[i] = -1
		h := &hosts[i]
		if h.Jump == "" || h.JumpHost != nil {
			// none, or the ssh configuration's ProxyJump, already resolved
			continue
		}
		if h.Jump == h.Name {
			p.errorf(lines[i], "host %q jumps through itself; remove its jump: (or write jump: none)", h.Name)
			continue
		}
		if j, ok := byName[h.Jump]; ok {
			next[i] = j
			continue
		}
		jh, msg := p.jumpAddress(h.Jump, base)
		if msg != "" {
			p.errorf(lines[i], "host %q: %s", h.Name, msg)
			continue
		}
		h.JumpHost = &jh
	}
	if len(p.errs) > 0 {
		return
	}
	// Each host is walked once: state 1 marks hosts on the current walk, 2
	// hosts whose depth (jump hosts in front of them) is known. The walk
	// is linear in the hosts; its path holds one chain at a time.
	state := make([]uint8, len(hosts))
	depth := make([]int, len(hosts))
	var path []int
	for i := range hosts {
		if state[i] != 0 {
			continue
		}
		path = path[:0]
		j := i
		for j >= 0 && state[j] == 0 {
			state[j] = 1
			path = append(path, j)
			j = next[j]
		}
		d := 0 // the depth of path's last host, once its jump host's is known
		switch {
		case j >= 0 && state[j] == 1:
			p.jumpLoop(hosts, lines, path, j)
			for _, x := range path {
				state[x] = 2
			}
			continue
		case j >= 0:
			d = depth[j] + 1
		}
		for k := len(path) - 1; k >= 0; k-- {
			x := path[k]
			switch {
			case next[x] >= 0:
				depth[x] = d
			case hosts[x].JumpHost != nil:
				depth[x] = 1 // an address outside the inventory
			default:
				depth[x] = 0
			}
			state[x] = 2
			d = depth[x] + 1
			// The first host too far: the ones behind it are refused with
			// the whole file, without a line each.
			if depth[x] == MaxJumpHops+1 {
				p.errorf(lines[x], "host %q is reached through %d jump hosts (%s); at most %d are followed: reach one of them without a jump, or with fewer",
					hosts[x].Name, depth[x], chainText(hosts, next, x), MaxJumpHops)
			}
		}
	}
	if len(p.errs) > 0 {
		return
	}
	// Link in dependency order so each JumpHost copy carries its own
	// chain; the recursion is as deep as the longest chain, MaxJumpHops.
	done := make([]bool, len(hosts))
	var link func(i int)
	link = func(i int) {
		if done[i] {
			return
		}
		done[i] = true
		if j := next[i]; j >= 0 {
			link(j)
			jh := hosts[j]
			hosts[i].JumpHost = &jh
		}
	}
	for i := range hosts {
		link(i)
	}
}

// jumpLoop reports the loop a walk (path) ran into at host j.
func (p *parser) jumpLoop(hosts []Host, lines, path []int, j int) {
	start := 0
	for k, x := range path {
		if x == j {
			start = k
			break
		}
	}
	var names []string
	for _, x := range path[start:] {
		names = append(names, hosts[x].Name)
	}
	names = append(names, hosts[j].Name)
	p.errorf(lines[j], "jump hosts form a loop: %s; one of them must be reachable without a jump", strings.Join(names, " → "))
}

// chainText names the jump hosts in front of host i, the nearest first,
// eliding the middle of a long chain. It is called for chains one host
// longer than MaxJumpHops only.
func chainText(hosts []Host, next []int, i int) string {
	var names []string
	j := i
	for next[j] >= 0 {
		j = next[j]
		names = append(names, hosts[j].Name)
	}
	if hosts[j].JumpHost != nil {
		names = append(names, hosts[j].JumpHost.Name)
	}
	if len(names) > 4 {
		names = append(names[:2:2], "…", names[len(names)-1])
	}
	return strings.Join(names, " → ")
}

// jumpAddress reads [user@]addr[:port] for a jump host outside the
// inventory. A bare word that is no address is taken for a mistyped host
// name rather than a DNS name, since that is the likelier mistake, unless
// the ssh configuration names it.
func (p *parser) jumpAddress(s string, base Host) (Host, string) {
	h, set, msg := p.hop(s, base, true, true, 1)
	if msg != "" {
		return h, fmt.Sprintf("jump %q: %s", s, msg)
	}
	looksLikeAddress := strings.ContainsAny(s, "@:.") || net.ParseIP(strings.Trim(s, "[]")) != nil
	if !looksLikeAddress && (set == nil || !set.Named && set.HostName == "") {
		also := ""
		if p.ssh != nil {
			also = ", or name it in a Host line of the ssh configuration"
		}
		return h, fmt.Sprintf("jump %q names no host in the inventory; add it under hosts:, or write an address outside it as user@%s or %s:22%s", s, s, s, also)
	}
	return h, ""
}

func checkAddress(s string) (string, string) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	if s == "" {
		return s, "address is empty"
	}
	if strings.Contains(s, "@") {
		return s, fmt.Sprintf("address %q holds a user; write it as user: instead", s)
	}
	if _, port, err := net.SplitHostPort(s); err == nil {
		return s, fmt.Sprintf("address %q holds a port; write it as port: %s instead", s, port)
	}
	if net.ParseIP(s) == nil {
		if len(s) > 253 {
			return s, "address is longer than a DNS name can be"
		}
		for _, r := range s {
			if !(r == '.' || r == '-' || r == '_' || r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
				return s, fmt.Sprintf("address %q is neither an IP address nor a DNS name", s)
			}
		}
	}
	return s, ""
}

// checkName keeps names usable as the case folder each host's evidence is
// written to.
func checkName(s string) string {
	switch {
	case s == "":
		return "host name is empty"
	case s == "." || s == "..":
		return fmt.Sprintf("host name %q cannot be a folder name", s)
	case len(s) > 253:
		return fmt.Sprintf("host name %.20q... is too long (at most 253 characters)", s)
	case strings.HasPrefix(s, "-"):
		return fmt.Sprintf("host name %q starts with -", s)
	case strings.HasPrefix(s, "."):
		// its folder would be collected, then skipped by diagnose, which
		// keeps dot folders for collect's own records
		return fmt.Sprintf("host name %q starts with a dot; diagnose would ignore its folder: name it without the dot", s)
	}
	for _, r := range s {
		if r == '/' || r == '\\' || unicode.IsSpace(r) || unicode.IsControl(r) {
			return fmt.Sprintf("host name %q holds %q; names become folder names, use letters, digits, . - _", s, r)
		}
	}
	return ""
}

func checkUser(s string) string {
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '@' || r == ':' || r == '/' {
			return fmt.Sprintf("user %q holds %q, which no login name has", s, r)
		}
	}
	return ""
}

func parseTimeout(v *yaml.Node) (time.Duration, string) {
	if v.Kind != yaml.ScalarNode || isNull(v) {
		return 0, fmt.Sprintf("timeout must be a duration such as 30s, not %s", kindName(v))
	}
	if _, err := strconv.ParseFloat(v.Value, 64); err == nil {
		return 0, fmt.Sprintf("timeout %s has no unit; write %ss (or m, h)", v.Value, v.Value)
	}
	d, err := time.ParseDuration(v.Value)
	if err != nil {
		return 0, fmt.Sprintf("timeout %q is not a duration; write it like 30s, 2m or 1m30s", v.Value)
	}
	if d <= 0 || d > maxTimeout {
		return 0, fmt.Sprintf("timeout %s is out of range (above 0, at most 24h)", v.Value)
	}
	return d, ""
}

// deref follows an alias so *anchors can stand for values; yaml already
// rejects aliases to undefined anchors, and Content is never walked
// recursively here, so alias bombs cost nothing.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		if isNull(n) {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "an empty document"
}

func short(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		return fmt.Sprintf("%q", n.Value)
	}
	return kindName(n)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest names an allowed key one edit or a plural away from a typo.
func suggest(key string, allowed []string) string {
	k := strings.ToLower(key)
	for _, a := range allowed {
		if k == a || k == a+"s" || strings.TrimSuffix(k, "s") == a || k == a+"_file" || k == a+"file" {
			return a
		}
	}
	switch k {
	case "host", "hostname", "ip", "addr":
		if contains(allowed, "address") {
			return "address"
		}
	case "key", "keys", "identityfile", "identity_file", "identities":
		return "identity"
	case "proxyjump", "bastion", "proxy", "jumphost", "jump_host":
		return "jump"
	case "username", "login":
		return "user"
	case "become":
		return "sudo"
	}
	return ""
}

func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "root"
}

func homeDir() string {
	if h, err := os.UserHomeDir(); err == nil {
		return h
	}
	if u, err := user.Current(); err == nil {
		return u.HomeDir
	}
	return "/"
}

// yamlErr splits a yaml syntax error ("yaml: line 3: ...") into its line
// and the rest, so the message carries the line once, as file:line.
func yamlErr(err error) (int, string) {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	rest, ok := strings.CutPrefix(s, "line ")
	if !ok {
		return 0, s
	}
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	n, err2 := strconv.Atoi(rest[:j])
	if err2 != nil {
		return 0, s
	}
	return n, strings.TrimPrefix(rest[j:], ": ")
}
