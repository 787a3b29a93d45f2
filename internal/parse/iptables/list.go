package iptables

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// listChainRE matches the chain header of `iptables -L`:
//
//	Chain INPUT (policy ACCEPT 47 packets, 11299 bytes)
//	Chain INPUT (policy DROP)
//	Chain KUBE-SERVICES (1 references)
var listChainRE = regexp.MustCompile(`^Chain (\S+) \((?:policy (\S+)(?: (\S+) packets, (\S+) bytes)?|(\d+) references?)\)`)

var legacyWarnRE = regexp.MustCompile(`(?i)^#?\s*Warning: iptables-legacy tables present`)

// tables' built-in chains, used to infer a table that -L did not print.
var tableBuiltins = []struct {
	table  string
	chains string
}{
	{"raw", "OUTPUT PREROUTING"},
	{"nat", "INPUT OUTPUT POSTROUTING PREROUTING"},
	{"nat", "OUTPUT POSTROUTING PREROUTING"}, // kernels before 2.6.36
	{"mangle", "FORWARD INPUT OUTPUT POSTROUTING PREROUTING"},
	{"filter", "FORWARD INPUT OUTPUT"},
}

type listState struct {
	doc        evidence.Doc
	verbose    bool
	lineNums   bool
	headerSeen bool
}

// pendingRule is a rule line waiting for the table of its segment.
type segment struct {
	builtins map[string]bool
	chains   []evidence.Chain
	rules    []evidence.FirewallRule
}

// ParseList reads `iptables -L [-n] [-v] [-x] [--line-numbers] [CHAIN]`.
// The listing does not print the table; it is taken from doc.Command
// (-t raw), else inferred from the built-in chains shown, else filter.
// Several tables printed one after another in one document are told
// apart by a built-in chain appearing a second time.
func ParseList(doc evidence.Doc) (Ruleset, []evidence.Problem) {
	var rs Ruleset
	var probs []evidence.Problem
	rs.Tool = toolOf(doc.Command)
	cmdTable := CommandTable(doc.Command)
	lines := doc.Lines()
	lines, idx := recoverListLines(lines)

	// User chains are known up front so a jump to one is told from a
	// target extension.
	userChains := map[string]bool{}
	for _, l := range lines {
		if m := listChainRE.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			userChains[m[1]] = true
		}
	}

	st := listState{doc: doc}
	var segs []*segment
	cur := &segment{builtins: map[string]bool{}}
	segs = append(segs, cur)
	chain := ""
	chainIdx := -1
	num := 0
	ip6 := rs.Tool == "ip6tables"
	for k, raw := range lines {
		i := idx[k]
		line := strings.TrimRight(raw, " \t")
		trim := strings.TrimSpace(line)
		if trim == "" {
			continue
		}
		if legacyWarnRE.MatchString(trim) {
			rs.Warnings = append(rs.Warnings, doc.Ref(i, raw))
			continue
		}
		if m := listChainRE.FindStringSubmatch(trim); m != nil {
			name := m[1]
			if _, builtin := Hooks[name]; builtin && m[2] != "" {
				if cur.builtins[name] {
					cur = &segment{builtins: map[string]bool{}}
					segs = append(segs, cur)
				}
				cur.builtins[name] = true
			}
			c := evidence.Chain{Tool: rs.Tool, Family: "ip", Name: name, Ref: doc.Ref(i, raw)}
			if m[2] != "" {
				c.Hook = Hooks[name]
				c.Policy = strings.ToUpper(m[2])
				if m[3] != "" {
					p, ok1 := ParseCounter(m[3])
					b, ok2 := ParseCounter(m[4])
					if ok1 && ok2 {
						c.Pkts, c.Bytes, c.Counters = p, b, true
					}
				}
			}
			cur.chains = append(cur.chains, c)
			chain = name
			chainIdx = len(cur.chains) - 1
			num = 0
			st.headerSeen = false
			continue
		}
		if isListHeader(trim) {
			st.verbose = strings.Contains(trim, "pkts")
			st.lineNums = strings.HasPrefix(trim, "num")
			st.headerSeen = true
			continue
		}
		if strings.HasPrefix(trim, "#") {
			continue
		}
		if chain == "" {
			probs = append(probs, doc.Problemf(i, "iptables: rule line before any Chain header: %q", clipText(trim)))
			continue
		}
		if strings.HasPrefix(trim, "```") {
			continue // a Markdown fence around a paste
		}
		for _, one := range splitRuleRun(trim, st) {
			num++
			r, ok, why := st.parseRuleLine(one, userChains)
			if !ok {
				probs = append(probs, doc.Problemf(i, "iptables: cannot read rule line (%s): %q", why, clipText(one)))
				continue
			}
			if r.Num == 0 {
				r.Num = num
			}
			r.Tool = rs.Tool
			r.Family = "ip"
			r.Chain = chain
			r.Hook = cur.chains[chainIdx].Hook
			r.Ref = doc.Ref(i, raw)
			if hasIPv6(r.Src) || hasIPv6(r.Dst) {
				ip6 = true
			}
			cur.rules = append(cur.rules, r)
		}
		if len(cur.rules)+len(rs.Rules) > maxRules {
			probs = append(probs, doc.Problemf(i, "iptables: more than %d rules; the rest is ignored", maxRules))
			break
		}
	}
	if ip6 {
		rs.Tool = "ip6tables"
	}
	family := "ip"
	if ip6 {
		family = "ip6"
	}
	for n, s := range segs {
		if len(s.chains) == 0 {
			continue
		}
		table := ""
		if cmdTable != "" && len(segs) == 1 {
			table = cmdTable
		} else if doc.Command != "" && cmdTable == "" && len(segs) == 1 {
			table = "filter"
		} else {
			table = guessTable(s.builtins)
			rs.TableGuessed = true
			if table == "" {
				table = "filter"
				probs = append(probs, doc.Problemf(-1, "iptables -L does not print the table and the command is not known; chains %s taken to be in filter", chainNames(s.chains)))
			}
		}
		_ = n
		rs.Tables = append(rs.Tables, table)
		for _, c := range s.chains {
			c.Table, c.Tool, c.Family = table, rs.Tool, family
			rs.Chains = append(rs.Chains, c)
		}
		for _, r := range s.rules {
			r.Table, r.Tool, r.Family = table, rs.Tool, family
			rs.Rules = append(rs.Rules, r)
		}
	}
	return rs, probs
}

// maxRules bounds what one document can make us keep.
const maxRules = 200000

func chainNames(cs []evidence.Chain) string {
	var n []string
	for _, c := range cs {
		n = append(n, c.Name)
		if len(n) == 5 {
			n = append(n, "...")
			break
		}
	}
	return strings.Join(n, ",")
}

func guessTable(builtins map[string]bool) string {
	var names []string
	for _, n := range []string{"FORWARD", "INPUT", "OUTPUT", "POSTROUTING", "PREROUTING"} {
		if builtins[n] {
			names = append(names, n)
		}
	}
	key := strings.Join(names, " ")
	for _, t := range tableBuiltins {
		if t.chains == key {
			return t.table
		}
	}
	return ""
}

func isListHeader(s string) bool {
	f := strings.Fields(s)
	if len(f) < 3 {
		return false
	}
	switch f[0] {
	case "num", "pkts", "target":
		return strings.Contains(s, "prot") && strings.Contains(s, "source")
	}
	return false
}

func isOpt(s string) bool { return s == "--" || s == "-f" || s == "!f" }

// tokOff is a token with its byte offset in the line.
type tokOff struct {
	s   string
	off int
}

// fieldsOff splits s at blanks, keeping each token's offset, up to limit
// tokens: a rule line's fixed columns need the first few, splitting glued
// rules needs them all (bounded against hostile lines).
func fieldsOff(s string, limit int) []tokOff {
	var out []tokOff
	i := 0
	for i < len(s) && len(out) < limit {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) {
			break
		}
		j := i
		for j < len(s) && s[j] != ' ' && s[j] != '\t' {
			j++
		}
		out = append(out, tokOff{s[i:j], i})
		i = j
	}
	return out
}

// parseRuleLine reads the fixed columns of a rule, then its options.
func (st *listState) parseRuleLine(line string, userChains map[string]bool) (evidence.FirewallRule, bool, string) {
	var r evidence.FirewallRule
	t := fieldsOff(line, 16)
	i := 0
	lineNums, verbose := st.lineNums, st.verbose
	if !st.headerSeen {
		// The header was lost (a paste that dropped lines): guess the
		// columns from the first tokens.
		lineNums, verbose = guessColumns(t)
	}
	if lineNums {
		if len(t) == 0 {
			return r, false, "empty"
		}
		n, err := strconv.Atoi(t[0].s)
		if err != nil {
			return r, false, "no rule number"
		}
		r.Num = n
		i++
	}
	if verbose {
		if len(t) < i+2 {
			return r, false, "no counters"
		}
		p, ok1 := ParseCounter(t[i].s)
		b, ok2 := ParseCounter(t[i+1].s)
		if !ok1 || !ok2 {
			return r, false, "bad counters"
		}
		r.Pkts, r.Bytes, r.Counters = p, b, true
		i += 2
	}
	// target? prot opt? : opt is "--", "-f" or "!f"; old ip6tables
	// prints it blank.
	target, prot := "", ""
	k := -1
	switch {
	case len(t) > i+1 && isOpt(t[i+1].s):
		prot, k = t[i].s, i+1
	case len(t) > i+2 && isOpt(t[i+2].s):
		target, prot, k = t[i].s, t[i+1].s, i+2
	default:
		// No opt column (ip6tables before 1.8): anchor on the two
		// address columns, which follow the interfaces with -v.
		a := i + 1 // first address when there is no target
		if verbose {
			a += 2
		}
		at := func(n int) bool { return n < len(t) && addrLike(t[n].s) }
		switch {
		case at(a) && at(a+1):
			prot, k = t[i].s, i
		case at(a+1) && at(a+2):
			target, prot, k = t[i].s, t[i+1].s, i+1
		default:
			return r, false, "columns not recognised"
		}
	}
	if t[k].s == "-f" || t[k].s == "!f" {
		r.Extra = append(r.Extra, "fragment "+t[k].s)
	}
	j := k + 1
	if verbose {
		if len(t) < j+2 {
			return r, false, "no interfaces"
		}
		r.InIface = ifaceCol(t[j].s)
		r.OutIface = ifaceCol(t[j+1].s)
		j += 2
	}
	if len(t) < j+2 {
		return r, false, "no addresses"
	}
	if !verbose {
		// Without -v the interface columns are not printed: the rule may
		// be restricted to an interface we cannot see.
		r.Extra = append(r.Extra, "interfaces not shown (listed without -v)")
	}
	var ok bool
	if r.Src, ok = addrOrAny(t[j].s); !ok {
		r.Extra = append(r.Extra, "source "+t[j].s)
	}
	if r.Dst, ok = addrOrAny(t[j+1].s); !ok {
		r.Extra = append(r.Extra, "destination "+t[j+1].s)
	}
	rest := ""
	if end := t[j+1].off + len(t[j+1].s); end < len(line) {
		rest = strings.TrimSpace(line[end:])
	}
	r.Proto = NormProto(prot)
	if r.Proto == "all" {
		r.Proto = ""
	}
	applyListOptions(&r, target, rest, userChains)
	return r, true, ""
}

// guessColumns decides from a rule line whether it carries a rule number
// and counters when no header was seen.
func guessColumns(t []tokOff) (lineNums, verbose bool) {
	isNum := func(k int) bool {
		if k >= len(t) {
			return false
		}
		_, ok := ParseCounter(t[k].s)
		return ok
	}
	switch {
	case isNum(0) && isNum(1) && isNum(2):
		return true, true
	case isNum(0) && isNum(1):
		return false, true
	case isNum(0):
		return true, false
	}
	return false, false
}

func ifaceCol(s string) string {
	switch s {
	case "*", "any":
		return ""
	}
	return s
}

// targetMarkers says where a target's own text starts in the options
// column: REJECT prints "reject-with ...", MARK "MARK set 0x1", DNAT
// "to:...".
var targetMarkers = map[string][]string{
	"REJECT":     {"reject-with"},
	"DNAT":       {"to:"},
	"SNAT":       {"to:"},
	"NETMAP":     {"to:"},
	"MASQUERADE": {"masq"},
	"REDIRECT":   {"redir"},
	"NFLOG":      {"nflog-"},
}

// applyListOptions reads the options column of `iptables -L`: match text
// first, then the target's own text.
func applyListOptions(r *evidence.FirewallRule, target, rest string, userChains map[string]bool) {
	toks := splitQuoted(rest)
	goTo := false
	if n := len(toks); n > 0 && toks[n-1] == "[goto]" {
		goTo = true
		toks = toks[:n-1]
	}
	verdict, jump := verdictOf(target, userChains)
	// Split off the target's text.
	var ttoks []string
	if !jump && verdict != "COUNTER" {
		markers := targetMarkers[verdict]
		if markers == nil {
			markers = []string{verdict}
		}
	find:
		for k, tk := range toks {
			for _, m := range markers {
				if tk == m || (strings.HasSuffix(m, ":") || strings.HasSuffix(m, "-")) && strings.HasPrefix(tk, m) {
					ttoks = toks[k:]
					toks = toks[:k]
					break find
				}
			}
		}
	}
	parseListMatches(r, toks)

	r.Verdict = verdict
	switch {
	case jump:
		r.Target = target
		if goTo {
			r.Verdict = "GOTO"
		}
	case verdict == "REJECT":
		r.Target = "icmp-port-unreachable"
		if len(ttoks) >= 2 {
			r.Target = ttoks[1]
		}
	case verdict == "MARK" || verdict == "CONNMARK":
		// "MARK set 0x1", "MARK xset 0x7/0xffffffff", "MARK or 0x4"
		if len(ttoks) >= 3 && (ttoks[1] == "set" || ttoks[1] == "xset") {
			r.Target = NormMark(ttoks[2])
		} else if len(ttoks) >= 2 {
			r.Target = strings.Join(ttoks[1:], " ")
		}
	case verdict == "CT" && len(ttoks) >= 2 && ttoks[1] == "notrack":
		r.Verdict = "NOTRACK"
	case verdict == "DNAT" || verdict == "SNAT" || verdict == "NETMAP":
		if len(ttoks) > 0 {
			r.Target = strings.TrimPrefix(ttoks[0], "to:")
		}
	case verdict == "LOG":
		for k := 0; k+1 < len(ttoks); k++ {
			if ttoks[k] == "prefix" {
				r.Target = unquote(ttoks[k+1])
			}
		}
	default:
		if len(ttoks) > 0 {
			if ttoks[0] == verdict {
				ttoks = ttoks[1:]
			}
			r.Target = strings.Join(ttoks, " ")
		}
	}
}

// parseListMatches reads the match part of the options column. What it
// does not recognise is kept in Extra, one entry per unrecognised run.
func parseListMatches(r *evidence.FirewallRule, toks []string) {
	var unknown []string
	flush := func() {
		if len(unknown) > 0 {
			r.Extra = append(r.Extra, strings.Join(unknown, " "))
			unknown = nil
		}
	}
	for k := 0; k < len(toks); k++ {
		tk := toks[k]
		neg := false
		if tk == "!" && k+1 < len(toks) {
			neg = true
			k++
			tk = toks[k]
		}
		switch {
		case strings.HasPrefix(tk, "/*"):
			flush()
			c := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(tk, "/*"), "*/"))
			if r.Comment != "" {
				r.Comment += "; "
			}
			r.Comment += c
		case (tk == "tcp" || tk == "udp" || tk == "sctp" || tk == "dccp" || tk == "udplite") && !neg:
			flush()
			// port items follow: dpt:80 spt:1 dpts:1:2 spts:1:2 dpt:!80
			for k+1 < len(toks) {
				nx := toks[k+1]
				name, val, ok := strings.Cut(nx, ":")
				if !ok {
					break
				}
				switch name {
				case "dpt", "dpts", "spt", "spts":
					k++
					if strings.HasPrefix(val, "!") {
						r.Extra = append(r.Extra, tk+" "+nx)
						continue
					}
					pr, ok := ParsePortList(val)
					if !ok {
						r.Extra = append(r.Extra, tk+" "+nx)
						continue
					}
					if name[0] == 'd' {
						r.DPorts = append(r.DPorts, pr...)
					} else {
						r.SPorts = append(r.SPorts, pr...)
					}
					continue
				case "flags", "option":
					k++
					r.Extra = append(r.Extra, tk+" "+nx)
					continue
				}
				break
			}
		case tk == "multiport" && k+2 < len(toks):
			flush()
			kind := toks[k+1]
			k += 2
			val := toks[k]
			mneg := neg
			if val == "!" && k+1 < len(toks) {
				mneg = true
				k++
				val = toks[k]
			}
			if strings.HasPrefix(val, "!") {
				mneg = true
			}
			pr, ok := ParsePortList(strings.TrimPrefix(val, "!"))
			switch {
			case !ok || mneg || (kind != "dports" && kind != "sports"):
				r.Extra = append(r.Extra, strings.TrimSpace(negStr(neg)+"multiport "+kind+" "+val))
			case kind == "dports":
				r.DPorts = append(r.DPorts, pr...)
			default:
				r.SPorts = append(r.SPorts, pr...)
			}
		case (tk == "ctstate" || tk == "state") && k+1 < len(toks):
			flush()
			k++
			val := toks[k]
			if val == "!" && k+1 < len(toks) {
				neg = true
				k++
				val = toks[k]
			}
			if neg {
				r.Extra = append(r.Extra, "! "+tk+" "+val)
				continue
			}
			for _, s := range strings.Split(val, ",") {
				if s != "" {
					r.CtState = append(r.CtState, strings.ToUpper(s))
				}
			}
		case tk == "match-set" && k+2 < len(toks):
			// xt_set: "match-set NAME dst,dst", "! match-set NAME src"
			flush()
			r.Sets = append(r.Sets, evidence.SetMatch{Name: toks[k+1], Dirs: strings.Split(toks[k+2], ","), Negate: neg,
				Text: strings.TrimSpace(negStr(neg) + "match-set " + toks[k+1] + " " + toks[k+2])})
			k += 2
		case tk == "mark" && k+2 < len(toks) && toks[k+1] == "match":
			flush()
			k += 2
			val := toks[k]
			if val == "!" && k+1 < len(toks) {
				neg = true
				k++
				val = toks[k]
			}
			r.Mark = negStr(neg) + val
			if neg {
				r.Mark = "!" + val
			}
		default:
			if neg {
				unknown = append(unknown, "!")
			}
			unknown = append(unknown, tk)
		}
	}
	flush()
}

func negStr(neg bool) string {
	if neg {
		return "! "
	}
	return ""
}

// clipText shortens text quoted in a problem message.
func clipText(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}

// recoverListLines splits lines that a paste joined: a chain header or
// a column header glued to the lines around it. It returns the new lines
// and, for each, the index of the original line it came from.
func recoverListLines(lines []string) ([]string, []int) {
	out := make([]string, 0, len(lines))
	idx := make([]int, 0, len(lines))
	for i, l := range lines {
		parts := splitGlued(l)
		for _, p := range parts {
			out = append(out, p)
			idx = append(idx, i)
		}
	}
	return out, idx
}

var gluedChainRE = regexp.MustCompile(`\s(Chain \S+ \((?:policy \S+(?: \S+ packets, \S+ bytes)?|\d+ references?)\))`)
var gluedHeaderRE = regexp.MustCompile(`((?:num\s+)?(?:pkts\s+bytes\s+)?target\s+prot\s+opt\s+(?:in\s+out\s+)?source\s+destination)`)

func splitGlued(l string) []string {
	if len(l) < 40 || (!strings.Contains(l, "Chain ") && !strings.Contains(l, "destination")) {
		return []string{l}
	}
	var parts []string
	for {
		loc := gluedChainRE.FindStringSubmatchIndex(l)
		if loc == nil {
			break
		}
		parts = append(parts, splitHeader(l[:loc[2]])...)
		l = l[loc[2]:]
		// The rest starts with the chain header; split after it.
		m := listChainRE.FindStringIndex(l)
		if m == nil {
			break
		}
		parts = append(parts, l[:m[1]])
		l = l[m[1]:]
	}
	parts = append(parts, splitHeader(l)...)
	var out []string
	for _, p := range parts {
		if strings.TrimSpace(p) != "" {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return []string{""}
	}
	return out
}

func splitHeader(l string) []string {
	loc := gluedHeaderRE.FindStringIndex(l)
	if loc == nil || (loc[0] == 0 && loc[1] == len(strings.TrimRight(l, " "))) {
		return []string{l}
	}
	return []string{l[:loc[0]], l[loc[0]:loc[1]], l[loc[1]:]}
}

// splitRuleRun splits a line on which a paste joined several rules
// ("1 4 288 DROP 0 -- * * 0.0.0.0/0 192.0.2.100 2 1 60 CT 6 -- ..."). Each
// rule has exactly one opt column ("--", "-f", "!f"); a rule starts at
// its protocol, the target before it unless that is a counter, then the
// counters and the rule number.
func splitRuleRun(line string, st listState) []string {
	t := fieldsOff(line, 4096)
	var opts []int
	inComment := false
	for k, tk := range t {
		switch {
		case strings.HasPrefix(tk.s, "/*"):
			inComment = !strings.HasSuffix(tk.s, "*/") || tk.s == "/*"
		case inComment:
			inComment = !strings.HasSuffix(tk.s, "*/")
		case isOpt(tk.s):
			opts = append(opts, k)
		}
	}
	if len(opts) < 2 {
		return []string{line}
	}
	lineNums, verbose := st.lineNums, st.verbose
	if !st.headerSeen {
		lineNums, verbose = guessColumns(t)
	}
	var starts []int
	for _, o := range opts {
		s := o - 1 // protocol
		if s-1 >= 0 {
			if _, isNum := ParseCounter(t[s-1].s); !isNum || !verbose && !lineNums {
				s-- // a target
			}
		}
		if verbose {
			s -= 2
		}
		if lineNums {
			s--
		}
		if s < 0 {
			return []string{line}
		}
		starts = append(starts, s)
	}
	if starts[0] != 0 {
		return []string{line}
	}
	var out []string
	for n, s := range starts {
		end := len(line)
		if n+1 < len(starts) {
			if starts[n+1] <= s {
				return []string{line}
			}
			end = t[starts[n+1]].off
		}
		out = append(out, strings.TrimSpace(line[t[s].off:end]))
	}
	return out
}
