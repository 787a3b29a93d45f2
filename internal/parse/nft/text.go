package nft

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var (
	tableRE   = regexp.MustCompile(`^table\s+(?:(ip|ip6|inet|bridge|arp|netdev)\s+)?(\S+)\s*\{`)
	chainRE   = regexp.MustCompile(`^chain\s+(\S+)\s*\{`)
	setRE     = regexp.MustCompile(`^(set|map)\s+(\S+)\s*\{`)
	blockRE   = regexp.MustCompile(`^(flowtable|counter|quota|ct\s+helper|ct\s+timeout|ct\s+expectation|limit|secmark|synproxy)\s+\S+\s*\{`)
	hookRE    = regexp.MustCompile(`type\s+(\w+)\s+hook\s+(\w+)(?:\s+devices?\s*=?\s*(?:"[^"]*"|\{[^}]*\}|\S+))?\s+priority\s+[^;]+;`)
	policyRE  = regexp.MustCompile(`policy\s+(\w+)\s*;?`)
	handleRE  = regexp.MustCompile(`\s*# handle \d+\s*$`)
	managedRE = regexp.MustCompile(`^# Warning: table (\S+) (\S+) is managed by (\S+), do not touch!`)
	defineRE  = regexp.MustCompile(`^define\s+(\w+)\s*=\s*(.+)$`)
)

// terseRE is `nft -t` / `nft --terse`, which lists sets without their
// elements.
var terseRE = regexp.MustCompile(`^(?:\S*/)?nft\s+(?:-\w*t\w*|--terse)\b|^(?:\S*/)?nft\s.*\s(?:-t|--terse)\s`)

// maxRules bounds what one document can make us keep.
const maxRules = 200000

// ParseText reads `nft [-a] [-n] list ruleset` (or list table / chain)
// and nftables.conf files.
func ParseText(doc evidence.Doc) (Ruleset, []evidence.Problem) {
	var rs Ruleset
	var probs []evidence.Problem
	lines := doc.Lines()

	type tableState struct {
		family, name string
		sets         map[string]*nset
		rules        []pending
	}
	var tbl *tableState
	var chain *chainCtx
	var chainIdx int
	num := 0
	depth := 0      // brace depth of what is open
	skipDepth := -1 // inside a block we skip (flowtable, counter, ...)
	var curSet *nset
	setDepth := -1
	defines := map[string]string{}
	managed := map[string]string{} // "family name" -> tool
	cmdFamily, cmdTable, cmdChain := commandTarget(doc.Command)
	terse := terseRE.MatchString(doc.Command)

	flushTable := func() {
		if tbl == nil {
			return
		}
		for _, p := range tbl.rules {
			rs.Rules = append(rs.Rules, build(p.r, p.ctx, p.num, tbl.sets)...)
			for _, c := range p.r.conds {
				if c.set == "" {
					continue
				}
				what := fmt.Sprintf("the elements of nft set %s %s %s", tbl.family, tbl.name, c.set)
				s, ok := tbl.sets[c.set]
				switch {
				case !ok:
					what += " (not in this listing)"
				case len(s.elems) > 0:
					continue
				case terse:
					what += " (nft -t leaves them out)"
				default:
					// A full listing prints an empty set the same way.
					what += " (empty, or left out of the listing)"
				}
				rs.Hidden = append(rs.Hidden, evidence.Hidden{Kind: evidence.KindFirewall, What: what,
					Command: fmt.Sprintf("nft list set %s %s %s", tbl.family, tbl.name, c.set), Ref: p.r.ref})
			}
		}
		tbl = nil
	}

	for i := 0; i < len(lines); i++ {
		raw := lines[i]
		line := strings.TrimSpace(raw)
		if line == "" {
			continue
		}
		if m := managedRE.FindStringSubmatch(line); m != nil {
			managed[m[1]+" "+m[2]] = m[3]
			rs.Warnings = append(rs.Warnings, doc.Ref(i, raw))
			continue
		}
		if strings.HasPrefix(line, "#") || strings.HasPrefix(line, "```") {
			continue
		}
		line = handleRE.ReplaceAllString(line, "")
		// Join a statement whose braces continue on later lines (named
		// set elements wrap; configs spread anonymous sets).
		first := i
		for strings.Count(line, "{")-strings.Count(line, "}") > 0 && !opensBlock(line) && i+1 < len(lines) && i-first < 10000 {
			i++
			line += " " + strings.TrimSpace(handleRE.ReplaceAllString(lines[i], ""))
		}
		ref := doc.Ref(first, raw)

		if skipDepth >= 0 {
			depth += strings.Count(line, "{") - strings.Count(line, "}")
			if depth <= skipDepth {
				skipDepth = -1
			}
			continue
		}
		if curSet != nil {
			if line == "}" {
				depth--
				if depth <= setDepth {
					curSet, setDepth = nil, -1
				}
				continue
			}
			readSetLine(curSet, line, defines)
			continue
		}
		if m := defineRE.FindStringSubmatch(line); m != nil && depth == 0 {
			defines[m[1]] = strings.TrimSpace(m[2])
			continue
		}
		if m := tableRE.FindStringSubmatch(line); m != nil {
			flushTable()
			fam := m[1]
			if fam == "" {
				fam = "ip"
			}
			tbl = &tableState{family: fam, name: m[2], sets: map[string]*nset{}}
			t := Table{Family: fam, Name: m[2], ManagedBy: managed[fam+" "+m[2]], Ref: ref}
			rs.Tables = append(rs.Tables, t)
			depth = 1
			chain = nil
			continue
		}
		if line == "}" || line == "};" {
			depth--
			if depth <= 0 {
				flushTable()
				depth = 0
			}
			if depth <= 1 {
				chain = nil
			}
			continue
		}
		if tbl == nil && cmdTable != "" && (chainRE.MatchString(line) || setRE.MatchString(line)) {
			// `nft list chain inet filter input` prints the table line;
			// a paste may have lost it.
			tbl = &tableState{family: cmdFamily, name: cmdTable, sets: map[string]*nset{}}
			rs.Tables = append(rs.Tables, Table{Family: cmdFamily, Name: cmdTable, Ref: ref})
			depth = 1
		}
		if tbl == nil {
			if isNoise(line) {
				continue
			}
			probs = append(probs, doc.Problemf(first, "nft: line outside any table: %q", evidence.Clip(line, 120)))
			continue
		}
		if m := setRE.FindStringSubmatch(line); m != nil && depth == 1 {
			s := &nset{}
			tbl.sets[m[2]] = s
			depth++
			setDepth = depth - 1
			curSet = s
			// "set x { type ipv4_addr; elements = { ... } }" on one line
			if body := strings.TrimSpace(line[len(m[0]):]); body != "" {
				for _, part := range splitSemis(body) {
					readSetLine(s, part, defines)
				}
				if strings.Count(line, "{") == strings.Count(line, "}") {
					depth--
					curSet, setDepth = nil, -1
				}
			}
			continue
		}
		if blockRE.MatchString(line) {
			skipDepth = depth
			depth += strings.Count(line, "{") - strings.Count(line, "}")
			if depth <= skipDepth {
				skipDepth = -1
			}
			continue
		}
		if m := chainRE.FindStringSubmatch(line); m != nil && depth == 1 {
			chain = &chainCtx{family: tbl.family, table: tbl.name, name: m[1]}
			rs.Chains = append(rs.Chains, evidence.Chain{Tool: "nft", Family: tbl.family, Table: tbl.name, Name: m[1], Ref: ref})
			chainIdx = len(rs.Chains) - 1
			num = 0
			depth = 2
			if rest := strings.TrimSpace(line[len(m[0]):]); rest != "" {
				// A one-line chain body "chain x { type ...; policy drop; }".
				readChainHeader(&rs.Chains[chainIdx], chain, rest)
				if strings.HasSuffix(rest, "}") {
					depth = 1
					chain = nil
				}
			}
			continue
		}
		if chain == nil {
			if isNoise(line) || strings.HasPrefix(line, "flags ") || strings.HasPrefix(line, "comment ") {
				continue
			}
			probs = append(probs, doc.Problemf(first, "nft: line not understood: %q", evidence.Clip(line, 120)))
			continue
		}
		if hookRE.MatchString(line) || (policyRE.MatchString(line) && strings.HasPrefix(line, "policy")) {
			readChainHeader(&rs.Chains[chainIdx], chain, line)
			continue
		}
		if strings.HasPrefix(line, "comment ") || strings.HasPrefix(line, "flags ") || strings.HasPrefix(line, "devices ") {
			continue
		}
		num++
		r := parseRuleText(expandDefines(line, defines))
		r.ref = ref
		tbl.rules = append(tbl.rules, pending{r: r, ctx: *chain, num: num})
		if len(rs.Rules)+len(tbl.rules) > maxRules {
			probs = append(probs, doc.Problemf(first, "nft: more than %d rules; the rest is ignored", maxRules))
			break
		}
	}
	flushTable()
	_ = cmdChain
	return rs, probs
}

type pending struct {
	r   prule
	ctx chainCtx
	num int
}

func opensBlock(line string) bool {
	return tableRE.MatchString(line) || chainRE.MatchString(line) || setRE.MatchString(line) || blockRE.MatchString(line)
}

func isNoise(line string) bool {
	for _, p := range []string{"flush ruleset", "#!", "include ", "add ", "flush ", "delete ", "destroy "} {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

// commandTarget reads "nft list table inet filter" / "nft list chain ip
// raw prerouting" so a listing whose header was lost can be placed.
func commandTarget(cmd string) (family, table, chain string) {
	f := strings.Fields(cmd)
	for k := 0; k+1 < len(f); k++ {
		if f[k] != "list" {
			continue
		}
		what := f[k+1]
		args := f[k+2:]
		if what != "table" && what != "chain" {
			return
		}
		family = "ip"
		if len(args) > 0 {
			switch args[0] {
			case "ip", "ip6", "inet", "bridge", "arp", "netdev":
				family = args[0]
				args = args[1:]
			}
		}
		if len(args) > 0 {
			table = args[0]
		}
		if what == "chain" && len(args) > 1 {
			chain = args[1]
		}
		return
	}
	return
}

func readChainHeader(c *evidence.Chain, ctx *chainCtx, line string) {
	if m := hookRE.FindStringSubmatch(line); m != nil {
		c.Hook = strings.ToLower(m[2])
		ctx.hook = c.Hook
		c.Policy = "ACCEPT" // a base chain without a policy accepts
	}
	if m := policyRE.FindStringSubmatch(line); m != nil {
		c.Policy = strings.ToUpper(m[1])
	}
}

func splitSemis(s string) []string {
	var out []string
	depth := 0
	start := 0
	for k := 0; k < len(s); k++ {
		switch s[k] {
		case '{':
			depth++
		case '}':
			depth--
		case ';':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:k]))
				start = k + 1
			}
		}
	}
	out = append(out, strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s[start:]), "}")))
	return out
}

func readSetLine(s *nset, line string, defines map[string]string) {
	line = strings.TrimSuffix(strings.TrimSpace(line), ";")
	switch {
	case strings.HasPrefix(line, "type "):
		s.typ = strings.TrimSpace(strings.TrimPrefix(line, "type "))
	case strings.HasPrefix(line, "elements"):
		_, body, ok := strings.Cut(line, "{")
		if !ok {
			return
		}
		if k := strings.LastIndex(body, "}"); k >= 0 {
			body = body[:k]
		}
		for _, e := range splitTop(body, ',') {
			e = strings.TrimSpace(expandDefines(e, defines))
			if e != "" && len(s.elems) < 65536 {
				s.elems = append(s.elems, e)
			}
		}
	}
}

// splitTop splits on sep outside braces and quotes.
func splitTop(s string, sep byte) []string {
	var out []string
	depth := 0
	inQ := false
	start := 0
	for k := 0; k < len(s); k++ {
		switch c := s[k]; {
		case c == '"':
			inQ = !inQ
		case inQ:
		case c == '{':
			depth++
		case c == '}':
			depth--
		case c == sep && depth == 0:
			out = append(out, s[start:k])
			start = k + 1
		}
	}
	return append(out, s[start:])
}

func expandDefines(s string, defines map[string]string) string {
	if len(defines) == 0 || !strings.Contains(s, "$") {
		return s
	}
	for k, v := range defines {
		s = strings.ReplaceAll(s, "$"+k, v)
	}
	return s
}

// tokenize splits a rule into words, keeping "quoted strings" and
// { anonymous sets } whole.
func tokenize(s string) []string {
	var out []string
	i := 0
	for i < len(s) && len(out) < 4096 {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) {
			break
		}
		start := i
		switch s[i] {
		case '"':
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' {
					i++
				}
				i++
			}
			i++
		case '{':
			depth := 0
			for i < len(s) {
				if s[i] == '{' {
					depth++
				} else if s[i] == '}' {
					depth--
					if depth == 0 {
						i++
						break
					}
				} else if s[i] == '"' {
					i++
					for i < len(s) && s[i] != '"' {
						i++
					}
				}
				i++
			}
		default:
			for i < len(s) && s[i] != ' ' && s[i] != '\t' {
				i++
			}
		}
		if i > len(s) {
			i = len(s)
		}
		out = append(out, s[start:i])
	}
	return out
}

// setVals splits "{ 80, 443 }" into its elements; a plain value is one.
func setVals(tok string) []string {
	if !strings.HasPrefix(tok, "{") {
		return []string{unquote(tok)}
	}
	body := strings.TrimSuffix(strings.TrimPrefix(tok, "{"), "}")
	var out []string
	for _, e := range splitTop(body, ',') {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, unquote(e))
		}
	}
	return out
}

var payloadProtos = map[string]bool{
	"ip": true, "ip6": true, "tcp": true, "udp": true, "sctp": true, "dccp": true,
	"udplite": true, "th": true, "ether": true, "arp": true, "icmp": true, "icmpv6": true,
	"vlan": true, "ah": true, "esp": true, "comp": true, "igmp": true, "gre": true,
	"ipip": true, "vxlan": true, "geneve": true, "rt": true, "hbh": true, "frag": true,
	"dst": true, "mh": true, "srh": true, "ipcomp": true,
}

// bareMeta are meta keys nft prints without "meta".
var bareMeta = map[string]bool{
	"iifname": true, "oifname": true, "iif": true, "oif": true, "mark": true,
	"l4proto": true, "nfproto": true, "iiftype": true, "oiftype": true, "skuid": true,
	"skgid": true, "rtclassid": true, "ibrname": true, "obrname": true, "ibriport": true,
	"obriport": true, "pkttype": true, "cpu": true, "iifgroup": true, "oifgroup": true,
	"cgroup": true, "priority": true, "random": true, "ipsec": true, "time": true, "day": true, "hour": true,
}

var ops = map[string]string{
	"==": "==", "eq": "==", "!=": "!=", "ne": "!=", "<": "<", "lt": "<", ">": ">",
	"gt": ">", "<=": "<=", "le": "<=", ">=": ">=", "ge": ">=",
}

// statement words that start something other than a match.
var stmtWords = map[string]bool{
	"counter": true, "accept": true, "drop": true, "reject": true, "return": true,
	"continue": true, "jump": true, "goto": true, "queue": true, "log": true,
	"limit": true, "notrack": true, "dnat": true, "snat": true, "masquerade": true,
	"redirect": true, "tproxy": true, "comment": true, "xt": true, "synproxy": true,
	"quota": true, "dup": true, "fwd": true, "set": true, "add": true, "update": true,
	"delete": true, "numgen": false,
}

// parseRuleText reads one rule line into the intermediate form.
func parseRuleText(line string) prule {
	var r prule
	t := tokenize(line)
	var unknown []string
	flush := func() {
		if len(unknown) > 0 {
			r.stmts = append(r.stmts, stmt{kind: "extra", text: strings.Join(unknown, " ")})
			unknown = nil
		}
	}
	at := func(k int) string {
		if k < len(t) {
			return t[k]
		}
		return ""
	}
	for k := 0; k < len(t); {
		w := t[k]
		// statements
		switch {
		case w == "counter":
			flush()
			s := stmt{kind: "counter"}
			k++
			if at(k) == "packets" {
				s.pkts, _ = strconv.ParseUint(at(k+1), 10, 64)
				s.byts, _ = strconv.ParseUint(at(k+3), 10, 64)
				k += 4
			} else if at(k) == "name" {
				k += 2
				continue // a named counter: no numbers here
			}
			r.stmts = append(r.stmts, s)
			continue
		case w == "accept" || w == "drop" || w == "return" || w == "continue":
			flush()
			r.stmts = append(r.stmts, stmt{kind: w})
			k++
			continue
		case w == "jump" || w == "goto":
			flush()
			r.stmts = append(r.stmts, stmt{kind: w, arg: unquote(at(k + 1))})
			k += 2
			continue
		case w == "reject":
			flush()
			k++
			var with []string
			if at(k) == "with" {
				k++
				for k < len(t) && !stmtWords[t[k]] && len(with) < 3 {
					with = append(with, t[k])
					k++
				}
			}
			r.stmts = append(r.stmts, stmt{kind: "reject", arg: rejectTarget(with)})
			continue
		case w == "log":
			flush()
			s := stmt{kind: "log"}
			k++
			for k < len(t) {
				switch t[k] {
				case "prefix":
					s.arg = unquote(at(k + 1))
					k += 2
					continue
				case "level", "group", "snaplen", "queue-threshold", "flags":
					k += 2
					continue
				}
				break
			}
			r.stmts = append(r.stmts, s)
			continue
		case w == "notrack":
			flush()
			r.stmts = append(r.stmts, stmt{kind: "notrack"})
			k++
			continue
		case w == "comment":
			flush()
			r.stmts = append(r.stmts, stmt{kind: "comment", arg: unquote(at(k + 1))})
			k += 2
			continue
		case w == "dnat" || w == "snat" || w == "masquerade" || w == "redirect" || w == "tproxy" || w == "queue":
			flush()
			s := stmt{kind: w}
			k++
			var args []string
			for k < len(t) && !stmtWords[t[k]] {
				args = append(args, t[k])
				k++
			}
			// "dnat ip to 172.17.0.2:80" -> "172.17.0.2:80"
			for q := 0; q < len(args); q++ {
				if args[q] == "to" && q+1 < len(args) {
					s.arg = args[q+1]
					break
				}
			}
			if s.arg == "" {
				s.arg = strings.Join(args, " ")
			}
			r.stmts = append(r.stmts, s)
			continue
		case w == "xt" && k+2 < len(t) || w == "xt" && k+1 < len(t):
			flush()
			kind, name := at(k+1), unquote(at(k+2))
			if kind == "target" {
				r.stmts = append(r.stmts, stmt{kind: "xt-target", arg: name})
			} else {
				r.stmts = append(r.stmts, stmt{kind: "extra", text: "xt " + kind + " " + name})
			}
			k += 3
			continue
		case w == "limit" || w == "quota":
			flush()
			// limit rate [over] 10/second [burst 5 packets]: a match in
			// effect; keep it visible.
			s := []string{w}
			k++
			for k < len(t) && !stmtWords[t[k]] && !payloadProtos[t[k]] && t[k] != "meta" && t[k] != "ct" && !bareMeta[t[k]] {
				s = append(s, t[k])
				k++
			}
			r.stmts = append(r.stmts, stmt{kind: "extra", text: strings.Join(s, " ")})
			continue
		}
		// "meta mark set X", "mark set X", "ct mark set X"
		if (w == "meta" && at(k+1) == "mark" && at(k+2) == "set") || (w == "mark" && at(k+1) == "set") {
			flush()
			if w == "meta" {
				k++
			}
			r.stmts = append(r.stmts, stmt{kind: "markset", arg: at(k + 2)})
			k += 3
			continue
		}
		if w == "ct" && at(k+1) == "mark" && at(k+2) == "set" {
			flush()
			r.stmts = append(r.stmts, stmt{kind: "ctmarkset", arg: at(k + 3)})
			k += 4
			continue
		}
		// matches: key [& mask] [op] value | key vmap {...}
		var key string
		start := k
		switch {
		case w == "meta" && k+1 < len(t):
			key = "meta " + t[k+1]
			k += 2
		case bareMeta[w]:
			key = "meta " + w
			k++
		case w == "ct" && k+1 < len(t):
			key = "ct " + t[k+1]
			k += 2
			if (t[k-1] == "original" || t[k-1] == "reply") && k < len(t) {
				for k < len(t) && !isOpOrValueStart(t[k]) && len(key) < 64 {
					key += " " + t[k]
					k++
				}
			}
		case payloadProtos[w] && k+1 < len(t) && !isOpOrValueStart(t[k+1]):
			key = w + " " + t[k+1]
			k += 2
			if w == "arp" && (t[k-1] == "saddr" || t[k-1] == "daddr") && k < len(t) && (t[k] == "ip" || t[k] == "ether") {
				key += " " + t[k]
				k++
			}
		default:
			unknown = append(unknown, w)
			k++
			continue
		}
		if at(k) == "." {
			// a concatenation "ip saddr . tcp dport { ... }": not modelled
			for k < len(t) && !stmtWords[t[k]] {
				k++
			}
			flush()
			r.stmts = append(r.stmts, stmt{kind: "extra", text: strings.Join(t[start:k], " ")})
			continue
		}
		c := cond{key: key, op: "=="}
		if at(k) == "&" {
			c.mask = at(k + 1)
			k += 2
		}
		if at(k) == "vmap" {
			flush()
			k++
			v := at(k)
			k++
			kc := c
			kc.text = strings.Join(t[start:k-2], " ")
			r.vmapKey = &kc
			if strings.HasPrefix(v, "@") {
				r.vmapSet = v[1:]
			} else {
				for _, e := range setVals(v) {
					kk, vv, ok := strings.Cut(e, ":")
					if !ok {
						continue
					}
					r.vmap = append(r.vmap, vmapEntry{key: strings.TrimSpace(kk), verdict: verdictStmt(strings.Fields(vv))})
				}
			}
			continue
		}
		if op, ok := ops[at(k)]; ok {
			c.op = op
			k++
		}
		if k >= len(t) {
			unknown = append(unknown, t[start:]...)
			break
		}
		v := t[k]
		k++
		if strings.HasPrefix(v, "@") {
			c.set = v[1:]
		} else {
			c.vals = setVals(v)
		}
		c.text = strings.Join(t[start:k], " ")
		flush()
		r.conds = append(r.conds, c)
	}
	flush()
	return r
}

func isOpOrValueStart(s string) bool {
	if _, ok := ops[s]; ok {
		return true
	}
	if s == "&" || s == "vmap" || s == "." || strings.HasPrefix(s, "{") || strings.HasPrefix(s, "@") || strings.HasPrefix(s, "\"") {
		return true
	}
	return s != "" && (s[0] >= '0' && s[0] <= '9')
}
