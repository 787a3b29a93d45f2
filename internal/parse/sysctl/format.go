package sysctl

import (
	"path"
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
)

var sniffRe = regexp.MustCompile(`^(?:abi|crypto|debug|dev|fs|kernel|net|sunrpc|user|vm)(?:\.[\w/@:+-]+)+ =(?: |$)`)

// Formats is what this package reads: sysctl output, and /proc/sys files
// shown with cat or `grep .`.
func Formats() []format.Format {
	return []format.Format{
		{
			Name:     "sysctl",
			Commands: format.Patterns(`^sysctl\b`),
			Files:    format.Patterns(`(?i)^sysctl` + format.FileTail),
			Sniff:    sniff,
			Apply:    format.LimitedLines(applySysctl),
		},
		{
			// cat /proc/sys/net/ipv4/conf/all/rp_filter, and grep . /proc/sys/...
			Name:     "proc-sys",
			Commands: format.Patterns(`^cat\s+/proc/sys/[\w./-]+\s*$`, `^grep\s+(?:-\S+\s+)*\.\s+(?:/proc/sys/\S+\s*)+$`),
			Files:    format.Patterns(`^nf_conntrack_(?:count|max)(?:\.txt)?$`),
			Apply:    format.LimitedLines(applyProcSys),
		},
	}
}

func sniff(head string) bool {
	n := 0
	for _, l := range format.CompleteLines(head) {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "sysctl: ") {
			continue
		}
		if !sniffRe.MatchString(t) {
			return false
		}
		n++
	}
	return n > 0
}

func applySysctl(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	s, probs := Parse(doc)
	h.SetSysctls(s)
	// A filtered listing (sysctl -ar X, | grep) is still sysctl evidence:
	// rules look keys up one by one and an absent key reads as unknown.
	h.MarkSeen(evidence.KindSysctl, format.BlockRef(doc))
	if wholeListing(doc, s) {
		// Every key the kernel has is here: no nf_conntrack_max means no
		// conntrack table (the module is not loaded), which answers
		// whether it is full as well as its counts would.
		h.MarkSeen(evidence.KindConntrack, format.BlockRef(doc))
	}
	return probs
}

// wholeListing reports whether a sysctl block lists every key: `sysctl -a`
// unfiltered (no pattern, no key, no pipe), or a file of it without its
// command (named sysctl-a, or holding the thousand keys only -a prints).
func wholeListing(doc evidence.Doc, s []evidence.Sysctl) bool {
	if doc.Command == "" {
		base := strings.ToLower(path.Base(doc.Source))
		return strings.HasPrefix(base, "sysctl-a") || strings.HasPrefix(base, "sysctl_a") || len(s) >= 1000
	}
	if format.Filtered(doc.Command) {
		return false
	}
	f := strings.Fields(doc.Command)
	all := false
	for _, a := range f[1:] {
		switch {
		case a == "--all" || strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && strings.Contains(a, "a"):
			all = true
			if strings.ContainsAny(a[1:], "rp") && !strings.HasPrefix(a, "--") {
				return false // -ar PATTERN, -ap FILE
			}
		case strings.HasPrefix(a, "-"):
			if a == "--pattern" || a == "-r" || a == "-p" || a == "--load" {
				return false
			}
		default:
			return false // a key, or a pattern's argument
		}
	}
	return all
}

func applyProcSys(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	s, probs := ParseProcSys(doc)
	h.SetSysctls(s)
	if len(s) > 0 {
		h.MarkSeen(evidence.KindSysctl, format.BlockRef(doc))
	}
	return probs
}
