package trace

import (
	"hash/maphash"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/lvsdoctor/lvsdoctor/internal/capture"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// hashLen is how much of a payload identifies it: what survives the
// smallest snap lengths people use after the headers of a tunnel.
const hashLen = 16

// Packet feeds one scanned packet taken at point.
func (t *Tracer) Packet(point int, p *capture.Packet) { t.packet(point, p, false) }

func (t *Tracer) packet(point int, p *capture.Packet, rescan bool) {
	if point < 0 || point >= len(t.points) {
		return
	}
	ps := t.points[point]
	ts := p.Time.UnixNano()
	if !rescan {
		t.packets++
		ps.clock(ts, p.N)
		if n := len(ps.marks); n == 0 || ts-ps.marks[n-1].t >= ps.markEvery {
			ps.mark(ts, func() evidence.Ref { return p.Frame().Ref })
		}
		if ps.macFrames < macSample {
			ps.countMACs(p.SrcMAC, p.DstMAC, p.HasSrcMAC, p.HasDstMAC)
		}
	}
	if p.ARP.Valid {
		if !rescan {
			t.arp.add(t, point, p, ts)
		}
		return
	}
	ip := &p.IP
	if !ip.Valid {
		return
	}
	switch ip.Proto {
	case capture.ProtoVRRP:
		if !rescan {
			t.vrrp.add(point, ip.Src, ip.VRID, ip.VRPrio, vrrpAddrs(ip.Payload), ts, p.SrcMAC, p.HasSrcMAC, p.Frame)
		}
		return
	case capture.ProtoICMP:
		if ip.Quoted != nil && !rescan {
			t.icmpError(point, p, ts)
		}
		return
	case capture.ProtoTCP:
		if !rescan && ip.Flags&(capture.FlagSYN|capture.FlagRST) != 0 && !t.interesting(ip.Src) && !t.interesting(ip.Dst) {
			t.checks.tcp(point, ip, ts, p.Frame)
		}
	}
	if !t.interesting(ip.Src) && !t.interesting(ip.Dst) && !t.maybeFNAT(ip) {
		return
	}
	o := obs{point: point, frame: p.N, t: ts, hasT: true, dir: p.Dir, pk: p}
	if p.HasSrcMAC {
		o.smac, o.hasSMAC = p.SrcMAC, true
	}
	if p.HasDstMAC {
		o.dmac, o.hasDMAC = p.DstMAC, true
	}
	if p.Tunnel != capture.NoTunnel {
		o.tunnel, o.osrc, o.odst, o.olen, o.odf = p.Tunnel, p.Outer.Src, p.Outer.Dst, p.Outer.Len, p.Outer.DF
		if p.HasInnerMAC {
			// An overlay carries the frame: its own MACs are the hop's.
			o.smac, o.dmac, o.hasSMAC, o.hasDMAC = p.InnerSrcMAC, p.InnerDstMAC, true, true
		}
		switch {
		case p.ViaTunnel != capture.NoTunnel:
			o.via, o.vsrc, o.vdst = p.ViaTunnel, p.Via.Src, p.Via.Dst
		case p.HasInnerMAC:
			o.overlay = true
			o.via, o.vsrc, o.vdst = p.Tunnel, p.Outer.Src, p.Outer.Dst
		}
	} else {
		o.olen, o.odf = ip.Len, ip.DF
	}
	t.fill(&o.h, ip)
	t.observe(&o, rescan)
}

// prefilter says, on the scan's decoding goroutines, which packets the
// tracer must see: all of them until the packets show plain forwarding
// (NAT's and FNAT's copies are recognised by what the scan learns as it
// goes), then those to or from the VIP, and ARP, VRRP, ICMP errors, and
// TCP SYNs and resets (health checks). It reads only what does not change
// during a scan, and plainFwd, atomically.
func (t *Tracer) prefilter(p *capture.Packet) bool {
	if p.ARP.Valid {
		return true
	}
	ip := &p.IP
	if !ip.Valid {
		return false
	}
	switch ip.Proto {
	case capture.ProtoVRRP:
		return true
	case capture.ProtoICMP:
		return ip.Quoted != nil
	case capture.ProtoTCP:
		if ip.Flags&(capture.FlagSYN|capture.FlagRST) != 0 {
			return true
		}
	}
	if t.cfg.Mode == "nat" || t.cfg.Mode == "fnat" || !t.plainFwd.Load() {
		return true
	}
	vip := t.cfg.VIP
	return ip.Src == vip || ip.Dst == vip
}

// skipped takes what the prefilter left out of a point's capture: it
// counts, and says when the capture ran.
func (t *Tracer) skipped(point int, s capture.SkipStats) {
	ps := t.points[point]
	t.packets += s.Packets
	ps.packets += s.Packets
	ps.ooo += s.OutOfOrder
	first, last := s.First.UnixNano(), s.Last.UnixNano()
	if !ps.timed {
		ps.first, ps.last, ps.timed = first, last, true
		return
	}
	ps.first = min(ps.first, first)
	ps.last = max(ps.last, last)
}

// maybeFNAT reports whether a packet between addresses not followed may
// still be FNAT's copy of a followed one.
func (t *Tracer) maybeFNAT(ip *capture.IPHeader) bool {
	if len(t.sigs) == 0 || t.plainFwd.Load() && t.cfg.Mode != "fnat" || t.cfg.Mode != "" && t.cfg.Mode != "fnat" {
		return false
	}
	if ip.TOA.IsValid() {
		return true
	}
	if !ip.HasTS && len(ip.Payload) == 0 {
		return false
	}
	var h hdr
	t.fill(&h, ip)
	keys, nk := t.sigKeys(&h)
	for _, k := range keys[:nk] {
		if _, ok := t.sigs[k]; ok {
			return true
		}
	}
	return false
}

func (t *Tracer) fill(h *hdr, ip *capture.IPHeader) {
	*h = hdr{
		src: ip.Src.Unmap(), dst: ip.Dst.Unmap(), sport: ip.SPort, dport: ip.DPort, proto: ip.Proto,
		id: ip.ID, hasID: ip.HasID && ip.Src.Is4(), plen: ip.PayLen, hasLen: true,
		iplen: ip.Len, df: ip.DF, toa: ip.TOA,
	}
	if ip.Proto == capture.ProtoTCP {
		h.seq, h.ack, h.flags, h.hasFlags = ip.Seq, ip.Ack, ip.Flags, true
		h.tsval, h.hasTSV = ip.TSVal, ip.HasTS
	}
	switch n := len(ip.Payload); {
	case n >= hashLen:
		h.phash, h.hashN = maphash.Bytes(t.seed, ip.Payload[:hashLen]), hashLen
	case n > 0 && n == ip.PayLen:
		h.phash, h.hashN = maphash.Bytes(t.seed, ip.Payload), n
	}
}

// clock notes a packet's time at a point.
func (ps *pointState) clock(ts int64, frame int) {
	ps.packets++
	if !ps.timed {
		ps.first, ps.last, ps.timed = ts, ts, true
	} else {
		if ts < ps.lastSeen {
			ps.ooo++
		}
		ps.first = min(ps.first, ts)
		if ts > ps.last {
			ps.last = ts
			ps.lastRef = frame
		}
	}
	if ps.lastRef == 0 {
		ps.lastRef = frame
	}
	ps.lastSeen = ts
}

// Frame feeds one frame already read (by intake, or from a printout).
func (t *Tracer) Frame(point int, f *evidence.Frame) {
	if point < 0 || point >= len(t.points) || f == nil {
		return
	}
	ps := t.points[point]
	ts, hasT := frameTime(f.Time)
	t.packets++
	if hasT {
		ps.clock(ts, f.Ref.Line)
		ps.mark(ts, func() evidence.Ref { return f.Ref })
	}
	if ps.macFrames < macSample {
		sm, okS := parseMAC(f.SrcMAC)
		dm, okD := parseMAC(f.DstMAC)
		ps.countMACs(sm, dm, okS, okD)
	}
	g := f
	if f.Inner != nil {
		g = f.Inner
	}
	if f.ARPOp != "" || f.Proto == "arp" {
		t.arp.addFrame(t, point, f, ts, hasT)
		return
	}
	switch g.Proto {
	case "vrrp":
		vrid, prio := vrrpFromText(f.Ref.Text)
		sm, ok := parseMAC(f.SrcMAC)
		t.vrrp.add(point, g.Src, vrid, prio, nil, ts, sm, ok, func() evidence.Frame { return *f })
		return
	case "icmp":
		if f.ICMP != "" && !strings.HasPrefix(f.ICMP, "echo") {
			t.icmpFrame(point, f, g, ts)
		}
		return
	}
	o := obs{point: point, frame: f.Ref.Line, t: ts, hasT: hasT, fr: f, dir: frameDir(f.Dir)}
	if m, ok := parseMAC(f.SrcMAC); ok {
		o.smac, o.hasSMAC = m, true
	}
	if m, ok := parseMAC(f.DstMAC); ok {
		o.dmac, o.hasDMAC = m, true
	}
	if f.Inner != nil {
		o.tunnel, o.osrc, o.odst = capture.TunnelIPIP, f.Src, f.Dst
		if strings.Contains(f.Ref.Text, "GREv") {
			o.tunnel = capture.TunnelGRE
		} else if strings.Contains(f.Ref.Text, "VXLAN") {
			o.tunnel = capture.TunnelVXLAN
		}
		if m, ok := parseMAC(f.Inner.SrcMAC); ok {
			o.overlay = true
			o.via, o.vsrc, o.vdst = o.tunnel, f.Src, f.Dst
			o.smac, o.hasSMAC = m, true
			o.dmac, o.hasDMAC = parseMAC(f.Inner.DstMAC)
		}
	}
	o.h = hdr{
		src: g.Src.Unmap(), dst: g.Dst.Unmap(), sport: g.SPort, dport: g.DPort, proto: protoNum(g.Proto),
		plen: g.Length, hasLen: true, df: g.DF,
	}
	if g.IPID >= 0 {
		o.h.id, o.h.hasID = uint16(g.IPID), g.Src.Is4()
	}
	if o.h.proto == capture.ProtoTCP {
		o.h.flags, o.h.hasFlags = flagBits(g.Flags), g.Flags != ""
		if g.HasSeq {
			o.h.seq = g.Seq
		}
		if v, ok := tsVal(f.Ref.Text); ok {
			o.h.tsval, o.h.hasTSV = v, true
		}
	}
	if o.h.proto == capture.ProtoTCP && !g.HasSeq {
		// A printout shows no sequence number for a bare ACK: matching
		// must not take seq 0 for one.
		o.h.hasFlags = o.h.hasFlags && g.Flags != ""
	}
	if o.h.proto == capture.ProtoTCP && o.h.flags&(capture.FlagSYN|capture.FlagRST) != 0 {
		if !t.interesting(o.h.src) && !t.interesting(o.h.dst) {
			ip := capture.IPHeader{Valid: true, Src: o.h.src, Dst: o.h.dst, SPort: o.h.sport, DPort: o.h.dport, Proto: o.h.proto, Flags: o.h.flags, Seq: o.h.seq}
			t.checks.tcp(point, &ip, ts, func() evidence.Frame { return *f })
		}
	}
	t.observe(&o, false)
}

func frameDir(d string) int8 {
	switch strings.ToLower(d) {
	case "in":
		return capture.DirIn
	case "out":
		return capture.DirOut
	}
	return capture.DirUnknown
}

func protoNum(p string) uint8 {
	switch strings.ToLower(p) {
	case "tcp":
		return capture.ProtoTCP
	case "udp":
		return capture.ProtoUDP
	case "icmp":
		return capture.ProtoICMP
	case "vrrp":
		return capture.ProtoVRRP
	case "sctp":
		return 132
	}
	if n, err := strconv.Atoi(p); err == nil && n >= 0 && n < 256 {
		return uint8(n)
	}
	return 0
}

// flagBits reads tcpdump's flags ("S.", "R", "P.") as the flags byte.
func flagBits(s string) uint8 {
	var b uint8
	for _, c := range s {
		switch c {
		case 'F':
			b |= capture.FlagFIN
		case 'S':
			b |= capture.FlagSYN
		case 'R':
			b |= capture.FlagRST
		case 'P':
			b |= capture.FlagPSH
		case '.':
			b |= capture.FlagACK
		}
	}
	return b
}

var tsValRe = regexp.MustCompile(`TS val (\d+)`)

func tsVal(text string) (uint32, bool) {
	if !strings.Contains(text, "TS val ") {
		return 0, false
	}
	m := tsValRe.FindStringSubmatch(text)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseUint(m[1], 10, 32)
	return uint32(v), err == nil
}

var vrrpRe = regexp.MustCompile(`vrid (\d+), prio (\d+)`)

func vrrpFromText(text string) (uint8, uint8) {
	m := vrrpRe.FindStringSubmatch(text)
	if m == nil {
		return 0, 0
	}
	a, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[2])
	return uint8(a), uint8(b)
}

// frameTime reads a frame's time: RFC 3339 for captures, tcpdump's time
// of day (or -tt seconds) for printouts. Times of day are nanoseconds
// since midnight: printouts of one case are compared among themselves.
func frameTime(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UnixNano(), true
	}
	if i := strings.LastIndexAny(s, " T"); i >= 0 {
		s = s[i+1:]
	}
	sec, frac, _ := strings.Cut(s, ".")
	ns := int64(0)
	if frac != "" {
		frac = (frac + "000000000")[:9]
		n, err := strconv.ParseInt(frac, 10, 64)
		if err != nil {
			return 0, false
		}
		ns = n
	}
	if !strings.Contains(sec, ":") {
		n, err := strconv.ParseInt(sec, 10, 64)
		if err != nil || n < 1e8 {
			return 0, false
		}
		return n*1e9 + ns, true
	}
	parts := strings.Split(sec, ":")
	if len(parts) != 3 {
		return 0, false
	}
	var v int64
	for _, x := range parts {
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil || n < 0 || n > 99 {
			return 0, false
		}
		v = v*60 + n
	}
	return v*1e9 + ns, true
}

// vrrpAddrs reads the addresses a VRRPv2/v3 IPv4 advert carries: the VIPs.
func vrrpAddrs(b []byte) []netip.Addr {
	if len(b) < 8 {
		return nil
	}
	n := int(b[3])
	off := 8
	if b[0]>>4 == 3 {
		off = 8
	}
	var out []netip.Addr
	for i := 0; i < n && i < 16 && off+4 <= len(b); i++ {
		out = append(out, netip.AddrFrom4([4]byte(b[off:off+4])))
		off += 4
	}
	return out
}

// vrrpState gathers VRRP adverts per sender and point.
type vrrpState struct {
	by    map[vrrpKey]*vrrpSeen
	order []vrrpKey
	vips  map[netip.Addr]bool
}

type vrrpKey struct {
	point int
	src   netip.Addr
	vrid  uint8
}

type vrrpSeen struct {
	prio        uint8
	count       int
	first, last int64
	smac        mac
	ref         evidence.Ref
}

func (v *vrrpState) add(point int, src netip.Addr, vrid, prio uint8, addrs []netip.Addr, ts int64, smac mac, hasMAC bool, frame func() evidence.Frame) {
	if v.by == nil {
		v.by = map[vrrpKey]*vrrpSeen{}
		v.vips = map[netip.Addr]bool{}
	}
	for _, a := range addrs {
		if len(v.vips) < 64 {
			v.vips[a] = true
		}
	}
	k := vrrpKey{point, src, vrid}
	s := v.by[k]
	if s == nil {
		if len(v.by) >= 256 {
			return
		}
		s = &vrrpSeen{prio: prio, first: ts, ref: frame().Ref}
		if hasMAC {
			s.smac = smac
		}
		v.by[k] = s
		v.order = append(v.order, k)
	}
	s.count++
	s.last = max(s.last, ts)
	s.first = min(s.first, ts)
}

// arpState gathers who answers ARP for which address, and the requests
// for the VIP.
type arpState struct {
	by    map[netip.Addr]map[mac]*arpSeen
	order []netip.Addr
	// VIP requests: how many, and a few of them.
	vipAsked int
	vipRefs  []evidence.Ref
	vipFirst int64
}

func (a *arpState) asked(point int, ts int64, ref func() evidence.Ref) {
	if a.vipAsked == 0 {
		a.vipFirst = ts
	}
	a.vipAsked++
	if len(a.vipRefs) < 3 {
		a.vipRefs = append(a.vipRefs, ref())
	}
}

type arpSeen struct {
	count       int
	first, last int64
	ref         evidence.Ref
	point       int
}

func (a *arpState) add(t *Tracer, point int, p *capture.Packet, ts int64) {
	ar := &p.ARP
	if ar.Op == 1 && t.cfg.VIP.IsValid() && ar.TargetIP == t.cfg.VIP && ar.SenderIP != ar.TargetIP {
		a.asked(point, ts, func() evidence.Ref { return p.Frame().Ref })
	}
	// Only answers count: gratuitous announcements (sender = target) are
	// what a failover sends, one director after the other.
	if ar.Op != 2 || ar.SenderIP == ar.TargetIP {
		return
	}
	a.note(t, point, ar.SenderIP, ar.SenderMAC, ts, func() evidence.Ref { return p.Frame().Ref })
}

func (a *arpState) addFrame(t *Tracer, point int, f *evidence.Frame, ts int64, hasT bool) {
	if f.ARPOp == "request" && t.cfg.VIP.IsValid() && f.ARPIP == t.cfg.VIP && f.Src != f.ARPIP {
		a.asked(point, ts, func() evidence.Ref { return f.Ref })
	}
	if f.ARPOp != "reply" || !f.ARPIP.IsValid() || strings.Contains(f.Ref.Text, "tell "+f.ARPIP.String()) {
		return
	}
	m, ok := parseMAC(f.ARPMAC)
	if !ok {
		return
	}
	a.note(t, point, f.ARPIP, m, ts, func() evidence.Ref { return f.Ref })
}

func (a *arpState) note(t *Tracer, point int, ip netip.Addr, m mac, ts int64, ref func() evidence.Ref) {
	if a.by == nil {
		a.by = map[netip.Addr]map[mac]*arpSeen{}
	}
	ms := a.by[ip]
	if ms == nil {
		if len(a.by) >= 4096 {
			return
		}
		ms = map[mac]*arpSeen{}
		a.by[ip] = ms
		a.order = append(a.order, ip)
	}
	s := ms[m]
	if s == nil {
		if len(ms) >= 8 {
			return
		}
		s = &arpSeen{first: ts, ref: ref(), point: point}
		ms[m] = s
	}
	s.count++
	s.last = max(s.last, ts)
	if t.cfg.VIP.IsValid() && ip == t.cfg.VIP && len(ms) == 1 {
		if _, ok := t.dirMACs[m]; !ok {
			t.dirMACs[m] = "answers ARP for the VIP"
		}
	}
}

// icmpSeen is an ICMP error about a followed connection or the service.
type icmpSeen struct {
	point    int
	sender   netip.Addr
	typ      uint8
	code     uint8
	mtu      uint16
	text     string
	conn     *conn
	tunnel   bool // it quotes a tunnel packet
	quoted   tuple
	ref      evidence.Ref
	t        int64
	toClient bool
}

const maxICMP = 256

func (t *Tracer) icmpError(point int, p *capture.Packet, ts int64) {
	ip := &p.IP
	q := ip.Quoted
	if len(t.icmp) >= maxICMP || q == nil {
		return
	}
	e := icmpSeen{point: point, sender: ip.Src, typ: ip.ICMPType, code: ip.ICMPCode, mtu: ip.ICMPMTU, t: ts}
	tp := tuple{src: q.Src, dst: q.Dst, sport: q.SPort, dport: q.DPort, proto: q.Proto}
	e.quoted = tp
	if q.Proto == capture.ProtoIPIP {
		e.tunnel = true
		if t.cfg.VIP.IsValid() && q.InnerDst != t.cfg.VIP && q.InnerSrc != t.cfg.VIP {
			return
		}
	} else if l, ok := t.legs[tp]; ok {
		e.conn = l.c
	} else if !(t.cfg.VIP.IsValid() && (q.Dst == t.cfg.VIP || q.Src == t.cfg.VIP)) {
		return
	}
	f := p.Frame()
	e.text, e.ref = f.ICMP, f.Ref
	e.toClient = e.conn != nil && ip.Dst == e.conn.client.Addr()
	t.icmp = append(t.icmp, e)
}

var unreachRe = regexp.MustCompile(`(\d+\.\d+\.\d+\.\d+)`)

func (t *Tracer) icmpFrame(point int, f, g *evidence.Frame, ts int64) {
	if len(t.icmp) >= maxICMP || !strings.Contains(g.ICMP, "unreachable") && !strings.Contains(g.ICMP, "exceeded") {
		return
	}
	m := unreachRe.FindString(g.ICMP)
	q, err := netip.ParseAddr(m)
	if err != nil || !(t.cfg.VIP.IsValid() && q == t.cfg.VIP) {
		if err != nil || t.clients[netip.AddrPortFrom(g.Dst, 0)] == nil && !t.interest[q] {
			return
		}
	}
	e := icmpSeen{point: point, sender: g.Src, typ: 3, text: g.ICMP, ref: f.Ref, t: ts}
	if strings.Contains(g.ICMP, "need to frag") {
		e.code = 4
		if i := strings.Index(g.ICMP, "(mtu "); i >= 0 {
			if n, err := strconv.Atoi(strings.TrimSuffix(g.ICMP[i+5:], ")")); err == nil && n > 0 && n < 65536 {
				e.mtu = uint16(n)
			}
		}
	}
	for _, c := range t.conns {
		if c.client.Addr() == g.Dst {
			e.conn, e.toClient = c, true
			break
		}
	}
	t.icmp = append(t.icmp, e)
}

// checkState recognises keepalived's TCP_CHECK: connect, and close with a
// reset right after the handshake. Bounded: handshakes not closed within
// a few seconds are forgotten.
type checkState struct {
	open     map[tuple]*handshake
	patterns map[checkKey]*checkSeen
	order    []checkKey
	resets   []resetSeen
	sweepAt  int64
}

type handshake struct {
	syn, synack int64
}

type checkKey struct {
	from netip.Addr
	to   netip.AddrPort
}

type checkSeen struct {
	count int
	point int
	ref   evidence.Ref
}

type resetSeen struct {
	point int
	from  netip.Addr
	to    netip.AddrPort
	ref   evidence.Ref
}

func (c *checkState) init() {
	c.open = map[tuple]*handshake{}
	c.patterns = map[checkKey]*checkSeen{}
}

func (c *checkState) tcp(point int, ip *capture.IPHeader, ts int64, frame func() evidence.Frame) {
	tp := tuple{src: ip.Src, dst: ip.Dst, sport: ip.SPort, dport: ip.DPort, proto: ip.Proto}
	fl := ip.Flags
	switch {
	case fl&capture.FlagSYN != 0 && fl&capture.FlagACK == 0:
		if ts-c.sweepAt > int64(10*time.Second) {
			for k, h := range c.open {
				if ts-h.syn > int64(10*time.Second) || h.syn-ts > int64(10*time.Second) {
					delete(c.open, k)
				}
			}
			c.sweepAt = ts
		}
		if len(c.open) < 8192 {
			c.open[tp] = &handshake{syn: ts}
		}
	case fl&capture.FlagSYN != 0:
		if h := c.open[tp.reverse()]; h != nil {
			h.synack = ts
		}
	case fl&capture.FlagRST != 0:
		if h := c.open[tp]; h != nil && h.synack != 0 {
			// The initiator resets an answered connection: the check.
			delete(c.open, tp)
			k := checkKey{from: ip.Src, to: netip.AddrPortFrom(ip.Dst, ip.DPort)}
			s := c.patterns[k]
			if s == nil {
				if len(c.patterns) >= 64 {
					return
				}
				s = &checkSeen{point: point, ref: frame().Ref}
				c.patterns[k] = s
				c.order = append(c.order, k)
			}
			s.count++
			return
		}
		if h := c.open[tp.reverse()]; h != nil && h.synack == 0 {
			// The server refuses: nothing listens.
			delete(c.open, tp.reverse())
			if len(c.resets) < 32 {
				c.resets = append(c.resets, resetSeen{point: point, from: ip.Src, to: netip.AddrPortFrom(ip.Dst, ip.DPort), ref: frame().Ref})
			}
		}
	}
}
