// Package sshconfig reads the OpenSSH client configuration (~/.ssh/config,
// /etc/ssh/ssh_config and the files they Include) and resolves, for one
// host name, the settings lvsdoctor's SSH transport honours, the way
// ssh(1) does: Host and Match blocks are matched against the name given,
// the first value obtained for a keyword wins (IdentityFile adds up), and
// Include is followed in place.
//
// Parsing is github.com/kevinburke/ssh_config's. This package does the
// reading (bounded, Include loops refused), the matching (OpenSSH's
// pattern rules) and the lookup, and refuses the keywords lvsdoctor cannot
// honour when ignoring them would reach a host another way than ssh does,
// such as ProxyCommand.
package sshconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"

	ssh_config "github.com/kevinburke/ssh_config"
)

// Limits on what is read. The files are the user's own, but a mistaken
// Include of a large or endless file must fail quickly, not hang: the
// parser's cost grows with the square of a line's length, so lines are
// bounded too (a 4 KiB line parses in about 5 ms, a 1 MiB file of them in about a second).
const (
	MaxFileSize = 1 << 20
	MaxLine     = 4 << 10
	// maxFiles bounds the files read through Include, all told.
	maxFiles = 64
	// maxDepth is how deeply Include may nest; OpenSSH allows 16, the
	// parser 5, and real configurations use one or two.
	maxDepth = 5
)

// None is the --ssh-config value that reads no configuration at all, as
// `ssh -F none`.
const None = "none"

// SystemFile is read after the user's file, as ssh does.
const SystemFile = "/etc/ssh/ssh_config"

// Config is the configuration files read, in the order they are consulted.
// The zero Config (or nil) holds none: every lookup finds nothing.
type Config struct {
	files []*file
	// Files lists the top-level files read, for messages.
	Files []string
}

type file struct {
	path   string
	system bool
	blocks []block
	// includes holds, by line, the files an Include line names, in the
	// order ssh reads them.
	includes map[int][]*file
}

// block is a Host or Match section; the first block of a file is the
// implicit one that applies to every host.
type block struct {
	match    bool // Match host (patterns test the host name as HostName left it) or Match all
	all      bool
	patterns []string
	nodes    []node
}

type node struct {
	key     string // lower case
	keyword string // as written
	value   string
	line    int
}

// UserFile is ~/.ssh/config, from the user database like ssh (and the
// parser's Include) rather than $HOME.
func UserFile() string {
	return filepath.Join(homeDir(), ".ssh", "config")
}

func homeDir() string {
	if u, err := user.Current(); err == nil && u.HomeDir != "" {
		return u.HomeDir
	}
	if h, err := os.UserHomeDir(); err == nil {
		return h
	}
	return "/"
}

// Load reads the configuration named by a --ssh-config value: "" is
// ~/.ssh/config then /etc/ssh/ssh_config, either of which may be absent;
// None reads nothing; any other value is the one file to read instead of
// both, which must exist (as `ssh -F FILE`).
func Load(path string) (*Config, error) {
	l := &loader{}
	c := &Config{}
	switch path {
	case None:
		return c, nil
	case "":
		for _, p := range []string{UserFile(), SystemFile} {
			f, err := l.load(p, p == SystemFile, nil, true)
			if err != nil {
				return nil, err
			}
			if f != nil {
				c.files = append(c.files, f)
				c.Files = append(c.Files, p)
			}
		}
	default:
		f, err := l.load(path, false, nil, false)
		if err != nil {
			return nil, err
		}
		c.files, c.Files = []*file{f}, []string{path}
	}
	return c, nil
}

// Parse reads configuration text as the user's file called name; its
// Include lines are read from disk like Load's.
func Parse(name string, data []byte) (*Config, error) {
	l := &loader{}
	f, err := l.parse(name, data, false, []string{name})
	if err != nil {
		return nil, err
	}
	return &Config{files: []*file{f}, Files: []string{name}}, nil
}

type loader struct{ files int }

// load reads one file; stack is the chain of files that included it. An
// absent file is nil when optional.
func (l *loader) load(path string, system bool, stack []string, optional bool) (*file, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	if slices.Contains(stack, abs) {
		return nil, fmt.Errorf("ssh config: Include loop: %s", strings.Join(append(slices.Clone(stack), abs), " includes "))
	}
	if len(stack) > maxDepth {
		return nil, fmt.Errorf("ssh config %s: Include nested more than %d deep (%s)", Tilde(path), maxDepth, strings.Join(stack, " → "))
	}
	l.files++
	if l.files > maxFiles {
		return nil, fmt.Errorf("ssh config %s: more than %d files read through Include; is a pattern too wide?", Tilde(path), maxFiles)
	}
	f, err := os.Open(path)
	if err != nil {
		if optional && errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("ssh config: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("ssh config: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("ssh config %s: not a regular file", Tilde(path))
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("ssh config: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("ssh config %s: larger than %d MiB; it is not an ssh configuration", Tilde(path), MaxFileSize>>20)
	}
	return l.parse(path, data, system, append(slices.Clone(stack), abs))
}

// parse reads one file's text. Include lines are read here, bounded, and
// turned into comments before the text reaches the parser, which would
// otherwise read the files it names itself, whole and from other folders
// than ssh's for the system file; the walk finds them again by line.
func (l *loader) parse(path string, data []byte, system bool, stack []string) (*file, error) {
	f := &file{path: path, system: system, includes: map[int][]*file{}}
	lines := bytes.SplitAfter(data, []byte("\n"))
	for i, ln := range lines {
		if len(ln) > MaxLine {
			return nil, fmt.Errorf("ssh config %s:%d: line longer than %d KiB", Tilde(path), i+1, MaxLine>>10)
		}
		key, args := splitLine(string(ln))
		switch key {
		case "include":
			var inc []*file
			for _, pattern := range args {
				matches, err := filepath.Glob(includePath(pattern, system))
				if err != nil {
					return nil, fmt.Errorf("ssh config %s:%d: Include %s: %v", Tilde(path), i+1, pattern, err)
				}
				for _, m := range matches {
					g, err := l.load(m, system, stack, true)
					if err != nil {
						return nil, err
					}
					if g != nil {
						inc = append(inc, g)
					}
				}
			}
			f.includes[i+1] = inc
			// Same line count, and the parser keeps it as a comment.
			lines[i] = append([]byte("#"), ln...)
		case "match":
			line, err := matchLine(args)
			if err != "" {
				return nil, fmt.Errorf("ssh config %s:%d: %s", Tilde(path), i+1, err)
			}
			lines[i] = []byte(line + "\n")
		}
	}
	cfg, err := ssh_config.DecodeBytes(bytes.Join(lines, nil))
	if err != nil {
		return nil, fmt.Errorf("ssh config %s: %v", Tilde(path), err)
	}
	for i, h := range cfg.Hosts {
		var b block
		// The parser marks Match blocks only in how it prints them; the
		// first block is the implicit one, which prints no head line.
		head := strings.TrimSpace(strings.SplitN(h.String(), "\n", 2)[0])
		if i > 0 && strings.HasPrefix(strings.ToLower(head), "match") {
			b.match = true
			_, args := splitLine(head)
			b.all = strings.EqualFold(args[0], "all")
			if !b.all {
				b.patterns = strings.Split(args[1], ",")
			}
		} else {
			for _, p := range h.Patterns {
				b.patterns = append(b.patterns, p.String())
			}
		}
		for _, n := range h.Nodes {
			switch n := n.(type) {
			case *ssh_config.KV:
				b.nodes = append(b.nodes, node{key: strings.ToLower(n.Key), keyword: n.Key, value: n.Value, line: n.Pos().Line})
			case *ssh_config.Empty:
				if _, ok := f.includes[n.Pos().Line]; ok {
					b.nodes = append(b.nodes, node{key: "include", line: n.Pos().Line})
				}
			}
		}
		f.blocks = append(f.blocks, b)
	}
	return f, nil
}

// splitLine is a configuration line's keyword (lower case) and arguments,
// for the lines read before parsing: Include and Match.
func splitLine(s string) (string, []string) {
	s = strings.TrimSpace(s)
	if s == "" || s[0] == '#' {
		return "", nil
	}
	end := strings.IndexAny(s, " \t=")
	if end < 0 {
		return strings.ToLower(s), nil
	}
	key := strings.ToLower(s[:end])
	rest := strings.TrimSpace(s[end:])
	rest = strings.TrimSpace(strings.TrimPrefix(rest, "="))
	var args []string
	for _, a := range strings.Fields(rest) {
		if strings.HasPrefix(a, "#") {
			break
		}
		args = append(args, strings.Trim(a, `"`))
	}
	return key, args
}

// includePath resolves an Include argument as ssh does: ~ is the home
// folder, and a relative path is under ~/.ssh for the user's file, under
// /etc/ssh for the system one.
func includePath(p string, system bool) string {
	switch {
	case strings.HasPrefix(p, "~/"):
		return filepath.Join(homeDir(), p[2:])
	case filepath.IsAbs(p):
		return p
	case system:
		return filepath.Join("/etc/ssh", p)
	}
	return filepath.Join(homeDir(), ".ssh", p)
}

// matchLine is the Match line the parser is given for one whose
// criteria are args, keeping those whose meaning the lookup knows: `all`
// and `host LIST`. `final` (RHEL's and Fedora's ssh_config.d has `Match
// final all`) asks for them in ssh's last pass, which the one pass here
// is; `canonical` matches only after CanonicalizeHostname, which is
// refused, so never. The others test what lvsdoctor does not know (exec,
// user, localuser...), and guessing would apply settings ssh would not.
func matchLine(args []string) (string, string) {
	var rest []string
	never := false
	for _, a := range args {
		switch strings.ToLower(a) {
		case "final":
		case "canonical":
			never = true
		default:
			rest = append(rest, a)
		}
	}
	switch {
	case len(rest) == 1 && strings.EqualFold(rest[0], "all"), len(rest) == 2 && strings.EqualFold(rest[0], "host"):
		if never {
			return "Match host !*", ""
		}
		return "Match " + strings.Join(rest, " "), ""
	}
	return "", fmt.Sprintf("Match %s is not supported: lvsdoctor understands Match all and Match host PATTERNS (with final or canonical) only; use Host blocks, or --ssh-config FILE with a configuration of its own", strings.Join(args, " "))
}

// matchPattern is OpenSSH's match_pattern: * is any run of characters, ?
// exactly one.
func matchPattern(s, pattern string) bool {
	for {
		if pattern == "" {
			return s == ""
		}
		switch pattern[0] {
		case '*':
			for pattern != "" && pattern[0] == '*' {
				pattern = pattern[1:]
			}
			if pattern == "" {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if matchPattern(s[i:], pattern) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
		default:
			if s == "" || s[0] != pattern[0] {
				return false
			}
		}
		s, pattern = s[1:], pattern[1:]
	}
}

// matchList is a Host line's (or Match host's) verdict for s: a negated
// pattern that matches rules the block out whatever else matches. named
// says a pattern without wildcards matched: the block names s itself.
func matchList(s string, patterns []string) (matched, named bool) {
	for _, p := range patterns {
		neg := strings.HasPrefix(p, "!")
		p = strings.TrimPrefix(p, "!")
		if p == "" || !matchPattern(s, p) {
			continue
		}
		if neg {
			return false, false
		}
		matched = true
		if !strings.ContainsAny(p, "*?") {
			named = true
		}
	}
	return matched, named
}

// Tilde shortens a path under the home folder the way users write it.
func Tilde(p string) string {
	home := homeDir()
	if home == "" || home == "/" {
		return p
	}
	if rel, ok := strings.CutPrefix(p, home+string(filepath.Separator)); ok {
		return "~/" + rel
	}
	return p
}
