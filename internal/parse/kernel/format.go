package kernel

import (
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
)

// Formats is what this package reads: uname and /proc/version, grubby,
// the installed kernel packages (rpm, dpkg, yum/dnf), ls /boot, lsmod and
// /proc/modules, modinfo, and what says a module is built into the kernel:
// its configuration (CONFIG_IP_VS=y) and modules.builtin.
func Formats() []format.Format {
	return []format.Format{
		{
			Name:     "uname",
			Commands: format.Patterns(`^uname\b`, `^cat\s+/proc/version\s*$`),
			Files:    format.Patterns(`(?i)^(?:uname|proc[-_]version)` + format.FileTail),
			Sniff:    sniffUname,
			Apply:    format.LimitedProblems(applyUname),
		},
		{
			Name:     "grubby",
			Commands: format.Patterns(`^grubby\b`),
			Files:    format.Patterns(`(?i)^grubby` + format.FileTail),
			Sniff:    sniffGrubby,
			Apply:    format.LimitedProblems(applyGrubby),
		},
		{
			Name: "kernel-packages",
			Commands: format.Patterns(`^rpm\s+(?:-\w*q\w*|--query)\b`, `^dpkg\s+(?:-l|--list)\b`, `^dpkg-query\s+(?:-l|--list)\b`,
				`^(?:yum|dnf)\s+list\s+(?:installed\s+)?kernel`),
			Files: format.Patterns(`(?i)^(?:rpm|dpkg)`+format.FileTail, `(?i)^(?:installed[-_])?kernels?(?:[-_]installed)?(?:\.(?:txt|log|out))?$`),
			Sniff: sniffPackages,
			Apply: format.LimitedProblems(applyPackages),
		},
		{
			Name:     "dnf-history",
			Commands: format.Patterns(`^(?:dnf|yum)(?:\s+-\S+)*\s+history(?:\s+(?:info|list)\b.*)?$`),
			Files:    format.Patterns(`(?i)^(?:dnf|yum)[-_]history` + format.FileTail),
			Sniff:    sniffHistory,
			Apply:    format.LimitedProblems(applyHistory),
		},
		{
			Name:     "ls-boot",
			Commands: format.Patterns(`^ls\b[^|]*\s/boot(?:/|\s|$)`),
			Files:    format.Patterns(`(?i)^ls[-_]boot` + format.FileTail),
			Apply:    format.LimitedProblems(applyBootDir),
		},
		{
			Name:     "lsmod",
			Commands: format.Patterns(`^lsmod\b`, `^cat\s+/proc/modules\b`),
			Files:    format.Patterns(`(?i)^(?:lsmod|proc[-_]modules)` + format.FileTail),
			Sniff:    sniffLsmod,
			Apply:    format.LimitedProblems(applyLsmod),
		},
		{
			Name:     "modinfo",
			Commands: format.Patterns(`^modinfo\b`),
			Files:    format.Patterns(`(?i)^modinfo` + format.FileTail),
			Sniff:    sniffModinfo,
			Apply:    format.LimitedProblems(applyModinfo),
		},
		{
			Name:     "kernel-config",
			Commands: format.Patterns(`^(?:grep|egrep|zgrep|cat|zcat)\b.*(?:/boot/config-|/proc/config\.gz)`),
			Files:    format.Patterns(`^config-\d`, `(?i)^kernel[-_]config`+format.FileTail),
			Sniff:    sniffKernelConfig,
			Apply:    applyKernelConfig,
		},
		{
			Name:     "modules-builtin",
			Commands: format.Patterns(`^(?:grep|egrep|cat)\b.*\bmodules\.builtin\b`),
			Files:    format.Patterns(`(?i)^modules[-_.]builtin` + format.FileTail),
			Sniff:    sniffModulesBuiltin,
			Apply:    applyModulesBuiltin,
		},
	}
}

var (
	configLineRe  = regexp.MustCompile(`^(?:(CONFIG_[A-Z0-9_]+)=(\S+)|# (CONFIG_[A-Z0-9_]+) is not set)$`)
	builtinLineRe = regexp.MustCompile(`^kernel/\S+\.ko$`)
)

// configModules are the kernel options whose "=y" builds in a module the
// rules ask about: IPVS and the schedulers kube-proxy requires.
var configModules = map[string]string{
	"CONFIG_IP_VS": "ip_vs", "CONFIG_IP_VS_RR": "ip_vs_rr", "CONFIG_IP_VS_WRR": "ip_vs_wrr", "CONFIG_IP_VS_SH": "ip_vs_sh",
}

// sniffAll reports whether every non-blank line of head's first lines
// matches re: a listing of one kind of line.
func sniffAll(head string, re *regexp.Regexp) bool {
	n := 0
	for _, l := range format.FirstLines(head, 8) {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		if !re.MatchString(l) {
			return false
		}
		n++
	}
	return n > 0
}

func sniffKernelConfig(head string) bool   { return sniffAll(head, configLineRe) }
func sniffModulesBuiltin(head string) bool { return sniffAll(head, builtinLineRe) }

// applyKernelConfig reads the kernel's configuration (`grep IP_VS
// /boot/config-$(uname -r)`): an IPVS option set to y is built in.
func applyKernelConfig(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	for i, l := range doc.Lines() {
		m := configLineRe.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil || m[2] != "y" {
			continue
		}
		if mod, ok := configModules[m[1]]; ok {
			addBuiltin(h, mod, doc.Ref(i, l))
		}
	}
	return nil
}

// applyModulesBuiltin reads /lib/modules/$(uname -r)/modules.builtin:
// each line is a module compiled into the kernel.
func applyModulesBuiltin(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	for i, l := range doc.Lines() {
		l = strings.TrimSpace(l)
		if !builtinLineRe.MatchString(l) {
			continue
		}
		base := strings.TrimSuffix(l[strings.LastIndexByte(l, '/')+1:], ".ko")
		addBuiltin(h, strings.ReplaceAll(base, "-", "_"), doc.Ref(i, l))
	}
	return nil
}

func addBuiltin(h *evidence.Host, mod string, r evidence.Ref) {
	if h.Kernel.Builtin == nil {
		h.Kernel.Builtin = map[string]evidence.Ref{}
	}
	if _, ok := h.Kernel.Builtin[mod]; !ok {
		h.Kernel.Builtin[mod] = r
	}
}

var unameSniffRe = regexp.MustCompile(`^Linux (?:version )?\S+ \d+\.\d+\S* |^Linux version \d+\.\d+\S* \(`)

func sniffUname(head string) bool {
	l := format.FirstLines(head, 2)
	return len(l) == 1 && unameSniffRe.MatchString(strings.TrimSpace(l[0]))
}

func applyUname(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	k, probs := ParseUname(doc)
	if k.Release == "" {
		// uname -n, -m, -s print other things: nothing to keep, nothing wrong.
		if f := strings.Fields(doc.Command); len(f) > 1 && !strings.ContainsAny(strings.Join(f[1:], " "), "ar") {
			return nil
		}
		return probs
	}
	h.Kernel.Release, h.Kernel.Ref = k.Release, k.Ref
	if k.Version != "" {
		h.Kernel.Version = k.Version
	}
	if k.Machine != "" {
		h.Kernel.Machine = k.Machine
	}
	h.MarkSeen(evidence.KindUname, k.Ref)
	return probs
}

var grubbySniffRe = regexp.MustCompile(`^index=\d+\s*\n\s*kernel=`)

func sniffGrubby(head string) bool {
	return grubbySniffRe.MatchString(strings.TrimLeft(head, " \t\r\n"))
}

func applyGrubby(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	g, probs := ParseGrubby(doc)
	g.Apply(&h.Kernel)
	switch {
	case len(g.Entries) > 0:
		h.MarkSeen(evidence.KindKernels, g.Entries[0].Ref)
	case g.DefaultKernel != "" || g.DefaultIndex >= 0:
		h.MarkSeen(evidence.KindKernels, g.DefaultRef)
	}
	return probs
}

var packageSniffRe = regexp.MustCompile(`^kernel(?:-core)?-\d+\.\d+\S*$`)

func sniffPackages(head string) bool {
	lines := format.FirstLines(head, 20)
	if len(lines) == 0 {
		return false
	}
	if strings.HasPrefix(lines[0], "Desired=Unknown/Install/Remove/Purge/Hold") {
		return strings.Contains(head, "linux-image-")
	}
	n := 0
	for _, l := range lines {
		if packageSniffRe.MatchString(strings.TrimSpace(l)) {
			n++
		}
	}
	return n > 0 && n*2 >= len(lines)
}

func applyPackages(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	ks, probs := ParsePackages(doc)
	AddInstalled(&h.Kernel, ks...)
	if len(ks) > 0 {
		h.MarkSeen(evidence.KindKernels, ks[0].Ref)
	} else if len(probs) == 0 {
		h.MarkSeen(evidence.KindKernels, format.BlockRef(doc))
	}
	return probs
}

var historyHeadRE = regexp.MustCompile(`^(?:Transaction ID\s*:\s*\d+|ID\s+\|\s+(?:Command line|Login user)\s+\|\s+Date and time\s+\|)`)

// sniffHistory: dnf/yum history info begins with its transaction's ID,
// history list with its header (after yum's "Loaded plugins:").
func sniffHistory(head string) bool {
	for _, l := range format.FirstLines(head, 2) {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "Loaded plugins:") {
			continue
		}
		return historyHeadRE.MatchString(t)
	}
	return false
}

// applyHistory records the kernel packages a package manager's history
// shows installed or removed. A history given in part (one transaction)
// is no full list of the kernels: the rule that reads them says so.
func applyHistory(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	hist, probs := ParseHistory(doc)
	ks := hist.Kernels()
	AddInstalled(&h.Kernel, ks...)
	if len(ks) > 0 {
		h.MarkSeen(evidence.KindKernels, ks[0].Ref)
	}
	return probs
}

func applyBootDir(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	ks, probs := ParseBootDir(doc)
	AddInstalled(&h.Kernel, ks...)
	if len(ks) > 0 {
		h.MarkSeen(evidence.KindKernels, ks[0].Ref)
	}
	return probs
}

var lsmodHeadRe = regexp.MustCompile(`^Module\s+Size\s+Used by`)

func sniffLsmod(head string) bool {
	l := format.FirstLines(head, 1)
	return len(l) == 1 && lsmodHeadRe.MatchString(strings.TrimSpace(l[0]))
}

func applyLsmod(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	mods, probs := ParseModules(doc)
	if mods == nil {
		return probs // lsmod failed: the module list was not collected
	}
	if format.Filtered(doc.Command) {
		// `lsmod | grep ip_vs` shows part of the list: what it shows is
		// loaded, what it does not show may be loaded too.
		if h.Kernel.Modules != nil {
			for m, r := range mods {
				h.Kernel.Modules[m] = r
			}
		}
		// What the filter asked for and no line shows is not loaded.
		for _, w := range grepWords(doc.Command) {
			if strings.Contains(strings.ToLower(doc.Text), w) {
				continue
			}
			if h.Kernel.NotLoaded == nil {
				h.Kernel.NotLoaded = map[string]evidence.Ref{}
			}
			h.Kernel.NotLoaded[w] = format.BlockRef(doc)
		}
		return probs
	}
	if h.Kernel.Modules == nil {
		h.Kernel.Modules = map[string]evidence.Ref{}
	}
	for m, r := range mods {
		h.Kernel.Modules[m] = r
	}
	h.MarkSeen(evidence.KindModules, format.BlockRef(doc))
	return probs
}

func sniffModinfo(head string) bool {
	l := format.FirstLines(head, 2)
	return len(l) == 2 && strings.HasPrefix(l[0], "filename:") && strings.Contains(l[0], "/kernel/") && strings.Contains(l[0], ".ko")
}

func applyModinfo(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	name := ""
	if f := strings.Fields(doc.Command); len(f) > 1 {
		name = f[len(f)-1]
	}
	m, probs := ParseModinfo(doc, name)
	if m.Found && m.Builtin && m.Name != "" {
		// Built into the kernel: present although lsmod never lists it.
		if h.Kernel.Modules != nil {
			h.Kernel.Modules[m.Name] = m.Ref
		}
		addBuiltin(h, m.Name, m.Ref)
	}
	if !m.Ref.IsZero() {
		h.MarkSeen(evidence.KindModinfo, m.Ref)
	}
	return probs
}

// grepWords are the module names a `lsmod | grep ...` filter selects:
// one plain word, or words joined by `\|` (or `|` with -E); nothing for
// an inverted (-v) or other filter, whose output proves no absence.
func grepWords(cmd string) []string {
	_, filter, ok := strings.Cut(cmd, "|")
	if !ok {
		return nil
	}
	f := strings.Fields(filter)
	if len(f) < 2 || f[0] != "grep" && f[0] != "egrep" || strings.Contains(filter, "|") && !strings.Contains(filter, "\\|") && f[0] != "egrep" && !strings.Contains(filter, "-E") {
		return nil
	}
	var pattern string
	for _, a := range f[1:] {
		switch {
		case strings.HasPrefix(a, "-"):
			if strings.ContainsAny(a, "vfe") {
				return nil // inverted, or patterns from elsewhere
			}
		case pattern != "":
			return nil // a file operand, or a second pipe stage
		default:
			pattern = strings.Trim(a, `'"`)
		}
	}
	var out []string
	for _, w := range strings.FieldsFunc(pattern, func(r rune) bool { return r == '|' || r == '\\' }) {
		w = strings.ToLower(w)
		if !isModName(w) {
			return nil
		}
		out = append(out, w)
	}
	return out
}
