package ipvsadm

import (
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"

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
//
// Speed: the common line (numeric IPv4, ipvsadm's six columns) is read by
// scanFast with no field splitting, no netip parsing and one look-up of
// its virtual and destination columns' text; any other line goes the
// general way (splitFields, parseConnLine), which reads the lines the
// fast path takes the same way (referenceParseConns in the tests). A
// large table is also cut in chunks that other goroutines read ahead
// (speculation); their counts are merged when the reading gets there, if
// nothing before changed how lines are read.
func ParseConns(doc evidence.Doc) (*evidence.IPVS, []evidence.Problem) {
	ipvs := &evidence.IPVS{}
	probs := problems{doc: doc}
	tab := connTable{ipvs: ipvs, doc: doc, groups: make(map[connKey]*groupAcc), columns: make(map[string]*columnPair)}
	var layout connLayout
	f := parseCommand(doc.Command)
	layout.hex = strings.Contains(f.procFile, "ip_vs_conn")
	sawTitle := false
	var streak []pending

	var quit atomic.Bool
	ahead := speculate(doc.Text, &quit)
	defer func() {
		quit.Store(true)
		for _, sp := range ahead {
			<-sp.done
		}
	}()

	text := doc.Text
	var fields [16]string
	for i := 0; len(text) > 0; {
		if len(ahead) > 0 && len(doc.Text)-len(text) == ahead[0].start {
			sp := ahead[0]
			ahead = ahead[1:]
			<-sp.done
			if !layout.hex && sp.stop > sp.start {
				if sp.run.Conns > 0 {
					for _, b := range streak {
						probs.add(b.line, "not an IPVS connection line: %q", b.text)
					}
					streak = streak[:0]
				}
				tab.merge(sp.run, i)
				i += sp.run.Lines
				text = doc.Text[sp.stop:]
				continue
			}
		}
		var line string
		if j := strings.IndexByte(text, '\n'); j >= 0 {
			line, text = text[:j], text[j+1:]
		} else {
			line, text = text, ""
		}
		n := i // this line's index
		i++
		if len(line) > 0 && line[0] == 0 {
			// A run the reader of a large file counted (intake).
			if run, ok := doc.Run(line); ok {
				if run.Conns > 0 {
					for _, b := range streak {
						probs.add(b.line, "not an IPVS connection line: %q", b.text)
					}
					streak = streak[:0]
				}
				tab.merge(run, n)
				i += run.Lines - 1
				continue
			}
		}
		if !layout.hex {
			if acc, state, ok := tab.fastLine(line, n); ok {
				for _, b := range streak {
					probs.add(b.line, "not an IPVS connection line: %q", b.text)
				}
				streak = streak[:0]
				ipvs.TotalConns++
				if acc != nil {
					acc.count(state)
					acc.unanswered(state, line, func() evidence.Ref { return doc.Ref(n, strings.Clone(line)) })
				}
				continue
			}
		}
		nf := splitFields(line, fields[:])
		if nf == 0 {
			continue
		}
		t := fields[:nf]
		switch {
		case t[0] == "IPVS" || t[0] == "pro":
			sawTitle = true
			if t[0] == "pro" {
				layout.hex = false
				layout.local = containsField(t, "local") || containsField(t, "lip") || containsField(t, "laddr")
			}
			continue
		case t[0] == "Pro" && nf > 1 && t[1] == "FromIP":
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
				probs.add(n, "ipvsadm could not read the IPVS connections: %s", ev)
				continue
			}
			if len(streak) < 3 {
				streak = append(streak, pending{n, evidence.Clip(strings.TrimSpace(line), 80)})
			}
			if (sawTitle || ipvs.TotalConns > 0) && len(streak) >= 3 {
				rest := strings.Count(text, "\n") + 1
				probs.add(streak[0].line, "%d more lines from here on not understood (text pasted after the output?)", n-streak[0].line+rest)
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
		if acc := tab.group(connKey{g.v, g.d, protoID(g.proto), tmpl}, g.proto, n, line); acc != nil {
			acc.count(state)
			acc.unanswered(state, line, func() evidence.Ref { return doc.Ref(n, strings.Clone(line)) })
		}
	}
	for _, acc := range tab.groups {
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
	if tab.dropped > 0 {
		probs.add(-1, "%d connections to more than %d distinct destinations were counted but not grouped", tab.dropped, maxConnGroups)
	}
	if !sawTitle && ipvs.TotalConns == 0 && strings.TrimSpace(doc.Text) != "" {
		if ev, ok := Unavailable(doc); ok {
			return nil, []evidence.Problem{doc.Problemf(ev.Ref.Line-lineBase(doc), "ipvsadm could not read the IPVS connections: %s", ev.Detail)}
		}
	}
	return ipvs, probs.done()
}

// connTable holds the groups of one table while it is read.
type connTable struct {
	ipvs   *evidence.IPVS
	doc    evidence.Doc
	groups map[connKey]*groupAcc
	// columns maps the text of the virtual and destination columns
	// (with the blanks between) of the lines fastLine read to their groups.
	columns map[string]*columnPair
	dropped int
}

// group returns the group of k, made on its first line (line i of the
// document, its evidence); nil when there are too many groups already,
// and the connection is then only counted.
func (t *connTable) group(k connKey, proto string, i int, line string) *groupAcc {
	if acc := t.groups[k]; acc != nil {
		return acc
	}
	if len(t.groups) >= maxConnGroups {
		t.dropped++
		return nil
	}
	first := t.doc.Ref(i, line)
	// A copy: the group must not keep a 100 MB table alive through its
	// first line once the table is read.
	first.Text = strings.Clone(first.Text)
	acc := &groupAcc{g: &evidence.ConnGroup{
		Proto:    proto,
		Virtual:  k.v,
		Dest:     k.d,
		Template: k.tmpl,
		First:    first,
	}}
	t.groups[k] = acc
	t.ipvs.Conns = append(t.ipvs.Conns, acc.g)
	return acc
}

// unanswered keeps a SYN_RECV entry's client, the first few of the group:
// the line is read again only for them.
func (acc *groupAcc) unanswered(state, line string, ref func() evidence.Ref) {
	if state != "SYN_RECV" || len(acc.g.Unanswered) >= evidence.MaxUnanswered {
		return
	}
	if c, ok := clientOf(line); ok {
		acc.g.Unanswered = append(acc.g.Unanswered, evidence.ConnEntry{Client: c, Ref: ref()})
	}
}

// clientOf reads the client (source) column of an `ipvsadm -Lnc` line:
// "TCP 00:59  SYN_RECV    10.0.2.15:39852    10.103.97.2:6443   172.16.10.10:6443".
func clientOf(line string) (netip.AddrPort, bool) {
	f := strings.Fields(line)
	if len(f) < 6 {
		return netip.AddrPort{}, false
	}
	return conAddrPort(f[3])
}

func (acc *groupAcc) count(state string) {
	acc.g.Count++
	if si := stateIndex(state); si >= 0 {
		acc.known[si]++
		return
	}
	if acc.others == nil {
		acc.others = map[string]int{}
	}
	if len(acc.others) < 32 {
		acc.others[internState(state)]++
	}
}

// maxColumns bounds the column texts remembered: one per group in real
// tables, a hostile one could make one per line.
const maxColumns = 2 * maxConnGroups

// columnPair is one text of the virtual and destination columns: both
// addresses as address<<16|port, and the group of each protocol and
// template-ness once seen.
type columnPair struct {
	v, d   uint64
	groups [len(protoNames)][2]*groupAcc
}

// fastLine reads a line scanFast takes into its group; ok=false for any
// other line, which then goes the general way. The group is nil when
// there are too many groups (the connection is counted, not grouped).
func (t *connTable) fastLine(s string, i int) (acc *groupAcc, state string, ok bool) {
	l, ok := scanFast(s)
	if !ok {
		return nil, "", false
	}
	cols := t.columns[l.cols]
	if cols == nil {
		v, d, ok := readColumns(l.cols)
		if !ok {
			return nil, "", false
		}
		cols = &columnPair{v: v, d: d}
		if len(t.columns) < maxColumns {
			t.columns[strings.Clone(l.cols)] = cols
		}
	}
	if acc = cols.groups[l.proto][l.tmpl]; acc == nil {
		acc = t.group(l.key(v4(cols.v), v4(cols.d)), protoNames[l.proto], i, s)
		cols.groups[l.proto][l.tmpl] = acc
	}
	return acc, l.state, true
}

// fastFields is what scanFast reads of a line.
type fastFields struct {
	proto uint8  // index in protoNames
	tmpl  int    // 1 for a persistence template (source port 0)
	state string // as printed
	cols  string // the virtual and destination columns, blanks between
	// clock: the expiry is digits and colons (mm:ss), as ipvsadm prints it
	clock bool
}

func (l fastFields) key(v, d netip.AddrPort) connKey {
	return connKey{v: v, d: d, proto: l.proto, tmpl: l.tmpl == 1}
}

// scanFast reads the line nearly every table is made of:
//
//	TCP 14:59  ESTABLISHED 203.0.113.1:1024   192.0.2.100:80     10.1.0.1:80
//
// protocol TCP, UDP or SCTP, expiry and state, then a numeric IPv4
// address:port source column; the rest of the line, blanks trimmed, is
// the virtual and destination columns, which repeat from line to line:
// readColumns reads them the first time a text is seen. It takes only
// lines that parseConnLine reads the same way (netip's rules: four decimal
// octets without leading zeros, a decimal port).
func scanFast(s string) (l fastFields, ok bool) {
	p := skipBlank(s, 0)
	switch {
	case strings.HasPrefix(s[p:], "TCP"):
		l.proto, p = 1, p+3
	case strings.HasPrefix(s[p:], "UDP"):
		l.proto, p = 2, p+3
	case strings.HasPrefix(s[p:], "SCTP"):
		l.proto, p = 3, p+4
	default:
		return l, false
	}
	if p >= len(s) || !isBlank(s[p]) {
		return l, false
	}
	p = skipBlank(s, p)
	e := p
	p = skipToken(s, p)
	expire := s[e:p]
	p = skipBlank(s, p)
	e = p
	p = skipToken(s, p)
	l.state = s[e:p]
	if len(l.state) == 0 || (len(l.state) == 4 && isHex8(expire)) {
		return l, false // too short, or /proc/net/ip_vs_conn without its title
	}
	l.clock = len(expire) > 0
	for _, c := range []byte(expire) {
		if (c < '0' || c > '9') && c != ':' {
			l.clock = false
			break
		}
	}
	src, p, ok := fastAddrPort4(s, skipBlank(s, p))
	if !ok {
		return l, false
	}
	if uint16(src) == 0 {
		l.tmpl = 1
	}
	v0 := skipBlank(s, p)
	end := len(s)
	for end > v0 && isBlank(s[end-1]) {
		end--
	}
	l.cols = s[v0:end]
	return l, true
}

// readColumns reads the virtual and destination columns scanFast cut out:
// exactly two numeric IPv4 address:port tokens.
func readColumns(s string) (v, d uint64, ok bool) {
	v1 := skipToken(s, 0)
	d0 := skipBlank(s, v1)
	if d0 == len(s) || skipToken(s, d0) != len(s) {
		return 0, 0, false
	}
	v, vEnd, ok1 := fastAddrPort4(s, 0)
	d, dEnd, ok2 := fastAddrPort4(s, d0)
	return v, d, ok1 && ok2 && vEnd == v1 && dEnd == len(s)
}

// Speculation: large tables are read by several goroutines at once.
var (
	// speculateAbove is the size from which a table is cut in chunks.
	speculateAbove = 8 << 20
	// chunkBytes is the least a chunk holds.
	chunkBytes = 2 << 20
	// speculators is how many chunks a table is cut in at most.
	speculators = func() int { return min(runtime.GOMAXPROCS(0), 8) }
)

// speculation is a chunk of a table read ahead by a goroutine: the lines
// a RunFolder takes, from the chunk's first line up to the first one it
// does not (a title, an unknown state, anything the general way reads) or
// to the end of the chunk. ParseConns merges it when its reading reaches
// the chunk's first line with the layout that lets the fast path read
// lines (not /proc/net/ip_vs_conn's), which is what reading those lines
// one by one would have given.
type speculation struct {
	start, end int // the chunk, in bytes of the text
	stop       int // where it stopped: end, or the first line not taken
	run        *evidence.ConnRun
	done       chan struct{}
}

// speculate starts goroutines on the chunks of text after the first, if
// text is large enough; quit tells them to stop early.
func speculate(text string, quit *atomic.Bool) []*speculation {
	if len(text) < speculateAbove {
		return nil
	}
	n := min(speculators(), len(text)/max(chunkBytes, 1))
	var out []*speculation
	for k := 1; k < n; k++ {
		j := strings.IndexByte(text[len(text)*k/n:], '\n')
		if j < 0 {
			break
		}
		s := len(text)*k/n + j + 1
		if s >= len(text) || (len(out) > 0 && s <= out[len(out)-1].start) {
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].end = s
		}
		out = append(out, &speculation{start: s, end: len(text), done: make(chan struct{})})
	}
	for _, sp := range out {
		go sp.read(text, quit)
	}
	return out
}

func (sp *speculation) read(text string, quit *atomic.Bool) {
	pos := sp.start
	f := NewRunFolder()
	defer func() {
		sp.stop, sp.run = pos, f.Run()
		if recover() != nil {
			// Nothing taken: the reading goes over these lines itself
			// (where a panic is the parser's to report).
			sp.stop, sp.run = sp.start, &evidence.ConnRun{}
		}
		close(sp.done)
	}()
	for pos < sp.end {
		if f.lines%4096 == 0 && quit.Load() {
			return
		}
		lineEnd, next := sp.end, sp.end
		if j := strings.IndexByte(text[pos:sp.end], '\n'); j >= 0 {
			lineEnd, next = pos+j, pos+j+1
		}
		if !f.Take(text[pos:lineEnd]) {
			return
		}
		pos = next
	}
}

// v4 is an address<<16|port as a netip.AddrPort.
func v4(x uint64) netip.AddrPort {
	ip := uint32(x >> 16)
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)}), uint16(x))
}

// fastAddrPort4 reads "a.b.c.d:port" at s[i:] up to a blank or the end,
// as address<<16|port.
func fastAddrPort4(s string, i int) (uint64, int, bool) {
	var ip uint64
	for oct := 0; oct < 4; oct++ {
		if oct > 0 {
			if i >= len(s) || s[i] != '.' {
				return 0, i, false
			}
			i++
		}
		d0, v := i, uint64(0)
		for i < len(s) && s[i]-'0' <= 9 && i-d0 < 3 {
			v = v*10 + uint64(s[i]-'0')
			i++
		}
		if i == d0 || v > 255 || (s[d0] == '0' && i-d0 > 1) {
			return 0, i, false
		}
		ip = ip<<8 | v
	}
	if i >= len(s) || s[i] != ':' {
		return 0, i, false
	}
	i++
	p0, port := i, uint64(0)
	for i < len(s) && s[i]-'0' <= 9 && i-p0 < 5 {
		port = port*10 + uint64(s[i]-'0')
		i++
	}
	if i == p0 || port > 65535 || (i < len(s) && !isBlank(s[i])) {
		return 0, i, false
	}
	return ip<<16 | port, i, true
}

// isBlank is what splitFields splits on.
func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' }

func skipBlank(s string, i int) int {
	for i < len(s) && isBlank(s[i]) {
		i++
	}
	return i
}

func skipToken(s string, i int) int {
	for i < len(s) && !isBlank(s[i]) {
		i++
	}
	return i
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
