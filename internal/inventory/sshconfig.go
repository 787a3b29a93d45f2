package inventory

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/sshconfig"
)

// applySSHConfig fills what the entry and the defaults: mapping left unset
// from the ssh configuration, looked up by the address as written (the
// name for an entry without one), as `ssh ADDRESS` would.
func (p *parser) applySSHConfig(h *Host, e entry) bool {
	alias := h.Address
	s, err := p.ssh.Lookup(alias)
	if err != nil {
		p.errorf(e.line, "host %q: %v", h.Name, err)
		return false
	}
	p.warnAll(s.Warnings)
	if e.address == nil && !s.Named && s.HostName == "" {
		p.errorf(e.line, "host %q has no address, and no Host line of the ssh configuration (%s) names it", h.Name, p.sshFiles())
		return false
	}
	if s.HostName != "" {
		a, msg := checkAddress(s.HostName)
		if msg != "" {
			p.errorf(e.line, "host %q: HostName from %s: %s", h.Name, s.Source("hostname"), msg)
			return false
		}
		h.Address = a
	}
	if e.user == nil && p.defs.user == nil && s.User != "" {
		if msg := checkUser(s.User); msg != "" {
			p.errorf(e.line, "host %q: User from %s: %s", h.Name, s.Source("user"), msg)
			return false
		}
		h.User = s.User
	}
	if e.port == nil && p.defs.port == nil && s.Port != 0 {
		h.Port = s.Port
	}
	if !e.idSet && !p.defs.idSet && len(s.IdentityFiles) > 0 {
		ids, err := identityFiles(s, *h)
		if err != nil {
			p.errorf(e.line, "host %q: IdentityFile from %s: %v", h.Name, s.Source("identityfile"), err)
			return false
		}
		h.Identity = ids
	}
	if err := hostKeySettings(h, s); err != nil {
		p.errorf(e.line, "host %q: %v", h.Name, err)
		return false
	}
	// What the inventory says about the jump wins, "none" included; the
	// defaults' jump host does not jump through itself, so for it the ssh
	// configuration decides.
	jumpSet := e.jump != nil || p.defs.jump != nil && *p.defs.jump != h.Name
	if err := s.ProxyCommandError(); err != nil && !jumpSet {
		p.errorf(e.line, "host %q: %v", h.Name, err)
		return false
	}
	if !jumpSet && s.ProxyJump != "" {
		jh, msg := p.proxyJump(s, 0)
		if msg != "" {
			p.errorf(e.line, "host %q: %s", h.Name, msg)
			return false
		}
		h.Jump, h.JumpHost = s.ProxyJump, jh
	}
	return true
}

// proxyJump builds the chain of jump hosts s.ProxyJump names: "a,b"
// reaches b through a, and a as its own settings say, through its own
// ProxyJump if it has one, as ssh -J does. depth counts the jump hosts
// already in front of the host whose settings s are.
func (p *parser) proxyJump(s *sshconfig.Settings, depth int) (*Host, string) {
	hops := strings.Split(s.ProxyJump, ",")
	if depth+len(hops) > MaxJumpHops {
		return nil, fmt.Sprintf("ProxyJump %s (%s) makes a chain of more than %d jump hosts; do ProxyJump settings loop?", s.ProxyJump, s.Source("proxyjump"), MaxJumpHops)
	}
	var prev *Host
	for i, spec := range hops {
		spec = strings.TrimSpace(spec)
		if spec == "" {
			return nil, fmt.Sprintf("ProxyJump %q (%s) has an empty jump host", s.ProxyJump, s.Source("proxyjump"))
		}
		h, _, msg := p.hop(spec, p.base, false, i == 0, depth+len(hops))
		if msg != "" {
			return nil, fmt.Sprintf("ProxyJump %s (%s): %s", spec, s.Source("proxyjump"), msg)
		}
		if i > 0 {
			h.Jump, h.JumpHost = prev.Name, prev
		}
		prev = &h
	}
	return prev, ""
}

// hop builds the Host for one jump host written [ssh://][user@]host[:port],
// in the inventory's jump: (fromInventory: what the defaults: mapping says
// applies to it as to the inventory's hosts) or in a ProxyJump. The ssh
// configuration, when read, fills in the rest; follow also takes the hop's
// own ProxyJump, which depth (the jump hosts counted so far, this one
// included) bounds.
func (p *parser) hop(spec string, base Host, fromInventory, follow bool, depth int) (Host, *sshconfig.Settings, string) {
	h := Host{Name: spec, User: base.User, Port: base.Port, Identity: base.Identity, Timeout: base.Timeout}
	if !fromInventory {
		h.User, h.Port, h.Identity = currentUser(), 22, nil
	}
	rest := strings.TrimPrefix(spec, "ssh://")
	userSet, portSet := false, false
	if u, a, ok := strings.Cut(rest, "@"); ok {
		if msg := checkUser(u); msg != "" {
			return h, nil, msg
		}
		h.User, rest, userSet = u, a, true
	}
	addr := rest
	if hp, port, err := net.SplitHostPort(rest); err == nil {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return h, nil, fmt.Sprintf("port %q is not a TCP port (1-65535)", port)
		}
		addr, h.Port, portSet = hp, n, true
	}
	a, msg := checkAddress(addr)
	if msg != "" {
		return h, nil, msg
	}
	h.Address = a
	if p.ssh == nil {
		return h, nil, ""
	}
	s, err := p.ssh.Lookup(a)
	if err != nil {
		return h, nil, err.Error()
	}
	p.warnAll(s.Warnings)
	if s.HostName != "" {
		addr, msg := checkAddress(s.HostName)
		if msg != "" {
			return h, nil, fmt.Sprintf("HostName from %s: %s", s.Source("hostname"), msg)
		}
		h.Address = addr
	}
	if !userSet && !(fromInventory && p.defs.user != nil) && s.User != "" {
		if msg := checkUser(s.User); msg != "" {
			return h, nil, fmt.Sprintf("User from %s: %s", s.Source("user"), msg)
		}
		h.User = s.User
	}
	if !portSet && !(fromInventory && p.defs.port != nil) && s.Port != 0 {
		h.Port = s.Port
	}
	if !(fromInventory && p.defs.idSet) && len(s.IdentityFiles) > 0 {
		ids, err := identityFiles(s, h)
		if err != nil {
			return h, nil, fmt.Sprintf("IdentityFile from %s: %v", s.Source("identityfile"), err)
		}
		h.Identity = ids
	}
	if err := hostKeySettings(&h, s); err != nil {
		return h, nil, err.Error()
	}
	// A later hop of a chain is reached through the hop before it, whatever
	// its own settings say.
	if err := s.ProxyCommandError(); err != nil && follow {
		return h, nil, err.Error()
	}
	if follow && s.ProxyJump != "" {
		jh, msg := p.proxyJump(s, depth)
		if msg != "" {
			return h, nil, msg
		}
		h.Jump, h.JumpHost = s.ProxyJump, jh
	}
	return h, s, ""
}

func tokens(s *sshconfig.Settings, h Host) sshconfig.Tokens {
	return sshconfig.Tokens{HostName: h.Address, RemoteUser: h.User, Port: h.Port, Alias: s.Name}
}

// identityFiles expands the IdentityFile settings now that user, address
// and port are known.
func identityFiles(s *sshconfig.Settings, h Host) ([]string, error) {
	if len(s.IdentityFiles) > maxIdentities {
		return nil, fmt.Errorf("%d identity files; at most %d", len(s.IdentityFiles), maxIdentities)
	}
	var out []string
	for _, f := range s.IdentityFiles {
		p, err := sshconfig.ExpandPath(f, tokens(s, h))
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// hostKeySettings copies how the host's key is checked: known_hosts files
// (a list that names only user files, or only global ones, keeps ssh's
// default for the other), StrictHostKeyChecking and the rest.
func hostKeySettings(h *Host, s *sshconfig.Settings) error {
	expand := func(keyword string, files []string) ([]string, error) {
		var out []string
		for _, f := range files {
			if strings.EqualFold(f, "none") {
				f = os.DevNull
			}
			p, err := sshconfig.ExpandPath(f, tokens(s, *h))
			if err != nil {
				return nil, fmt.Errorf("%s from %s: %v", keyword, s.Source(keyword), err)
			}
			out = append(out, p)
		}
		return out, nil
	}
	user, err := expand("UserKnownHostsFile", s.UserKnownHostsFiles)
	if err != nil {
		return err
	}
	global, err := expand("GlobalKnownHostsFile", s.GlobalKnownHostsFiles)
	if err != nil {
		return err
	}
	if len(user)+len(global) > 0 {
		if len(user) == 0 {
			user = []string{filepath.Join(homeDir(), ".ssh", "known_hosts")}
		}
		if len(global) == 0 {
			global = []string{"/etc/ssh/ssh_known_hosts"}
		}
		h.KnownHosts = append(user, global...)
	}
	h.StrictHostKeyChecking = s.StrictHostKeyChecking
	h.HashKnownHosts = s.HashKnownHosts
	h.IdentitiesOnly = s.IdentitiesOnly
	h.ConnectTimeout = s.ConnectTimeout
	return nil
}

func (p *parser) warnAll(ws []string) {
	for _, w := range ws {
		if p.warned[w] {
			continue
		}
		p.warned[w] = true
		if p.warn != nil {
			p.warn(w)
		}
	}
}

func (p *parser) sshFiles() string {
	var names []string
	for _, f := range p.ssh.Files {
		names = append(names, sshconfig.Tilde(f))
	}
	if len(names) == 0 {
		return "none read"
	}
	return strings.Join(names, ", ")
}
