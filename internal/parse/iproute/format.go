package iproute

import (
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
)

// ipOpts matches ip's global options, including those taking an argument.
const ipOpts = `(?:\s+-(?:f|family|b|batch|rc|rcvbuf|l|loops)\s+\S+|\s+-\S+)*`

// ipCommand builds the regex of `ip [opts] OBJECT [SUB ...]` where OBJECT
// is any abbreviation ip accepts and SUB one of subs (or none); a pipe may
// follow. Subcommands that change state (add, del, flush) do not match:
// they print nothing, and their empty output must not read as "no
// addresses".
func ipCommand(objects, subs string) []*regexp.Regexp {
	return []*regexp.Regexp{regexp.MustCompile(`^ip` + ipOpts + `\s+(?:` + objects + `)(?:\s+(?:` + subs + `)(?:\s[^|]*)?)?\s*(?:\|.*)?$`)}
}

const (
	ipShow     = `s|sh|sho|show|l|li|lis|list|ls|lst`
	ipAddrObj  = `a|ad|add|addr|addre|addres|address`
	ipLinkObj  = `l|li|lin|link`
	ipRouteObj = `r|ro|rou|rout|route`
	ipRuleObj  = `ru|rul|rule`
	ipNeighObj = `n|ne|nei|neig|neigh|neighb|neighbo|neighbor|neighbou|neighbour`
	// ipFileOpts are option words file names carry: ip-4-a.txt, ip-d-link.txt.
	ipFileOpts = `(?:[-_.]?(?:4|6|o|d|s|br|details?|brief|oneline|stats?))*`
)

func ipFile(objects string) []*regexp.Regexp {
	return []*regexp.Regexp{regexp.MustCompile(`(?i)^ip` + ipFileOpts + `[-_.]?(?:` + objects + `)` + format.FileTail)}
}

// Formats is what this package reads: ip addr, ip link, ip rule, ip neigh
// and ip route (get), in the order they are tried.
func Formats() []format.Format {
	return []format.Format{
		{
			Name:     "ip-addr",
			Commands: ipCommand(ipAddrObj, ipShow),
			Files:    ipFile(ipAddrObj),
			Sniff:    sniffAddr,
			Apply:    format.LimitedLines(applyAddr),
		},
		{
			Name:     "ip-link",
			Commands: ipCommand(ipLinkObj, ipShow),
			Files:    ipFile(ipLinkObj),
			Sniff:    sniffLink,
			Apply:    format.LimitedLines(applyLink),
		},
		{
			Name:     "ip-rule",
			Commands: ipCommand(ipRuleObj, ipShow),
			Files:    ipFile(ipRuleObj),
			Sniff:    sniffRule,
			Apply:    format.LimitedLines(applyRule),
		},
		{
			Name:     "ip-neigh",
			MaxBytes: format.LargeOutput,
			Commands: ipCommand(ipNeighObj, ipShow),
			Files:    ipFile(ipNeighObj),
			Sniff:    sniffNeigh,
			Apply:    format.LimitedLines(applyNeigh),
		},
		{
			Name:     "ip-route",
			MaxBytes: format.LargeOutput,
			Commands: ipCommand(ipRouteObj, ipShow+`|g|ge|get`),
			Files:    ipFile(ipRouteObj),
			Sniff:    sniffRoute,
			Apply:    format.LimitedLines(applyRoute),
		},
	}
}

func applyAddr(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	res, probs := ParseAddr(doc)
	h.MergeLinks(res.Links)
	h.MergeAddrs(res.Addrs)
	format.MarkComplete(h, doc, evidence.KindAddrs)
	if len(res.Links) > 0 && !format.Filtered(doc.Command) && !onlyOneLink(doc.Command) {
		h.MarkSeen(evidence.KindLinks, format.BlockRef(doc))
	}
	return probs
}

func applyLink(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	res, probs := ParseAddr(doc)
	h.MergeLinks(res.Links)
	h.MergeAddrs(res.Addrs)
	if !onlyOneLink(doc.Command) {
		format.MarkComplete(h, doc, evidence.KindLinks)
	} else if len(res.Links) > 0 {
		// `ip link show tunl0` that shows it proves it exists; one that
		// does not ("Device does not exist") proves nothing about others.
		h.MarkSeen(evidence.KindLinks, format.BlockRef(doc))
	}
	return probs
}

// onlyOneLink reports whether an ip command named one device (`ip a show
// dev eth0`, `ip link show tunl0`): the other links are not in its output.
func onlyOneLink(cmd string) bool {
	f := strings.Fields(cmd)
	for i, w := range f {
		if w == "|" {
			return false
		}
		if i >= 2 && (w == "dev" || i > 2 && isShowWord(f[i-1]) && !strings.HasPrefix(w, "-") && w != "up" && w != "scope" && w != "label" && w != "to" && w != "type" && w != "permanent" && w != "dynamic" && w != "primary" && w != "secondary" && w != "master") {
			return true
		}
	}
	return false
}

func isShowWord(w string) bool {
	switch w {
	case "s", "sh", "sho", "show", "l", "li", "lis", "list", "ls", "lst":
		return true
	}
	return false
}

var (
	routeGetRe   = regexp.MustCompile(`^ip\b.*\s(?:g|ge|get)\s`)
	routeTableRe = regexp.MustCompile(`\b(?:table|tab|ta|t)\s+(\S+)`)
)

func applyRoute(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	routes, probs := ParseRoute(doc)
	h.MergeRoutes(routes)
	tables := map[string]bool{}
	for _, r := range routes {
		tables[r.Table] = true
	}
	cmd := strings.ToLower(doc.Command)
	get := tables[TableGet] || routeGetRe.MatchString(cmd+" ")
	switch {
	case get:
		h.MarkSeen(evidence.KindRouteGet, format.BlockRef(doc))
	case cmd == "":
		if tables["main"] || len(routes) == 0 {
			format.MarkComplete(h, doc, evidence.KindRoutes)
		}
		if tables["local"] {
			format.MarkComplete(h, doc, evidence.KindLocalTable)
		}
	default:
		t := "main"
		if m := routeTableRe.FindStringSubmatch(cmd); m != nil {
			t = NormTable(m[1])
		}
		switch t {
		case "main":
			format.MarkComplete(h, doc, evidence.KindRoutes)
		case "local":
			format.MarkComplete(h, doc, evidence.KindLocalTable)
		case "all":
			format.MarkComplete(h, doc, evidence.KindRoutes, evidence.KindLocalTable)
		}
	}
	return probs
}

func applyRule(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	rules, probs := ParseRule(doc)
	h.RouteRule = append(h.RouteRule, rules...)
	format.MarkComplete(h, doc, evidence.KindRules)
	return probs
}

func applyNeigh(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	n, probs := ParseNeigh(doc)
	h.Neighbors = append(h.Neighbors, n...)
	format.MarkComplete(h, doc, evidence.KindNeighbors)
	return probs
}

// Sniffers: strict and cheap, they see the first KiB or so.

var (
	sniffHeaderRe  = regexp.MustCompile(`^\d+:\s+[^\s:@]+(?:@\S+?)?:\s+<[A-Z0-9_,-]*>\s+mtu\s+\d+`)
	sniffOneAddrRe = regexp.MustCompile(`^\d+:\s+[^\s:@]+\s+inet6?\s+[0-9a-fA-F:.]+/\d+`)
	sniffRuleRe    = regexp.MustCompile(`^\d+:\s+(?:not\s+)?from\s+\S+`)
	sniffNeighRe   = regexp.MustCompile(`^[0-9a-fA-F:.]+\s+dev\s+\S+(?:\s+lladdr\s+\S+)?(?:\s+\S+)*?\s+(?:REACHABLE|STALE|DELAY|PROBE|FAILED|INCOMPLETE|PERMANENT|NOARP|NONE)$`)
)

// briefAddrRe is a line of `ip -br addr`: name, state, addresses.
var briefAddrRe = regexp.MustCompile(`^[^\s:]+(?:@\S+)?\s+(?:UP|DOWN|UNKNOWN|LOWERLAYERDOWN|DORMANT|NOTPRESENT|TESTING)` +
	`(?:\s+[0-9a-fA-F:.]+(?:/\d+)?(?:\s+peer\s+[0-9a-fA-F:.]+(?:/\d+)?)?)*\s*$`)

// briefLinkRe is a line of `ip -br link`: name, state, address, flags.
var briefLinkRe = regexp.MustCompile(`^[^\s:]+(?:@\S+)?\s+(?:UP|DOWN|UNKNOWN|LOWERLAYERDOWN|DORMANT|NOTPRESENT|TESTING)\s+(?:\S+\s+)?<[A-Z0-9_,-]*>\s*$`)

// sgrRe is a colour escape of `ip -c` (SGR: ESC [ n;n m).
var sgrRe = regexp.MustCompile("\x1b\\[[0-9;]*m")

// uncolour removes `ip -c` colour escapes.
func uncolour(s string) string {
	if strings.IndexByte(s, 0x1b) < 0 {
		return s
	}
	return sgrRe.ReplaceAllString(s, "")
}

// sniffBrief reports whether head is `ip -br` output: every line matches
// re, and at least one has more than a name and a state.
func sniffBrief(head string, re *regexp.Regexp) bool {
	if !format.AllMatch(head, re) {
		return false
	}
	for _, l := range format.CompleteLines(head) {
		if len(strings.Fields(l)) > 2 {
			return true
		}
	}
	return false
}

func sniffAddr(head string) bool {
	head = uncolour(head)
	if sniffBrief(head, briefAddrRe) {
		return true
	}
	first := format.FirstLine(head)
	if sniffOneAddrRe.MatchString(first) {
		return true
	}
	return sniffHeaderRe.MatchString(first) && strings.Contains(head, "inet")
}

func sniffLink(head string) bool {
	head = uncolour(head)
	if sniffBrief(head, briefLinkRe) {
		return true
	}
	first := format.FirstLine(head)
	return sniffHeaderRe.MatchString(first) && strings.Contains(head, "link/") && !strings.Contains(head, "inet")
}

func sniffRule(head string) bool { return format.AllMatch(head, sniffRuleRe) }

func sniffNeigh(head string) bool { return format.AllMatch(head, sniffNeighRe) }

func sniffRoute(head string) bool {
	lines := format.CompleteLines(head)
	if len(lines) == 0 {
		return false
	}
	text := strings.Join(lines, "\n")
	if strings.Contains(text, " lladdr ") || sniffNeigh(head) {
		return false
	}
	routes, probs := ParseRoute(evidence.Doc{Source: "sniff", Text: text})
	if len(probs) > 0 || len(routes) == 0 {
		return false
	}
	// Every route must say where it goes, or be a route with no next hop.
	for _, r := range routes {
		if r.Dev == "" && !r.Gateway.IsValid() && r.Type == "unicast" {
			return false
		}
	}
	return true
}
