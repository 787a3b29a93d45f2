// Package droptrace parses the text `lvsdoctor watch` prints (the format
// of the droptrace prototype it grew from): one line per packet the kernel
// dropped, with the reason and place, plus the route lookups and nftables
// trace events that tell why, and the tracer's own counters.
//
//	05:33:02.889949 kfree_skb reason=NO_SOCKET(3) at=tcp_v4_rcv+0x91 netns=dt-lb:4026532178 dev=lb0/2 tcp 192.0.2.1:46746 > 203.0.113.10:81 flags=S len=40
//	05:32:55.194410 fib_table_lookup table=254 203.0.113.10 -> 198.18.0.5 iif=1 oif=0 => dev=lb1/3 netns=dt-lb:4026532178
//	05:32:57.268334 trace id=ffd1d0cf inet dtlab input type=rule rule-handle=4 verdict=drop iif=2 tcp 192.0.2.1:45540 > 203.0.113.10:8080 flags=S comment="block VIP:8080"
//	droptrace: 8 events read; bpf: calls=24 matched=8 lost(ringbuf full)=0
package droptrace

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var (
	eventRE = regexp.MustCompile(`^\d[\d:.]*\s`) // events start with a time
	dropRE  = regexp.MustCompile(`^(\S+)\s+(?:kfree_skb|ipvs)\s+reason=([A-Z0-9_]+)(?:\(\d+\))?\s+at=(\S+)\s+netns=(\S+)\s+dev=(\S+)\s+(.*)$`)
	fibRE   = regexp.MustCompile(`^(\S+)\s+fib_table_lookup\s+table=(\d+)\s+(\S+)\s+->\s+(\S+)\s+iif=(\d+)\s+oif=(\d+)\s+=>\s+dev=(\S+)\s+netns=(\S+)`)
	traceRE = regexp.MustCompile(`^(\S+)\s+trace\s+id=\S+\s+(\S+)\s+(\S+)\s+(\S+)\s+type=rule\s+rule-handle=(\d+)\s+verdict=(\S+)\s*(.*)$`)
	statsRE = regexp.MustCompile(`^(?:droptrace|lvsdoctor watch|watch):\s+(\d+)\s+events(?:\s+read)?;\s+bpf:\s+calls=(\d+)\s+matched=(\d+)\s+lost(?:\([^)]*\))?=(\d+)`)
	ipipRE  = regexp.MustCompile(`^ipip\[(\S+?)>(\S+?)\]\s+(.*)$`)
	pktRE   = regexp.MustCompile(`^(tcp|udp|icmp|ipip|proto\d+|\d+)\s+(\S+)\s+>\s+(\S+?)(?:\s+(.*))?$`)
)

// Result is what one watch output holds.
type Result struct {
	Drops []evidence.Drop
	Stats []evidence.DropStats
}

type fibLookup struct {
	src, dst netip.Addr
	netns    string
	ref      evidence.Ref
}

type ruleTrace struct {
	pkt     evidence.Drop
	verdict string
	ref     evidence.Ref
}

// ParseWatch reads watch output. Lines it does not know (prose, the
// command, "attached ..." notes) are skipped: the output is often pasted
// amid other things. A line that starts like an event and does not parse
// is a problem, and the rest is still read.
func ParseWatch(doc evidence.Doc) (Result, []evidence.Problem) {
	var r Result
	var probs []evidence.Problem
	var fibs []fibLookup
	var traces []ruleTrace
	for i, line := range doc.Lines() {
		l := strings.TrimSpace(line)
		switch {
		case eventRE.MatchString(l) && (strings.Contains(l, " kfree_skb ") || strings.Contains(l, " ipvs reason=")):
			m := dropRE.FindStringSubmatch(l)
			if m == nil {
				probs = append(probs, doc.Problemf(i, "kfree_skb line not understood"))
				continue
			}
			d := evidence.Drop{Time: m[1], Reason: m[2], Location: m[3], Netns: netnsName(m[4]), Dev: devName(m[5]), Ref: doc.Ref(i, line)}
			if !packet(&d, m[6]) {
				probs = append(probs, doc.Problemf(i, "kfree_skb line: packet %q not understood", evidence.Clip(m[6], 60)))
				continue
			}
			r.Drops = append(r.Drops, d)
		case eventRE.MatchString(l) && strings.Contains(l, " fib_table_lookup "):
			m := fibRE.FindStringSubmatch(l)
			if m == nil {
				probs = append(probs, doc.Problemf(i, "fib_table_lookup line not understood"))
				continue
			}
			src, err1 := netip.ParseAddr(m[3])
			dst, err2 := netip.ParseAddr(m[4])
			if err1 != nil || err2 != nil {
				probs = append(probs, doc.Problemf(i, "fib_table_lookup: bad address"))
				continue
			}
			fibs = bounded(append(fibs, fibLookup{src: src, dst: dst, netns: netnsName(m[8]), ref: doc.Ref(i, line)}))
		case eventRE.MatchString(l) && strings.Contains(l, " trace id="):
			m := traceRE.FindStringSubmatch(l)
			if m == nil {
				continue // policy and continue lines carry no rule: nothing to cite
			}
			t := ruleTrace{verdict: m[6], ref: doc.Ref(i, line)}
			if rest := m[7]; rest != "" {
				if j := strings.Index(rest, " "); j > 0 && strings.HasPrefix(rest, "iif=") {
					rest = rest[j+1:]
				}
				packet(&t.pkt, rest)
			}
			traces = bounded(append(traces, t))
		default:
			if m := statsRE.FindStringSubmatch(l); m != nil {
				s := evidence.DropStats{Ref: doc.Ref(i, line)}
				s.Events, _ = strconv.ParseUint(m[1], 10, 64)
				s.Calls, _ = strconv.ParseUint(m[2], 10, 64)
				s.Matched, _ = strconv.ParseUint(m[3], 10, 64)
				s.Lost, _ = strconv.ParseUint(m[4], 10, 64)
				r.Stats = append(r.Stats, s)
			}
		}
	}
	for k := range r.Drops {
		r.Drops[k].Attribution = attribute(r.Drops[k], fibs, traces)
	}
	return r, probs
}

// bounded keeps the lookups and traces for attribution within a bound: a
// long watch has millions of route lookups.
func bounded[T any](s []T) []T {
	const max = 4096
	if len(s) > max {
		return append(s[:0], s[len(s)-max:]...)
	}
	return s
}

// attribute finds what explains a drop, nearest line first (trace events
// come through their own channel, before or after the drop's line): for
// IP_RPFILTER the reverse route lookup (destination = the packet's
// source) in the same namespace; for NETFILTER_DROP the rule trace whose
// verdict was drop for the same packet.
func attribute(d evidence.Drop, fibs []fibLookup, traces []ruleTrace) []evidence.Ref {
	var best *evidence.Ref
	closer := func(r evidence.Ref) {
		if best == nil || dist(r.Line, d.Ref.Line) < dist(best.Line, d.Ref.Line) {
			best = &r
		}
	}
	switch d.Reason {
	case "IP_RPFILTER":
		for _, f := range fibs {
			if f.src == d.Dst && f.dst == d.Src && (f.netns == d.Netns || f.netns == "" || d.Netns == "") {
				closer(f.ref)
			}
		}
	case "NETFILTER_DROP":
		for _, t := range traces {
			if t.verdict == "drop" && (!t.pkt.Dst.IsValid() || t.pkt.Dst == d.Dst && t.pkt.DPort == d.DPort && t.pkt.Proto == d.Proto) {
				closer(t.ref)
			}
		}
	}
	if best == nil {
		return nil
	}
	return []evidence.Ref{*best}
}

func dist(a, b int) int {
	if a > b {
		return a - b
	}
	return b - a
}

// packet reads "tcp 192.0.2.1:46746 > 203.0.113.10:81 flags=S len=40",
// "icmp A > B type=8 code=0 len=84", "ipip[A>B] tcp ...".
func packet(d *evidence.Drop, s string) bool {
	s = strings.TrimSpace(s)
	if m := ipipRE.FindStringSubmatch(s); m != nil {
		outerSrc, err1 := netip.ParseAddr(m[1])
		outerDst, err2 := netip.ParseAddr(m[2])
		inner := &evidence.Drop{}
		if err1 != nil || err2 != nil || !packet(inner, m[3]) {
			return false
		}
		d.Proto, d.Src, d.Dst, d.Inner, d.By = "ipip", outerSrc, outerDst, inner, inner.By
		return true
	}
	m := pktRE.FindStringSubmatch(s)
	if m == nil {
		return false
	}
	d.Proto = m[1]
	var ok1, ok2 bool
	d.Src, d.SPort, ok1 = endpoint(m[2])
	d.Dst, d.DPort, ok2 = endpoint(m[3])
	if !ok1 || !ok2 {
		return false
	}
	for _, f := range strings.Fields(m[4]) {
		if v, ok := strings.CutPrefix(f, "flags="); ok {
			d.Flags = v
		}
		if v, ok := strings.CutPrefix(f, "by="); ok {
			d.By = v
		}
	}
	return true
}

// endpoint reads "192.0.2.1:46746" or "192.0.2.1" (ICMP).
func endpoint(s string) (netip.Addr, uint16, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr(), ap.Port(), true
	}
	a, err := netip.ParseAddr(s)
	return a, 0, err == nil
}

// netnsName keeps the name of "dt-lb:4026532178", or the inode alone;
// "-" is unknown.
func netnsName(s string) string {
	if s == "-" {
		return ""
	}
	if i := strings.LastIndexByte(s, ':'); i > 0 {
		return s[:i]
	}
	return s
}

// devName keeps the name of "lb0/2"; "-/0" (a socket-level drop) is none.
func devName(s string) string {
	if strings.HasPrefix(s, "-/") || s == "-" {
		return ""
	}
	if i := strings.LastIndexByte(s, '/'); i > 0 {
		return s[:i]
	}
	return s
}
