package ipvsadm

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// maxConnGroups bounds the groups kept: real tables have a few per real
// server, a hostile one could make one per line.
const maxConnGroups = 10000

type connKey struct {
	v, d  netip.AddrPort
	proto uint8
	tmpl  bool
}

// groupAcc counts states in an array while streaming; the States map is
// built once at the end (a map update per line is most of the cost).
type groupAcc struct {
	g      *evidence.ConnGroup
	known  [len(knownStates)]int
	others map[string]int
}

var knownStates = [...]string{"ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT", "TIME_WAIT", "CLOSE",
	"CLOSE_WAIT", "LAST_ACK", "LISTEN", "SYNACK", "NONE", "UDP", "ERR!", "ESP", "AH", "INIT", "COOKIE_WAIT",
	"COOKIE_ECHOED", "SHUTDOWN_SENT", "SHUTDOWN_RECEIVED", "SHUTDOWN_ACK_SENT", "REJECTED"}

func stateIndex(s string) int {
	for i, k := range knownStates {
		if k == s {
			return i
		}
	}
	return -1
}

var protoNames = [...]string{"", "TCP", "UDP", "SCTP", "AH", "ESP"}

func protoID(p string) uint8 {
	for i, n := range protoNames {
		if n == p {
			return uint8(i)
		}
	}
	return 0
}

// connLayout is where the columns of a connection line are.
type connLayout struct {
	hex bool
	// ipvsadm: pro expire state source virtual [local] destination [pe_name pe_data]
	// procfs:  Pro FromIP FPrt ToIP TPrt [LocalIP LPrt] DestIP DPrt State [Origin] Expires [PEName PEData]
	local  bool
	origin bool
}

// ParseConns streams `ipvsadm -Lnc` (and /proc/net/ip_vs_conn) into
// connection groups, one per protocol, virtual address, destination and
// template-ness. Memory depends on the number of groups, not of lines; no
// per-line allocation is made.
func ParseConns(doc evidence.Doc) (*evidence.IPVS, []evidence.Problem) {
	ipvs := &evidence.IPVS{}
	probs := problems{doc: doc}
	groups := make(map[connKey]*groupAcc)
	var layout connLayout
	f := parseCommand(doc.Command)
	layout.hex = strings.Contains(f.procFile, "ip_vs_conn")
	sawTitle := false
	dropped := 0
	var streak []pending

	text := doc.Text
	var fields [16]string
	for i := 0; len(text) > 0; i++ {
		var line string
		if j := strings.IndexByte(text, '\n'); j >= 0 {
			line, text = text[:j], text[j+1:]
		} else {
			line, text = text, ""
		}
		n := splitFields(line, fields[:])
		if n == 0 {
			continue
		}
		t := fields[:n]
		switch {
		case t[0] == "IPVS" || t[0] == "pro":
			sawTitle = true
			if t[0] == "pro" {
				layout.hex = false
				layout.local = containsField(t, "local") || containsField(t, "lip") || containsField(t, "laddr")
			}
			continue
		case t[0] == "Pro" && n > 1 && t[1] == "FromIP":
			sawTitle = true
			layout.hex = true
			layout.local = containsField(t, "LocalIP")
			layout.origin = containsField(t, "Origin")
			continue
		case t[0] == "Every":
			continue // watch(1) title
		}
		g, tmpl, state, ok := parseConnLine(t, &layout)
		if !ok {
			if ev, bad := unavailableLine(line); bad {
				probs.add(i, "ipvsadm could not read the IPVS connections: %s", ev)
				continue
			}
			if len(streak) < 3 {
				streak = append(streak, pending{i, clip(strings.TrimSpace(line))})
			}
			if (sawTitle || ipvs.TotalConns > 0) && len(streak) >= 3 {
				rest := strings.Count(text, "\n") + 1
				probs.add(streak[0].line, "%d more lines from here on not understood (text pasted after the output?)", i-streak[0].line+rest)
				streak = nil
				break
			}
			continue
		}
		for _, b := range streak {
			probs.add(b.line, "not an IPVS connection line: %q", b.text)
		}
		streak = streak[:0]
		ipvs.TotalConns++
		k := connKey{g.v, g.d, protoID(g.proto), tmpl}
		acc := groups[k]
		if acc == nil {
			if len(groups) >= maxConnGroups {
				dropped++
				continue
			}
			acc = &groupAcc{g: &evidence.ConnGroup{
				Proto:    g.proto,
				Virtual:  g.v,
				Dest:     g.d,
				Template: tmpl,
				First:    doc.Ref(i, line),
			}}
			groups[k] = acc
			ipvs.Conns = append(ipvs.Conns, acc.g)
		}
		acc.g.Count++
		if si := stateIndex(state); si >= 0 {
			acc.known[si]++
		} else {
			if acc.others == nil {
				acc.others = map[string]int{}
			}
			if len(acc.others) < 32 {
				acc.others[internState(state)]++
			}
		}
	}
	for _, acc := range groups {
		acc.g.States = make(map[string]int, 4)
		for si, n := range acc.known {
			if n > 0 {
				acc.g.States[knownStates[si]] = n
			}
		}
		for st, n := range acc.others {
			acc.g.States[st] += n
		}
	}
	for _, b := range streak {
		probs.add(b.line, "not an IPVS connection line: %q", b.text)
	}
	if dropped > 0 {
		probs.add(-1, "%d connections to more than %d distinct destinations were counted but not grouped", dropped, maxConnGroups)
	}
	if !sawTitle && ipvs.TotalConns == 0 && strings.TrimSpace(doc.Text) != "" {
		if ev, ok := Unavailable(doc); ok {
			return nil, []evidence.Problem{doc.Problemf(ev.Ref.Line-lineBase(doc), "ipvsadm could not read the IPVS connections: %s", ev.Detail)}
		}
	}
	return ipvs, probs.done()
}

func unavailableLine(line string) (string, bool) {
	for _, m := range unavailable {
		if strings.Contains(line, m) {
			return strings.TrimSpace(line), true
		}
	}
	return "", false
}

func containsField(t []string, s string) bool {
	for _, f := range t {
		if strings.EqualFold(f, s) {
			return true
		}
	}
	return false
}

// splitFields is strings.Fields into a fixed array: no allocation.
func splitFields(s string, out []string) int {
	n := 0
	i := 0
	for i < len(s) && n < len(out) {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r') {
			i++
		}
		if i >= len(s) {
			break
		}
		j := i
		for j < len(s) && s[j] != ' ' && s[j] != '\t' && s[j] != '\r' {
			j++
		}
		out[n] = s[i:j]
		n++
		i = j
	}
	return n
}

type connAddrs struct {
	proto string
	v, d  netip.AddrPort
}

// parseConnLine reads one connection; the layout switches to the FULLNAT
// fork's when a line has the extra local address.
func parseConnLine(t []string, l *connLayout) (connAddrs, bool, string, bool) {
	var c connAddrs
	proto, ok := internProto(t[0])
	if !ok {
		return c, false, "", false
	}
	c.proto = proto
	if !l.hex && len(t) >= 4 && isHex8(t[1]) && len(t[2]) == 4 {
		l.hex = true // a /proc/net/ip_vs_conn block without its title
	}
	if l.hex {
		return parseProcConn(t, l, c)
	}
	// pro expire state source virtual [local] destination [pe_name pe_data]
	if len(t) < 6 {
		return c, false, "", false
	}
	state := t[2]
	src, ok1 := conAddrPort(t[3])
	vip, ok2 := conAddrPort(t[4])
	dst, ok3 := conAddrPort(t[5])
	if !ok1 || !ok2 || !ok3 {
		return c, false, "", false
	}
	if len(t) >= 7 {
		if d2, ok := conAddrPort(t[6]); ok {
			// FULLNAT: source virtual local destination
			l.local = true
			dst = d2
		}
	}
	c.v, c.d = vip, dst
	return c, src.Port() == 0, state, true
}

// conAddrPort parses a numeric or service-named address:port without
// allocating for the numeric IPv4 case.
func conAddrPort(s string) (netip.AddrPort, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
	}
	a, p, kind := parseAddrPort(s, false)
	if kind != addrOK {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a, p), true
}

func parseProcConn(t []string, l *connLayout, c connAddrs) (connAddrs, bool, string, bool) {
	// Pro FromIP FPrt ToIP TPrt [LocalIP LPrt] DestIP DPrt State [Origin] Expires
	need := 9
	if l.local {
		need += 2
	}
	if len(t) < need {
		return c, false, "", false
	}
	src, ok1 := hexAddrPort(t[1], t[2])
	vip, ok2 := hexAddrPort(t[3], t[4])
	di := 5
	if l.local {
		di = 7
	}
	dst, ok3 := hexAddrPort(t[di], t[di+1])
	if !ok1 || !ok2 || !ok3 {
		return c, false, "", false
	}
	c.v, c.d = vip, dst
	return c, src.Port() == 0, t[di+2], true
}

func hexAddrPort(a, p string) (netip.AddrPort, bool) {
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	addr, kind := parseAddr(a, true)
	if kind != addrOK {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(addr, uint16(port)), true
}

func internProto(s string) (string, bool) {
	switch s {
	case "TCP", "tcp":
		return "TCP", true
	case "UDP", "udp":
		return "UDP", true
	case "SCTP", "sctp":
		return "SCTP", true
	case "AH", "ESP":
		return s, true
	}
	return "", false
}

// internState returns a constant for the states the kernel names, so the
// groups do not keep the input alive through substrings.
func internState(s string) string {
	switch s {
	case "ESTABLISHED":
		return "ESTABLISHED"
	case "SYN_SENT":
		return "SYN_SENT"
	case "SYN_RECV":
		return "SYN_RECV"
	case "FIN_WAIT":
		return "FIN_WAIT"
	case "TIME_WAIT":
		return "TIME_WAIT"
	case "CLOSE":
		return "CLOSE"
	case "CLOSE_WAIT":
		return "CLOSE_WAIT"
	case "LAST_ACK":
		return "LAST_ACK"
	case "LISTEN":
		return "LISTEN"
	case "SYNACK":
		return "SYNACK"
	case "NONE":
		return "NONE"
	case "UDP":
		return "UDP"
	case "ERR!":
		return "ERR!"
	}
	if len(s) > 16 {
		s = s[:16]
	}
	return strings.Clone(s)
}
