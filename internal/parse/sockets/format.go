package sockets

import (
	"path"
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
)

// Formats is what this package reads: ss, and netstat's socket listing.
// (netstat -s is the counters package's.)
func Formats() []format.Format {
	return []format.Format{SS(), NetstatListen(), NetstatConnections()}
}

// SS is `ss` output.
func SS() format.Format {
	return format.Format{
		Name:     "ss",
		MaxBytes: format.LargeOutput,
		Commands: format.Patterns(`^ss\b`),
		Files:    format.Patterns(`(?i)^ss` + format.FileTail),
		Sniff:    func(head string) bool { return IsSSHeader(format.FirstLine(head)) },
		Apply:    format.LimitedLines(applySS),
	}
}

// NetstatListen is `netstat -l`/`-a` output.
func NetstatListen() format.Format {
	return format.Format{
		Name:     "netstat-listen",
		MaxBytes: format.LargeOutput,
		Commands: format.Patterns(`^netstat\s+(?:[-–][a-rt-zA-Z]*[la][a-rt-zA-Z]*|--listening|--all)(?:\s+[-–]\S+)*\s*(?:\|.*)?$`),
		Files:    format.Patterns(`^netstat[-_]+-?[a-rt-z]*[la][a-rt-z]*` + format.FileTail),
		Sniff:    sniffNetstat,
		Apply:    format.LimitedLines(applyNetstat),
	}
}

// NetstatConnections is `netstat -tn` (-tnp, -ntW...) without -l or -a:
// the connected sockets only, or rows of them pasted without the header.
// It follows NetstatListen and counters' netstat -s, which take their flags.
func NetstatConnections() format.Format {
	return format.Format{
		Name:     "netstat-connections",
		MaxBytes: format.LargeOutput,
		Commands: format.Patterns(`^netstat(?:\s+(?:[-–][ntpWeTo46cv]+|--tcp|--numeric|--program|--wide))+\s*(?:\|.*)?$`),
		Files:    format.Patterns(`^netstat[-_]+-?[ntpWeTo46c]*t[ntpWeTo46c]*` + format.FileTail),
		Sniff:    func(head string) bool { return IsNetstatRow(format.FirstLine(head)) },
		Apply:    format.LimitedLines(applyNetstat),
	}
}

func sniffNetstat(head string) bool {
	first := format.FirstLine(head)
	if strings.HasPrefix(first, "Active Internet connections") {
		return true
	}
	return IsNetstatHeader(first)
}

func applySS(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	ls, probs := ParseSS(doc)
	h.MergeListeners(ls)
	addSockets(doc, h, true)
	if listensAll(doc, "ss", len(ls)) {
		format.MarkComplete(h, doc, evidence.KindListeners)
	}
	return probs
}

func applyNetstat(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	ls, probs := ParseNetstat(doc)
	h.MergeListeners(ls)
	addSockets(doc, h, false)
	if listensAll(doc, "netstat", len(ls)) {
		format.MarkComplete(h, doc, evidence.KindListeners)
	}
	return probs
}

var flagsInNameRe = regexp.MustCompile(`^(ss|netstat)[-_]+-?([a-z]+)`)

// listensAll reports whether the output lists every listening socket: the
// command asked for listening (-l) or all (-a) sockets, without naming a
// port or address filter; with no command, a table that shows listeners.
func listensAll(doc evidence.Doc, tool string, found int) bool {
	cmd := doc.Command
	if cmd == "" {
		base := strings.ToLower(path.Base(doc.Source))
		if m := flagsInNameRe.FindStringSubmatch(base); m != nil && m[1] == tool {
			return strings.ContainsAny(m[2], "la")
		}
		return found > 0
	}
	// Pastes from word processors turn "-lnp" into "–lnp".
	f := strings.Fields(strings.ReplaceAll(cmd, "–", "-"))
	if len(f) < 2 {
		return false
	}
	ok := false
	for _, w := range f[1:] {
		switch {
		case w == "|":
			return ok
		case w == "--listening" || w == "--all":
			ok = true
		case strings.HasPrefix(w, "--"):
		case strings.HasPrefix(w, "-"):
			ok = ok || strings.ContainsAny(w, "la")
		default:
			// ss filters ("sport = :80", "src 192.0.2.1"): partial output.
			return false
		}
	}
	return ok
}

func addSockets(doc evidence.Doc, h *evidence.Host, ss bool) {
	if socks := ParseSockets(doc, ss); len(socks) > 0 {
		h.AddSockets(socks)
		h.MarkSeen(evidence.KindSockets, format.BlockRef(doc))
	}
}
