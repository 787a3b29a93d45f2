// Package sysctl parses the output of sysctl(8): `sysctl -a`, `sysctl -ar
// PATTERN`, `sysctl KEY...` ("key = value" lines, procps 3.2 to procps-ng
// 4), `sysctl -n KEY...` (values only; the keys come from the command line),
// and the "key=value" form some tools and config dumps use.
package sysctl

import (
	"path"
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var (
	// A key as sysctl prints it: dotted words; interface names keep their
	// own dots written as slashes (net.ipv4.conf.eth0/100.rp_filter).
	keyRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_./:@+-]*$`)
	// A prompt glued after a value by a paste that lost its line break:
	// "net.ipv4.conf.lo.arp_announce = 2# sysctl -ar rp_filter".
	gluedPromptRe = regexp.MustCompile(`^(-?\d+(?:\s+-?\d+)*)\s*(?:[#$]|\[[^\]]*\][#$]|[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+:\S*[#$])\s*\S.*$`)
)

// roots are the top-level names of the sysctl tree; a "key = value" line
// whose key has none of them is not sysctl output.
var roots = map[string]bool{
	"abi": true, "crypto": true, "debug": true, "dev": true, "fs": true, "kernel": true, "net": true,
	"sunrpc": true, "user": true, "vm": true,
}

// IsKey reports whether s is a sysctl key of a known root.
func IsKey(s string) bool {
	root, _, ok := strings.Cut(s, ".")
	return ok && roots[root] && keyRe.MatchString(s)
}

// Parse reads sysctl output. A filtered listing (`sysctl -ar arp`, `sysctl
// -a | grep rp_filter`) is partial evidence: the keys it shows are kept,
// the others are simply absent. sysctl's own complaints ("permission denied
// on key", "cannot stat", "reading key") say nothing about values and are
// skipped without a problem.
func Parse(doc evidence.Doc) ([]evidence.Sysctl, []evidence.Problem) {
	lines := doc.Lines()
	if keys := valueOnlyKeys(doc.Command); keys != nil {
		return parseValues(doc, lines, keys)
	}
	var out []evidence.Sysctl
	var probs []evidence.Problem
	for i, line := range lines {
		t := strings.TrimSpace(line)
		if t == "" || skipLine(t) {
			continue
		}
		k, v, ok := strings.Cut(t, "=")
		if !ok {
			probs = append(probs, doc.Problemf(i, "sysctl: line not understood: %q", evidence.Clip(t, 80)))
			continue
		}
		key := NormKey(strings.TrimSpace(k))
		if !IsKey(key) {
			probs = append(probs, doc.Problemf(i, "sysctl: not a sysctl key: %q", evidence.Clip(key, 80)))
			continue
		}
		out = append(out, evidence.Sysctl{Key: key, Value: cleanValue(v), Ref: doc.Ref(i, line)})
	}
	return out, probs
}

func skipLine(t string) bool {
	return strings.HasPrefix(t, "sysctl: ") || strings.HasPrefix(t, "error: ") ||
		strings.HasPrefix(t, "* Applying") || strings.HasPrefix(t, "#") || strings.HasPrefix(t, ";")
}

// cleanValue trims blanks and a shell prompt glued after a numeric value.
func cleanValue(v string) string {
	v = strings.TrimSpace(v)
	if m := gluedPromptRe.FindStringSubmatch(v); m != nil {
		return m[1]
	}
	return v
}

// NormKey writes key in the dotted form sysctl prints: a slash-separated
// path (net/ipv4/conf/eth0.100/rp_filter, as sysctl also accepts, or a
// /proc/sys path) becomes net.ipv4.conf.eth0/100.rp_filter.
func NormKey(key string) string {
	key = strings.TrimPrefix(key, "/proc/sys/")
	first, _, ok := strings.Cut(key, "/")
	if !ok || strings.Contains(first, ".") {
		return key
	}
	var b strings.Builder
	for _, c := range key {
		switch c {
		case '/':
			b.WriteByte('.')
		case '.':
			b.WriteByte('/')
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// valueOnlyKeys returns the keys of `sysctl -n KEY...`, whose output is
// their values in order; nil for any other command.
func valueOnlyKeys(cmd string) []string {
	if cmd == "" {
		return nil
	}
	if c, _, ok := strings.Cut(cmd, "|"); ok {
		cmd = c
	}
	f := strings.Fields(cmd)
	if len(f) < 2 || path.Base(f[0]) != "sysctl" {
		return nil
	}
	values := false
	var keys []string
	for _, w := range f[1:] {
		switch {
		case w == "-n" || w == "--values" || strings.HasPrefix(w, "-") && !strings.HasPrefix(w, "--") && strings.Contains(w, "n") && !strings.ContainsAny(w, "aAXrp"):
			values = true
		case strings.HasPrefix(w, "-"):
		default:
			if strings.Contains(w, "=") {
				return nil // sysctl -w key=value prints "key = value"
			}
			keys = append(keys, NormKey(w))
		}
	}
	if !values || len(keys) == 0 {
		return nil
	}
	return keys
}

func parseValues(doc evidence.Doc, lines []string, keys []string) ([]evidence.Sysctl, []evidence.Problem) {
	var out []evidence.Sysctl
	var probs []evidence.Problem
	k := 0
	for i, line := range lines {
		t := strings.TrimSpace(line)
		if t == "" {
			continue
		}
		if skipLine(t) {
			// sysctl skips a key it cannot read; so do we.
			for k < len(keys) && !strings.Contains(t, keys[k]) && strings.Contains(t, "key") {
				k++
			}
			if k < len(keys) && strings.Contains(t, keys[k]) {
				k++
			}
			continue
		}
		if k >= len(keys) {
			probs = append(probs, doc.Problemf(i, "sysctl -n: more values than keys on the command line"))
			break
		}
		if IsKey(keys[k]) {
			out = append(out, evidence.Sysctl{Key: keys[k], Value: cleanValue(t), Ref: doc.Ref(i, line)})
		}
		k++
	}
	return out, probs
}

var (
	catProcSysRe = regexp.MustCompile(`^cat\s+(/proc/sys/[\w./-]+)\s*$`)
	// "/proc/sys/net/ipv4/conf/all/rp_filter:1" from `grep . /proc/sys/...`.
	procSysLineRe = regexp.MustCompile(`^(/proc/sys/[\w./-]+):(.*)$`)
)

// ParseProcSys reads values read straight from /proc/sys: `cat
// /proc/sys/KEY` (the key comes from the command line, or from a file named
// after the key such as nf_conntrack_count.txt) and `grep . /proc/sys/...`
// ("path:value" lines). Keys are returned in sysctl's dotted form. cat's
// own errors (no such file) are skipped.
func ParseProcSys(doc evidence.Doc) ([]evidence.Sysctl, []evidence.Problem) {
	key := ""
	if m := catProcSysRe.FindStringSubmatch(doc.Command); m != nil {
		key = NormKey(m[1])
	} else if doc.Command == "" {
		switch b := strings.TrimSuffix(path.Base(doc.Source), ".txt"); b {
		case "nf_conntrack_count", "nf_conntrack_max":
			key = "net.netfilter." + b
		}
	}
	var out []evidence.Sysctl
	var probs []evidence.Problem
	for i, line := range doc.Lines() {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "cat: ") || strings.HasPrefix(t, "grep: ") {
			continue
		}
		if m := procSysLineRe.FindStringSubmatch(t); m != nil {
			if k := NormKey(m[1]); IsKey(k) {
				out = append(out, evidence.Sysctl{Key: k, Value: cleanValue(m[2]), Ref: doc.Ref(i, line)})
			}
			continue
		}
		if key != "" && IsKey(key) {
			out = append(out, evidence.Sysctl{Key: key, Value: cleanValue(t), Ref: doc.Ref(i, line)})
			key = "" // one value per file
			continue
		}
		probs = append(probs, doc.Problemf(i, "/proc/sys: line not understood: %q", evidence.Clip(t, 80)))
	}
	return out, probs
}
