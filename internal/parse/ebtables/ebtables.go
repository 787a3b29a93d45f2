// Package ebtables parses what ebtables prints, legacy and nft backends:
// `ebtables [-t nat|filter|broute] -L [--Ln] [--Lc] [--Lx]` and
// `ebtables-save [-c]`. This is where libvirt's nwfilter rules show up on
// a hypervisor (libvirt-I-vnet0, I-vnet0-mac, I-vnet0-ipv4-ip, ...).
//
// Rules are normalised into evidence.FirewallRule with Family "bridge":
// --ip-src/--ip-dst become Src/Dst, -s the SrcMAC, -i/-o the interfaces,
// --ip-proto the Proto, --ip-sport/--ip-dport the ports, and -p (the
// ethertype: IPv4, ARP, 0x0835) goes to EtherType, so an "-p ARP -j DROP"
// rule is known not to touch IP packets. User chains keep their policy:
// unlike iptables, an ebtables user chain has one (ACCEPT, DROP, RETURN).
package ebtables

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/iptables"
)

// Ruleset is what one ebtables listing showed.
type Ruleset struct {
	Tables []string
	Chains []evidence.Chain
	Rules  []evidence.FirewallRule
}

var (
	tableRE     = regexp.MustCompile(`^Bridge table:\s*(\S+)`)
	chainRE     = regexp.MustCompile(`^Bridge chain:\s*([^,\s]+),\s*entries:\s*(\d+),\s*policy:\s*(\S+)`)
	countersRE  = regexp.MustCompile(`\s*,?\s*pcnt\s*=\s*(\d+)\s*--\s*bcnt\s*=\s*(\d+)\s*$`)
	numRE       = regexp.MustCompile(`^(\d+)\.?\s+(-.*)$`)
	saveTableRE = regexp.MustCompile(`^\*(\S+)$`)
	saveChainRE = regexp.MustCompile(`^:(\S+)\s+(ACCEPT|DROP|RETURN|CONTINUE)$`)
	saveCountRE = regexp.MustCompile(`^\[(\d+):(\d+)\]\s*`)
	cmdLineRE   = regexp.MustCompile(`^ebtables(?:-legacy|-nft)?\s+(.*)$`)
	gluedRE     = regexp.MustCompile(`Bridge (?:table|chain):`)
)

// Hooks maps built-in chains to hooks.
var Hooks = map[string]string{
	"PREROUTING": "prerouting", "INPUT": "input", "FORWARD": "forward",
	"OUTPUT": "output", "POSTROUTING": "postrouting", "BROUTING": "brouting",
}

const maxRules = 200000

// Parse reads any ebtables listing or dump.
func Parse(doc evidence.Doc) (Ruleset, []evidence.Problem) {
	var rs Ruleset
	var probs []evidence.Problem
	table := iptables.CommandTable(doc.Command)
	if table == "" {
		table = "filter"
	}
	tableSet := false
	addTable := func(t string) {
		table = t
		for _, x := range rs.Tables {
			if x == t {
				return
			}
		}
		rs.Tables = append(rs.Tables, t)
	}
	lines, idx := recoverLines(doc.Lines())

	// Chains declared anywhere tell a jump from a target extension.
	chains := map[string]bool{}
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if m := chainRE.FindStringSubmatch(l); m != nil {
			chains[m[1]] = true
		} else if m := saveChainRE.FindStringSubmatch(l); m != nil {
			chains[m[1]] = true
		} else if f := strings.Fields(l); len(f) >= 2 && (f[len(f)-2] == "-N" || f[0] == "-N") {
			chains[f[len(f)-1]] = true
		}
	}

	chain := ""
	nums := map[string]int{}
	for k, raw := range lines {
		i := idx[k]
		line := strings.TrimSpace(stripAnnotation(raw))
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "```") || line == "COMMIT" {
			continue
		}
		if m := tableRE.FindStringSubmatch(line); m != nil {
			addTable(m[1])
			tableSet = true
			chain = ""
			continue
		}
		if m := chainRE.FindStringSubmatch(line); m != nil {
			if !tableSet {
				addTable(table)
				tableSet = true
			}
			chain = m[1]
			rs.Chains = append(rs.Chains, evidence.Chain{Tool: "ebtables", Family: "bridge", Table: table, Name: chain, Hook: Hooks[chain], Policy: strings.ToUpper(m[3]), Ref: doc.Ref(i, raw)})
			continue
		}
		if m := saveTableRE.FindStringSubmatch(line); m != nil {
			addTable(m[1])
			tableSet = true
			continue
		}
		if m := saveChainRE.FindStringSubmatch(line); m != nil {
			if !tableSet {
				addTable(table)
				tableSet = true
			}
			rs.Chains = append(rs.Chains, evidence.Chain{Tool: "ebtables", Family: "bridge", Table: table, Name: m[1], Hook: Hooks[m[1]], Policy: m[2], Ref: doc.Ref(i, raw)})
			continue
		}
		var r evidence.FirewallRule
		body := line
		if m := cmdLineRE.FindStringSubmatch(body); m != nil {
			// --Lx prints the commands that rebuild the table.
			body = m[1]
			if t := iptables.CommandTable("x " + body); t != "" {
				addTable(t)
				tableSet = true
			}
			body = dropTableFlag(body)
			f := strings.Fields(body)
			if len(f) >= 2 && (f[0] == "-N" || f[0] == "-P") {
				c := evidence.Chain{Tool: "ebtables", Family: "bridge", Table: table, Name: f[1], Hook: Hooks[f[1]], Ref: doc.Ref(i, raw)}
				if f[0] == "-P" && len(f) >= 3 {
					c.Policy = strings.ToUpper(f[2])
				}
				if f[0] == "-N" && len(f) >= 4 && f[2] == "-P" {
					c.Policy = strings.ToUpper(f[3])
				}
				rs.Chains = append(rs.Chains, c)
				continue
			}
		}
		if m := saveCountRE.FindStringSubmatch(body); m != nil {
			r.Pkts, _ = strconv.ParseUint(m[1], 10, 64)
			r.Bytes, _ = strconv.ParseUint(m[2], 10, 64)
			r.Counters = true
			body = body[len(m[0]):]
		}
		if m := countersRE.FindStringSubmatch(body); m != nil {
			r.Pkts, _ = strconv.ParseUint(m[1], 10, 64)
			r.Bytes, _ = strconv.ParseUint(m[2], 10, 64)
			r.Counters = true
			body = strings.TrimSpace(body[:len(body)-len(m[0])])
		}
		if m := numRE.FindStringSubmatch(body); m != nil {
			r.Num, _ = strconv.Atoi(m[1])
			body = m[2]
		}
		toks := strings.Fields(body)
		if len(toks) > 0 && (toks[0] == "-A" || toks[0] == "-I") && len(toks) >= 2 {
			chain = toks[1]
			toks = toks[2:]
			if !tableSet {
				addTable(table)
				tableSet = true
			}
		}
		if chain == "" {
			probs = append(probs, doc.Problemf(i, "ebtables: rule before any chain: %q", evidence.Clip(line, 120)))
			continue
		}
		if len(toks) == 0 || !strings.HasPrefix(toks[0], "-") && toks[0] != "!" {
			probs = append(probs, doc.Problemf(i, "ebtables: line not understood: %q", evidence.Clip(line, 120)))
			continue
		}
		key := table + "\x00" + chain
		nums[key]++
		if r.Num == 0 {
			r.Num = nums[key]
		}
		parseRule(&r, toks, chains)
		r.Tool, r.Family, r.Table, r.Chain, r.Hook = "ebtables", "bridge", table, chain, Hooks[chain]
		r.Ref = doc.Ref(i, raw)
		rs.Rules = append(rs.Rules, r)
		if len(rs.Rules) > maxRules {
			probs = append(probs, doc.Problemf(i, "ebtables: more than %d rules; the rest is ignored", maxRules))
			break
		}
	}
	return rs, probs
}

func dropTableFlag(s string) string {
	f := strings.Fields(s)
	var out []string
	for k := 0; k < len(f); k++ {
		if f[k] == "-t" || f[k] == "--table" {
			k++
			continue
		}
		out = append(out, f[k])
	}
	return strings.Join(out, " ")
}

// stripAnnotation drops a "#..." note a person appended to a pasted line
// (ebtables itself never prints '#' in a rule).
func stripAnnotation(s string) string {
	if k := strings.Index(s, " #"); k > 0 && !strings.HasPrefix(strings.TrimSpace(s), "#") {
		return s[:k]
	}
	return s
}

// parseRule reads the options of one rule.
func parseRule(r *evidence.FirewallRule, toks []string, chains map[string]bool) {
	neg := false
	var unknown []string
	flush := func() {
		if len(unknown) > 0 {
			r.Extra = append(r.Extra, strings.Join(unknown, " "))
			unknown = nil
		}
	}
	// val reads an option's value, honouring the old "--opt ! value"
	// negation that ebtables prints.
	val := func(k *int) (string, bool) {
		n := neg
		if *k+1 < len(toks) && toks[*k+1] == "!" {
			n = !n
			*k++
		}
		if *k+1 < len(toks) {
			*k++
			return toks[*k], n
		}
		return "", n
	}
	target := ""
	var targs []string
	for k := 0; k < len(toks); k++ {
		tk := toks[k]
		if tk == "!" {
			neg = true
			continue
		}
		switch tk {
		case "-p", "--protocol", "--proto":
			flush()
			v, n := val(&k)
			et := normEtherType(v)
			if n {
				et = "!" + et
			}
			r.EtherType = et
		case "-i", "--in-interface", "--in-if", "-o", "--out-interface", "--out-if":
			flush()
			v, n := val(&k)
			if n {
				v = "!" + v
			}
			if tk == "-i" || strings.HasPrefix(tk, "--in") {
				r.InIface = v
			} else {
				r.OutIface = v
			}
		case "-s", "--source", "--src":
			flush()
			v, n := val(&k)
			r.SrcMAC = normMAC(v)
			if n {
				r.SrcMAC = "!" + r.SrcMAC
			}
		case "--ip-src", "--ip-source", "--ip6-src", "--ip6-source", "--ip-dst", "--ip-destination", "--ip6-dst", "--ip6-destination":
			flush()
			v, n := val(&k)
			p, ok := iptables.ParsePrefix(v)
			if !ok {
				r.Extra = append(r.Extra, strings.TrimSpace(negWord(n)+tk+" "+v))
				break
			}
			m := evidence.AddrMatch{Negate: n}
			m.Prefixes = append(m.Prefixes, p)
			if strings.Contains(tk, "src") || strings.Contains(tk, "source") {
				r.Src = m
			} else {
				r.Dst = m
			}
		case "--ip-proto", "--ip-protocol", "--ip6-proto", "--ip6-protocol":
			flush()
			v, n := val(&k)
			p := iptables.NormProto(v)
			if n {
				p = "!" + p
			}
			r.Proto = p
		case "--ip-sport", "--ip-source-port", "--ip-dport", "--ip-destination-port",
			"--ip6-sport", "--ip6-source-port", "--ip6-dport", "--ip6-destination-port":
			flush()
			v, n := val(&k)
			pr, ok := iptables.ParsePortList(v)
			if n || !ok {
				r.Extra = append(r.Extra, strings.TrimSpace(negWord(n)+tk+" "+v))
				break
			}
			if strings.Contains(tk, "dport") || strings.Contains(tk, "destination") {
				r.DPorts = append(r.DPorts, pr...)
			} else {
				r.SPorts = append(r.SPorts, pr...)
			}
		case "--mark":
			flush()
			v, n := val(&k)
			r.Mark = v
			if n {
				r.Mark = "!" + v
			}
		case "-c", "--set-counters":
			if k+2 < len(toks) {
				p, e1 := strconv.ParseUint(toks[k+1], 10, 64)
				b, e2 := strconv.ParseUint(toks[k+2], 10, 64)
				if e1 == nil && e2 == nil {
					r.Pkts, r.Bytes, r.Counters = p, b, true
					k += 2
				}
			}
		case "-j", "--jump":
			flush()
			if k+1 < len(toks) {
				k++
				target = toks[k]
			}
			for k+1 < len(toks) {
				if toks[k+1] == "-c" {
					break
				}
				k++
				targs = append(targs, toks[k])
			}
		default:
			if isWatcher(tk) {
				// --log, --nflog, --ulog watchers record, they do not
				// restrict what matches; skip them and their values.
				for k+1 < len(toks) && !strings.HasPrefix(toks[k+1], "-") && toks[k+1] != "!" {
					k++
				}
				break
			}
			if strings.HasPrefix(tk, "-") {
				flush() // each unknown option is its own Extra entry
			}
			if neg {
				unknown = append(unknown, "!")
			}
			unknown = append(unknown, tk)
		}
		neg = false
	}
	flush()
	applyTarget(r, target, targs, chains)
}

func isWatcher(tk string) bool {
	for _, p := range []string{"--log", "--nflog", "--ulog"} {
		if tk == p || strings.HasPrefix(tk, p+"-") {
			return true
		}
	}
	return false
}

func negWord(n bool) string {
	if n {
		return "! "
	}
	return ""
}

func applyTarget(r *evidence.FirewallRule, target string, args []string, chains map[string]bool) {
	up := strings.ToUpper(target)
	switch {
	case target == "":
		r.Verdict = "CONTINUE" // ebtables' default target
	case up == "ACCEPT" || up == "DROP" || up == "RETURN" || up == "CONTINUE":
		r.Verdict = up
	case chains[target]:
		r.Verdict = "JUMP"
		r.Target = target
	default:
		switch strings.ToLower(target) {
		case "dnat", "snat", "redirect", "mark", "arpreply", "log", "nflog", "ulog", "classify", "tee":
			r.Verdict = up
			arg := func(names ...string) string {
				for q := 0; q+1 < len(args); q++ {
					for _, n := range names {
						if args[q] == n {
							return args[q+1]
						}
					}
				}
				return ""
			}
			switch up {
			case "DNAT":
				r.Target = arg("--to-destination", "--to-dst")
			case "SNAT":
				r.Target = arg("--to-source", "--to-src")
			case "MARK":
				r.Target = iptables.NormMark(arg("--mark-set", "--set-mark", "--mark-or", "--mark-and", "--mark-xor"))
			default:
				r.Target = strings.Join(args, " ")
			}
		default:
			// unknown names are user chains defined elsewhere
			r.Verdict = "JUMP"
			r.Target = target
		}
	}
}

// normEtherType keeps the names ebtables prints (IPv4, ARP, IPv6) and
// writes numbers as 0x%04x so "0x835" and "0x0835" agree.
func normEtherType(v string) string {
	if strings.HasPrefix(strings.ToLower(v), "0x") {
		if n, err := strconv.ParseUint(v[2:], 16, 16); err == nil {
			switch n {
			case 0x0800:
				return "IPv4"
			case 0x86dd:
				return "IPv6"
			case 0x0806:
				return "ARP"
			}
			return fmt.Sprintf("0x%04x", n)
		}
	}
	return v
}

// normMAC writes a MAC address (legacy ebtables prints "2:0:73:b6:53:c8")
// as lower-case two-digit octets; a /mask is kept the same way.
func normMAC(v string) string {
	addr, mask, hasMask := strings.Cut(v, "/")
	out := normMAC1(addr)
	if hasMask {
		out += "/" + normMAC1(mask)
	}
	return out
}

func normMAC1(v string) string {
	parts := strings.Split(v, ":")
	if len(parts) != 6 {
		return strings.ToLower(v)
	}
	for k, p := range parts {
		n, err := strconv.ParseUint(p, 16, 8)
		if err != nil {
			return strings.ToLower(v)
		}
		parts[k] = fmt.Sprintf("%02x", n)
	}
	return strings.Join(parts, ":")
}

// recoverLines splits lines a paste joined: "Bridge chain:" headers glued
// to rules, several rules on one line.
func recoverLines(lines []string) ([]string, []int) {
	out := make([]string, 0, len(lines))
	idx := make([]int, 0, len(lines))
	for i, l := range lines {
		for _, p := range splitGlued(l) {
			out = append(out, p)
			idx = append(idx, i)
		}
	}
	return out, idx
}

func splitGlued(l string) []string {
	var parts []string
	// headers
	locs := gluedRE.FindAllStringIndex(l, 256)
	start := 0
	for _, loc := range locs {
		if loc[0] > start {
			parts = append(parts, l[start:loc[0]])
		}
		start = loc[0]
	}
	parts = append(parts, l[start:])
	var out []string
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if m := chainRE.FindStringIndex(p); m != nil && m[1] < len(p) {
			out = append(out, p[:m[1]])
			p = strings.TrimSpace(p[m[1]:])
		} else if m := tableRE.FindStringIndex(p); m != nil && m[1] < len(p) {
			out = append(out, p[:m[1]])
			p = strings.TrimSpace(p[m[1]:])
		}
		out = append(out, splitRules(p)...)
	}
	if len(out) == 0 {
		return []string{l}
	}
	return out
}

var afterCountersRE = regexp.MustCompile(`bcnt\s*=\s*\d+`)

// splitRules splits several rules on one line: after "bcnt = N" when
// counters are shown, else after "-j TARGET" when a single-dash option
// follows (verdicts and chain jumps take no options).
func splitRules(p string) []string {
	if strings.Count(p, "-j ") < 2 {
		return []string{p}
	}
	var out []string
	if locs := afterCountersRE.FindAllStringIndex(p, 4096); len(locs) > 1 {
		start := 0
		for _, loc := range locs {
			out = append(out, strings.TrimSpace(p[start:loc[1]]))
			start = loc[1]
		}
		if rest := strings.TrimSpace(p[start:]); rest != "" {
			out = append(out, rest)
		}
		return out
	}
	f := strings.Fields(p)
	var cur []string
	for k := 0; k < len(f); k++ {
		cur = append(cur, f[k])
		if f[k] == "-j" && k+1 < len(f) {
			k++
			cur = append(cur, f[k])
			if k+1 < len(f) && strings.HasPrefix(f[k+1], "-") && !strings.HasPrefix(f[k+1], "--") {
				out = append(out, strings.Join(cur, " "))
				cur = nil
			}
		}
	}
	if len(cur) > 0 {
		out = append(out, strings.Join(cur, " "))
	}
	return out
}
