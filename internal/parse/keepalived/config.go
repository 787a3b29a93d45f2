// Package keepalived parses keepalived.conf (1.2, 1.3, 2.x and the Alibaba
// FULLNAT fork) with its includes into evidence.KeepalivedConfig.
//
// The tokenizer follows keepalived's own parser: "{" and "}" are tokens
// wherever they stand, "!" and "#" start a comment anywhere outside double
// quotes, a trailing "\" continues a line, `include` splices files in at
// any level. Keyword problems (unknown, misplaced, removed in the version
// the file is written for, bad values) become Issues with their line;
// the VRRP password is never kept, and lines citing it are redacted.
package keepalived

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

type parser struct {
	docs  []evidence.Doc
	seen  map[string]bool
	cfg   *evidence.KeepalivedConfig
	probs []evidence.Problem
	lines map[int][]string // doc index -> lines, for citing
	// what the file says about the version it is written for
	v2Hints, forkHints []evidence.Ref
	deferred           []deferredIssue
	instances          map[string]bool
	scripts            map[string]bool
	scriptRefs         []nameRef
	groupRefs          []nameRef
	laddrRefs          []nameRef
	vsgRefs            []nameRef
}

type deferredIssue struct {
	kw, msg string
	ref     evidence.Ref
	when    string // "v2": only when the file is for 2.x; "stock": only when it is not for the fork
}

type nameRef struct {
	name string
	ref  evidence.Ref
	what string
}

// ParseConfig parses a keepalived.conf and, through doc.Include, the files
// it includes.
func ParseConfig(doc evidence.Doc) (*evidence.KeepalivedConfig, []evidence.Problem) {
	p := &parser{
		docs:      []evidence.Doc{doc},
		seen:      map[string]bool{doc.Source: true},
		lines:     map[int][]string{},
		instances: map[string]bool{},
		scripts:   map[string]bool{},
		cfg: &evidence.KeepalivedConfig{
			Ref:             evidence.Ref{Host: doc.Host, Source: doc.Source},
			LocalAddrGroups: map[string][]evidence.KAddrRange{},
			VSGroups:        map[string][]evidence.KVSGroupEntry{},
		},
	}
	lx := &lexer{p: p}
	var top []*stmt
	stack := lx.build(0, []frame{{list: &top}}, 0)
	if len(stack) > 1 {
		open := stack[len(stack)-1].owner
		p.issue(open.kw, fmt.Sprintf("block %q opened here is never closed", open.kw), open.doc, open.line, "")
	}
	if p.instanceFragment(top) {
		p.finish()
		return p.cfg, p.probs
	}
	top = p.dropProse(top)
	if p.fragment(top) {
		p.finish()
		return p.cfg, p.probs
	}
	for _, st := range top {
		p.topLevel(st)
	}
	p.finish()
	return p.cfg, p.probs
}

func (p *parser) lineText(di, line int) string {
	ls, ok := p.lines[di]
	if !ok {
		ls = p.docs[di].Lines()
		p.lines[di] = ls
	}
	if line < 0 || line >= len(ls) {
		return ""
	}
	return ls[line]
}

// ref cites a statement's line, with any password redacted.
func (p *parser) ref(di, line int) evidence.Ref {
	r := p.docs[di].Ref(line, p.lineText(di, line))
	r.Text = redact(r.Text)
	return r
}

func (p *parser) sref(st *stmt) evidence.Ref { return p.ref(st.doc, st.line) }

func (p *parser) problem(di, line int, format string, args ...any) {
	if len(p.probs) > 200 {
		return
	}
	p.probs = append(p.probs, p.docs[di].Problemf(line, format, args...))
}

func (p *parser) issue(kw, msg string, di, line int, _ string) {
	p.addIssue(kw, msg, p.ref(di, line))
}

func (p *parser) addIssue(kw, msg string, ref evidence.Ref) {
	if len(p.cfg.Issues) > 500 {
		return
	}
	p.cfg.Issues = append(p.cfg.Issues, evidence.KeepalivedIssue{Keyword: evidence.Clip(kw, 64), Message: msg, Ref: ref})
}

func (p *parser) stIssue(st *stmt, msg string) { p.addIssue(st.kw, msg, p.sref(st)) }

// arg returns the n-th argument or "".
func arg(st *stmt, n int) string {
	if n < len(st.args) {
		return st.args[n]
	}
	return ""
}

func (p *parser) topLevel(st *stmt) {
	switch st.kw {
	case "global_defs":
		p.globalDefs(st)
	case "vrrp_instance":
		p.vrrpInstance(st)
	case "vrrp_sync_group":
		p.syncGroup(st)
	case "vrrp_script":
		if name := arg(st, 0); name != "" {
			p.scripts[name] = true
		}
		p.checkBlock(st, "vrrp_script")
	case "virtual_server":
		p.virtualServer(st)
	case "virtual_server_group":
		p.vsGroup(st)
	case "local_address_group":
		p.forkHint(st)
		p.laddrGroup(st)
	case "static_ipaddress", "static_routes", "static_rules", "linkbeat_interfaces", "vrrp_track_process", "vrrp_track_file", "track_file", "bfd_instance", "net_namespace", "net_namespace_ipvs", "instance", "use_pid_dir", "use_namespace_pid_dir", "linkbeat_use_polling", "garp_group", "track_process":
		p.knownBlock(st)
	default:
		p.unknownOrMisplaced(st, "top")
	}
}

// knownBlock accepts a keyword whose contents lvsdoctor does not need,
// still checking that the 2.x-only ones are noted.
func (p *parser) knownBlock(st *stmt) {
	if v2Only[st.kw] {
		p.v2Hints = append(p.v2Hints, p.sref(st))
	}
}

func (p *parser) forkHint(st *stmt) { p.forkHints = append(p.forkHints, p.sref(st)) }

// unknownOrMisplaced records a keyword keepalived would ignore with
// "Unknown keyword"; removed and fork keywords get a precise message, and
// keywords the file's version would accept are let through.
func (p *parser) unknownOrMisplaced(st *stmt, where string) {
	kw := st.kw
	if kw == "" || isPlaceholder(kw) {
		// "MISC_CHECK { ... }": the user's own elision, not a keyword
		return
	}
	if forkOnly[kw] {
		p.forkHint(st)
		p.deferred = append(p.deferred, deferredIssue{kw: kw, ref: p.sref(st), when: "stock",
			msg: fmt.Sprintf("%q exists only in the FULLNAT keepalived fork (Alibaba LVS); stock keepalived ignores it", kw)})
		return
	}
	if msg, ok := removedInV2[kw]; ok {
		p.deferred = append(p.deferred, deferredIssue{kw: kw, ref: p.sref(st), when: "v2", msg: msg})
		return
	}
	if known(where, kw) {
		if v2Only[kw] {
			p.v2Hints = append(p.v2Hints, p.sref(st))
		}
		return
	}
	if elsewhere := placesOf(kw); elsewhere != "" {
		p.stIssue(st, fmt.Sprintf("%q is not valid in %s (it belongs in %s); keepalived ignores it here", kw, blockName(where), elsewhere))
		return
	}
	if near := nearMiss(where, kw); near != "" {
		p.stIssue(st, fmt.Sprintf("unknown keyword %q in %s (a typo of %q?); keepalived ignores it", kw, blockName(where), near))
		return
	}
	p.stIssue(st, fmt.Sprintf("unknown keyword %q in %s; keepalived ignores it", kw, blockName(where)))
}

func blockName(where string) string {
	if where == "top" {
		return "the top level"
	}
	return where
}

// checkBlock runs unknownOrMisplaced over a block whose values lvsdoctor
// does not use.
func (p *parser) checkBlock(st *stmt, where string) {
	for _, s := range st.block {
		if where == "vrrp_script" || known(where, s.kw) || s.hasBlock {
			if v2Only[s.kw] {
				p.v2Hints = append(p.v2Hints, p.sref(s))
			}
			continue
		}
		p.unknownOrMisplaced(s, where)
	}
}

func (p *parser) globalDefs(st *stmt) {
	for _, s := range st.block {
		switch s.kw {
		case "router_id":
			p.cfg.RouterID = strings.Clone(arg(s, 0))
		case "lvs_id":
			// 1.x's name for router_id
			if p.cfg.RouterID == "" {
				p.cfg.RouterID = strings.Clone(arg(s, 0))
			}
			p.unknownOrMisplaced(s, "global_defs")
		case "vrrp_strict":
			r := p.sref(s)
			p.cfg.VRRPStrict = &r
		case "lvs_sync_daemon":
			r := p.sref(s)
			p.cfg.LVSSyncDaemon = &r
		case "lvs_timeouts":
			r := p.sref(s)
			p.cfg.LVSTimeouts = &r
			p.lvsTimeouts(s)
		case "notification_email", "vrrp_garp_interval", "vrrp_gna_interval":
		default:
			if !s.hasBlock {
				p.unknownOrMisplaced(s, "global_defs")
			}
		}
	}
}

func (p *parser) syncGroup(st *stmt) {
	for _, s := range st.block {
		switch s.kw {
		case "group":
			for _, g := range s.block {
				p.groupRefs = append(p.groupRefs, nameRef{g.kw, p.sref(g), "vrrp_sync_group"})
				for _, a := range g.args {
					p.groupRefs = append(p.groupRefs, nameRef{a, p.sref(g), "vrrp_sync_group"})
				}
			}
		case "track_script":
			p.trackScripts(s)
		default:
			if !s.hasBlock {
				p.unknownOrMisplaced(s, "vrrp_sync_group")
			}
		}
	}
}

func (p *parser) trackScripts(s *stmt) {
	for _, t := range s.block {
		p.scriptRefs = append(p.scriptRefs, nameRef{t.kw, p.sref(t), "track_script"})
	}
}

func (p *parser) vrrpInstance(st *stmt) {
	vi := &evidence.VRRPInstance{Name: strings.Clone(arg(st, 0)), Ref: p.sref(st)}
	if vi.Name == "" {
		p.stIssue(st, "vrrp_instance without a name")
	}
	p.instances[vi.Name] = true
	for _, s := range st.block {
		p.instanceSetting(vi, s)
	}
	p.cfg.VRRPInstances = append(p.cfg.VRRPInstances, vi)
}

// instanceSetting reads one statement of a vrrp_instance into vi.
func (p *parser) instanceSetting(vi *evidence.VRRPInstance, s *stmt) {
	{
		switch s.kw {
		case "state":
			vi.State = strings.ToUpper(arg(s, 0))
			if vi.State != "MASTER" && vi.State != "BACKUP" {
				p.stIssue(s, fmt.Sprintf("state %q is neither MASTER nor BACKUP", evidence.Clip(arg(s, 0), 64)))
			}
		case "interface":
			vi.Interface = strings.Clone(arg(s, 0))
		case "virtual_router_id":
			n, err := strconv.Atoi(arg(s, 0))
			if err != nil || n < 1 || n > 255 {
				p.stIssue(s, "virtual_router_id must be 1-255")
			}
			vi.VRID = n
		case "priority":
			n, err := strconv.Atoi(arg(s, 0))
			if err != nil || n < 1 || n > 255 {
				p.stIssue(s, "priority must be 1-255")
			}
			vi.Priority = n
		case "advert_int":
			f, err := strconv.ParseFloat(arg(s, 0), 64)
			if err != nil || f <= 0 {
				p.stIssue(s, "advert_int must be a positive number of seconds")
			}
			vi.AdvertInt = f
		case "nopreempt":
			vi.Nopreempt = true
		case "accept", "no_accept":
			vi.Accept, vi.AcceptRef = s.kw, p.sref(s)
		case "authentication":
			for _, a := range s.block {
				switch a.kw {
				case "auth_type":
					vi.AuthType = strings.ToUpper(arg(a, 0))
					if vi.AuthType != "PASS" && vi.AuthType != "AH" {
						p.stIssue(a, fmt.Sprintf("auth_type %q is neither PASS nor AH", evidence.Clip(arg(a, 0), 64)))
					}
				case "auth_pass":
					// The value is never kept; only its length matters:
					// keepalived silently uses the first 8 characters.
					if len(arg(a, 0)) > 8 {
						p.stIssue(a, "auth_pass is longer than 8 characters: keepalived truncates it to 8, and peers configured with the full string (or another implementation) disagree")
					}
				default:
					p.unknownOrMisplaced(a, "authentication")
				}
			}
		case "unicast_src_ip":
			if a, err := netip.ParseAddr(arg(s, 0)); err == nil {
				vi.UnicastSrc = a
			} else {
				p.stIssue(s, "unicast_src_ip is not an IP address")
			}
		case "unicast_peer":
			for _, u := range s.block {
				if a, err := netip.ParseAddr(u.kw); err == nil {
					vi.UnicastPeers = append(vi.UnicastPeers, a)
					vi.UnicastPeerRefs = append(vi.UnicastPeerRefs, p.sref(u))
				} else {
					p.stIssue(u, badUnicastPeer(u.kw))
				}
			}
		case "virtual_ipaddress", "virtual_ipaddress_excluded":
			for _, v := range s.block {
				if kv, ok := p.vip(v); ok {
					vi.VIPs = append(vi.VIPs, kv)
				}
			}
		case "track_script":
			p.trackScripts(s)
		case "track_interface", "virtual_routes", "virtual_rules", "track_file", "track_process", "track_bfd", "track_src_ip":
		default:
			if !s.hasBlock || !known("vrrp_instance", s.kw) {
				p.unknownOrMisplaced(s, "vrrp_instance")
			}
		}
	}
}

// badUnicastPeer says what keepalived does with a unicast_peer entry that
// is no address: alloc_vrrp_unicast_peer (vrrp_data.c, v1.2.10 to v2.4.3)
// logs "Configuration error: VRRP instance[%s] malformed unicast peer
// address[%s]. Skipping..." and drops it. An instance left with no peer
// sends its adverts by multicast (silently up to v2.2.4, with a
// deprecation warning after, in fault state with unicast_fault_no_peer:
// vrrp.c's vrrp_complete_instance).
func badUnicastPeer(entry string) string {
	msg := fmt.Sprintf("unicast_peer entry %q is not an IP address: keepalived logs \"malformed unicast peer address[%s]. Skipping...\" "+
		"and drops it; an instance left with no unicast peer sends its adverts by multicast (or, with unicast_fault_no_peer, goes to FAULT), "+
		"which peers on a network without multicast never hear", evidence.Clip(entry, 64), evidence.Clip(entry, 64))
	if a, b, ok := gluedAddrs(entry); ok {
		msg += fmt.Sprintf("; it is two addresses on one line (%s and %s: a line break lost), each must be on its own line", a, b)
	}
	return msg
}

// gluedAddrs splits an entry that is two IPv4 addresses written together
// ("192.168.2.54192.168.2.56"), when only one split makes two addresses.
func gluedAddrs(s string) (netip.Addr, netip.Addr, bool) {
	var a, b netip.Addr
	n := 0
	for i := 7; i <= len(s)-7; i++ {
		x, err1 := netip.ParseAddr(s[:i])
		y, err2 := netip.ParseAddr(s[i:])
		if err1 == nil && err2 == nil && x.Is4() && y.Is4() {
			a, b = x, y
			n++
		}
	}
	return a, b, n == 1
}

// vip reads "192.0.2.100/24 dev eth0 label eth0:1 [brd ..] [scope ..]".
func (p *parser) vip(v *stmt) (evidence.KVIP, bool) {
	kv := evidence.KVIP{Ref: p.sref(v)}
	s := v.kw
	if pf, err := netip.ParsePrefix(s); err == nil {
		kv.Prefix = netip.PrefixFrom(pf.Addr().Unmap(), pf.Bits())
	} else if a, err := netip.ParseAddr(s); err == nil {
		a = a.Unmap()
		kv.Prefix = netip.PrefixFrom(a, a.BitLen())
	} else {
		p.stIssue(v, fmt.Sprintf("virtual_ipaddress entry %q is not an address", evidence.Clip(s, 64)))
		return kv, false
	}
	for k := 0; k+1 < len(v.args); k++ {
		switch v.args[k] {
		case "dev":
			kv.Dev = strings.Clone(v.args[k+1])
			k++
		case "label":
			kv.Label = strings.Clone(v.args[k+1])
			k++
		}
	}
	return kv, true
}

func (p *parser) finish() {
	defer p.sortIssues()
	isV2 := len(p.v2Hints) > 0
	isFork := len(p.forkHints) > 0
	for _, d := range p.deferred {
		switch d.when {
		case "v2":
			if !isV2 {
				// the file does not say: the host's keepalived version will
				p.cfg.Issues = append(p.cfg.Issues, evidence.KeepalivedIssue{Keyword: d.kw, Message: d.msg, Ref: d.ref, OnlyV2: true})
				continue
			}
			d.msg += fmt.Sprintf(" (this file is written for keepalived 2.x: %s)", p.v2Hints[0])
		case "stock":
			if isFork {
				continue
			}
		}
		p.addIssue(d.kw, d.msg, d.ref)
	}
	for _, r := range p.scriptRefs {
		if !p.scripts[r.name] {
			p.addIssue("track_script", fmt.Sprintf("track_script %q names no vrrp_script; keepalived ignores it", evidence.Clip(r.name, 64)), r.ref)
		}
	}
	for _, r := range p.groupRefs {
		if !p.instances[r.name] {
			p.addIssue("group", fmt.Sprintf("vrrp_sync_group member %q is no vrrp_instance", evidence.Clip(r.name, 64)), r.ref)
		}
	}
	for _, r := range p.laddrRefs {
		if _, ok := p.cfg.LocalAddrGroups[r.name]; !ok {
			p.addIssue("laddr_group_name", fmt.Sprintf("laddr_group_name %q names no local_address_group", evidence.Clip(r.name, 64)), r.ref)
		}
	}
	for _, r := range p.vsgRefs {
		if _, ok := p.cfg.VSGroups[r.name]; !ok {
			p.addIssue("virtual_server", fmt.Sprintf("virtual_server group %q names no virtual_server_group", evidence.Clip(r.name, 64)), r.ref)
		}
	}
}

// sortIssues orders issues as they appear: main file first, then each
// included file in the order it was read, by line.
func (p *parser) sortIssues() {
	order := map[string]int{}
	for i, d := range p.docs {
		if _, ok := order[d.Source]; !ok {
			order[d.Source] = i
		}
	}
	sort.SliceStable(p.cfg.Issues, func(i, j int) bool {
		a, b := p.cfg.Issues[i].Ref, p.cfg.Issues[j].Ref
		if order[a.Source] != order[b.Source] {
			return order[a.Source] < order[b.Source]
		}
		return a.Line < b.Line
	})
}

// dropProse removes what surrounds a configuration pasted inside an
// article or a ticket: when the top level holds more unknown statements
// than keepalived ones, the unknown ones are prose (or another program's
// file), not mistakes in keepalived.conf, and are reported once.
func (p *parser) dropProse(top []*stmt) []*stmt {
	isKnown := func(st *stmt) bool {
		kw := st.kw
		return known("top", kw) || forkOnly[kw] || removedInV2[kw] != "" || nearMiss("top", kw) != "" || kw == "local_address_group"
	}
	knownN, unknownN := 0, 0
	for _, st := range top {
		if isKnown(st) {
			knownN++
		} else {
			unknownN++
		}
	}
	if unknownN <= max(2, knownN) {
		return top
	}
	kept := top[:0:0]
	var first *stmt
	for _, st := range top {
		if isKnown(st) {
			kept = append(kept, st)
		} else if first == nil {
			first = st
		}
	}
	if first != nil {
		p.problem(first.doc, first.line, "%d top-level lines are not keepalived configuration (text pasted around it?) and were skipped", unknownN)
	}
	return kept
}

// isPlaceholder tells the "..." people put where they left lines out.
func isPlaceholder(kw string) bool {
	return strings.Trim(kw, ".…") == ""
}

// lvsTimeouts reads "lvs_timeouts tcp 7200 tcpfin 120 udp 300".
func (p *parser) lvsTimeouts(s *stmt) {
	for k := 0; k+1 < len(s.args); k += 2 {
		n, err := strconv.Atoi(s.args[k+1])
		if err != nil || n < 0 {
			p.stIssue(s, fmt.Sprintf("lvs_timeouts %s needs a number of seconds", evidence.Clip(s.args[k], 16)))
			return
		}
		switch s.args[k] {
		case "tcp":
			p.cfg.LVSTimeoutTCP = n
		case "tcpfin":
			p.cfg.LVSTimeoutFin = n
		case "udp":
			p.cfg.LVSTimeoutUDP = n
		default:
			p.stIssue(s, fmt.Sprintf("lvs_timeouts: unknown timeout %q (tcp, tcpfin, udp)", evidence.Clip(s.args[k], 16)))
			return
		}
	}
}

// fragment reads a paste of virtual_server settings on their own, with no
// block around them: each line is checked as it would be inside its
// virtual_server, and none is called misplaced (the user cut the block
// away, keepalived did not read it so). It reports whether top was one.
func (p *parser) fragment(top []*stmt) bool {
	if len(top) == 0 || len(top) > 20 {
		return false
	}
	for _, st := range top {
		if st.hasBlock || known("top", st.kw) || !known("virtual_server", st.kw) {
			return false
		}
	}
	for _, st := range top {
		p.cfg.LVSFragment = append(p.cfg.LVSFragment, p.sref(st))
		if st.kw == "persistence_timeout" {
			p.persistenceTimeout(st)
		}
	}
	return true
}

// instanceFragment reads a paste of vrrp_instance settings with no
// vrrp_instance around them ("unicast_peer { ... }" quoted from a
// configuration, between lines of prose): each is checked as it would be
// inside its instance, and the prose around them is skipped with a
// problem. It reports whether top was one: at least one setting only a
// vrrp_instance has, and nothing else of keepalived's.
func (p *parser) instanceFragment(top []*stmt) bool {
	if len(top) == 0 || len(top) > 20 {
		return false
	}
	var settings, prose []*stmt
	for _, st := range top {
		switch {
		case known("top", st.kw) || nearMiss("top", st.kw) != "":
			return false
		case knownSet["vrrp_instance"][st.kw] && !knownSet["virtual_server"][st.kw]:
			settings = append(settings, st)
		case !st.hasBlock:
			prose = append(prose, st)
		default:
			return false
		}
	}
	if len(settings) == 0 || len(prose) > 2*len(settings)+2 {
		return false
	}
	vi := &evidence.VRRPInstance{}
	for _, st := range settings {
		p.cfg.VRRPFragment = append(p.cfg.VRRPFragment, p.sref(st))
		p.instanceSetting(vi, st)
	}
	if len(prose) > 0 {
		p.problem(prose[0].doc, prose[0].line, "%d lines around the vrrp_instance settings are not keepalived configuration (text pasted around it?) and were skipped", len(prose))
	}
	return true
}

// maxPersistence is keepalived's LVS_MAX_TIMEOUT (global_data.h, since
// v2.1.3): 31 days.
const maxPersistence = 86400 * 31

// persistenceTimeout checks persistence_timeout's value and returns it
// (keepalived's default 360 s when the line gives none).
func (p *parser) persistenceTimeout(s *stmt) int {
	if len(s.args) == 0 {
		return 360
	}
	n, err := strconv.ParseUint(arg(s, 0), 10, 64)
	switch {
	case err != nil:
		p.stIssue(s, "persistence_timeout must be a number of seconds")
		return 0
	case n > maxPersistence:
		p.stIssue(s, fmt.Sprintf("persistence_timeout %d is above %d (31 days): keepalived 2.1.3 and later reject it "+
			"(\"persistence_timeout invalid\"), older versions hand it to IPVS unchecked", n, maxPersistence))
		return 0
	}
	return int(n)
}
