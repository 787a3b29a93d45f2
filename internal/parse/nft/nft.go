// Package nft parses nftables rule sets: `nft [-a] list ruleset` (and
// `nft list table|chain`, /etc/nftables.conf) in text, and `nft -j list
// ruleset` in JSON. Both are first read into a small intermediate form
// (conditions and statements per rule) and then normalised into
// evidence.FirewallRule by the same code, so they agree.
//
// Named sets are resolved (`ip daddr @vips` becomes the set's prefixes),
// verdict maps are expanded into one rule per element (`ct state vmap {
// invalid : drop, ... }` yields a rule "ct state invalid → DROP"), and
// every condition not modelled is kept in Extra so that a rule never
// claims a sure match it cannot prove.
package nft

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/iptables"
)

// Ruleset is what one nft listing showed.
type Ruleset struct {
	Tables []Table
	Chains []evidence.Chain
	Rules  []evidence.FirewallRule
	// Warnings are lines such as "# Warning: table ip filter is managed
	// by iptables-nft, do not touch!".
	Warnings []evidence.Ref
	// Hidden are the named sets the rules match whose elements the
	// listing does not show: what the rules match is unknown.
	Hidden []evidence.Hidden
}

// Table is one nft table.
type Table struct {
	Family, Name string
	// ManagedBy is "iptables-nft" or "ebtables-nft" when nft said the
	// table belongs to that tool (its rules are the translated ones).
	ManagedBy string
	Ref       evidence.Ref
}

// cond is one match: key op value(s).
type cond struct {
	key  string   // "ip daddr", "tcp dport", "meta iifname", "ct state", ...
	mask string   // "meta mark & 0x8000 == ..." → "0x8000"
	op   string   // "==", "!=", "<", ...
	vals []string // literal values; several for an anonymous set
	set  string   // named set, without "@"
	text string   // as written, for Extra
}

// stmt is one statement: a verdict or an action.
type stmt struct {
	kind string // accept, drop, reject, return, continue, jump, goto, queue, counter, log, markset, ctmarkset, notrack, dnat, snat, masquerade, redirect, comment, xt-target, extra
	arg  string
	pkts uint64
	byts uint64
	text string
}

// vmapEntry is one "key : verdict" of a verdict map.
type vmapEntry struct {
	key     string
	verdict stmt
}

// prule is a rule in the intermediate form.
type prule struct {
	conds   []cond
	stmts   []stmt
	vmapKey *cond // the key of a verdict map, with vmap holding its entries
	vmap    []vmapEntry
	vmapSet string // a named verdict map
	ref     evidence.Ref
}

// nset is a named set or map.
type nset struct {
	typ   string
	elems []string // for maps, "key : value"
}

type chainCtx struct {
	family, table, name, hook string
}

var etherTypes = map[string]string{
	"ip": "IPv4", "ip6": "IPv6", "arp": "ARP", "vlan": "802_1Q", "8021q": "802_1Q",
	"0x0800": "IPv4", "0x86dd": "IPv6", "0x0806": "ARP", "ipv4": "IPv4", "ipv6": "IPv6",
}

// build normalises one intermediate rule into one or more FirewallRules
// (more than one when a verdict map is expanded).
func build(p prule, ctx chainCtx, num int, sets map[string]*nset) []evidence.FirewallRule {
	base := evidence.FirewallRule{Tool: "nft", Family: ctx.family, Table: ctx.table, Chain: ctx.name, Hook: ctx.hook, Num: num, Ref: p.ref}
	if ctx.family == "arp" {
		// An arp table only ever sees ARP packets.
		base.EtherType = "ARP"
	}
	for _, c := range p.conds {
		applyCond(&base, c, sets)
	}
	applyStmts(&base, p.stmts)
	if p.vmapKey == nil {
		return []evidence.FirewallRule{base}
	}
	entries := p.vmap
	if p.vmapSet != "" {
		if s, ok := sets[p.vmapSet]; ok {
			for _, e := range s.elems {
				k, v, ok := strings.Cut(e, " : ")
				if !ok {
					continue
				}
				entries = append(entries, vmapEntry{key: strings.TrimSpace(k), verdict: verdictStmt(strings.Fields(v))})
			}
		} else {
			base.Extra = append(base.Extra, p.vmapKey.text+" vmap @"+p.vmapSet)
			base.Verdict = "VMAP"
			return []evidence.FirewallRule{base}
		}
	}
	var out []evidence.FirewallRule
	for _, e := range entries {
		r := base
		r.Extra = append([]string(nil), base.Extra...)
		r.CtState = append([]string(nil), base.CtState...)
		r.DPorts = append([]evidence.PortRange(nil), base.DPorts...)
		r.SPorts = append([]evidence.PortRange(nil), base.SPorts...)
		c := *p.vmapKey
		c.op, c.vals, c.set = "==", []string{e.key}, ""
		c.text = c.key + " " + e.key
		applyCond(&r, c, sets)
		applyStmts(&r, []stmt{e.verdict})
		out = append(out, r)
		if len(out) > 4096 {
			break
		}
	}
	if len(out) == 0 {
		return []evidence.FirewallRule{base}
	}
	return out
}

// resolve returns the values of a condition, expanding a named set; ok is
// false when the set is not in the listing.
func resolve(c cond, sets map[string]*nset) ([]string, bool) {
	if c.set == "" {
		return c.vals, len(c.vals) > 0
	}
	s, ok := sets[c.set]
	if !ok || len(s.elems) == 0 {
		return nil, false
	}
	return s.elems, true
}

func applyCond(r *evidence.FirewallRule, c cond, sets map[string]*nset) {
	extra := func() { r.Extra = append(r.Extra, c.text) }
	neg := c.op == "!="
	if c.op != "==" && c.op != "!=" && c.op != "in" {
		extra()
		return
	}
	vals, ok := resolve(c, sets)
	if !ok {
		extra()
		return
	}
	switch c.key {
	case "ip saddr", "ip daddr", "ip6 saddr", "ip6 daddr", "arp saddr ip", "arp daddr ip":
		if c.mask != "" {
			extra()
			return
		}
		var ps []netip.Prefix
		for _, v := range vals {
			p, ok := parseAddrVal(v)
			if !ok {
				extra()
				return
			}
			ps = append(ps, p...)
		}
		m := evidence.AddrMatch{Prefixes: ps, Negate: neg}
		if strings.HasSuffix(c.key, "saddr") && !strings.HasPrefix(c.key, "arp") {
			if !r.Src.Any() {
				extra()
				return
			}
			r.Src = m
		} else if strings.HasSuffix(c.key, "daddr") && !strings.HasPrefix(c.key, "arp") {
			if !r.Dst.Any() {
				extra()
				return
			}
			r.Dst = m
		} else {
			extra()
		}
	case "ip protocol", "ip6 nexthdr", "meta l4proto":
		if len(vals) != 1 || c.mask != "" {
			extra()
			return
		}
		p := iptables.NormProto(vals[0])
		if neg {
			p = "!" + p
		}
		if r.Proto != "" && r.Proto != p {
			extra()
			return
		}
		r.Proto = p
	case "tcp dport", "tcp sport", "udp dport", "udp sport", "sctp dport", "sctp sport",
		"dccp dport", "dccp sport", "udplite dport", "udplite sport", "th dport", "th sport":
		proto, field, _ := strings.Cut(c.key, " ")
		if proto != "th" {
			if r.Proto != "" && r.Proto != proto {
				// "meta l4proto udp tcp dport 80" cannot match; keep it.
				extra()
				return
			}
			r.Proto = proto
		}
		if neg || c.mask != "" {
			extra()
			return
		}
		var prs []evidence.PortRange
		for _, v := range vals {
			pr, ok := iptables.ParsePortList(v)
			if !ok {
				extra()
				return
			}
			prs = append(prs, pr...)
		}
		if field == "dport" {
			if len(r.DPorts) > 0 {
				extra()
				return
			}
			r.DPorts = prs
		} else {
			if len(r.SPorts) > 0 {
				extra()
				return
			}
			r.SPorts = prs
		}
	case "meta iifname", "meta oifname", "meta iif", "meta oif":
		if len(vals) != 1 || c.mask != "" {
			extra()
			return
		}
		v := unquote(vals[0])
		if strings.HasSuffix(v, `\*`) {
			v = strings.TrimSuffix(v, `\*`) + "*"
		} else if strings.HasSuffix(v, "*") {
			// nft's wildcard is iptables' "+"
			v = strings.TrimSuffix(v, "*") + "+"
		}
		if neg {
			v = "!" + v
		}
		if strings.HasPrefix(c.key, "meta i") {
			r.InIface = v
		} else {
			r.OutIface = v
		}
	case "meta mark":
		if len(vals) != 1 {
			extra()
			return
		}
		m := iptables.NormMark(vals[0])
		if c.mask != "" {
			m += "/" + iptables.NormMark(c.mask)
		}
		if neg {
			m = "!" + m
		}
		r.Mark = m
	case "ct state":
		if neg || c.mask != "" {
			extra()
			return
		}
		for _, v := range vals {
			for _, s := range strings.Split(v, ",") {
				if s = strings.TrimSpace(s); s != "" {
					r.CtState = append(r.CtState, strings.ToUpper(s))
				}
			}
		}
	case "ether saddr":
		if len(vals) != 1 || c.mask != "" {
			extra()
			return
		}
		r.SrcMAC = strings.ToLower(vals[0])
		if neg {
			r.SrcMAC = "!" + r.SrcMAC
		}
	case "ether type", "meta protocol", "meta nfproto":
		if len(vals) != 1 {
			extra()
			return
		}
		v := strings.ToLower(vals[0])
		if n, err := strconv.ParseUint(v, 10, 16); err == nil {
			v = fmt.Sprintf("0x%04x", n) // JSON gives ethertypes as numbers
		}
		et, ok := etherTypes[v]
		if !ok {
			et = v
		}
		if neg {
			et = "!" + et
		}
		r.EtherType = et
	case "icmp type", "icmpv6 type", "icmp code", "icmpv6 code":
		proto := iptables.NormProto(strings.Fields(c.key)[0])
		if r.Proto == "" {
			r.Proto = proto
		}
		extra()
	default:
		extra()
	}
}

// parseAddrVal reads an address, prefix or range.
func parseAddrVal(v string) ([]netip.Prefix, bool) {
	if a, b, ok := strings.Cut(v, "-"); ok && !strings.Contains(a, "/") {
		from, err1 := netip.ParseAddr(strings.TrimSpace(a))
		to, err2 := netip.ParseAddr(strings.TrimSpace(b))
		if err1 != nil || err2 != nil {
			return nil, false
		}
		ps := iptables.RangePrefixes(from, to)
		return ps, len(ps) > 0
	}
	p, ok := iptables.ParsePrefix(v)
	if !ok {
		return nil, false
	}
	return []netip.Prefix{p}, true
}

var terminal = map[string]string{
	"accept": "ACCEPT", "drop": "DROP", "reject": "REJECT", "return": "RETURN",
	"continue": "CONTINUE", "jump": "JUMP", "goto": "GOTO", "queue": "QUEUE",
	"dnat": "DNAT", "snat": "SNAT", "masquerade": "MASQUERADE", "redirect": "REDIRECT",
	"tproxy": "TPROXY", "synproxy": "SYNPROXY", "xt-target": "",
}

func applyStmts(r *evidence.FirewallRule, stmts []stmt) {
	var term, mark, log, notrack *stmt
	for k := range stmts {
		s := &stmts[k]
		switch s.kind {
		case "counter":
			r.Pkts, r.Bytes, r.Counters = s.pkts, s.byts, true
		case "comment":
			r.Comment = s.arg
		case "markset", "ctmarkset":
			mark = s
		case "log":
			log = s
		case "notrack":
			notrack = s
		case "extra":
			r.Extra = append(r.Extra, s.text)
		default:
			if _, ok := terminal[s.kind]; ok {
				term = s
			}
		}
	}
	switch {
	case term != nil:
		r.Verdict = terminal[term.kind]
		if term.kind == "xt-target" {
			r.Verdict = strings.ToUpper(term.arg)
		} else {
			r.Target = term.arg
		}
	case notrack != nil:
		r.Verdict = "NOTRACK"
	case mark != nil:
		r.Verdict = "MARK"
		if mark.kind == "ctmarkset" {
			r.Verdict = "CONNMARK"
		}
		r.Target = iptables.NormMark(mark.arg)
	case log != nil:
		r.Verdict = "LOG"
		r.Target = log.arg
	case r.Verdict == "":
		r.Verdict = "COUNTER"
	}
}

// verdictStmt reads a verdict as written in a map: "drop", "jump chain".
func verdictStmt(f []string) stmt {
	if len(f) == 0 {
		return stmt{kind: "extra"}
	}
	s := stmt{kind: f[0]}
	if len(f) > 1 {
		s.arg = f[1]
	}
	if _, ok := terminal[s.kind]; !ok {
		s = stmt{kind: "extra", text: strings.Join(f, " ")}
	}
	return s
}

// rejectTarget names a reject the way iptables does (tcp-reset,
// icmp-admin-prohibited) from nft's "with icmp type X" words.
func rejectTarget(with []string) string {
	if len(with) == 0 {
		return "icmp-port-unreachable"
	}
	kind := with[0]
	rest := with[1:]
	if len(rest) > 0 && rest[0] == "type" {
		rest = rest[1:]
	}
	switch kind {
	case "tcp":
		return "tcp-reset"
	case "icmpv6":
		kind = "icmp6"
	}
	if len(rest) == 0 {
		return kind + "-port-unreachable"
	}
	return kind + "-" + rest[0]
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
		s = strings.ReplaceAll(s, `\"`, `"`)
	}
	return s
}
