package intake

import (
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/arp"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/counters"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/ifconfig"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/iproute"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/sockets"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/sysctl"
)

// ipOpts matches ip's global options, including those taking an argument.
const ipOpts = `(?:\s+-(?:f|family|b|batch|rc|rcvbuf|l|loops)\s+\S+|\s+-\S+)*`

// ipCommand builds the regex of `ip [opts] OBJECT [SUB ...]` where OBJECT
// is any abbreviation ip accepts and SUB one of subs (or none); a pipe may
// follow. Subcommands that change state (add, del, flush) do not match:
// they print nothing, and their empty output must not read as "no
// addresses".
func ipCommand(objects, subs string) *regexp.Regexp {
	return regexp.MustCompile(`^ip` + ipOpts + `\s+(?:` + objects + `)(?:\s+(?:` + subs + `)(?:\s[^|]*)?)?\s*(?:\|.*)?$`)
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
	// netFileTail is what may follow the command in a file name, without a
	// dot so that "sysctl.conf" is not "sysctl" output.
	netFileTail = `(?:[-_][^.]*)?(?:\.(?:txt|log|out))?$`
)

func ipFile(objects string) *regexp.Regexp {
	return regexp.MustCompile(`(?i)^ip` + ipFileOpts + `[-_.]?(?:` + objects + `)` + netFileTail)
}

// netKinds lists the formats wired in this file.
func netKinds() []Kind {
	return []Kind{
		{
			Name:     "ip-addr",
			Commands: []*regexp.Regexp{ipCommand(ipAddrObj, ipShow)},
			Files:    []*regexp.Regexp{ipFile(ipAddrObj)},
			Sniff:    sniffIPAddr,
			Apply:    netLimit(applyIPAddr),
		},
		{
			Name:     "ip-link",
			Commands: []*regexp.Regexp{ipCommand(ipLinkObj, ipShow)},
			Files:    []*regexp.Regexp{ipFile(ipLinkObj)},
			Sniff:    sniffIPLink,
			Apply:    netLimit(applyIPLink),
		},
		{
			Name:     "ip-rule",
			Commands: []*regexp.Regexp{ipCommand(ipRuleObj, ipShow)},
			Files:    []*regexp.Regexp{ipFile(ipRuleObj)},
			Sniff:    sniffIPRule,
			Apply:    netLimit(applyIPRule),
		},
		{
			Name:     "ip-neigh",
			MaxBytes: largeOutput,
			Commands: []*regexp.Regexp{ipCommand(ipNeighObj, ipShow)},
			Files:    []*regexp.Regexp{ipFile(ipNeighObj)},
			Sniff:    sniffIPNeigh,
			Apply:    netLimit(applyIPNeigh),
		},
		{
			Name:     "ip-route",
			MaxBytes: largeOutput,
			Commands: []*regexp.Regexp{ipCommand(ipRouteObj, ipShow+`|g|ge|get`)},
			Files:    []*regexp.Regexp{ipFile(ipRouteObj)},
			Sniff:    sniffIPRoute,
			Apply:    netLimit(applyIPRoute),
		},
		{
			Name: "ifconfig",
			// ifconfig, ifconfig -a, ifconfig eth0; not "ifconfig lo:0 VIP
			// up" (it prints nothing) nor -s (another table).
			Commands: re(`^ifconfig(?:\s+-[av]+)*(?:\s+[A-Za-z0-9_.:@-]+)?\s*(?:\|.*)?$`),
			Files:    re(`(?i)^ifconfig` + netFileTail),
			Sniff:    sniffIfconfig,
			Apply:    netLimit(applyIfconfig),
		},
		{
			Name:     "arp",
			MaxBytes: largeOutput,
			Commands: re(`^arp(?:\s+(?:-[anve]+|-i\s+\S+|-H\s+\S+|--numeric|--all|--verbose|[0-9A-Za-z_][\w.:-]*))*\s*(?:\|.*)?$`),
			Files:    re(`(?i)^arp` + netFileTail),
			Sniff:    sniffArp,
			Apply:    netLimit(applyArp),
		},
		{
			Name:     "sysctl",
			Commands: re(`^sysctl\b`),
			Files:    re(`(?i)^sysctl` + netFileTail),
			Sniff:    sniffSysctl,
			Apply:    netLimit(applySysctl),
		},
		{
			// cat /proc/sys/net/ipv4/conf/all/rp_filter, and grep . /proc/sys/...
			Name:     "proc-sys",
			Commands: re(`^cat\s+/proc/sys/[\w./-]+\s*$`, `^grep\s+(?:-\S+\s+)*\.\s+(?:/proc/sys/\S+\s*)+$`),
			Files:    re(`^nf_conntrack_(?:count|max)(?:\.txt)?$`),
			Apply:    netLimit(applyProcSys),
		},
		{
			Name:     "ss",
			MaxBytes: largeOutput,
			Commands: re(`^ss\b`),
			Files:    re(`(?i)^ss` + netFileTail),
			Sniff:    sniffSS,
			Apply:    netLimit(applySS),
		},
		{
			Name: "netstat-s",
			// netstat -s, -st, -su, --statistics
			Commands: re(`^netstat(?:\s+[-–][a-zA-Z]*s[a-zA-Z]*|\s+--statistics)(?:\s+[-–]\S+)*\s*(?:\|.*)?$`),
			Files:    re(`^netstat[-_]+-?[a-z]*s[a-z]*` + netFileTail),
			Sniff:    sniffNetstatS,
			Apply:    netLimit(applyNetstatS),
		},
		{
			Name:     "netstat-listen",
			MaxBytes: largeOutput,
			Commands: re(`^netstat\s+(?:[-–][a-rt-zA-Z]*[la][a-rt-zA-Z]*|--listening|--all)(?:\s+[-–]\S+)*\s*(?:\|.*)?$`),
			Files:    re(`^netstat[-_]+-?[a-rt-z]*[la][a-rt-z]*` + netFileTail),
			Sniff:    sniffNetstatListen,
			Apply:    netLimit(applyNetstatListen),
		},
		{
			Name:     "nstat",
			Commands: re(`^nstat\b`, `^cat\s+/proc/net/snmp6\s*$`),
			Files:    re(`^nstat`+netFileTail, `^(?:proc[-_.]net[-_.])?snmp6(?:\.txt)?$`),
			Sniff:    sniffNstat,
			Apply:    netLimit(netApplyCounters(counters.ParseNstat)),
		},
		{
			Name:     "proc-net-snmp",
			Commands: re(`^cat\s+/proc/net/(?:snmp|netstat)(?:\s+/proc/net/(?:snmp|netstat))?\s*$`),
			Files:    re(`^proc[-_.]net[-_.](?:snmp|netstat)(?:\.txt)?$`, `^snmp(?:\.txt)?$`),
			Sniff:    sniffProcNetSNMP,
			Apply:    netLimit(netApplyCounters(counters.ParseProcNet)),
		},
		{
			Name:     "ethtool-S",
			Commands: re(`^ethtool\s+(?:-S|--statistics)\b`),
			Files:    re(`^ethtool[-_]+(?:-?S|stats|statistics)` + netFileTail),
			Sniff:    func(head string) bool { return netFirstLine(head) == "NIC statistics:" },
			Apply:    netLimit(netApplyCounters(counters.ParseEthtool)),
		},
		{
			Name:     "conntrack-S",
			Commands: re(`^conntrack\s+(?:-S|--stats)\s*(?:\|.*)?$`, `^cat\s+/proc/net/stat/nf_conntrack\s*$`),
			Files:    re(`^conntrack[-_]+-?S`+netFileTail, `^(?:proc[-_.]net[-_.])?stat[-_.]nf_conntrack(?:\.txt)?$`),
			Sniff:    sniffConntrackS,
			Apply:    netLimit(applyConntrackS),
		},
		{
			Name:     "conntrack-count",
			Commands: re(`^conntrack\s+(?:-C|--count)\s*$`),
			Apply:    netLimit(applyConntrackCount),
		},
	}
}

// netMaxProblems is how many unparsable lines of one block are reported
// one by one; prose pasted after an output (transcripts, tickets) would
// otherwise bury the report in a problem per line.
const netMaxProblems = 3

func netLimit(apply func(evidence.Doc, *evidence.Host) []evidence.Problem) func(evidence.Doc, *evidence.Host) []evidence.Problem {
	return func(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
		// A markdown fence closes the output pasted into a ticket or wiki.
		if i := strings.Index(doc.Text, "```"); i >= 0 && (i == 0 || doc.Text[i-1] == '\n') {
			doc.Text = doc.Text[:i]
		}
		probs := apply(doc, h)
		if len(probs) <= netMaxProblems+1 {
			return probs
		}
		rest := probs[netMaxProblems]
		rest.Message = fmt.Sprintf("%d more lines from here on not understood (text pasted after the output?)", len(probs)-netMaxProblems)
		return append(probs[:netMaxProblems:netMaxProblems], rest)
	}
}

// netFiltered reports whether the command's output went through a filter
// (grep, head, awk): what it printed is then only part of the table, and
// the absence of a fact in it proves nothing.
func netFiltered(cmd string) bool { return strings.Contains(cmd, "|") }

// netDocRef is the reference recorded with MarkSeen: the first output line, or
// the prompt line when the command printed nothing.
func netDocRef(doc evidence.Doc) evidence.Ref {
	lines := doc.Lines()
	for i, l := range lines {
		if strings.TrimSpace(l) != "" {
			return doc.Ref(i, l)
		}
	}
	line := doc.Start - 1
	if line < 1 {
		line = 1
	}
	text := doc.Command
	if text == "" {
		text = "(empty output)"
	}
	r := doc.Ref(0, text)
	r.Line = line
	return r
}

// netMarkComplete records kind k unless the output was netFiltered.
func netMarkComplete(h *evidence.Host, doc evidence.Doc, kinds ...evidence.Kind) {
	if netFiltered(doc.Command) {
		return
	}
	for _, k := range kinds {
		h.MarkSeen(k, netDocRef(doc))
	}
}

func applyIPAddr(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	res, probs := iproute.ParseAddr(doc)
	netMergeLinks(h, res.Links)
	netMergeAddrs(h, res.Addrs)
	netMarkComplete(h, doc, evidence.KindAddrs)
	if len(res.Links) > 0 && !netFiltered(doc.Command) && !netOnlyOneLink(doc.Command) {
		h.MarkSeen(evidence.KindLinks, netDocRef(doc))
	}
	return probs
}

func applyIPLink(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	res, probs := iproute.ParseAddr(doc)
	netMergeLinks(h, res.Links)
	netMergeAddrs(h, res.Addrs)
	if !netOnlyOneLink(doc.Command) {
		netMarkComplete(h, doc, evidence.KindLinks)
	} else if len(res.Links) > 0 {
		// `ip link show tunl0` that shows it proves it exists; one that
		// does not ("Device does not exist") proves nothing about others.
		h.MarkSeen(evidence.KindLinks, netDocRef(doc))
	}
	return probs
}

// netOnlyOneLink reports whether an ip command named one device (`ip a show
// dev eth0`, `ip link show tunl0`): the other links are not in its output.
func netOnlyOneLink(cmd string) bool {
	f := strings.Fields(cmd)
	for i, w := range f {
		if w == "|" {
			return false
		}
		if i >= 2 && (w == "dev" || i > 2 && netIsShowWord(f[i-1]) && !strings.HasPrefix(w, "-") && w != "up" && w != "scope" && w != "label" && w != "to" && w != "type" && w != "permanent" && w != "dynamic" && w != "primary" && w != "secondary" && w != "master") {
			return true
		}
	}
	return false
}

func netIsShowWord(w string) bool {
	switch w {
	case "s", "sh", "sho", "show", "l", "li", "lis", "list", "ls", "lst":
		return true
	}
	return false
}

var (
	routeGetRe    = regexp.MustCompile(`^ip\b.*\s(?:g|ge|get)\s`)
	routeTableRe  = regexp.MustCompile(`\b(?:table|tab|ta|t)\s+(\S+)`)
	flagsInNameRe = regexp.MustCompile(`^(ss|netstat)[-_]+-?([a-z]+)`)
)

func applyIPRoute(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	routes, probs := iproute.ParseRoute(doc)
	netMergeRoutes(h, routes)
	tables := map[string]bool{}
	for _, r := range routes {
		tables[r.Table] = true
	}
	cmd := strings.ToLower(doc.Command)
	get := tables[iproute.TableGet] || routeGetRe.MatchString(cmd+" ")
	switch {
	case get:
		h.MarkSeen(evidence.KindRouteGet, netDocRef(doc))
	case cmd == "":
		if tables["main"] || len(routes) == 0 {
			netMarkComplete(h, doc, evidence.KindRoutes)
		}
		if tables["local"] {
			netMarkComplete(h, doc, evidence.KindLocalTable)
		}
	default:
		t := "main"
		if m := routeTableRe.FindStringSubmatch(cmd); m != nil {
			t = iproute.NormTable(m[1])
		}
		switch t {
		case "main":
			netMarkComplete(h, doc, evidence.KindRoutes)
		case "local":
			netMarkComplete(h, doc, evidence.KindLocalTable)
		case "all":
			netMarkComplete(h, doc, evidence.KindRoutes, evidence.KindLocalTable)
		}
	}
	return probs
}

func applyIPRule(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	rules, probs := iproute.ParseRule(doc)
	h.RouteRule = append(h.RouteRule, rules...)
	netMarkComplete(h, doc, evidence.KindRules)
	return probs
}

func applyIPNeigh(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	n, probs := iproute.ParseNeigh(doc)
	h.Neighbors = append(h.Neighbors, n...)
	netMarkComplete(h, doc, evidence.KindNeighbors)
	return probs
}

func applyArp(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	n, probs := arp.Parse(doc)
	h.Neighbors = append(h.Neighbors, n...)
	netMarkComplete(h, doc, evidence.KindNeighbors)
	return probs
}

func applyIfconfig(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	res, probs := ifconfig.Parse(doc)
	netMergeLinks(h, res.Links)
	netMergeAddrs(h, res.Addrs)
	netSetCounters(h, res.Counters)
	// `ifconfig` without -a hides interfaces that are down, and `ifconfig
	// eth0` shows one: only the full listing is complete.
	f := strings.Fields(doc.Command)
	all := doc.Command == "" || len(f) == 1 || (len(f) == 2 && strings.HasPrefix(f[1], "-") && strings.Contains(f[1], "a"))
	if !all && len(res.Links) == 0 && len(res.Addrs) == 0 {
		return probs
	}
	if all {
		netMarkComplete(h, doc, evidence.KindAddrs)
	}
	if all && (doc.Command == "" || strings.Contains(doc.Command, "-a")) {
		netMarkComplete(h, doc, evidence.KindLinks)
	}
	if len(res.Counters) > 0 {
		h.MarkSeen(evidence.KindCounters, netDocRef(doc))
	}
	return probs
}

func applySysctl(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	s, probs := sysctl.Parse(doc)
	netSetSysctls(h, s)
	// A netFiltered listing (sysctl -ar X, | grep) is still sysctl evidence:
	// rules look keys up one by one and an absent key reads as unknown.
	h.MarkSeen(evidence.KindSysctl, netDocRef(doc))
	return probs
}

func applyProcSys(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	s, probs := sysctl.ParseProcSys(doc)
	netSetSysctls(h, s)
	if len(s) > 0 {
		h.MarkSeen(evidence.KindSysctl, netDocRef(doc))
	}
	return probs
}

// netSetSysctls stores the values and mirrors the conntrack fill level, which
// rules read from h.Conntrack whichever way it was shown.
func netSetSysctls(h *evidence.Host, s []evidence.Sysctl) {
	for _, x := range s {
		h.Sysctls[x.Key] = x
		switch x.Key {
		case "net.netfilter.nf_conntrack_count", "net.nf_conntrack_count":
			if n, ok := netAtoi64(x.Value); ok {
				h.Conntrack.Count, h.Conntrack.CountRef = n, x.Ref
				h.MarkSeen(evidence.KindConntrack, x.Ref)
			}
		case "net.netfilter.nf_conntrack_max", "net.nf_conntrack_max", "net.ipv4.netfilter.ip_conntrack_max":
			if n, ok := netAtoi64(x.Value); ok {
				h.Conntrack.Max, h.Conntrack.MaxRef = n, x.Ref
				h.MarkSeen(evidence.KindConntrack, x.Ref)
			}
		}
	}
}

func applySS(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	ls, probs := sockets.ParseSS(doc)
	netMergeListeners(h, ls)
	if netListensAll(doc, "ss", len(ls)) {
		netMarkComplete(h, doc, evidence.KindListeners)
	}
	return probs
}

func applyNetstatListen(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	ls, probs := sockets.ParseNetstat(doc)
	netMergeListeners(h, ls)
	if netListensAll(doc, "netstat", len(ls)) {
		netMarkComplete(h, doc, evidence.KindListeners)
	}
	return probs
}

// netListensAll reports whether the output lists every listening socket: the
// command asked for listening (-l) or all (-a) sockets, without naming a
// port or address filter; with no command, a table that shows listeners.
func netListensAll(doc evidence.Doc, tool string, found int) bool {
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

func applyNetstatS(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	return netApplyCounters(counters.ParseNetstatS)(doc, h)
}

func netApplyCounters(parse func(evidence.Doc) ([]evidence.Counter, []evidence.Problem)) func(evidence.Doc, *evidence.Host) []evidence.Problem {
	return func(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
		cs, probs := parse(doc)
		netSetCounters(h, cs)
		if len(cs) > 0 || !netFiltered(doc.Command) {
			h.MarkSeen(evidence.KindCounters, netDocRef(doc))
		}
		return probs
	}
}

func applyConntrackS(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	cs, probs := counters.ParseConntrackStats(doc)
	netSetCounters(h, cs)
	h.MarkSeen(evidence.KindCounters, netDocRef(doc))
	for _, c := range cs {
		if c.Name == "conntrack.entries" && h.Conntrack.CountRef.IsZero() {
			h.Conntrack.Count, h.Conntrack.CountRef = c.Value, c.Ref
			h.MarkSeen(evidence.KindConntrack, c.Ref)
		}
	}
	return probs
}

func applyConntrackCount(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	n, ref, probs := counters.ParseNumber(doc)
	if !ref.IsZero() {
		h.Conntrack.Count, h.Conntrack.CountRef = n, ref
		h.MarkSeen(evidence.KindConntrack, ref)
	}
	return probs
}

func netSetCounters(h *evidence.Host, cs []evidence.Counter) {
	for _, c := range cs {
		h.Counters[c.Name] = c
	}
}

// netMergeLinks adds links, completing a link already known by name (`ip
// link` then `ip -d link`: the second tells the kind).
func netMergeLinks(h *evidence.Host, links []evidence.Link) {
	for _, l := range links {
		found := false
		for i := range h.Links {
			e := &h.Links[i]
			if e.Name != l.Name {
				continue
			}
			found = true
			if l.Kind != "" && (e.Kind == "" || e.Kind == "ether" || e.Kind == "tunnel") {
				e.Kind = l.Kind
			}
			if e.MAC == "" {
				e.MAC = l.MAC
			}
			if e.MTU == 0 {
				e.MTU = l.MTU
			}
			if e.Index == 0 {
				e.Index = l.Index
			}
			if e.State == "" {
				e.State = l.State
			}
			if e.Master == "" {
				e.Master = l.Master
			}
			break
		}
		if !found {
			h.Links = append(h.Links, l)
		}
	}
}

// netMergeAddrs adds addresses not already known on the same interface.
func netMergeAddrs(h *evidence.Host, addrs []evidence.Addr) {
	type key struct {
		iface string
		addr  netip.Addr
	}
	seen := map[key]bool{}
	for _, a := range h.Addrs {
		seen[key{a.Iface, a.Prefix.Addr()}] = true
	}
	for _, a := range addrs {
		k := key{a.Iface, a.Prefix.Addr()}
		if seen[k] {
			continue
		}
		seen[k] = true
		h.Addrs = append(h.Addrs, a)
	}
}

func netMergeRoutes(h *evidence.Host, routes []evidence.Route) {
	type key struct {
		table, typ, dev string
		dst             netip.Prefix
		gw              netip.Addr
	}
	seen := map[key]bool{}
	for _, r := range h.Routes {
		seen[key{r.Table, r.Type, r.Dev, r.Dst, r.Gateway}] = true
	}
	for _, r := range routes {
		k := key{r.Table, r.Type, r.Dev, r.Dst, r.Gateway}
		if seen[k] {
			continue
		}
		seen[k] = true
		h.Routes = append(h.Routes, r)
	}
}

func netMergeListeners(h *evidence.Host, ls []evidence.Listener) {
	type key struct {
		proto string
		addr  netip.Addr
		any   bool
		port  uint16
	}
	seen := map[key]bool{}
	for _, l := range h.Listeners {
		seen[key{l.Proto, l.Addr, l.Any, l.Port}] = true
	}
	for _, l := range ls {
		k := key{l.Proto, l.Addr, l.Any, l.Port}
		if seen[k] {
			continue
		}
		seen[k] = true
		h.Listeners = append(h.Listeners, l)
	}
}

func netAtoi64(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	var n int64
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// Sniffers: strict and cheap, they see the first KiB or so.

var (
	sniffHeaderRe  = regexp.MustCompile(`^\d+:\s+[^\s:@]+(?:@\S+?)?:\s+<[A-Z0-9_,-]*>\s+mtu\s+\d+`)
	sniffOneAddrRe = regexp.MustCompile(`^\d+:\s+[^\s:@]+\s+inet6?\s+[0-9a-fA-F:.]+/\d+`)
	sniffRuleRe    = regexp.MustCompile(`^\d+:\s+(?:not\s+)?from\s+\S+`)
	sniffNeighRe   = regexp.MustCompile(`^[0-9a-fA-F:.]+\s+dev\s+\S+(?:\s+lladdr\s+\S+)?(?:\s+\S+)*?\s+(?:REACHABLE|STALE|DELAY|PROBE|FAILED|INCOMPLETE|PERMANENT|NOARP|NONE)$`)
	sniffArpARe    = regexp.MustCompile(`^\S+ \([0-9a-fA-F.:]+\) at \S+`)
	sniffSysctlRe  = regexp.MustCompile(`^(?:abi|crypto|debug|dev|fs|kernel|net|sunrpc|user|vm)(?:\.[\w/@:+-]+)+ =(?: |$)`)
	sniffIfNewRe   = regexp.MustCompile(`^\S+: flags=\d+<[A-Z0-9_,]*>\s+mtu \d+`)
	sniffIfOldRe   = regexp.MustCompile(`^\S+\s+Link encap:`)
	sniffCtSRe     = regexp.MustCompile(`^cpu=\d+\s+\w+=\d+`)
)

// netCompleteLines returns the lines of head, without a last line that may
// have been cut in the middle.
func netCompleteLines(head string) []string {
	lines := strings.Split(head, "\n")
	if len(lines) > 1 && !strings.HasSuffix(head, "\n") {
		lines = lines[:len(lines)-1]
	}
	out := lines[:0]
	for _, l := range lines {
		l = strings.TrimRight(l, "\r")
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

func netFirstLine(head string) string {
	for _, l := range strings.Split(head, "\n") {
		if t := strings.TrimSpace(l); t != "" {
			return t
		}
	}
	return ""
}

func sniffIPAddr(head string) bool {
	first := netFirstLine(head)
	if sniffOneAddrRe.MatchString(first) {
		return true
	}
	return sniffHeaderRe.MatchString(first) && strings.Contains(head, "inet")
}

func sniffIPLink(head string) bool {
	first := netFirstLine(head)
	return sniffHeaderRe.MatchString(first) && strings.Contains(head, "link/") && !strings.Contains(head, "inet")
}

func netAllMatch(head string, re *regexp.Regexp) bool {
	lines := netCompleteLines(head)
	if len(lines) == 0 {
		return false
	}
	for _, l := range lines {
		if !re.MatchString(strings.TrimSpace(l)) {
			return false
		}
	}
	return true
}

func sniffIPRule(head string) bool { return netAllMatch(head, sniffRuleRe) }

func sniffIPNeigh(head string) bool { return netAllMatch(head, sniffNeighRe) }

func sniffIPRoute(head string) bool {
	lines := netCompleteLines(head)
	if len(lines) == 0 {
		return false
	}
	text := strings.Join(lines, "\n")
	if strings.Contains(text, " lladdr ") || sniffIPNeigh(head) {
		return false
	}
	routes, probs := iproute.ParseRoute(evidence.Doc{Source: "sniff", Text: text})
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

func sniffArp(head string) bool {
	first := netFirstLine(head)
	if strings.HasPrefix(first, "Address") && strings.Contains(first, "HWtype") && strings.Contains(first, "HWaddress") {
		return true
	}
	return netAllMatch(head, sniffArpARe)
}

func sniffIfconfig(head string) bool {
	first := netFirstLine(head)
	return sniffIfNewRe.MatchString(first) || sniffIfOldRe.MatchString(first)
}

func sniffSysctl(head string) bool {
	n := 0
	for _, l := range netCompleteLines(head) {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "sysctl: ") {
			continue
		}
		if !sniffSysctlRe.MatchString(t) {
			return false
		}
		n++
	}
	return n > 0
}

func sniffSS(head string) bool { return sockets.IsSSHeader(netFirstLine(head)) }

func sniffNetstatListen(head string) bool {
	first := netFirstLine(head)
	if strings.HasPrefix(first, "Active Internet connections") {
		return true
	}
	return sockets.IsNetstatHeader(first)
}

func sniffNetstatS(head string) bool {
	lines := netCompleteLines(head)
	if len(lines) < 2 || strings.TrimSpace(lines[0]) != "Ip:" {
		return false
	}
	second := lines[1]
	return (second[0] == ' ' || second[0] == '\t') &&
		(strings.HasPrefix(strings.TrimSpace(second), "Forwarding:") || strings.Contains(second, "total packets received"))
}

func sniffNstat(head string) bool {
	first := netFirstLine(head)
	return first == "#kernel" || strings.HasPrefix(first, "Ip6InReceives ") || strings.HasPrefix(first, "Ip6InReceives\t")
}

func sniffProcNetSNMP(head string) bool {
	first := netFirstLine(head)
	return strings.HasPrefix(first, "Ip: Forwarding DefaultTTL") || strings.HasPrefix(first, "TcpExt: SyncookiesSent")
}

func sniffConntrackS(head string) bool {
	first := netFirstLine(head)
	if sniffCtSRe.MatchString(first) {
		return true
	}
	f := strings.Fields(first)
	return len(f) > 4 && f[0] == "entries" && strings.Contains(first, " found ") && strings.Contains(first, " invalid ")
}
