package iproute

import (
	"net/netip"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// TableGet is the Table of routes that `ip route get` printed: they are
// answers of a lookup (which table answered is not always shown), not
// entries of a table, and rules must not count them as such.
const TableGet = "get"

var routeTypes = map[string]bool{
	"unicast": true, "local": true, "broadcast": true, "multicast": true, "blackhole": true,
	"unreachable": true, "prohibit": true, "throw": true, "nat": true, "anycast": true,
}

// Route attributes that print alone, without a value.
var routeFlags = map[string]bool{
	"onlink": true, "linkdown": true, "dead": true, "pervasive": true, "offload": true, "trap": true,
	"notify": true, "rt_offload": true, "rt_trap": true, "rt_offload_failed": true, "cache": true,
}

var tableInCommand = regexp.MustCompile(`\b(?:table|tab|ta|t)\s+(\S+)`)

// NormTable names a routing table the way current iproute2 prints it.
func NormTable(t string) string {
	switch t {
	case "255":
		return "local"
	case "254":
		return "main"
	case "253":
		return "default"
	case "0", "unspec":
		return "all"
	}
	return t
}

// routeContext is what the command line says about the routes it printed.
type routeContext struct {
	table string // table printed routes belong to when they name none
	get   bool
	v6    bool
	getTo netip.Addr // the address `ip route get` looked up
}

func contextOf(doc evidence.Doc) routeContext {
	c := routeContext{table: "main"}
	cmd := doc.Command
	if cmd == "" {
		// Without a command the file name may still say "local".
		if strings.Contains(strings.ToLower(path.Base(doc.Source)), "local") {
			c.table = "local"
		}
		return c
	}
	if p, _, ok := strings.Cut(cmd, "|"); ok {
		cmd = p
	}
	f := strings.Fields(cmd)
	for i, w := range f {
		if w == "-6" || (w == "-f" || w == "-family") && i+1 < len(f) && f[i+1] == "inet6" {
			c.v6 = true
		}
	}
	if obj, sub := ipObject(f); obj == "route" && (sub == "get" || sub == "g" || sub == "ge") {
		c.get = true
		c.table = TableGet
		for _, w := range f[1:] {
			if a, err := netip.ParseAddr(w); err == nil {
				c.getTo = a
				break
			}
		}
		return c
	}
	if m := tableInCommand.FindStringSubmatch(cmd); m != nil {
		c.table = NormTable(m[1])
		if c.table == "all" {
			c.table = "main" // routes of other tables say "table X"
		}
	}
	return c
}

// ipObject returns the object and subcommand words of an ip command line
// ("ip -4 r s" → "route", "s"), expanding the object's abbreviation.
func ipObject(f []string) (obj, sub string) {
	i := 0
	if i < len(f) && path.Base(f[i]) == "ip" {
		i++
	}
	for i < len(f) && strings.HasPrefix(f[i], "-") {
		switch f[i] {
		case "-n", "-netns", "-f", "-family", "-b", "-batch", "-rc", "-rcvbuf", "-l", "-loops":
			i++
		}
		i++
	}
	if i >= len(f) {
		return "", ""
	}
	obj = expandObject(f[i])
	if i+1 < len(f) {
		sub = f[i+1]
	}
	return obj, sub
}

// expandObject resolves an ip object abbreviation the way ip does: the
// first object, in ip's own order, that the word is a prefix of.
func expandObject(w string) string {
	for _, o := range []string{"address", "addrlabel", "maddress", "route", "rule", "neighbor", "neighbour",
		"ntable", "link", "tunnel", "netns", "netconf", "nexthop"} {
		if strings.HasPrefix(o, w) {
			if o == "neighbour" {
				return "neighbor"
			}
			return o
		}
	}
	return w
}

// ParseRoute parses `ip route` output of any table (`show table local`,
// `show table all`, `-6`, `list table 100`) and `ip route get` answers.
// Routes that name no table belong to the table of the command (main when
// the command is unknown, or "local" when the file is named so, or when
// every route is of a local-table type).
func ParseRoute(doc evidence.Doc) ([]evidence.Route, []evidence.Problem) {
	ctx := contextOf(doc)
	var routes []evidence.Route
	var probs []evidence.Problem
	explicitTable := make([]bool, 0, 16)
	base := -1 // index of a multipath route whose nexthops follow
	var baseRoute evidence.Route
	for i, line := range doc.Lines() {
		t := strings.TrimSpace(line)
		if t == "" {
			continue
		}
		f := strings.Fields(t)
		if f[0] == "nexthop" {
			if base < 0 {
				probs = append(probs, doc.Problemf(i, "ip route: nexthop without a route"))
				continue
			}
			nh := baseRoute
			parseRouteAttrs(&nh, f[1:])
			nh.Ref = doc.Ref(i, line)
			if routes[base].Dev == "" && !routes[base].Gateway.IsValid() {
				ref := routes[base].Ref
				routes[base] = nh
				routes[base].Ref = ref
			} else {
				routes = append(routes, nh)
				explicitTable = append(explicitTable, explicitTable[base])
			}
			continue
		}
		if line != t && (f[0] == "cache" || strings.HasPrefix(f[0], "<")) {
			continue // route get's cache line, route cache dumps
		}
		if strings.HasPrefix(t, "RTNETLINK answers:") || strings.HasPrefix(t, "Error:") {
			if ctx.get && ctx.getTo.IsValid() {
				// The lookup failed: that is its answer.
				r := evidence.Route{Table: TableGet, Type: failType(t), Dst: netip.PrefixFrom(ctx.getTo, ctx.getTo.BitLen()), Ref: doc.Ref(i, line)}
				routes = append(routes, r)
				explicitTable = append(explicitTable, true)
			} else {
				probs = append(probs, doc.Problemf(i, "ip route: %s", evidence.Clip(t, 80)))
			}
			continue
		}
		r, hasTable, err := parseRouteLine(f, ctx)
		if err != "" {
			probs = append(probs, doc.Problemf(i, "ip route: %s", err))
			continue
		}
		r.Ref = doc.Ref(i, line)
		routes = append(routes, r)
		explicitTable = append(explicitTable, hasTable)
		base = -1
		if r.Dev == "" && !r.Gateway.IsValid() && r.Type == "unicast" {
			base = len(routes) - 1
			baseRoute = r
		}
	}
	if doc.Command == "" && ctx.table == "main" && len(routes) > 0 {
		localOnly := true
		for _, r := range routes {
			if r.Type != "local" && r.Type != "broadcast" {
				localOnly = false
				break
			}
		}
		if localOnly {
			ctx.table = "local"
		}
	}
	for k := range routes {
		if !explicitTable[k] {
			routes[k].Table = ctx.table
		}
	}
	return routes, probs
}

func failType(msg string) string {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "unreachable"):
		return "unreachable"
	case strings.Contains(m, "prohibit") || strings.Contains(m, "permission denied"):
		return "prohibit"
	case strings.Contains(m, "invalid argument"):
		return "blackhole"
	}
	return "unreachable"
}

func parseRouteLine(f []string, ctx routeContext) (evidence.Route, bool, string) {
	r := evidence.Route{Type: "unicast", Metric: -1}
	i := 0
	if routeTypes[f[0]] {
		r.Type = f[0]
		i++
	}
	if i >= len(f) {
		return r, false, "route without destination"
	}
	dst := f[i]
	i++
	switch dst {
	case "default", "all", "any":
		r.Dst = netip.MustParsePrefix("0.0.0.0/0")
	default:
		p, ok := parsePrefix(dst)
		if !ok {
			return r, false, "destination not understood: " + evidence.Clip(dst, 80)
		}
		r.Dst = p.Masked()
		if ctx.get {
			r.Dst = p
		}
	}
	hasTable := parseRouteAttrs(&r, f[i:])
	if (dst == "default" || dst == "all" || dst == "any") && (ctx.v6 || r.Gateway.Is6() && !r.Gateway.Is4In6()) {
		r.Dst = netip.MustParsePrefix("::/0")
	}
	if ctx.get {
		r.Table, hasTable = TableGet, true
	}
	if r.Metric < 0 {
		r.Metric = 0
	}
	return r, hasTable, ""
}

// parseRouteAttrs reads "via X dev Y proto Z scope S src A metric N ..."
// into r and reports whether a table was named.
func parseRouteAttrs(r *evidence.Route, f []string) bool {
	hasTable := false
	for i := 0; i < len(f); i++ {
		k := f[i]
		if routeFlags[k] || i+1 >= len(f) {
			continue
		}
		v := f[i+1]
		switch k {
		case "via":
			if (v == "inet" || v == "inet6") && i+2 < len(f) {
				i++
				v = f[i+1]
			}
			if a, err := netip.ParseAddr(v); err == nil {
				r.Gateway = a
			}
		case "dev", "oif":
			r.Dev = v
		case "src", "prefsrc":
			if a, err := netip.ParseAddr(v); err == nil {
				r.Src = a
			}
		case "proto", "protocol":
			r.Proto = v
		case "scope":
			r.Scope = v
		case "metric", "priority", "preference":
			if n, err := strconv.Atoi(v); err == nil {
				r.Metric = n
			}
		case "table":
			r.Table = NormTable(v)
			hasTable = true
		case "mtu", "advmss", "window", "rtt", "rttvar", "cwnd", "initcwnd", "initrwnd", "ssthresh",
			"reordering", "hoplimit", "rto_min", "quickack", "features", "congctl":
			if v == "lock" {
				i++
			}
		case "weight", "realm", "realms", "expires", "pref", "error", "uid", "nhid", "tos", "dsfield",
			"from", "iif", "mark", "ipid", "used", "age", "users":
		case "encap":
			// encap TYPE args...: the rest describes the tunnel, not the route.
			return hasTable
		default:
			continue // a flag this version of the parser does not know
		}
		i++
	}
	return hasTable
}

// ParseRule parses `ip rule [show]`.
func ParseRule(doc evidence.Doc) ([]evidence.IPRule, []evidence.Problem) {
	var rules []evidence.IPRule
	var probs []evidence.Problem
	for i, line := range doc.Lines() {
		t := strings.TrimSpace(line)
		if t == "" {
			continue
		}
		prio, rest, ok := strings.Cut(t, ":")
		n, err := strconv.Atoi(prio)
		if !ok || err != nil {
			probs = append(probs, doc.Problemf(i, "ip rule: line not understood: %q", evidence.Clip(t, 80)))
			continue
		}
		r := evidence.IPRule{Priority: n, Ref: doc.Ref(i, line)}
		f := strings.Fields(rest)
		var sel []string
		for j := 0; j < len(f); j++ {
			switch f[j] {
			case "lookup", "table":
				if j+1 < len(f) {
					r.Table = NormTable(f[j+1])
				}
				j = len(f)
			case "goto", "blackhole", "unreachable", "prohibit", "nop":
				sel = append(sel, f[j:]...)
				j = len(f)
			default:
				sel = append(sel, f[j])
			}
		}
		r.Selector = strings.Join(sel, " ")
		rules = append(rules, r)
	}
	return rules, probs
}

// ParseNeigh parses `ip neigh [show]` (any family).
func ParseNeigh(doc evidence.Doc) ([]evidence.Neighbor, []evidence.Problem) {
	var out []evidence.Neighbor
	var probs []evidence.Problem
	for i, line := range doc.Lines() {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		a, err := netip.ParseAddr(f[0])
		if err != nil {
			probs = append(probs, doc.Problemf(i, "ip neigh: line not understood: %q", evidence.Clip(strings.TrimSpace(line), 80)))
			continue
		}
		n := evidence.Neighbor{IP: a, Ref: doc.Ref(i, line)}
		var states []string
		for j := 1; j < len(f); j++ {
			switch f[j] {
			case "dev":
				if j+1 < len(f) {
					n.Dev = f[j+1]
					j++
				}
			case "lladdr":
				if j+1 < len(f) {
					n.MAC = strings.ToLower(f[j+1])
					j++
				}
			case "ref", "used", "probes", "vni", "port", "protocol", "nomaster":
				j++
			default:
				if isUpperWord(f[j]) {
					states = append(states, f[j])
				}
			}
		}
		n.State = strings.Join(states, " ")
		out = append(out, n)
	}
	return out, probs
}

func isUpperWord(s string) bool {
	for _, c := range s {
		if (c < 'A' || c > 'Z') && c != '_' {
			return false
		}
	}
	return s != ""
}
