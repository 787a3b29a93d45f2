package nltext

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

const rtmsgLen = 12

var rtnTypes = []string{"none", "unicast", "local", "broadcast", "anycast", "multicast", "blackhole",
	"unreachable", "prohibit", "throw", "nat", "xresolve"}

func rtnType(t uint8) string {
	if int(t) < len(rtnTypes) {
		return rtnTypes[t]
	}
	return strconv.Itoa(int(t))
}

// parseTable reads a table argument as ip does: a name from rt_tables
// ("main", "local", ...), "all", or a number. It returns 0 for all tables.
func parseTable(s string) (uint32, error) {
	switch s {
	case "", "main":
		return unix.RT_TABLE_MAIN, nil
	case "all", "unspec", "0":
		return 0, nil
	}
	if n, ok := rtTables.number(s); ok {
		return n, nil
	}
	n, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		return 0, fmt.Errorf("table %q: not a table name or number", s)
	}
	return uint32(n), nil
}

// Route renders `ip route show table TABLE` for family AF_INET
// (`ip -4 route`), AF_INET6 (`ip -6 route`) or AF_UNSPEC (`ip route`:
// IPv4 for a single table, both families for "all", as ip does). table is
// "main", "local", "default", "all", a number or a name from rt_tables.
func Route(family int, table string) ([]byte, error) {
	tb, err := parseTable(table)
	if err != nil {
		return nil, err
	}
	dumpFamily := family
	switch family {
	case unix.AF_UNSPEC:
		if tb != 0 {
			dumpFamily = unix.AF_INET
		}
	case unix.AF_INET, unix.AF_INET6:
	default:
		return nil, fmt.Errorf("ip route: family %d is neither AF_INET nor AF_INET6", family)
	}
	links, lerr := dumpLinks()
	if links == nil && lerr != nil {
		return nil, lerr
	}
	idx := indexLinks(links)
	req := make([]byte, rtmsgLen)
	req[0] = uint8(dumpFamily)
	msgs, derr := dump(unix.NETLINK_ROUTE, unix.RTM_GETROUTE, unix.RTM_NEWROUTE, req)
	if msgs == nil && derr != nil {
		return nil, derr
	}
	var o outBuf
	for _, m := range msgs {
		if len(m) < rtmsgLen {
			continue
		}
		printRoute(&o, m, tb, idx)
	}
	return o.result("ip route show", derr)
}

func printRoute(o *outBuf, m []byte, filterTable uint32, idx linkIndex) {
	if len(m) < rtmsgLen {
		return
	}
	family, dstLen, srcLen, tos := m[0], m[1], m[2], m[3]
	rtTable, proto, scope, typ := m[4], m[5], m[6], m[7]
	flags := binary.NativeEndian.Uint32(m[8:])
	a := parseAttrs(m[rtmsgLen:])
	if family != unix.AF_INET && family != unix.AF_INET6 {
		return
	}
	table := uint32(rtTable)
	if t, ok := a.u32(unix.RTA_TABLE); ok {
		table = t
	}
	if flags&unix.RTM_F_CLONED != 0 {
		return // route cache entries: `ip route show cache`, not a table
	}
	if filterTable != 0 && table != filterTable {
		return
	}
	hostLen := uint8(32)
	if family == unix.AF_INET6 {
		hostLen = 128
	}
	if typ != unix.RTN_UNICAST {
		o.printf("%s ", rtnType(typ))
	}
	prefix := func(kw string, t uint16, plen uint8, always bool) {
		if v, ok := a.addr(t); ok {
			if plen != hostLen {
				o.printf("%s%s/%d ", kw, fmtAddr(v), plen)
			} else {
				o.printf("%s%s ", kw, fmtAddr(v))
			}
		} else if plen != 0 {
			o.printf("%s0/%d ", kw, plen)
		} else if always {
			o.printf("%sdefault ", kw)
		}
	}
	prefix("", unix.RTA_DST, dstLen, true)
	if a.has(unix.RTA_SRC) || srcLen != 0 {
		prefix("from ", unix.RTA_SRC, srcLen, false)
	}
	if v, ok := a.u32(rtaNHID); ok {
		o.printf("nhid %d ", v)
	}
	if tos != 0 {
		o.printf("tos 0x%02x ", tos)
	}
	if gw, ok := a.addr(unix.RTA_GATEWAY); ok {
		o.printf("via %s ", fmtAddr(gw))
	}
	if v, ok := a[unix.RTA_VIA]; ok {
		printVia(o, v)
	}
	if oif, ok := a.u32(unix.RTA_OIF); ok {
		o.printf("dev %s ", idx.name(int32(oif)))
	}
	if table != 0 && table != unix.RT_TABLE_MAIN && filterTable == 0 {
		o.printf("table %s ", tableName(table))
	}
	if proto != unix.RTPROT_BOOT {
		o.printf("proto %s ", protoName(proto))
	}
	if scope != unix.RT_SCOPE_UNIVERSE {
		o.printf("scope %s ", scopeName(scope))
	}
	if src, ok := a.addr(unix.RTA_PREFSRC); ok {
		o.printf("src %s ", fmtAddr(src))
	}
	if v, ok := a.u32(unix.RTA_PRIORITY); ok {
		o.printf("metric %d ", v)
	}
	printRouteFlags(o, flags)
	if v, ok := a.u32(unix.RTA_MARK); ok && v != 0 {
		o.printf("mark 0x%x ", v)
	}
	if v, ok := a.u32(unix.RTA_FLOW); ok {
		o.printf("realms %s ", realms(v))
	}
	if v, ok := a.u32(unix.RTA_UID); ok {
		o.printf("uid %d ", v)
	}
	if family == unix.AF_INET6 {
		if ci, ok := a[unix.RTA_CACHEINFO]; ok && len(ci) >= 16 {
			if exp := int32(binary.NativeEndian.Uint32(ci[12:])); exp != 0 {
				o.printf("expires %dsec ", exp/100)
			}
		}
	}
	if mx, ok := a[unix.RTA_METRICS]; ok {
		printMetrics(o, parseAttrs(mx))
	}
	if iif, ok := a.u32(unix.RTA_IIF); ok {
		o.printf("iif %s ", idx.name(int32(iif)))
	}
	if p, ok := a.u8(unix.RTA_PREF); ok {
		switch p {
		case 0:
			o.str("pref medium")
		case 1:
			o.str("pref high")
		case 3:
			o.str("pref low")
		default:
			o.printf("pref %d", p)
		}
	}
	if mp, ok := a[unix.RTA_MULTIPATH]; ok {
		printMultipath(o, mp, idx)
	}
	o.str("\n")
}

func printVia(o *outBuf, v []byte) {
	if len(v) < 2 {
		return
	}
	fam := binary.NativeEndian.Uint16(v)
	addr, ok := addrFrom(v[2:])
	switch {
	case fam == unix.AF_INET && ok:
		o.printf("via inet %s ", fmtAddr(addr))
	case fam == unix.AF_INET6 && ok:
		o.printf("via inet6 %s ", fmtAddr(addr))
	default:
		o.printf("via family %d ", fam)
	}
}

func realms(v uint32) string {
	to, from := v&0xffff, v>>16
	if from != 0 {
		return fmt.Sprintf("%d/%d", from, to)
	}
	return strconv.FormatUint(uint64(to), 10)
}

var routeFlagNames = []struct {
	bit  uint32
	name string
}{
	{unix.RTNH_F_DEAD, "dead"}, {unix.RTNH_F_ONLINK, "onlink"}, {unix.RTNH_F_PERVASIVE, "pervasive"},
	{unix.RTNH_F_OFFLOAD, "offload"}, {unix.RTNH_F_TRAP, "trap"}, {unix.RTM_F_NOTIFY, "notify"},
	{unix.RTNH_F_LINKDOWN, "linkdown"}, {unix.RTNH_F_UNRESOLVED, "unresolved"},
	{unix.RTM_F_OFFLOAD, "rt_offload"}, {unix.RTM_F_TRAP, "rt_trap"}, {unix.RTM_F_OFFLOAD_FAILED, "rt_offload_failed"},
}

func printRouteFlags(o *outBuf, flags uint32) {
	for _, f := range routeFlagNames {
		if flags&f.bit != 0 {
			o.printf("%s ", f.name)
		}
	}
}

var metricNames = map[uint16]string{2: "mtu", 3: "window", 4: "rtt", 5: "rttvar", 6: "ssthresh", 7: "cwnd",
	8: "advmss", 9: "reordering", 10: "hoplimit", 11: "initcwnd", 12: "features", 13: "rto_min",
	14: "initrwnd", 15: "quickack", 16: "congctl", 17: "fastopen_no_cookie"}

// printMetrics prints the route metrics that carry a plain number, which
// are the ones a route table on an LVS host sets (mtu, advmss, window...);
// the time-valued ones are printed in milliseconds as ip does.
func printMetrics(o *outBuf, mx attrs) {
	lock, _ := mx.u32(unix.RTAX_LOCK)
	for i := uint16(2); i <= 17; i++ {
		name := metricNames[i]
		if i == unix.RTAX_CC_ALGO {
			if s, ok := mx.str(i); ok {
				o.printf("congctl %s%s ", lockWord(lock, i), s)
			}
			continue
		}
		v, ok := mx.u32(i)
		if !ok && lock&(1<<i) == 0 {
			continue
		}
		if i == unix.RTAX_HOPLIMIT && int32(v) == -1 {
			continue
		}
		switch i {
		case unix.RTAX_FEATURES:
			if v&unix.RTAX_FEATURE_ECN != 0 {
				o.str("features ecn ")
			} else {
				o.printf("features 0x%x ", v)
			}
		case unix.RTAX_RTT, unix.RTAX_RTTVAR, unix.RTAX_RTO_MIN:
			if i == unix.RTAX_RTT {
				v /= 8
			} else if i == unix.RTAX_RTTVAR {
				v /= 4
			}
			o.printf("%s %s%dms ", name, lockWord(lock, i), v)
		default:
			o.printf("%s %s%d ", name, lockWord(lock, i), v)
		}
	}
}

func lockWord(lock uint32, i uint16) string {
	if lock&(1<<i) != 0 {
		return "lock "
	}
	return ""
}

func printMultipath(o *outBuf, b []byte, idx linkIndex) {
	for len(b) >= 8 {
		l := int(binary.NativeEndian.Uint16(b))
		if l < 8 || l > len(b) {
			return
		}
		nhFlags := b[2]
		hops := b[3]
		ifindex := int32(binary.NativeEndian.Uint32(b[4:]))
		a := parseAttrs(b[8:l])
		o.str("\n\tnexthop ")
		if gw, ok := a.addr(unix.RTA_GATEWAY); ok {
			o.printf("via %s ", fmtAddr(gw))
		}
		if v, ok := a[unix.RTA_VIA]; ok {
			printVia(o, v)
		}
		if v, ok := a.u32(unix.RTA_FLOW); ok {
			o.printf("realms %s ", realms(v))
		}
		if ifindex != 0 {
			o.printf("dev %s ", idx.name(ifindex))
		}
		o.printf("weight %d ", int(hops)+1)
		printRouteFlags(o, uint32(nhFlags))
		al := (l + 3) &^ 3
		if al > len(b) {
			return
		}
		b = b[al:]
	}
}

// Rule renders `ip rule show` (AF_INET) or `ip -6 rule show` (AF_INET6).
func Rule(family int) ([]byte, error) {
	if family != unix.AF_INET && family != unix.AF_INET6 {
		return nil, fmt.Errorf("ip rule: family %d is neither AF_INET nor AF_INET6", family)
	}
	req := make([]byte, rtmsgLen)
	req[0] = uint8(family)
	msgs, derr := dump(unix.NETLINK_ROUTE, unix.RTM_GETRULE, unix.RTM_NEWRULE, req)
	if msgs == nil && derr != nil {
		return nil, derr
	}
	var o outBuf
	for _, m := range msgs {
		if len(m) < rtmsgLen {
			continue
		}
		printRule(&o, m)
	}
	return o.result("ip rule show", derr)
}

// FIB rule header flags and actions (linux/fib_rules.h).
const (
	fibRuleInvert      = 0x2
	fibRuleUnresolved  = 0x4
	fibRuleIIFDetached = 0x8
	fibRuleOIFDetached = 0x10
	frActToTbl         = 1
	frActGoto          = 2
	frActNop           = 3
)

var ipProtoNames = map[uint8]string{1: "icmp", 2: "igmp", 6: "tcp", 17: "udp", 41: "ipv6", 47: "gre",
	50: "esp", 51: "ah", 58: "ipv6-icmp", 132: "sctp", 136: "udplite", 4: "ipencap"}

func printRule(o *outBuf, m []byte) {
	if len(m) < rtmsgLen {
		return
	}
	family, dstLen, srcLen, tos := m[0], m[1], m[2], m[3]
	frTable, action := m[4], m[7]
	flags := binary.NativeEndian.Uint32(m[8:])
	a := parseAttrs(m[rtmsgLen:])
	hostLen := uint8(32)
	if family == unix.AF_INET6 {
		hostLen = 128
	}
	prio, _ := a.u32(unix.FRA_PRIORITY)
	var w []string
	add := func(f string, args ...any) { w = append(w, fmt.Sprintf(f, args...)) }
	if flags&fibRuleInvert != 0 {
		add("not")
	}
	pfx := func(t uint16, plen uint8) string {
		if v, ok := a.addr(t); ok {
			if plen != hostLen {
				return fmt.Sprintf("%s/%d", fmtAddr(v), plen)
			}
			return fmtAddr(v)
		}
		if plen != 0 {
			return fmt.Sprintf("0/%d", plen)
		}
		return ""
	}
	if s := pfx(unix.FRA_SRC, srcLen); s != "" {
		add("from %s", s)
	} else {
		add("from all")
	}
	if s := pfx(unix.FRA_DST, dstLen); s != "" {
		add("to %s", s)
	}
	if tos != 0 {
		add("tos 0x%02x", tos)
	}
	mark, hasMark := a.u32(unix.FRA_FWMARK)
	mask, hasMask := a.u32(unix.FRA_FWMASK)
	if hasMark || hasMask {
		if !hasMask {
			mask = 0xffffffff
		}
		if mask != 0xffffffff {
			add("fwmark 0x%x/0x%x", mark, mask)
		} else {
			add("fwmark 0x%x", mark)
		}
	}
	if s, ok := a.str(unix.FRA_IIFNAME); ok {
		add("iif %s", s)
		if flags&fibRuleIIFDetached != 0 {
			add("[detached]")
		}
	}
	if s, ok := a.str(unix.FRA_OIFNAME); ok {
		add("oif %s", s)
		if flags&fibRuleOIFDetached != 0 {
			add("[detached]")
		}
	}
	if v, ok := a.u8(unix.FRA_L3MDEV); ok && v != 0 {
		add("lookup [l3mdev-table]")
	}
	if b, ok := a[unix.FRA_UID_RANGE]; ok && len(b) >= 8 {
		add("uidrange %d-%d", binary.NativeEndian.Uint32(b), binary.NativeEndian.Uint32(b[4:]))
	}
	if p, ok := a.u8(unix.FRA_IP_PROTO); ok {
		if n, ok := ipProtoNames[p]; ok {
			add("ipproto %s", n)
		} else {
			add("ipproto %d", p)
		}
	}
	for _, pr := range []struct {
		t    uint16
		name string
	}{{unix.FRA_SPORT_RANGE, "sport"}, {unix.FRA_DPORT_RANGE, "dport"}} {
		if b, ok := a[pr.t]; ok && len(b) >= 4 {
			lo, hi := binary.NativeEndian.Uint16(b), binary.NativeEndian.Uint16(b[2:])
			if lo == hi {
				add("%s %d", pr.name, lo)
			} else {
				add("%s %d-%d", pr.name, lo, hi)
			}
		}
	}
	table := uint32(frTable)
	if t, ok := a.u32(unix.FRA_TABLE); ok {
		table = t
	}
	if table != 0 {
		add("lookup %s", tableName(table))
		if pl, ok := a.u32(unix.FRA_SUPPRESS_PREFIXLEN); ok && int32(pl) != -1 {
			add("suppress_prefixlength %d", int32(pl))
		}
		if g, ok := a.u32(unix.FRA_SUPPRESS_IFGROUP); ok && int32(g) != -1 {
			add("suppress_ifgroup %s", groupName(g))
		}
	}
	if v, ok := a.u32(unix.FRA_FLOW); ok {
		add("realms %s", realms(v))
	}
	switch action {
	case frActToTbl:
	case frActGoto:
		if g, ok := a.u32(unix.FRA_GOTO); ok {
			add("goto %d", g)
		} else {
			add("goto none")
		}
		if flags&fibRuleUnresolved != 0 {
			add("[unresolved]")
		}
	case frActNop:
		add("nop")
	default:
		add("%s", rtnType(action))
	}
	if p, ok := a.u8(unix.FRA_PROTOCOL); ok && p != 0 && p != unix.RTPROT_KERNEL {
		add("proto %s", protoName(p))
	}
	o.printf("%d:\t%s\n", prio, strings.Join(w, " "))
}

// Neighbour states, in the order ip prints them.
var nudNames = []struct {
	bit  uint16
	name string
}{
	{unix.NUD_INCOMPLETE, "INCOMPLETE"}, {unix.NUD_REACHABLE, "REACHABLE"}, {unix.NUD_STALE, "STALE"},
	{unix.NUD_DELAY, "DELAY"}, {unix.NUD_PROBE, "PROBE"}, {unix.NUD_FAILED, "FAILED"},
	{unix.NUD_NOARP, "NOARP"}, {unix.NUD_PERMANENT, "PERMANENT"},
}

// Neigh renders `ip neigh show`: IPv4 and IPv6 neighbours, without the
// NOARP entries ip hides unless asked for "nud all".
func Neigh() ([]byte, error) {
	links, lerr := dumpLinks()
	if links == nil && lerr != nil {
		return nil, lerr
	}
	idx := indexLinks(links)
	req := make([]byte, 12) // struct ndmsg
	req[0] = unix.AF_UNSPEC
	msgs, derr := dump(unix.NETLINK_ROUTE, unix.RTM_GETNEIGH, unix.RTM_NEWNEIGH, req)
	if msgs == nil && derr != nil {
		return nil, derr
	}
	var o outBuf
	for _, m := range msgs {
		if len(m) < 12 {
			continue
		}
		printNeigh(&o, m, idx)
	}
	return o.result("ip neigh show", derr)
}

func printNeigh(o *outBuf, m []byte, idx linkIndex) {
	if len(m) < 12 {
		return
	}
	family := m[0]
	ifindex := int32(binary.NativeEndian.Uint32(m[4:]))
	state := binary.NativeEndian.Uint16(m[8:])
	flags := m[10]
	if family != unix.AF_INET && family != unix.AF_INET6 {
		return
	}
	const showStates = 0xff &^ unix.NUD_NOARP
	if state&showStates == 0 && flags&unix.NTF_PROXY == 0 && flags&unix.NTF_EXT_LEARNED == 0 {
		return
	}
	a := parseAttrs(m[12:])
	if dst, ok := a.addr(unix.NDA_DST); ok {
		o.printf("%s ", fmtAddr(dst))
	}
	if ifindex != 0 {
		o.printf("dev %s ", idx.name(ifindex))
	}
	if ll, ok := a[unix.NDA_LLADDR]; ok {
		typ := uint16(unix.ARPHRD_ETHER)
		if l, ok := idx[ifindex]; ok {
			typ = l.typ
		}
		o.printf("lladdr %s ", llAddr(ll, typ))
	}
	if flags&unix.NTF_ROUTER != 0 {
		o.str("router ")
	}
	if flags&unix.NTF_PROXY != 0 {
		o.str("proxy ")
	}
	if flags&unix.NTF_EXT_LEARNED != 0 {
		o.str("extern_learn ")
	}
	if flags&unix.NTF_OFFLOADED != 0 {
		o.str("offload ")
	}
	if state != 0 {
		rest := state
		for _, n := range nudNames {
			if state&n.bit != 0 {
				o.printf("%s ", n.name)
				rest &^= n.bit
			}
		}
		if rest != 0 {
			o.printf("%x ", rest)
		}
	}
	if p, ok := a.u8(ndaProtocol); ok && p != 0 {
		o.printf("proto %s ", protoName(p))
	}
	o.str("\n")
}

// Attribute numbers newer than some copies of x/sys know.
const (
	rtaNHID     = 30 // RTA_NH_ID
	ndaProtocol = 12 // NDA_PROTOCOL
)
