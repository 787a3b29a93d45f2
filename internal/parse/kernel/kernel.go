// Package kernel parses what a host shows about its kernels: the running
// one (uname), the installed ones (grubby, rpm, dpkg, ls /boot) and the
// loaded modules (lsmod, /proc/modules, modinfo).
//
// The running kernel matters because IPVS breakage after a non-standard
// kernel upgrade is a real cause (director.kernel-suspect): the rules compare
// the running release with the installed and default ones. Module lists tell
// whether ip_vs, ipip and br_netfilter are there at all.
package kernel

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// archs are the machine names uname prints at the end of `uname -a`
// (machine, processor, hardware platform), so that the version string
// between release and machine can be told from them.
var archs = map[string]bool{
	"x86_64": true, "i386": true, "i486": true, "i586": true, "i686": true, "athlon": true,
	"aarch64": true, "arm64": true, "armv7l": true, "armv6l": true, "armv8l": true,
	"ppc64le": true, "ppc64": true, "s390x": true, "riscv64": true, "loongarch64": true,
	"mips64": true, "mips": true, "sw_64": true, "unknown": true, "amd64": true,
}

// ParseUname reads `uname -a` or `uname -r` output, or /proc/version. Only the first line
// that looks like uname output is used; a second one is reported.
func ParseUname(doc evidence.Doc) (evidence.Kernel, []evidence.Problem) {
	var k evidence.Kernel
	var probs []evidence.Problem
	for i, line := range doc.Lines() {
		s := strings.TrimSpace(line)
		if s == "" {
			continue
		}
		f := strings.Fields(s)
		var rel, ver, mach string
		switch {
		case len(f) == 1 && looksLikeRelease(f[0]):
			rel = f[0]
		case len(f) >= 3 && f[0] == "Linux" && f[1] == "version" && looksLikeRelease(f[2]):
			// /proc/version: "Linux version REL (builder) (compiler) #1 SMP ..."
			rel = f[2]
			if k := strings.Index(s, " #"); k >= 0 {
				ver = strings.TrimSpace(s[k+1:])
			}
		case len(f) >= 3 && (f[0] == "Linux" || f[0] == "GNU/Linux") && looksLikeRelease(f[2]):
			rel = f[2]
			rest := f[3:]
			if n := len(rest); n > 0 && strings.Contains(rest[n-1], "/") || n > 0 && rest[n-1] == "Linux" {
				rest = rest[:n-1]
			}
			j := len(rest)
			for j > 0 && archs[rest[j-1]] {
				j--
			}
			if j < len(rest) {
				mach = rest[j]
			}
			ver = strings.Join(rest[:j], " ")
		default:
			probs = append(probs, doc.Problemf(i, "not uname output: %q", evidence.Clip(s, 80)))
			continue
		}
		if k.Release != "" {
			if rel != k.Release {
				probs = append(probs, doc.Problemf(i, "second uname line with another release %q ignored", evidence.Clip(rel, 80)))
			}
			continue
		}
		k.Release, k.Version, k.Machine = rel, ver, mach
		k.Ref = doc.Ref(i, line)
	}
	return k, probs
}

// looksLikeRelease accepts kernel release strings: they start with a digit
// and carry a dot (5.10.0-60.18.0.50.oe2203.aarch64, 6.1.0-26-amd64).
func looksLikeRelease(s string) bool {
	if s == "" || s[0] < '0' || s[0] > '9' || !strings.Contains(s, ".") || len(s) > 200 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || strings.ContainsRune(".-_+~", r)) {
			return false
		}
	}
	return true
}

// Grubby is what the grubby commands showed: the boot entries of
// --info=ALL, and which one is the default (--default-kernel,
// --default-index, or the message of --set-default).
type Grubby struct {
	Entries []Entry
	// DefaultKernel is the default entry's kernel path, when shown.
	DefaultKernel string
	// DefaultIndex is the default entry's index, -1 when not shown.
	DefaultIndex int
	DefaultRef   evidence.Ref
}

// Entry is one boot entry with its grubby index.
type Entry struct {
	Index int
	evidence.InstalledKernel
}

var (
	setDefaultRe = regexp.MustCompile(`^The default is (\S+) with index (\d+) and kernel (\S+)`)
	bareIndexRe  = regexp.MustCompile(`^\d{1,4}$`)
)

// ParseGrubby reads `grubby --info=ALL` (or --info=PATH), `grubby
// --default-kernel`, `grubby --default-index` and `grubby --set-default`
// output, both the quoted form of grubby 8.40 and the unquoted one of RHEL 7.
func ParseGrubby(doc evidence.Doc) (Grubby, []evidence.Problem) {
	g := Grubby{DefaultIndex: -1}
	var probs []evidence.Problem
	cur := -1 // index into g.Entries of the entry being read
	for i, line := range doc.Lines() {
		s := strings.TrimSpace(line)
		if s == "" {
			continue
		}
		if m := setDefaultRe.FindStringSubmatch(s); m != nil {
			g.DefaultKernel = m[3]
			g.DefaultIndex, _ = strconv.Atoi(m[2])
			g.DefaultRef = doc.Ref(i, line)
			continue
		}
		key, val, ok := strings.Cut(s, "=")
		if !ok {
			switch {
			case strings.HasPrefix(s, "/") && strings.Contains(s, "vmlinu") && !strings.ContainsAny(s, " \t"):
				g.DefaultKernel = s
				g.DefaultRef = doc.Ref(i, line)
			case bareIndexRe.MatchString(s):
				g.DefaultIndex, _ = strconv.Atoi(s)
				g.DefaultRef = doc.Ref(i, line)
			case s == "non linux entry":
				// RHEL 7 grubby says this for chain-loaded entries: nothing to keep.
			default:
				probs = append(probs, doc.Problemf(i, "not grubby output: %q", evidence.Clip(s, 80)))
			}
			continue
		}
		val = unquote(val)
		switch key {
		case "index":
			n, err := strconv.Atoi(val)
			if err != nil {
				probs = append(probs, doc.Problemf(i, "bad grubby index %q", evidence.Clip(val, 80)))
				n = -1
			}
			g.Entries = append(g.Entries, Entry{Index: n})
			cur = len(g.Entries) - 1
			g.Entries[cur].Ref = doc.Ref(i, line)
		case "kernel":
			if cur < 0 {
				// --info=PATH output may start at kernel= on old grubby.
				g.Entries = append(g.Entries, Entry{Index: -1})
				cur = len(g.Entries) - 1
				g.Entries[cur].Ref = doc.Ref(i, line)
			}
			e := &g.Entries[cur]
			e.Path = val
			e.Version = VersionFromPath(val)
			// Cite the kernel line: it names the kernel.
			e.Ref = doc.Ref(i, line)
		case "title":
			if cur >= 0 {
				g.Entries[cur].Title = val
				if g.Entries[cur].Version == "" && g.Entries[cur].Path == "" {
					g.Entries[cur].Version = versionFromTitle(val)
				}
			}
		case "args", "root", "initrd", "id":
			// Known fields that say nothing about which kernel it is.
		default:
			if !validKey(key) {
				probs = append(probs, doc.Problemf(i, "not grubby output: %q", evidence.Clip(s, 80)))
			}
		}
	}
	// Entries that never said which kernel they boot are kept only when
	// their title does.
	out := g.Entries[:0]
	for _, e := range g.Entries {
		if e.Path != "" || e.Title != "" {
			out = append(out, e)
		}
	}
	g.Entries = out
	for j := range g.Entries {
		e := &g.Entries[j]
		if (g.DefaultKernel != "" && e.Path == g.DefaultKernel) ||
			(g.DefaultKernel == "" && g.DefaultIndex >= 0 && e.Index == g.DefaultIndex) {
			e.Default = true
		}
	}
	return g, probs
}

func validKey(k string) bool {
	if k == "" || len(k) > 40 {
		return false
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r == '_' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// VersionFromPath turns /boot/vmlinuz-5.10.0-60.18.0.50.oe2203.aarch64 into
// the release uname -r prints. Rescue images have no release: "".
func VersionFromPath(p string) string {
	base := p
	if i := strings.LastIndexByte(base, '/'); i >= 0 {
		base = base[i+1:]
	}
	for _, pre := range []string{"vmlinuz-", "vmlinux-", "Image-", "bzImage-", "kernel-"} {
		if strings.HasPrefix(base, pre) {
			v := strings.TrimPrefix(base, pre)
			if strings.HasPrefix(v, "0-rescue") || !looksLikeRelease(v) {
				return ""
			}
			return v
		}
	}
	return ""
}

// versionFromTitle reads "openEuler (5.10.0-60.18.0.50.oe2203.aarch64) 22.03 LTS".
func versionFromTitle(t string) string {
	i := strings.IndexByte(t, '(')
	j := strings.IndexByte(t, ')')
	if i < 0 || j < i {
		return ""
	}
	v := t[i+1 : j]
	if looksLikeRelease(v) {
		return v
	}
	return ""
}

// kernelPkgRe matches the kernel packages whose version is a bootable
// release: kernel, kernel-core (EL8+), kernel-ml/-lt (ELRepo), kernel-uek.
var (
	rpmNameRe = regexp.MustCompile(`^[A-Za-z0-9_.+-]+-[^-\s]+-[^-\s]+$`)
	dpkgRowRe = regexp.MustCompile(`^[uihrp][nicurfhwt][R ]?\s+\S+\s+\S+`)
)

var kernelPkgRe = regexp.MustCompile(`^kernel(?:-core|-ml|-lt|-uek|-rt)?-(\d[^\s]*)$`)

// ParsePackages reads installed kernel packages: `rpm -q kernel`, `rpm -qa |
// grep kernel` and `dpkg -l 'linux-image*'`. Versions are given the way
// `uname -r` prints them so that the running kernel can be looked up.
func ParsePackages(doc evidence.Doc) ([]evidence.InstalledKernel, []evidence.Problem) {
	var out []evidence.InstalledKernel
	var probs []evidence.Problem
	seen := map[string]bool{}
	add := func(i int, line, v string) {
		if seen[v] {
			return
		}
		seen[v] = true
		out = append(out, evidence.InstalledKernel{Version: v, Ref: doc.Ref(i, line)})
	}
	for i, line := range doc.Lines() {
		s := strings.TrimSpace(line)
		if s == "" {
			continue
		}
		f := strings.Fields(s)
		switch {
		case len(f) == 1 && strings.HasPrefix(s, "kernel"):
			if m := kernelPkgRe.FindStringSubmatch(s); m != nil {
				add(i, line, m[1])
			}
			// kernel-headers, kernel-tools... are not kernels.
		case len(f) >= 2 && len(f[0]) == 2 && strings.HasPrefix(f[1], "linux-image-"):
			// dpkg -l: the second letter of the status is the state; only
			// 'i' (installed) can boot. "rc" rows are removed packages.
			if f[0][1] != 'i' {
				continue
			}
			name := strings.TrimPrefix(f[1], "linux-image-")
			name = strings.TrimPrefix(name, "unsigned-")
			if i := strings.IndexByte(name, ':'); i >= 0 {
				name = name[:i] // linux-image-...:amd64 with multiarch
			}
			if strings.HasSuffix(name, "-dbg") || strings.HasSuffix(name, "-dbgsym") || !looksLikeRelease(name) {
				continue // meta packages (linux-image-amd64) and debug symbols
			}
			add(i, line, name)
		case isDpkgHeader(s), strings.HasPrefix(s, "package ") && strings.HasSuffix(s, "is not installed"),
			strings.HasPrefix(s, "dpkg-query: no packages found"):
		case len(f) == 1 && rpmNameRe.MatchString(s), len(f) >= 3 && dpkgRowRe.MatchString(s):
			// Another package of `rpm -qa` or `dpkg -l`: not a kernel.
		default:
			probs = append(probs, doc.Problemf(i, "not a kernel package line: %q", evidence.Clip(s, 80)))
		}
	}
	return out, probs
}

func isDpkgHeader(s string) bool {
	for _, p := range []string{"Desired=", "| Status=", "|/ Err?=", "||/ Name", "+++-"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// ParseBootDir reads a listing of /boot (`ls /boot`, `ls -l /boot`, in
// columns or one per line) and returns the kernels whose images are there.
func ParseBootDir(doc evidence.Doc) ([]evidence.InstalledKernel, []evidence.Problem) {
	var out []evidence.InstalledKernel
	seen := map[string]bool{}
	for i, line := range doc.Lines() {
		for _, tok := range strings.Fields(line) {
			base := tok
			if j := strings.LastIndexByte(base, '/'); j >= 0 {
				base = base[j+1:]
			}
			if !strings.HasPrefix(base, "vmlinuz-") && !strings.HasPrefix(base, "vmlinux-") {
				continue
			}
			v := VersionFromPath(base)
			if v == "" || seen[v] {
				continue
			}
			seen[v] = true
			out = append(out, evidence.InstalledKernel{Version: v, Path: "/boot/" + base, Ref: doc.Ref(i, line)})
		}
	}
	return out, nil
}

// ParseModules reads `lsmod` or `cat /proc/modules`. It returns nil when the
// output is an error (the list was not collected), and an empty map when
// the list was shown and holds no module (a kernel with everything built in).
func ParseModules(doc evidence.Doc) (map[string]evidence.Ref, []evidence.Problem) {
	var probs []evidence.Problem
	mods := map[string]evidence.Ref{}
	failed := false
	for i, line := range doc.Lines() {
		s := strings.TrimSpace(line)
		if s == "" {
			continue
		}
		f := strings.Fields(s)
		if f[0] == "Module" && len(f) >= 2 && f[1] == "Size" {
			continue
		}
		if strings.Contains(s, "ERROR") || strings.HasPrefix(s, "Error:") || strings.Contains(s, "No such file") ||
			strings.Contains(s, "command not found") || strings.Contains(s, "Permission denied") {
			failed = true
			probs = append(probs, doc.Problemf(i, "module list not collected: %s", evidence.Clip(s, 80)))
			continue
		}
		if len(f) < 3 || !isModName(f[0]) || !isNum(f[1]) || !isNum(f[2]) && f[2] != "-" {
			probs = append(probs, doc.Problemf(i, "not an lsmod line: %q", evidence.Clip(s, 80)))
			continue
		}
		if _, dup := mods[f[0]]; !dup {
			mods[f[0]] = doc.Ref(i, line)
		}
	}
	if failed && len(mods) == 0 {
		return nil, probs
	}
	return mods, probs
}

// Modinfo is what `modinfo NAME` showed about one module.
type Modinfo struct {
	Name     string
	Found    bool
	Builtin  bool // compiled into the kernel: never in lsmod, yet present
	Filename string
	Ref      evidence.Ref
}

// ParseModinfo reads `modinfo NAME` output. name is the module asked for,
// from the command line, used when the output does not say it.
func ParseModinfo(doc evidence.Doc, name string) (Modinfo, []evidence.Problem) {
	m := Modinfo{Name: name}
	for i, line := range doc.Lines() {
		s := strings.TrimSpace(line)
		if strings.HasPrefix(s, "modinfo: ERROR: Module ") && strings.HasSuffix(s, " not found.") {
			m.Name = strings.TrimSuffix(strings.TrimPrefix(s, "modinfo: ERROR: Module "), " not found.")
			m.Found, m.Ref = false, doc.Ref(i, line)
			return m, nil
		}
		key, val, ok := strings.Cut(s, ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch strings.TrimSpace(key) {
		case "filename":
			m.Found, m.Filename, m.Ref = true, val, doc.Ref(i, line)
			m.Builtin = val == "(builtin)"
			if m.Name == "" && !m.Builtin {
				base := val[strings.LastIndexByte(val, '/')+1:]
				m.Name = strings.SplitN(base, ".ko", 2)[0]
			}
		case "name":
			m.Name = val
		}
	}
	return m, nil
}

func isModName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func isNum(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// AddInstalled merges installed kernels into k: a boot entry naming the
// same image path as one already known (grubby, ls /boot) completes it, and
// so does a package of the same release as a known package (rpm, dpkg),
// rather than being listed twice. A default entry takes the default flag from the others:
// documents are applied in the order they were captured.
func AddInstalled(k *evidence.Kernel, add ...evidence.InstalledKernel) {
	for _, a := range add {
		if a.Default {
			for j := range k.Installed {
				k.Installed[j].Default = false
			}
		}
		found := false
		for j := range k.Installed {
			e := &k.Installed[j]
			// Boot entries (with an image path) and packages (without) are
			// kept apart: a rule tells "installed by a package" from "can
			// be booted" by that.
			if (a.Path != "" && e.Path == a.Path) || (a.Path == "" && e.Path == "" && a.Version != "" && e.Version == a.Version) {
				if e.Path == "" {
					e.Path = a.Path
				}
				if e.Title == "" {
					e.Title = a.Title
				}
				if e.Version == "" {
					e.Version = a.Version
				}
				if !a.History && a.Path == "" {
					// The package database says it is installed now,
					// whatever a history said.
					e.History, e.Removed, e.Ref = false, false, a.Ref
				}
				if a.Default {
					e.Default = true
					e.Ref = a.Ref
				}
				found = true
				break
			}
		}
		if !found {
			k.Installed = append(k.Installed, a)
		}
	}
}

// Apply merges grubby output into k.
func (g Grubby) Apply(k *evidence.Kernel) {
	for _, e := range g.Entries {
		AddInstalled(k, e.InstalledKernel)
	}
	if g.DefaultKernel != "" && len(g.Entries) == 0 {
		AddInstalled(k, evidence.InstalledKernel{Path: g.DefaultKernel, Version: VersionFromPath(g.DefaultKernel), Default: true, Ref: g.DefaultRef})
	}
}
