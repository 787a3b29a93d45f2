package ipvsadm

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// ParseList parses `ipvsadm -L[n]` in any of its column sets, and
// /proc/net/ip_vs (the same layout with hexadecimal addresses, ports and
// fwmarks).
func ParseList(doc evidence.Doc) (*evidence.IPVS, []evidence.Problem) {
	p := &listParser{
		doc:   doc,
		ipvs:  &evidence.IPVS{},
		probs: problems{doc: doc},
	}
	f := parseCommand(doc.Command)
	switch {
	case f.stats:
		p.hint = modeStats
	case f.rate:
		p.hint = modeRate
	case f.thresholds:
		p.hint = modeThresholds
	case f.persist:
		p.hint = modePersist
	}
	p.hex = f.procFile == "/proc/net/ip_vs"
	lines := doc.Lines()
	if !p.hex {
		// The kernel's own file uses hex everywhere; ipvsadm never does.
		for _, l := range lines {
			t := strings.Fields(l)
			if len(t) >= 2 && isProto(t[0]) {
				if t[0] == "FWM" {
					p.hex = isHex8(t[1])
				} else {
					h, _, _ := splitHostPort(t[1])
					p.hex = isHex8(h)
				}
				break
			}
		}
	}
	var streak []pending
	for i, line := range lines {
		if strings.TrimSpace(line) == "" {
			continue
		}
		segs := segments(line)
		ok := true
		for _, seg := range segs {
			text := line
			if len(segs) > 1 {
				text = seg
			}
			if !p.segment(i, seg, text) {
				ok = false
			}
		}
		if ok {
			for _, b := range streak {
				p.probs.add(b.line, "not an ipvsadm listing line: %q", b.text)
			}
			streak = streak[:0]
			continue
		}
		streak = append(streak, pending{i, evidence.Clip(strings.TrimSpace(line), 80)})
		if p.started() && len(streak) >= 3 {
			// prose or another command's output pasted after the table
			p.probs.add(streak[0].line, "%d more lines from here on not understood (text pasted after the output?)", len(lines)-streak[0].line)
			streak = nil
			break
		}
	}
	for _, b := range streak {
		p.probs.add(b.line, "not an ipvsadm listing line: %q", b.text)
	}
	if p.elided || strings.Contains(doc.Command, "|") {
		for _, s := range p.ipvs.Services {
			s.Filtered = true
		}
	}
	if p.svc == nil && len(p.ipvs.Services) == 0 && p.ipvs.Version == "" && !p.sawTitle {
		if ev, ok := Unavailable(doc); ok {
			return nil, []evidence.Problem{doc.Problemf(ev.Ref.Line-lineBase(doc), "ipvsadm could not read the IPVS table: %s", ev.Detail)}
		}
		if strings.TrimSpace(doc.Text) != "" {
			p.probs.add(-1, "no IPVS table header or service found")
		}
	}
	return p.ipvs, p.probs.done()
}

// pending is an unrecognised line kept until it is known whether it starts
// a run of pasted prose (one problem) or stands alone (one problem each).
type pending struct {
	line int
	text string
}

func (p *listParser) started() bool {
	return p.sawTitle || len(p.ipvs.Services) > 0 || p.ipvs.Version != ""
}

type listParser struct {
	doc      evidence.Doc
	ipvs     *evidence.IPVS
	probs    problems
	mode     listMode // from the title line
	hint     listMode // from the command line
	hex      bool
	svc      *evidence.VirtualService
	sawTitle bool
	// elided is a line of dots ("......", "…") where the user cut lines
	// out of the listing.
	elided bool
}

// segments cuts a line at every "->" and every protocol keyword that
// starts a service, so that tables pasted without line breaks (or joined
// with "|") are read record by record. A normal line is one segment.
func segments(line string) []string {
	if strings.IndexByte(line, '|') >= 0 {
		line = strings.ReplaceAll(line, "|", " ")
	}
	var cuts []int
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '-' && i+1 < len(line) && line[i+1] == '>':
			cuts = append(cuts, i)
			i++
		case i > 0 && (line[i] == 'T' || line[i] == 'U' || line[i] == 'S' || line[i] == 'F') && startsService(line, i):
			cuts = append(cuts, i)
		}
	}
	if len(cuts) == 0 || (len(cuts) == 1 && strings.TrimSpace(line[:cuts[0]]) == "") {
		return []string{line}
	}
	out := make([]string, 0, len(cuts)+1)
	prev := 0
	for _, c := range cuts {
		if s := line[prev:c]; strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
		prev = c
	}
	out = append(out, line[prev:])
	return out
}

// startsService reports whether a protocol keyword followed by an address
// (or a mark) starts at line[i], after a blank or the end of a number.
func startsService(line string, i int) bool {
	prev := line[i-1]
	if !(prev == ' ' || prev == '\t' || prev >= '0' && prev <= '9') {
		return false
	}
	rest := line[i:]
	for _, kw := range []string{"TCP", "UDP", "SCTP", "FWM"} {
		if strings.HasPrefix(rest, kw) {
			after := rest[len(kw):]
			trimmed := strings.TrimLeft(after, " \t")
			if len(trimmed) == len(after) || trimmed == "" {
				return false
			}
			c := trimmed[0]
			return c >= '0' && c <= '9' || c == '[' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == 'x'
		}
	}
	return false
}

// cleanSegment drops what people paste in front of a record: bullets,
// circled numbers, prompts' leftovers.
func cleanSegment(s string) string {
	s = strings.TrimSpace(s)
	for s != "" {
		c := s[0]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '[' {
			break
		}
		if c < 0x80 {
			s = s[1:]
			continue
		}
		// skip one multi-byte rune
		j := 1
		for j < len(s) && s[j]&0xC0 == 0x80 {
			j++
		}
		s = s[j:]
	}
	return strings.TrimSpace(s)
}

// segment reads one record; false when it is not part of a listing.
func (p *listParser) segment(i int, seg, text string) bool {
	s := cleanSegment(seg)
	if s == "" {
		if t := strings.TrimSpace(seg); strings.HasPrefix(t, "...") || strings.HasPrefix(t, "…") || strings.HasPrefix(t, "⋮") {
			p.elided = true
		}
		return true
	}
	switch {
	case strings.HasPrefix(s, "IP Virtual Server version"):
		p.header(i, s, text)
		return true
	case strings.HasPrefix(s, "Prot LocalAddress"):
		p.sawTitle = true
		switch {
		case strings.Contains(s, "Conns"):
			p.mode = modeStats
		case strings.Contains(s, "CPS"):
			p.mode = modeRate
		case strings.Contains(s, "Uthreshold"):
			p.mode = modeThresholds
		case strings.Contains(s, "PersistConn"):
			p.mode = modePersist
		case strings.Contains(s, "Scheduler"):
			p.mode = modePlain
		}
		return true
	case strings.HasPrefix(s, "-> RemoteAddress") || strings.HasPrefix(s, "->RemoteAddress"):
		p.sawTitle = true
		return true
	case strings.HasPrefix(s, "->"):
		return p.dest(i, strings.Fields(s[2:]), text)
	case strings.HasPrefix(s, "Every ") && strings.Contains(s, "ipvsadm"):
		return true // watch(1) title
	case strings.HasPrefix(s, "Timeout (tcp tcpfin udp)"):
		p.sawTitle = true // -L --timeout: nothing about services
		p.timeouts(i, s, text)
		return true
	case strings.Contains(s, "sync daemon (mcast="):
		p.sawTitle = true // -L --daemon
		p.ipvs.SyncDaemons = append(p.ipvs.SyncDaemons, p.doc.Ref(i, text))
		return true
	case s == "No such service" || s == "Service not defined":
		p.sawTitle = true // -L -t VIP:PORT for a service that does not exist
		return true
	}
	t := strings.Fields(s)
	if isProto(t[0]) {
		return p.service(i, t, text)
	}
	for _, m := range unavailable {
		if strings.Contains(s, m) {
			p.probs.add(i, "ipvsadm could not read the IPVS table: %s", s)
			return true
		}
	}
	return false
}

// timeouts reads `ipvsadm -L --timeout`: "Timeout (tcp tcpfin udp): 900 120 300".
func (p *listParser) timeouts(i int, s, text string) {
	_, nums, _ := strings.Cut(s, ":")
	f := strings.Fields(nums)
	if len(f) != 3 {
		p.probs.add(i, "ipvsadm --timeout: want three numbers (tcp tcpfin udp), got %q", strings.TrimSpace(nums))
		return
	}
	var v [3]int
	for k, x := range f {
		n, err := strconv.Atoi(x)
		if err != nil || n < 0 {
			p.probs.add(i, "ipvsadm --timeout: %q is not a number of seconds", x)
			return
		}
		v[k] = n
	}
	p.ipvs.Timeouts = &evidence.IPVSTimeouts{TCP: v[0], TCPFin: v[1], UDP: v[2], Ref: p.doc.Ref(i, text)}
}

func (p *listParser) header(i int, s, text string) {
	rest := strings.TrimSpace(strings.TrimPrefix(s, "IP Virtual Server version"))
	v := rest
	if j := strings.IndexAny(v, " ("); j >= 0 {
		v = v[:j]
	}
	p.ipvs.Version = v
	p.ipvs.TableRef = p.doc.Ref(i, text)
	p.ipvs.DPVS = strings.Contains(rest, "(size=0)")
}

// effMode is the column set in force: the title's, else the command's,
// else a guess from the line itself.
func (p *listParser) effMode(guess listMode) listMode {
	if p.mode != modeUnknown {
		return p.mode
	}
	if p.hint != modeUnknown {
		return p.hint
	}
	return guess
}

// service reads a service line; false when the line only looks like one
// (prose starting with "TCP", a garbled paste).
func (p *listParser) service(i int, t []string, text string) bool {
	svc := &evidence.VirtualService{Proto: t[0], Ref: p.doc.Ref(i, text)}
	if len(t) < 2 {
		return false
	}
	rest := t[2:]
	var warn string
	if t[0] == "FWM" {
		base := 10
		if p.hex {
			base = 16
		}
		m, err := strconv.ParseUint(t[1], base, 32)
		if err != nil {
			return false
		}
		svc.FWMark = uint32(m)
		if len(rest) > 0 && rest[0] == "IPv6" {
			rest = rest[1:]
		}
	} else {
		a, port, kind := parseAddrPort(t[1], p.hex)
		switch kind {
		case addrName:
			warn = fmt.Sprintf("service address %q is a host name (ipvsadm without -n); addresses are unknown", evidence.Clip(t[1], 80))
		case addrInvalid:
			if !anonymised(t[1]) {
				return false
			}
			warn = fmt.Sprintf("service address %q is not an IP address (anonymised?)", evidence.Clip(t[1], 80))
			_, pp, _ := splitHostPort(t[1])
			port, _ = parsePort(pp, p.hex)
		}
		svc.Addr, svc.Port = a, port
	}
	guess := modePlain
	if len(rest) > 0 {
		if _, ok := parseNum(rest[0]); ok {
			guess = modeStats
		}
	}
	switch mode := p.effMode(guess); {
	case (mode == modeStats || mode == modeRate) && guess == modeStats:
		n, ok := nums(rest, 5)
		if !ok {
			return false
		}
		if mode == modeRate {
			svc.Rate = &evidence.Rate{CPS: n[0], InPPS: n[1], OutPPS: n[2], InBPS: n[3], OutBPS: n[4]}
		} else {
			svc.Stats = &evidence.Stats{Conns: n[0], InPkts: n[1], OutPkts: n[2], InBytes: n[3], OutBytes: n[4], Ref: svc.Ref}
		}
	default:
		// Scheduler Flags (the same line under -L, --thresholds and
		// --persistent-conn titles): a scheduler is a short word
		if len(rest) == 0 || !isWord(rest[0]) {
			return false
		}
		p.plainService(svc, rest)
	}
	if warn != "" {
		p.probs.add(i, "%s", warn)
	}
	p.ipvs.Services = append(p.ipvs.Services, svc)
	p.svc = svc
	return true
}

// isWord reports whether s could be a scheduler name (rr, wlc, mh, conhash).
func isWord(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// anonymised accepts the address forms people paste instead of real ones
// (x.y.z.208:80, xxx.xxx.1.60:52002, 10.x.x.1:80).
func anonymised(s string) bool {
	host, port, ok := splitHostPort(s)
	if !ok {
		return false
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return false
	}
	parts := strings.Split(host, ".")
	if len(parts) != 4 {
		return false
	}
	for _, part := range parts {
		if part == "" || len(part) > 3 {
			return false
		}
		if _, err := strconv.ParseUint(part, 10, 8); err == nil {
			continue
		}
		if strings.Trim(part, "xXyYzZ*") != "" {
			return false
		}
	}
	return true
}

func (p *listParser) plainService(svc *evidence.VirtualService, rest []string) {
	if len(rest) == 0 {
		return
	}
	svc.Scheduler = strings.Clone(rest[0])
	for j := 1; j < len(rest); j++ {
		svc.Flags = append(svc.Flags, strings.Clone(rest[j]))
		if rest[j] == "persistent" {
			svc.Persistent = -1
			if j+1 < len(rest) {
				if n, ok := atoi(rest[j+1]); ok && !p.hex {
					svc.Persistent = n
				}
			}
		}
	}
}

// nums reads the first n counters of t.
func nums(t []string, n int) ([]uint64, bool) {
	if len(t) < n {
		return nil, false
	}
	out := make([]uint64, n)
	for k := 0; k < n; k++ {
		v, ok := parseNum(t[k])
		if !ok {
			return nil, false
		}
		out[k] = v
	}
	return out, true
}

// dest reads a real server line; false when it only looks like one.
func (p *listParser) dest(i int, t []string, text string) bool {
	if len(t) == 0 || p.svc == nil {
		return false
	}
	rs := &evidence.RealServer{Ref: p.doc.Ref(i, text)}
	var warn string
	a, port, kind := parseAddrPort(t[0], p.hex)
	switch kind {
	case addrName:
		warn = fmt.Sprintf("real server %q is a host name (ipvsadm without -n)", evidence.Clip(t[0], 80))
	case addrInvalid:
		if !anonymised(t[0]) {
			return false
		}
		_, pp, _ := splitHostPort(t[0])
		port, _ = parsePort(pp, p.hex)
		warn = fmt.Sprintf("real server address %q is not an IP address (anonymised?)", evidence.Clip(t[0], 80))
	}
	rs.Addr, rs.Port = a, port
	rest := t[1:]
	method, isMethod := "", false
	if len(rest) > 0 {
		method, isMethod = canonMethod(rest[0])
	}
	mode := p.effMode(modeStats)
	if isMethod {
		mode = modePlain
	} else if mode == modePlain {
		return false // a plain listing always names the method
	}
	clamp := func(v uint64) int { return int(min(v, 1<<31-1)) }
	switch mode {
	case modeStats, modeRate:
		n, ok := nums(rest, 5)
		if !ok {
			return false
		}
		if mode == modeRate {
			rs.Rate = &evidence.Rate{CPS: n[0], InPPS: n[1], OutPPS: n[2], InBPS: n[3], OutBPS: n[4]}
		} else {
			rs.Stats = &evidence.Stats{Conns: n[0], InPkts: n[1], OutPkts: n[2], InBytes: n[3], OutBytes: n[4], Ref: rs.Ref}
		}
	case modeThresholds:
		n, ok := nums(rest, 4)
		if !ok {
			return false
		}
		rs.ActiveConn, rs.InActConn = clamp(n[2]), clamp(n[3])
	case modePersist:
		n, ok := nums(rest, 4)
		if !ok {
			return false
		}
		rs.Weight = clamp(n[0])
		rs.ActiveConn, rs.InActConn = clamp(n[2]), clamp(n[3])
	default:
		if len(rest) < 4 {
			return false
		}
		w, err := strconv.Atoi(rest[1])
		n, ok := nums(rest[2:], 2)
		if err != nil || !ok {
			return false
		}
		rs.Method, rs.Weight = method, w
		rs.ActiveConn, rs.InActConn = clamp(n[0]), clamp(n[1])
	}
	if warn != "" {
		p.probs.add(i, "%s", warn)
	}
	p.svc.Dests = append(p.svc.Dests, rs)
	return true
}

// keyOf is the merge key of a service: Key() when its address is known,
// else the text of its line (anonymised pastes).
func keyOf(s *evidence.VirtualService) string {
	if s.Proto == "FWM" || s.Addr.IsValid() {
		return s.Key()
	}
	return s.Proto + " ?" + strconv.Itoa(int(s.Port)) + " " + s.Ref.Source + ":" + strconv.Itoa(s.Ref.Line)
}

func destKey(d *evidence.RealServer) netip.AddrPort {
	return netip.AddrPortFrom(d.Addr, d.Port)
}
