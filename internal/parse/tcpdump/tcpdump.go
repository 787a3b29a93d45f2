// Package tcpdump parses the text tcpdump prints (not pcap files): the
// one-line forms of -n/-nn, the link-layer forms of -e, the two-line verbose
// forms of -v/-vv/-vvv, Linux cooked captures of `-i any` (v1 and v2, with
// the interface and direction columns), with or without timestamps of any
// -t flavour, and the damaged forms pasting produces (blank lines between
// lines, lost line breaks, lost spaces, markers such as ❶ before the
// timestamp, continuation lines indented with no-break spaces).
//
// Each packet becomes an evidence.Frame. Fields a form does not show stay
// unknown: IPID is -1 and TTL 0 without -v, MACs are empty without -e.
// Length is the protocol payload's length as tcpdump prints it last
// ("length 0" for a bare SYN, 64 for a ping, 28 for ARP).
package tcpdump

import (
	"net/netip"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// MaxFrames bounds what one document may cost: a capture of a busy
// director printed as text can run to millions of lines.
const MaxFrames = 200000

// maxProblems bounds the problems one document reports: a file of some
// other format would otherwise yield one per line.
const maxProblems = 20

// parser holds the state of one document.
type parser struct {
	doc      evidence.Doc
	frames   []evidence.Frame
	probs    []evidence.Problem
	dropped  int // problems not reported
	iface    string
	awaitIdx int  // index of the frame whose addresses are on the next line, -1 if none
	awaitIn  bool // ...its inner (IPIP) packet's
	bad      int  // lines that were not understood
	anon     int  // frames whose addresses could not be read
	capped   bool // MaxFrames reached
	seq      *seqState
	ascii    bool // -A: payloads printed unindented as text
	// prose counts the lines of text between packets (isProse); the
	// first is cited.
	prose     int
	proseLine int
	proseText string
}

// Parse reads tcpdump text output. The interface of each frame is the one a
// cooked capture names, else the `listening on IFACE` header's, else the
// command's `-i IFACE`, else the one in the file name (tcpdump-eth0.txt,
// br0.txt).
func Parse(doc evidence.Doc) ([]evidence.Frame, []evidence.Problem) {
	p := &parser{doc: doc, awaitIdx: -1, seq: newSeqState(doc.Command), ascii: hasFlag(doc.Command, 'A')}
	p.iface = ifaceFromCommand(doc.Command)
	if p.iface == "" {
		p.iface = IfaceFromName(doc.Source)
	}
	for i, line := range doc.Lines() {
		// A paste that lost line breaks glues packets together: cut
		// before every timestamp that starts a packet.
		for {
			// Search after the line's own timestamp: -tttt's date is
			// followed by a time that must not be cut off.
			from := 0
			trimmed := strings.TrimLeftFunc(line, unicode.IsSpace)
			if n := timestampLen(trimmed); n > 0 {
				from = n + len(line) - len(trimmed)
			}
			if !hasTime(line[from:]) {
				break
			}
			loc := gluedRe.FindStringIndex(line[from:])
			if loc == nil {
				break
			}
			p.line(i, line[:from+loc[0]])
			line = line[from+loc[0]+1:]
		}
		p.line(i, line)
	}
	if p.dropped > 0 {
		p.probs = append(p.probs, p.doc.Problemf(-1, "%d more lines not understood", p.dropped))
	}
	if p.prose > 0 {
		p.probs = append(p.probs, p.doc.Problemf(p.proseLine, "%d lines of text between the packets, not tcpdump output (prose pasted with the capture?), not used: %q…", p.prose, p.proseText))
	}
	if p.anon > 0 {
		p.probs = append(p.probs, p.doc.Problemf(-1, "%d packets with addresses that are not IP addresses (anonymised or resolved names; use tcpdump -n)", p.anon))
	}
	return p.frames, p.probs
}

func (p *parser) problem(i int, format string, args ...any) {
	if len(p.probs) >= maxProblems {
		p.dropped++
		return
	}
	p.probs = append(p.probs, p.doc.Problemf(i, format, args...))
}

var (
	listeningRe = regexp.MustCompile(`^(?:tcpdump: )?listening on (\S+?),? link-type`)
	trailerRe   = regexp.MustCompile(`^\d+ packets? (?:captured|received by filter|dropped by (?:kernel|interface))`)
	// A packet glued to the end of the previous one.
	gluedRe = regexp.MustCompile(`\s(?:\d{4}-\d{2}-\d{2} )?\d{2}:\d{2}:\d{2}\.\d{6,9}\s+(?:IP6? |ARP, |[0-9a-fA-F]{1,2}:[0-9a-fA-F]{1,2}:|[A-Za-z][\w.@-]*\s+(?:In|Out|B|M|P)\s)`)
)

func (p *parser) line(i int, raw string) {
	indented := raw != "" && unicode.IsSpace(firstRune(raw))
	s := strings.TrimFunc(raw, unicode.IsSpace)
	if s == "" {
		return
	}
	// Header and trailer lines.
	if m := listeningRe.FindStringSubmatch(s); m != nil {
		if m[1] != "any" {
			p.iface = m[1]
		}
		return
	}
	if strings.HasPrefix(s, "tcpdump:") || strings.HasPrefix(s, "reading from file") || strings.HasPrefix(s, "Warning:") ||
		strings.HasPrefix(s, "WARNING:") || trailerRe.MatchString(s) || s == "^C" {
		return
	}
	if indented {
		p.continuation(i, raw, s)
		return
	}
	// Markers pasted before the timestamp (❶, ①, →).
	t := strings.TrimLeftFunc(s, func(r rune) bool { return r >= utf8.RuneSelf && !unicode.IsLetter(r) || unicode.IsSpace(r) })
	if n := timestampLen(t); n > 0 {
		p.packet(i, raw, t[:n], strings.TrimLeftFunc(t[n:], unicode.IsSpace))
		return
	}
	if startsPacket(t) {
		p.packet(i, raw, "", t)
		return
	}
	// A continuation line whose indentation was lost.
	if p.awaitIdx >= 0 && addrLineRe.MatchString(t) {
		p.continuation(i, raw, t)
		return
	}
	if p.ascii && len(p.frames) > 0 {
		return // a payload printed by -A
	}
	if len(p.frames) > 0 && isProse(s) {
		// The page's text between the captures it quotes: one problem
		// for all of it, not one per line.
		if p.prose == 0 {
			p.proseLine, p.proseText = i, evidence.Clip(s, 60)
		}
		p.prose++
		return
	}
	p.bad++
	p.problem(i, "not tcpdump output: %q", evidence.Clip(s, 80))
}

// isProse reports whether a line is a sentence, not a damaged packet
// line: letters of a script tcpdump never prints (CJK, Cyrillic...), or
// five words or more that are nearly all words of letters.
func isProse(s string) bool {
	foreign := 0
	for _, r := range s {
		if r >= utf8.RuneSelf && unicode.IsLetter(r) && !unicode.Is(unicode.Latin, r) {
			if foreign++; foreign >= 2 {
				return true
			}
		}
	}
	fields := strings.Fields(s)
	if len(fields) < 5 {
		return false
	}
	words := 0
	for _, f := range fields {
		f = strings.TrimRight(f, ",.;:!?)")
		if f != "" && strings.IndexFunc(f, func(r rune) bool { return !unicode.IsLetter(r) && r != '\'' && r != '-' }) < 0 {
			words++
		}
	}
	return words*5 >= len(fields)*4
}

// hasFlag reports whether a command line carries the one-letter option c,
// alone or in a group (-nnA).
func hasFlag(cmd string, c rune) bool {
	for _, f := range strings.Fields(cmd) {
		if len(f) >= 2 && f[0] == '-' && f[1] != '-' && strings.ContainsRune(f[1:], c) {
			return true
		}
	}
	return false
}

// timestampLen returns the length of the timestamp s starts with: -tttt's
// date and time, the default time of day (and -ttt/-ttttt deltas), or -tt's
// seconds since the epoch; 0 when s starts with none.
func timestampLen(s string) int {
	digits := func(k, min, max int) int { // end of a run of min..max digits at k, or -1
		j := k
		for j < len(s) && j-k < max && isDigit(s[j]) {
			j++
		}
		if j-k < min {
			return -1
		}
		return j
	}
	frac := func(k int) int {
		if k < len(s) && s[k] == '.' {
			if j := digits(k+1, 1, 9); j > 0 {
				return j
			}
		}
		return k
	}
	k := 0
	if j := digits(0, 4, 4); j == 4 && len(s) > 11 && s[4] == '-' && s[7] == '-' && (s[10] == ' ' || s[10] == 'T') {
		if digits(5, 2, 2) == 7 && digits(8, 2, 2) == 10 {
			k = 11
		}
	}
	if j := digits(k, 1, 2); j > 0 && j < len(s) && s[j] == ':' {
		if j2 := digits(j+1, 2, 2); j2 > 0 && j2 < len(s) && s[j2] == ':' {
			if j3 := digits(j2+1, 2, 2); j3 > 0 {
				return frac(j3)
			}
		}
		return 0
	}
	if k == 0 {
		if j := digits(0, 9, 10); j > 0 && j < len(s) && s[j] == '.' {
			if e := frac(j); e > j {
				return e
			}
		}
	}
	return 0
}

// hasTime reports whether s holds "dd:dd:dd.d" somewhere: a cheap test
// before the costly search for glued packets.
func hasTime(s string) bool {
	for {
		k := strings.IndexByte(s, ':')
		if k < 0 {
			return false
		}
		if k >= 2 && k+7 <= len(s) && isDigit(s[k-1]) && isDigit(s[k-2]) && isDigit(s[k+1]) && isDigit(s[k+2]) &&
			s[k+3] == ':' && isDigit(s[k+4]) && isDigit(s[k+5]) && s[k+6] == '.' {
			return true
		}
		s = s[k+1:]
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

// startsPacket recognises packet lines printed without a timestamp (-t).
func startsPacket(s string) bool {
	for _, pre := range []string{"IP ", "IP6 ", "ARP, ", "RARP, ", "arp "} {
		if strings.HasPrefix(s, pre) {
			return true
		}
	}
	return macRe.MatchString(s)
}

var (
	// A MAC, or one anonymised by hand in a ticket ("xx:xx:xe:xx:xx:x",
	// "xx:xx:xx:xx:xx": placeholders, often of the wrong length), which
	// is read as a MAC nobody knows (linkMAC).
	macPat = `[0-9a-fA-FxX]{1,2}(?::[0-9a-fA-FxX]{1,2}){3,7}`
	macRe  = regexp.MustCompile(`^` + macPat + `\s*>\s*` + macPat)
	// The -e link header: "SRC > DST, ethertype IPv4 (0x0800), length 74: ".
	// Pastes lose spaces around ">" and after commas.
	linkRe = regexp.MustCompile(`^(` + macPat + `)\s*>\s*(` + macPat + `)\s*,?\s*(?:ethertype\s+([\w.-]+)(?:\s*\(0x[0-9a-fA-F]+\))?|(802\.3|802\.2|LLC))\s*,\s*length\s+(\d+)\s*:\s*`)
	// Cooked v1/v2 with -e: "02:00:00:00:00:10 ethertype IPv4 (0x0800), length 100: ".
	cookedLinkRe = regexp.MustCompile(`^(?:ifindex \d+ )?(` + macPat + `)?\s*ethertype\s+([\w.-]+)(?:\s*\(0x[0-9a-fA-F]+\))?\s*,\s*length\s+(\d+)\s*:\s*`)
	vlanRe       = regexp.MustCompile(`^vlan (\d+), p \d+, (?:ethertype\s+([\w.-]+)(?:\s*\(0x[0-9a-fA-F]+\))?, )?`)
	// "SRC > DST: rest": IPv4 addresses with an optional port; IPv6
	// addresses contain colons and are handled apart.
	addrLineRe = regexp.MustCompile(`^([\w.-]+)\s*>\s*([\w.-]+)\s*:\s*`)
	addr6Re    = regexp.MustCompile(`^([0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*|[\w.-]+)\s*>\s*(\S+?):(?:\s+|$)`)
)

var dirs = map[string]string{"In": "in", "Out": "out", "B": "broadcast", "M": "multicast", "P": "other"}

// await says which packet of the last frame waits for its address line.
type await int

const (
	awaitNone await = iota
	awaitOuter
	awaitInner
)

// packet parses a line that starts a packet; rest is after the timestamp.
func (p *parser) packet(i int, raw, ts, rest string) {
	p.awaitIdx = -1
	if len(p.frames) >= MaxFrames {
		if !p.capped {
			p.capped = true
			p.problem(i, "more than %d packets: the rest is not read", MaxFrames)
		}
		return
	}
	f := evidence.Frame{Time: ts, Iface: p.iface, IPID: -1, Ref: p.doc.Ref(i, raw)}
	// Cooked capture columns: "eth0  Out IP ...", or v1's " In ..." / "Out ...".
	fs := strings.Fields(rest)
	if len(fs) >= 2 {
		if d, ok := dirs[fs[1]]; ok && fs[0] != "IP" && fs[0] != "IP6" && isIfaceName(fs[0]) {
			f.Iface, f.Dir = fs[0], d
			rest = afterFields(rest, 2)
		} else if d, ok := dirs[fs[0]]; ok {
			f.Dir = d
			rest = afterFields(rest, 1)
		}
	}
	ethertype := ""
	if m := linkRe.FindStringSubmatch(rest); m != nil {
		f.SrcMAC, f.DstMAC = linkMAC(m[1]), linkMAC(m[2])
		ethertype = m[3]
		if m[4] != "" {
			ethertype = m[4]
		}
		rest = rest[len(m[0]):]
	} else if m := cookedLinkRe.FindStringSubmatch(rest); m != nil {
		f.SrcMAC = linkMAC(m[1])
		ethertype = m[2]
		rest = rest[len(m[0]):]
	}
	if strings.EqualFold(ethertype, "802.1Q") || strings.EqualFold(ethertype, "802.1Q-QinQ") {
		f.Type = "vlan"
		ethertype = ""
		if m := vlanRe.FindStringSubmatch(rest); m != nil {
			ethertype = m[2]
			if ethertype == "" {
				ethertype = "IPv4"
			}
			rest = rest[len(m[0]):]
		}
	}
	aw := awaitNone
	switch {
	case ethertype != "":
		setType(&f, etherType(ethertype))
		switch etherType(ethertype) {
		case "ipv4":
			aw = p.ip(i, &f, rest, false)
		case "ipv6":
			aw = p.ip(i, &f, rest, true)
		case "arp":
			p.arp(&f, rest)
		}
	case strings.HasPrefix(rest, "IP6 "):
		setType(&f, "ipv6")
		aw = p.ip(i, &f, rest[4:], true)
	case strings.HasPrefix(rest, "IP "):
		setType(&f, "ipv4")
		aw = p.ip(i, &f, rest[3:], false)
	case strings.HasPrefix(rest, "ARP, ") || strings.HasPrefix(rest, "arp "):
		setType(&f, "arp")
		p.arp(&f, rest[strings.IndexByte(rest, ' ')+1:])
	case strings.HasPrefix(rest, "RARP, "):
		setType(&f, "rarp")
	case addrLineRe.MatchString(rest) || strings.HasPrefix(rest, "(tos "):
		setType(&f, "ipv4")
		aw = p.ip(i, &f, rest, false)
	default:
		if f.SrcMAC == "" && f.Dir == "" {
			p.bad++
			p.problem(i, "packet line not understood: %q", evidence.Clip(rest, 80))
			return
		}
		setType(&f, strings.ToLower(firstWord(rest)))
	}
	p.frames = append(p.frames, f)
	if aw != awaitNone {
		p.awaitIdx = len(p.frames) - 1
		p.awaitIn = aw == awaitInner
	}
}

func setType(f *evidence.Frame, t string) {
	if f.Type == "" {
		f.Type = t
	}
}

func firstWord(s string) string {
	s = strings.TrimLeft(s, " ,")
	if i := strings.IndexAny(s, " ,:("); i >= 0 {
		return s[:i]
	}
	return s
}

func afterFields(s string, n int) string {
	for k := 0; k < n; k++ {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
		j := strings.IndexFunc(s, unicode.IsSpace)
		if j < 0 {
			return ""
		}
		s = s[j:]
	}
	return strings.TrimLeftFunc(s, unicode.IsSpace)
}

func etherType(s string) string {
	switch strings.ToLower(s) {
	case "ipv4", "ip":
		return "ipv4"
	case "ipv6", "ip6":
		return "ipv6"
	case "arp":
		return "arp"
	case "reverse", "rarp":
		return "rarp"
	}
	return strings.ToLower(s)
}

var ifaceRe = regexp.MustCompile(`^[A-Za-z][\w.@:-]{0,15}$`)

func isIfaceName(s string) bool { return ifaceRe.MatchString(s) }

// linkMAC is a link header's MAC, "" when it was anonymised (holds an
// 'x', or has other than six octets): an unknown MAC, never a made-up one.
func linkMAC(s string) string {
	if strings.ContainsAny(s, "xX") || strings.Count(s, ":") != 5 {
		return ""
	}
	return normMAC(s)
}

func normMAC(s string) string {
	if s == "" {
		return ""
	}
	parts := strings.Split(strings.ToLower(s), ":")
	for k, x := range parts {
		if len(x) == 1 {
			parts[k] = "0" + x
		}
	}
	return strings.Join(parts, ":")
}

// ip parses an IP packet: an optional verbose header in parentheses, then
// "SRC > DST: payload" on the same line or, in the verbose forms, the next.
func (p *parser) ip(i int, f *evidence.Frame, s string, v6 bool) await {
	s = strings.TrimPrefix(s, "truncated-ip - ")
	if strings.HasPrefix(s, "(") {
		hdr, after := parenGroup(s)
		ipHeader(f, hdr)
		s = strings.TrimLeftFunc(after, unicode.IsSpace)
		if s == "" {
			return awaitOuter
		}
	}
	return p.addrs(i, f, s, v6)
}

// addrs parses "SRC > DST: payload".
func (p *parser) addrs(i int, f *evidence.Frame, s string, v6 bool) await {
	var m []string
	if !v6 {
		m = addrLineRe.FindStringSubmatch(s)
	}
	if m == nil {
		m = addr6Re.FindStringSubmatch(s)
	}
	if m == nil {
		p.problem(i, "no addresses in packet: %q", evidence.Clip(s, 80))
		return awaitNone
	}
	f.Src, f.SPort = hostPort(m[1])
	f.Dst, f.DPort = hostPort(m[2])
	if !f.Src.IsValid() || !f.Dst.IsValid() {
		p.anon++
	}
	return p.payload(i, f, s[len(m[0]):])
}

var (
	oldTCPRe  = regexp.MustCompile(`^([SFPRUEW]+\.?|\.) (?:(\d+):\d+\((\d+)\)|ack \d+ win )`)
	ipProtoRe = regexp.MustCompile(`^ip-proto-(\d+)`)
)

// payload reads what follows the addresses: a tunnelled packet or the
// transport protocol's summary.
func (p *parser) payload(i int, f *evidence.Frame, s string) await {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	// IPIP: the inner packet follows, verbose or not.
	if strings.HasPrefix(s, "(tos ") || strings.HasPrefix(s, "IP ") ||
		(f.Proto == "" || f.Proto == "ipip") && addrLineRe.MatchString(s) && !strings.HasPrefix(s, "Flags") {
		inner := &evidence.Frame{Time: f.Time, Iface: f.Iface, Dir: f.Dir, Type: "ipv4", IPID: -1, Ref: f.Ref}
		f.Inner = inner
		f.Proto = "ipip"
		return p.ip(i, inner, strings.TrimPrefix(s, "IP "), false).inner()
	}
	if strings.HasPrefix(s, "IP6 ") {
		f.Proto = "41"
		return awaitNone
	}
	// Checksum notes of -v before the UDP summary.
	for strings.HasPrefix(s, "[") {
		j := strings.IndexByte(s, ']')
		if j < 0 {
			break
		}
		s = strings.TrimLeftFunc(s[j+1:], unicode.IsSpace)
	}
	if n, ok := numAfter(s, "length "); ok {
		f.Length = n
	}
	switch {
	case oldTCPRe.MatchString(s):
		// tcpdump 3.x: "S 1044312071:1044312071(0) win 5840", ". ack 1 win 46".
		m := oldTCPRe.FindStringSubmatch(s)
		f.Proto, f.Flags = "tcp", m[1]
		if m[2] != "" {
			if n, err := strconv.ParseUint(m[2], 10, 32); err == nil {
				f.Seq, f.HasSeq = uint32(n), true
			}
			f.Length, _ = strconv.Atoi(m[3])
		}
		ack, hasAck := ackOf(s)
		p.seq.fix(f, ack, hasAck)
	case strings.HasPrefix(s, "Flags"):
		f.Proto = "tcp"
		if fl, ok := bracketAfter(s, "Flags"); ok {
			f.Flags = fl
		}
		if k := wordIndex(s, "seq "); k >= 0 {
			num := s[k+4:]
			j := 0
			for j < len(num) && j < 11 && isDigit(num[j]) {
				j++
			}
			if n, err := strconv.ParseUint(num[:j], 10, 32); err == nil {
				f.Seq, f.HasSeq = uint32(n), true
			}
		}
		ack, hasAck := ackOf(s)
		p.seq.fix(f, ack, hasAck)
	case strings.HasPrefix(s, "UDP"):
		f.Proto = "udp"
	case strings.HasPrefix(s, "ICMP6") || strings.HasPrefix(s, "HBH ICMP6"):
		f.Proto = "icmp6"
	case strings.HasPrefix(s, "ICMP "):
		f.Proto = "icmp"
		t := s[len("ICMP "):]
		if j := strings.LastIndex(t, ", length "); j >= 0 {
			t = t[:j]
		}
		if j := strings.Index(t, ", id "); j >= 0 {
			t = t[:j]
		}
		f.ICMP = t
	case strings.HasPrefix(s, "VRRP"):
		f.Proto = "vrrp"
		vrrpAdvert(f, s)
	case strings.HasPrefix(s, "igmp"):
		f.Proto = "igmp"
	case strings.HasPrefix(s, "GRE"):
		f.Proto = "gre"
	case strings.HasPrefix(s, "ESP"):
		f.Proto = "esp"
	case strings.HasPrefix(s, "sctp"):
		f.Proto = "sctp"
	case f.Proto == "vrrp":
		// "vrrp 172.31.0.47 > 224.0.0.18: VRRPv2, Advertisement, ...":
		// the summary behind a second pair of addresses, as posted.
		vrrpAdvert(f, s)
	default:
		if m := ipProtoRe.FindStringSubmatch(s); m != nil {
			f.Proto = m[1]
		} else if f.Proto == "" && f.SPort != 0 && f.DPort != 0 {
			// tcpdump always prints "Flags [..]" for TCP; anything else
			// with ports that it decoded (DNS, NTP, syslog...) is UDP.
			f.Proto = "udp"
		}
	}
	return awaitNone
}

// inner turns "the packet waits for its addresses" into "the inner packet does".
func (a await) inner() await {
	if a == awaitOuter {
		return awaitInner
	}
	return a
}

// ipHeader reads tcpdump's verbose IP header: "tos 0x0, ttl 64, id 32740,
// offset 0, flags [DF], proto TCP (6), length 60" (IPv6: "hlim 64,
// next-header TCP (6) payload length: 40").
func ipHeader(f *evidence.Frame, h string) {
	if n, ok := numAfter(h, "ttl "); ok {
		f.TTL = n
	} else if n, ok := numAfter(h, "hlim "); ok {
		f.TTL = n
	}
	if n, ok := numAfter(h, "id "); ok && n <= 0xffff {
		f.IPID = n
	}
	if fl, ok := bracketAfter(h, "flags"); ok {
		f.DF = strings.Contains(fl, "DF")
	}
	for _, key := range []string{"proto ", "next-header "} {
		k := wordIndex(h, key)
		if k < 0 {
			continue
		}
		rest := h[k+len(key):]
		name, num, ok := strings.Cut(rest, " (")
		if !ok {
			continue
		}
		if j := strings.IndexByte(num, ')'); j > 0 {
			f.Proto = protoName(name, num[:j])
		}
		break
	}
}

// wordIndex finds key in s where it starts a word.
func wordIndex(s, key string) int {
	off := 0
	for {
		k := strings.Index(s[off:], key)
		if k < 0 {
			return -1
		}
		k += off
		if k == 0 || !isWordByte(s[k-1]) {
			return k
		}
		off = k + 1
	}
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// numAfter reads the number that follows key ("ttl 64").
func numAfter(s, key string) (int, bool) {
	k := wordIndex(s, key)
	if k < 0 {
		return 0, false
	}
	rest := s[k+len(key):]
	j := 0
	for j < len(rest) && j < 10 && isDigit(rest[j]) {
		j++
	}
	if j == 0 {
		return 0, false
	}
	n, err := strconv.Atoi(rest[:j])
	return n, err == nil
}

// bracketAfter reads "[DF]" after key, with or without a space between.
func bracketAfter(s, key string) (string, bool) {
	k := wordIndex(s, key)
	if k < 0 {
		return "", false
	}
	rest := strings.TrimLeft(s[k+len(key):], " ")
	if !strings.HasPrefix(rest, "[") {
		return "", false
	}
	j := strings.IndexByte(rest, ']')
	if j < 0 {
		return "", false
	}
	return rest[1:j], true
}

func protoName(name, num string) string {
	switch n := strings.ToLower(name); n {
	case "tcp", "udp", "icmp", "ipip", "vrrp", "igmp", "gre", "esp", "sctp", "ah":
		return n
	case "icmpv6":
		return "icmp6"
	}
	return num
}

// parenGroup splits "(a (b) c) rest" into "a (b) c" and " rest".
func parenGroup(s string) (inside, after string) {
	depth := 0
	for k := 0; k < len(s); k++ {
		switch s[k] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return s[1:k], s[k+1:]
			}
		}
	}
	return strings.TrimPrefix(s, "("), ""
}

var services = map[string]uint16{
	"http": 80, "https": 443, "ssh": 22, "domain": 53, "ntp": 123, "smtp": 25, "ftp": 21,
	"telnet": 23, "mysql": 3306, "http-alt": 8080, "pcsync-https": 8443, "webcache": 8080,
	"bootps": 67, "bootpc": 68, "snmp": 161, "syslog": 514, "ldap": 389, "imap": 143, "pop3": 110,
}

// hostPort reads "192.0.2.10.5000", "192.0.2.10", "fe80::1.546" or, without
// -n, "host.example.com.http". A name gives an invalid address.
func hostPort(s string) (netip.Addr, uint16) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a, 0
	}
	j := strings.LastIndexByte(s, '.')
	if j < 0 {
		return netip.Addr{}, 0
	}
	host, port := s[:j], s[j+1:]
	var pn uint16
	if n, err := strconv.ParseUint(port, 10, 16); err == nil {
		pn = uint16(n)
	} else if n, ok := services[port]; ok {
		pn = n
	} else {
		return netip.Addr{}, 0
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, pn
	}
	return a, pn
}

var (
	arpReqRe   = regexp.MustCompile(`(?i)who-has (\S+?)(?: \(([0-9a-f:]+)\))? tell (\S+?)(?:,|$| )`)
	arpReplyRe = regexp.MustCompile(`(?i)reply (\S+?) is-at ([0-9a-f:]+)`)
)

// arp reads "Request who-has 192.0.2.11 tell 192.0.2.10, length 28" and
// "Reply 192.0.2.11 is-at 02:00:00:00:00:11, length 28", with -v's
// "Ethernet (len 6), IPv4 (len 4), " before them.
func (p *parser) arp(f *evidence.Frame, s string) {
	f.Proto = "arp"
	if n, ok := numAfter(s, "length "); ok {
		f.Length = n
	}
	if m := arpReqRe.FindStringSubmatch(s); m != nil {
		f.ARPOp = "request"
		f.ARPIP, _ = netip.ParseAddr(m[1])
		f.Dst = f.ARPIP
		f.Src, _ = netip.ParseAddr(m[3])
		return
	}
	if m := arpReplyRe.FindStringSubmatch(s); m != nil {
		f.ARPOp = "reply"
		f.ARPIP, _ = netip.ParseAddr(m[1])
		f.Src = f.ARPIP
		f.ARPMAC = normMAC(m[2])
	}
}

// continuation reads an indented line: the address line of a verbose
// packet (or of its tunnelled packet); everything else indented (payload
// dumps, packets quoted in ICMP errors, hex) is skipped.
func (p *parser) continuation(i int, raw, s string) {
	if p.awaitIdx < 0 || p.awaitIdx >= len(p.frames) {
		return
	}
	idx := p.awaitIdx
	p.awaitIdx = -1
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "(") {
		return
	}
	f := &p.frames[idx]
	target := f
	if p.awaitIn && f.Inner != nil {
		target = f.Inner
	}
	// Cite both lines: the first has the time and IP ID, this one the
	// addresses and ports.
	head := f.Ref.Line - max(p.doc.Start, 1)
	f.Ref = p.doc.Ref(head, f.Ref.Text+" "+s)
	if f.Inner != nil {
		f.Inner.Ref = f.Ref
	}
	aw := p.addrs(i, target, s, target.Type == "ipv6")
	if aw == awaitInner && target == f {
		p.awaitIdx, p.awaitIn = idx, true
	}
	if f.Inner != nil {
		f.Inner.Ref = f.Ref
	}
}

var cmdIfaceRe = regexp.MustCompile(`(?:^|\s)(?:-i\s*|--interface[= ])(\S+)`)

// ifaceFromCommand reads -i IFACE from a tcpdump command line; "any" says
// nothing (the cooked columns do).
func ifaceFromCommand(cmd string) string {
	m := cmdIfaceRe.FindStringSubmatch(cmd)
	if m == nil || m[1] == "any" || !isIfaceName(m[1]) {
		return ""
	}
	return m[1]
}

var nameIfaceRe = regexp.MustCompile(`^(?:eth|ens|enp|eno|em|bond|br|vnet|tunl|tun|vlan|veth|lo|virbr|wlan|wlp|team|ib|docker|vxlan|gre|ipip|p\d+p)\w*(?:[.@]\w+)?$`)

// IfaceFromName finds the interface a capture file is named after:
// "tcpdump-eth0.txt", "br0.txt", "ds1/eth0.1.txt", "tcpdump_vnet0-vvv.log",
// "eth0.pcapng", "tunl0.pcap.gz".
func IfaceFromName(source string) string {
	base := path.Base(strings.ReplaceAll(source, "\\", "/"))
	for _, ext := range []string{".gz", ".txt", ".log", ".out", ".cap", ".pcapng", ".pcap"} {
		base = strings.TrimSuffix(base, ext)
	}
	if nameIfaceRe.MatchString(base) {
		return base
	}
	for _, tok := range strings.FieldsFunc(base, func(r rune) bool { return r == '-' || r == '_' || r == ' ' }) {
		if tok != "tcpdump" && nameIfaceRe.MatchString(tok) {
			return tok
		}
	}
	return ""
}

var (
	vrrpVRIDRe  = regexp.MustCompile(`\bvrid (\d{1,3}),`)
	vrrpPrioRe  = regexp.MustCompile(`\bprio (\d{1,3}),`)
	vrrpAddrsRe = regexp.MustCompile(`\baddrs(?:\(\d+\))?: ([0-9A-Fa-f.:, ]+)`)
)

// vrrpAdvert reads a VRRP advertisement's summary ("VRRPv2, Advertisement,
// vrid 51, prio 100, authtype none, intvl 1s, length 20, addrs: 10.0.0.100";
// VRRPv3 prints "addrs(2): a,b"): the addresses are the VIPs of the
// sender's instance.
func vrrpAdvert(f *evidence.Frame, s string) {
	if !strings.Contains(s, "Advertisement") {
		return
	}
	if m := vrrpVRIDRe.FindStringSubmatch(s); m != nil {
		f.VRID, _ = strconv.Atoi(m[1])
	}
	if m := vrrpPrioRe.FindStringSubmatch(s); m != nil {
		f.VRRPPrio, _ = strconv.Atoi(m[1])
	}
	m := vrrpAddrsRe.FindStringSubmatch(s)
	if m == nil {
		return
	}
	for _, a := range strings.FieldsFunc(m[1], func(r rune) bool { return r == ',' || r == ' ' }) {
		if len(f.VRRPAddrs) >= 32 {
			break
		}
		if ip, err := netip.ParseAddr(a); err == nil {
			f.VRRPAddrs = append(f.VRRPAddrs, ip)
		}
	}
}
