package counters

import (
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
)

var sniffCtSRe = regexp.MustCompile(`^cpu=\d+\s+\w+=\d+`)

// Formats is what this package reads: nstat and /proc/net/snmp6,
// /proc/net/snmp and netstat, ethtool -S, conntrack -S and -C; and
// netstat -s, which intake tries apart (NetstatS).
func Formats() []format.Format {
	return append([]format.Format{NetstatS()}, Tables()...)
}

// Tables is every format of this package but netstat -s.
func Tables() []format.Format {
	return []format.Format{
		{
			Name:     "nstat",
			Commands: format.Patterns(`^nstat\b`, `^cat\s+/proc/net/snmp6\s*$`),
			Files:    format.Patterns(`^nstat`+format.FileTail, `^(?:proc[-_.]net[-_.])?snmp6(?:\.txt)?$`),
			Sniff:    sniffNstat,
			Apply:    format.LimitedLines(applyCounters(ParseNstat)),
		},
		{
			Name:     "proc-net-snmp",
			Commands: format.Patterns(`^cat\s+/proc/net/(?:snmp|netstat)(?:\s+/proc/net/(?:snmp|netstat))?\s*$`),
			Files:    format.Patterns(`^proc[-_.]net[-_.](?:snmp|netstat)(?:\.txt)?$`, `^snmp(?:\.txt)?$`),
			Sniff:    sniffProcNetSNMP,
			Apply:    format.LimitedLines(applyCounters(ParseProcNet)),
		},
		{
			Name:     "ethtool-S",
			Commands: format.Patterns(`^ethtool\s+(?:-S|--statistics)\b`),
			Files:    format.Patterns(`^ethtool[-_]+(?:-?S|stats|statistics)` + format.FileTail),
			Sniff:    func(head string) bool { return format.FirstLine(head) == "NIC statistics:" },
			Apply:    format.LimitedLines(applyCounters(ParseEthtool)),
		},
		{
			Name:     "conntrack-S",
			Commands: format.Patterns(`^conntrack\s+(?:-S|--stats)\s*(?:\|.*)?$`, `^cat\s+/proc/net/stat/nf_conntrack\s*$`),
			Files:    format.Patterns(`^conntrack[-_]+-?S`+format.FileTail, `^(?:proc[-_.]net[-_.])?stat[-_.]nf_conntrack(?:\.txt)?$`),
			Sniff:    sniffConntrackS,
			Apply:    format.LimitedLines(applyConntrackS),
		},
		{
			Name:     "conntrack-count",
			Commands: format.Patterns(`^conntrack\s+(?:-C|--count)\s*$`),
			Apply:    format.LimitedLines(applyConntrackCount),
		},
	}
}

// NetstatS is `netstat -s` output. intake tries it between ss and
// netstat -l, the sockets package's two formats.
func NetstatS() format.Format {
	return format.Format{
		Name: "netstat-s",
		// netstat -s, -st, -su, --statistics
		Commands: format.Patterns(`^netstat(?:\s+[-–][a-zA-Z]*s[a-zA-Z]*|\s+--statistics)(?:\s+[-–]\S+)*\s*(?:\|.*)?$`),
		Files:    format.Patterns(`^netstat[-_]+-?[a-z]*s[a-z]*` + format.FileTail),
		Sniff:    sniffNetstatS,
		Apply:    format.LimitedLines(applyCounters(ParseNetstatS)),
	}
}

func applyCounters(parse func(evidence.Doc) ([]evidence.Counter, []evidence.Problem)) format.Apply {
	return func(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
		cs, probs := parse(doc)
		h.SetCounters(cs)
		if len(cs) > 0 || !format.Filtered(doc.Command) {
			h.MarkSeen(evidence.KindCounters, format.BlockRef(doc))
		}
		return probs
	}
}

func applyConntrackS(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	cs, probs := ParseConntrackStats(doc)
	h.SetCounters(cs)
	h.MarkSeen(evidence.KindCounters, format.BlockRef(doc))
	for _, c := range cs {
		if c.Name == "conntrack.entries" && h.Conntrack.CountRef.IsZero() {
			h.Conntrack.Count, h.Conntrack.CountRef = c.Value, c.Ref
			h.MarkSeen(evidence.KindConntrack, c.Ref)
		}
	}
	return probs
}

func applyConntrackCount(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	n, ref, probs := ParseNumber(doc)
	if !ref.IsZero() {
		h.Conntrack.Count, h.Conntrack.CountRef = n, ref
		h.MarkSeen(evidence.KindConntrack, ref)
	}
	return probs
}

func sniffNetstatS(head string) bool {
	lines := format.CompleteLines(head)
	if len(lines) < 2 || strings.TrimSpace(lines[0]) != "Ip:" {
		return false
	}
	second := lines[1]
	return (second[0] == ' ' || second[0] == '\t') &&
		(strings.HasPrefix(strings.TrimSpace(second), "Forwarding:") || strings.Contains(second, "total packets received"))
}

func sniffNstat(head string) bool {
	first := format.FirstLine(head)
	return first == "#kernel" || strings.HasPrefix(first, "Ip6InReceives ") || strings.HasPrefix(first, "Ip6InReceives\t")
}

func sniffProcNetSNMP(head string) bool {
	first := format.FirstLine(head)
	return strings.HasPrefix(first, "Ip: Forwarding DefaultTTL") || strings.HasPrefix(first, "TcpExt: SyncookiesSent")
}

func sniffConntrackS(head string) bool {
	first := format.FirstLine(head)
	if sniffCtSRe.MatchString(first) {
		return true
	}
	f := strings.Fields(first)
	return len(f) > 4 && f[0] == "entries" && strings.Contains(first, " found ") && strings.Contains(first, " invalid ")
}
