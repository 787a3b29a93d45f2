package collect

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// A Guard is what an item needs before anything runs: conditions that
// must all hold, each tested in Go by the local collector and in sh by the
// remote script, each naming what is missing when it fails.
type Guard []Cond

// A Cond is one condition of a guard.
type Cond struct {
	// Why names what is missing when the condition fails, e.g. "nf_tables
	// is not loaded (listing nftables would load it)".
	Why   string
	Go    func() bool
	Shell string
}

// Check returns "" when every condition holds, else the first failure.
func (g Guard) Check() string {
	for _, c := range g {
		if !c.Go() {
			if c.Why == "" {
				return "a condition failed: " + c.Shell
			}
			return c.Why
		}
	}
	return ""
}

func (g Guard) ok() bool { return g.Check() == "" }

// and is a guard that holds when both hold.
func (g Guard) and(o Guard) Guard { return append(append(Guard{}, g...), o...) }

// or is a one-condition guard that holds when either holds.
func (g Guard) or(o Guard, why string) Guard {
	return Guard{{
		Why:   why,
		Go:    func() bool { return g.ok() || o.ok() },
		Shell: "{ " + g.shell() + "; } || { " + o.shell() + "; }",
	}}
}

// not is a one-condition guard that holds when g does not.
func (g Guard) not(why string) Guard {
	return Guard{{Why: why, Go: func() bool { return !g.ok() }, Shell: "! { " + g.shell() + "; }"}}
}

func (g Guard) shell() string {
	parts := make([]string, len(g))
	for i, c := range g {
		parts[i] = c.Shell
	}
	return strings.Join(parts, " && ")
}

// exists holds when path exists.
func exists(path, why string) Guard {
	return Guard{{
		Why:   why,
		Go:    func() bool { _, err := os.Stat(path); return err == nil },
		Shell: "[ -e " + shQuote(path) + " ]",
	}}
}

// moduleReady holds when asking the kernel for what module mod provides
// cannot load it: the kernel has no module support, or mod is loaded, or
// it is built in. /sys/module/NAME exists for every loaded module but not
// for every built-in one, hence modules.builtin.
func moduleReady(mod, what string) Guard {
	return Guard{{
		Why:   mod + " is not loaded (" + what + " would load it)",
		Go:    func() bool { return modules().ready(mod) },
		Shell: "mod_ready " + mod,
	}}
}

// shellPrelude defines what guards call in the remote script.
const shellPrelude = `mod_ready() {
    [ ! -e /proc/modules ] || [ -d "/sys/module/$1" ] ||
        grep -qs "/$1\.ko" "/lib/modules/$(uname -r)/modules.builtin"
}
have() { command -v "$1" >/dev/null 2>&1; }
`

type moduleState struct {
	noModules bool
	builtin   []byte
}

var (
	moduleOnce sync.Once
	moduleInfo moduleState
)

func modules() *moduleState {
	moduleOnce.Do(func() {
		if _, err := os.Stat("/proc/modules"); os.IsNotExist(err) {
			moduleInfo.noModules = true
			return
		}
		var u unix.Utsname
		if unix.Uname(&u) == nil {
			rel := unix.ByteSliceToString(u.Release[:])
			moduleInfo.builtin, _ = os.ReadFile("/lib/modules/" + rel + "/modules.builtin")
		}
	})
	return &moduleInfo
}

func (m *moduleState) ready(mod string) bool {
	if m.noModules {
		return true
	}
	if _, err := os.Stat("/sys/module/" + mod); err == nil {
		return true
	}
	return bytes.Contains(m.builtin, []byte("/"+mod+".ko"))
}

// haveCmd holds when the command is installed.
func haveCmd(name string) Guard {
	return Guard{{
		Why:   name + " is not installed",
		Go:    func() bool { _, err := exec.LookPath(name); return err == nil },
		Shell: "have " + name,
	}}
}

// resolvesTo holds when the command, its symlinks followed, is a binary
// whose name contains substr: ebtables → ebtables-legacy or
// xtables-nft-multi tells the variant without running it (even
// `ebtables-nft -V` opens an nfnetlink socket, which loads nfnetlink).
func resolvesTo(name, substr, why string) Guard {
	return Guard{{
		Why: why,
		Go: func() bool {
			p, err := exec.LookPath(name)
			if err != nil {
				return false
			}
			r, err := filepath.EvalSymlinks(p)
			return err == nil && strings.Contains(filepath.Base(r), substr)
		},
		Shell: "readlink -f \"$(command -v " + name + ")\" | grep -q " + shQuote(substr+"[^/]*$"),
	}}
}

// shQuote quotes s for sh.
func shQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func shJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = shQuote(a)
	}
	return strings.Join(q, " ")
}
