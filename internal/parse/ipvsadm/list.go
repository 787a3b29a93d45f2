package ipvsadm

import (
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
	for i, line := range lines {
		segs := segments(line)
		for _, seg := range segs {
			text := line
			if len(segs) > 1 {
				text = seg
			}
			p.segment(i, seg, text)
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

type listParser struct {
	doc      evidence.Doc
	ipvs     *evidence.IPVS
	probs    problems
	mode     listMode // from the title line
	hint     listMode // from the command line
	hex      bool
	svc      *evidence.VirtualService
	sawTitle bool
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

func (p *listParser) segment(i int, seg, text string) {
	s := cleanSegment(seg)
	if s == "" {
		return
	}
	switch {
	case strings.HasPrefix(s, "IP Virtual Server version"):
		p.header(i, s, text)
		return
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
		return
	case strings.HasPrefix(s, "-> RemoteAddress") || strings.HasPrefix(s, "->RemoteAddress"):
		p.sawTitle = true
		return
	case strings.HasPrefix(s, "->"):
		p.dest(i, strings.Fields(s[2:]), text)
		return
	case strings.HasPrefix(s, "Every ") && strings.Contains(s, "ipvsadm"):
		return // watch(1) title
	case strings.HasPrefix(s, "Timeout (tcp tcpfin udp)"), strings.Contains(s, "sync daemon (mcast="):
		p.sawTitle = true // -L --timeout, -L --daemon: nothing about services
		return
	case s == "No such service" || s == "Service not defined":
		p.sawTitle = true // -L -t VIP:PORT for a service that does not exist
		return
	}
	t := strings.Fields(s)
	if isProto(t[0]) {
		p.service(i, t, text)
		return
	}
	for _, m := range unavailable {
		if strings.Contains(s, m) {
			p.probs.add(i, "ipvsadm could not read the IPVS table: %s", s)
			return
		}
	}
	p.probs.add(i, "not an ipvsadm listing line: %q", clip(s))
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func (p *listParser) header(i int, s, text string) {
	rest := strings.TrimSpace(strings.TrimPrefix(s, "IP Virtual Server version"))
	v := rest
	if j := strings.IndexAny(v, " ("); j >= 0 {
		v = v[:j]
	}
	p.ipvs.Version = v
	p.ipvs.TableRef = p.doc.Ref(i, text)
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

func (p *listParser) service(i int, t []string, text string) {
	svc := &evidence.VirtualService{Proto: t[0], Ref: p.doc.Ref(i, text)}
	p.svc = nil
	if len(t) < 2 {
		p.probs.add(i, "service line without an address")
		return
	}
	rest := t[2:]
	if t[0] == "FWM" {
		base := 10
		if p.hex {
			base = 16
		}
		m, err := strconv.ParseUint(t[1], base, 32)
		if err != nil {
			p.probs.add(i, "bad firewall mark %q", clip(t[1]))
			return
		}
		svc.FWMark = uint32(m)
		if len(rest) > 0 && rest[0] == "IPv6" {
			rest = rest[1:]
		}
	} else {
		a, port, kind := parseAddrPort(t[1], p.hex)
		switch kind {
		case addrName:
			p.probs.add(i, "service address %q is a host name (ipvsadm without -n); addresses are unknown", clip(t[1]))
		case addrInvalid:
			if _, _, ok := splitHostPort(t[1]); !ok {
				p.probs.add(i, "bad service address %q", clip(t[1]))
				return
			}
			p.probs.add(i, "service address %q is not an IP address (anonymised?)", clip(t[1]))
			if _, pp, ok := splitHostPort(t[1]); ok {
				port, _ = parsePort(pp, p.hex)
			}
		}
		svc.Addr, svc.Port = a, port
	}
	guess := modePlain
	if len(rest) > 0 {
		if _, ok := parseNum(rest[0]); ok {
			guess = modeStats
		}
	}
	switch p.effMode(guess) {
	case modeStats, modeRate:
		if len(rest) > 0 {
			if _, ok := parseNum(rest[0]); !ok {
				// a stats title with a plain service line: trust the line
				p.plainService(svc, rest)
				break
			}
		}
		n, ok := nums(rest, 5)
		if !ok {
			p.probs.add(i, "expected 5 counters after the service")
			break
		}
		if p.effMode(guess) == modeRate {
			svc.Rate = &evidence.Rate{CPS: n[0], InPPS: n[1], OutPPS: n[2], InBPS: n[3], OutBPS: n[4]}
		} else {
			svc.Stats = &evidence.Stats{Conns: n[0], InPkts: n[1], OutPkts: n[2], InBytes: n[3], OutBytes: n[4]}
		}
	default:
		p.plainService(svc, rest)
	}
	p.ipvs.Services = append(p.ipvs.Services, svc)
	p.svc = svc
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

func (p *listParser) dest(i int, t []string, text string) {
	if len(t) == 0 {
		p.probs.add(i, "destination line without an address")
		return
	}
	if p.svc == nil {
		p.probs.add(i, "destination without a service before it")
		return
	}
	rs := &evidence.RealServer{Ref: p.doc.Ref(i, text)}
	a, port, kind := parseAddrPort(t[0], p.hex)
	switch kind {
	case addrName:
		p.probs.add(i, "real server %q is a host name (ipvsadm without -n)", clip(t[0]))
	case addrInvalid:
		hp, pp, ok := splitHostPort(t[0])
		if !ok {
			p.probs.add(i, "bad real server address %q", clip(t[0]))
			return
		}
		_ = hp
		port, _ = parsePort(pp, p.hex)
		p.probs.add(i, "real server address %q is not an IP address (anonymised?)", clip(t[0]))
	}
	rs.Addr, rs.Port = a, port
	rest := t[1:]
	guess := modePlain
	if len(rest) > 0 {
		if _, ok := canonMethod(rest[0]); !ok {
			if _, ok := parseNum(rest[0]); ok {
				guess = modeStats
			}
		}
	}
	mode := p.effMode(guess)
	if len(rest) > 0 {
		if _, ok := canonMethod(rest[0]); ok {
			mode = modePlain
		}
	}
	switch mode {
	case modeStats, modeRate:
		n, ok := nums(rest, 5)
		if !ok {
			p.probs.add(i, "expected 5 counters after the real server")
			break
		}
		if mode == modeRate {
			rs.Rate = &evidence.Rate{CPS: n[0], InPPS: n[1], OutPPS: n[2], InBPS: n[3], OutBPS: n[4]}
		} else {
			rs.Stats = &evidence.Stats{Conns: n[0], InPkts: n[1], OutPkts: n[2], InBytes: n[3], OutBytes: n[4]}
		}
	case modeThresholds:
		n, ok := nums(rest, 4)
		if !ok {
			p.probs.add(i, "expected Uthreshold Lthreshold ActiveConn InActConn")
			break
		}
		rs.ActiveConn, rs.InActConn = int(min(n[2], 1<<31-1)), int(min(n[3], 1<<31-1))
	case modePersist:
		n, ok := nums(rest, 4)
		if !ok {
			p.probs.add(i, "expected Weight PersistConn ActiveConn InActConn")
			break
		}
		rs.Weight = int(min(n[0], 1<<31-1))
		rs.ActiveConn, rs.InActConn = int(min(n[2], 1<<31-1)), int(min(n[3], 1<<31-1))
	default:
		if len(rest) < 4 {
			p.probs.add(i, "expected Forward Weight ActiveConn InActConn after the real server")
			break
		}
		m, ok := canonMethod(rest[0])
		if !ok {
			p.probs.add(i, "unknown forwarding method %q", clip(rest[0]))
		}
		rs.Method = m
		w, err := strconv.Atoi(rest[1])
		if err != nil {
			p.probs.add(i, "bad weight %q", clip(rest[1]))
		}
		rs.Weight = w
		n, ok := nums(rest[2:], 2)
		if !ok {
			p.probs.add(i, "bad connection counts")
			break
		}
		rs.ActiveConn, rs.InActConn = int(min(n[0], 1<<31-1)), int(min(n[1], 1<<31-1))
	}
	p.svc.Dests = append(p.svc.Dests, rs)
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
