// Package trace follows the packets of a virtual service through the
// captures taken at several points (client, director, hypervisor bridge,
// real server) and tells where each connection was last seen.
//
// The same packet is recognised at every point even after what LVS does
// to it: DR rewrites the MACs, TUN wraps it in IPIP, NAT rewrites the
// destination (and the reply's source), FNAT both addresses. Packets are
// matched by what survives those rewrites, the IP ID, the TCP sequence
// number and timestamp option, the payload, and time; the forwarding mode
// is inferred from what the copies show.
//
// Memory grows with the connections to the service (bounded by
// Config.MaxConns, each keeping at most Config.MaxPackets packets), not
// with the packets read: a Tracer is fed one packet at a time, from a
// capture being streamed (Run) or from frames already read (FromFrames).
package trace

import (
	"bytes"
	"hash/maphash"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lvsdoctor/lvsdoctor/internal/capture"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// Config says which service to follow.
type Config struct {
	// VIP and Port select the service; a zero VIP is found from the
	// packets (Run's first pass), a zero Port means any.
	VIP   netip.Addr
	Port  uint16
	Proto string // "tcp", "udp", "" for any
	// Client, when set, keeps only that client's connections.
	Client netip.Addr
	// Mode is the forwarding method to assume when the packets do not
	// show it: dr, tun, nat, fnat.
	Mode string
	// MaxConns bounds the connections followed (0: 2000); MaxPackets the
	// packets kept per connection (0: 48). Beyond them packets are
	// counted, not kept.
	MaxConns   int
	MaxPackets int
	// Window is how far apart in time two sightings of a packet may be,
	// once the clocks' offset is taken out, when nothing but time tells
	// them apart (0: 3 s).
	Window time.Duration
	// Zone is the zone the captures' times are shown in (nil: UTC): the
	// one zone of the report the path is part of, so that a hop's time
	// and its packet's evidence line agree.
	Zone *time.Location
}

func (c *Config) defaults() {
	if c.MaxConns <= 0 {
		c.MaxConns = 2000
	}
	if c.MaxPackets <= 0 {
		c.MaxPackets = 48
	}
	if c.Window <= 0 {
		c.Window = 3 * time.Second
	}
	c.Proto = strings.ToLower(c.Proto)
	c.Mode = strings.ToLower(c.Mode)
}

func (c *Config) protoNum() uint8 {
	switch c.Proto {
	case "tcp":
		return capture.ProtoTCP
	case "udp":
		return capture.ProtoUDP
	case "sctp":
		return 132
	}
	return 0
}

// Point is one capture: a file (or a host's frames from one file) taken
// on one host.
type Point struct {
	Host   string        // the host the capture was taken on
	Role   evidence.Role // its role; "" when unknown (inferred from the packets)
	Source string        // the file, as evidence cites it
	// MACs and Addrs are the host's own, when its `ip link`/`ip addr`
	// are known: they say which copies it sent and received.
	MACs  []string
	Addrs []netip.Addr
	// Iface is the interface the capture was taken on, when known: a
	// capture on a tunnel interface (tunl0) sees what arrives through
	// the tunnel and never the replies, which leave by the physical one.
	Iface string
}

// tunnelIface reports whether an interface is an IPIP tunnel end, whose
// capture shows only decapsulated arrivals.
func tunnelIface(name string) bool {
	return strings.HasPrefix(name, "tunl") || strings.HasPrefix(name, "ipip")
}

// pointState is what is learned of a point while reading.
type pointState struct {
	Point
	macs     map[mac]bool
	addrs    map[netip.Addr]bool
	first    int64
	last     int64
	lastRef  int // frame number of the last packet
	timed    bool
	packets  int
	skew     int64 // this point's clock minus the reference clock (ns)
	skewSet  bool
	samples  []int64
	gen      int // the tracer's generation when this point was last read
	hits     int // packets of followed connections
	ooo      int // packets earlier than the one before (out of order)
	lastSeen int64
	roleWhy  string
	// marks are frames a second or more apart: proof that the capture ran
	// at a given time, without keeping every frame.
	marks     []mark
	markEvery int64
	// macSeen counts, over the first packets, each unicast MAC a frame
	// was sent from or to: a host's own MAC is in nearly all of its
	// capture's frames.
	macSeen   map[mac]int
	macFrames int
}

// macSample is how many frames of a point are counted for its own MAC.
const macSample = 20000

func (ps *pointState) countMACs(src, dst mac, hasSrc, hasDst bool) {
	// Broadcasts and multicasts (ARP requests, VRRP) come from every host.
	if ps.macFrames >= macSample || !hasDst || dst[0]&1 != 0 {
		return
	}
	ps.macFrames++
	if ps.macSeen == nil {
		ps.macSeen = map[mac]int{}
	}
	for _, m := range [2]struct {
		m  mac
		ok bool
	}{{src, hasSrc}, {dst, hasDst}} {
		if m.ok && m.m[0]&1 == 0 && (len(ps.macSeen) < 256 || ps.macSeen[m.m] > 0) {
			ps.macSeen[m.m]++
		}
	}
}

// ownMAC is the MAC in most of a host capture's frames, when it is in
// most of them.
// Every frame counts its source and its destination, so on a capture of
// two hosts talking both MACs are in all frames: skip says which MACs are
// known to be someone else's (a director's), and a tie goes to the lower
// MAC, so that the answer does not depend on map order.
func (ps *pointState) ownMAC(skip func(mac) bool) (mac, bool) {
	var best mac
	n := 0
	for m, k := range ps.macSeen {
		if skip(m) {
			continue
		}
		if k > n || k == n && bytes.Compare(m[:], best[:]) < 0 {
			best, n = m, k
		}
	}
	return best, ps.macFrames >= 4 && n*10 >= ps.macFrames*6
}

type mark struct {
	t   int64
	ref evidence.Ref
}

const maxMarks = 512

// mark keeps a frame as proof the capture ran at ts, when the last one
// kept is far enough back.
func (ps *pointState) mark(ts int64, ref func() evidence.Ref) {
	if ps.markEvery == 0 {
		ps.markEvery = int64(time.Second)
	}
	if n := len(ps.marks); n > 0 && ts-ps.marks[n-1].t < ps.markEvery {
		return
	}
	if len(ps.marks) >= maxMarks {
		// Keep every other one, twice as far apart.
		k := 0
		for i := 0; i < len(ps.marks); i += 2 {
			ps.marks[k] = ps.marks[i]
			k++
		}
		ps.marks = ps.marks[:k]
		ps.markEvery *= 2
	}
	ps.marks = append(ps.marks, mark{t: ts, ref: ref()})
}

// after returns a frame of the capture taken at least gap after ts (in
// the point's own clock), as proof it was still running.
func (ps *pointState) after(ts, gap int64) (evidence.Ref, bool) {
	for _, m := range ps.marks {
		if m.t-ts >= gap {
			return m.ref, true
		}
	}
	return evidence.Ref{}, false
}

type mac [6]byte

func (m mac) String() string {
	const hx = "0123456789abcdef"
	b := make([]byte, 0, 17)
	for i, c := range m {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, hx[c>>4], hx[c&15])
	}
	return string(b)
}

func parseMAC(s string) (mac, bool) {
	var m mac
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) != 17 {
		return m, false
	}
	for i := range 6 {
		hi, ok1 := unhex(s[i*3])
		lo, ok2 := unhex(s[i*3+1])
		if !ok1 || !ok2 || i < 5 && s[i*3+2] != ':' {
			return m, false
		}
		m[i] = hi<<4 | lo
	}
	return m, m != mac{}
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// hdr is what identifies a packet across capture points.
type hdr struct {
	src, dst     netip.Addr
	sport, dport uint16
	proto        uint8
	id           uint16
	hasID        bool
	seq, ack     uint32
	flags        uint8
	hasFlags     bool
	plen         int
	hasLen       bool
	tsval        uint32
	hasTSV       bool
	phash        uint64
	hashN        int // payload bytes hashed (0: no hash)
	toa          netip.AddrPort
	iplen        int
	df           bool
}

// obs is one packet seen at one point.
type obs struct {
	point   int
	frame   int
	t       int64
	hasT    bool
	dir     int8
	smac    mac
	dmac    mac
	hasSMAC bool
	hasDMAC bool
	tunnel  capture.Tunnel
	overlay bool // the tunnel carries an Ethernet frame (VXLAN, GRE bridging): a network's overlay, not LVS's
	via     capture.Tunnel
	vsrc    netip.Addr // the overlay's outer addresses
	vdst    netip.Addr
	osrc    netip.Addr
	odst    netip.Addr
	olen    int
	odf     bool
	h       hdr
	// Where the evidence comes from: a packet being scanned, or a frame
	// already read.
	pk *capture.Packet
	fr *evidence.Frame
}

func (o *obs) ref() evidence.Ref {
	if o.fr != nil {
		return o.fr.Ref
	}
	if o.pk != nil {
		return o.pk.Frame().Ref
	}
	return evidence.Ref{}
}

// tuple is one direction of a conversation.
type tuple struct {
	src, dst     netip.Addr
	sport, dport uint16
	proto        uint8
}

func (t tuple) reverse() tuple {
	return tuple{src: t.dst, dst: t.src, sport: t.dport, dport: t.sport, proto: t.proto}
}

// legKind says how a connection's packets are addressed on a stretch of
// the path.
type legKind uint8

const (
	legClient legKind = iota // client ↔ VIP (DR, TUN's inner packet, NAT/FNAT's front)
	legNAT                   // client ↔ RIP: the destination rewritten
	legFNAT                  // LIP ↔ RIP: both rewritten
)

type legRef struct {
	c     *conn
	reply bool
	kind  legKind
	gen   int
}

// Tracer follows the connections of one service through many points.
type Tracer struct {
	cfg Config
	// epochShown and todShown record which kinds of time the result
	// shows: capture times (put in cfg.Zone) and printouts' times of day.
	epochShown, todShown bool
	proto                uint8
	points               []*pointState
	conns                []*conn
	legs                 map[tuple]legRef
	// clients maps a client's end of a connection to it: NAT's rewritten
	// copies keep it.
	clients map[netip.AddrPort]*conn
	// sigs maps what FNAT keeps of a packet (TCP timestamp, length,
	// flags; or IP ID, length, payload) to its connection.
	sigs map[uint64]sigRef
	// interest holds every address a followed packet may carry: a packet
	// with neither address in it is skipped. bits is a filter in front of
	// it: one bit per low 16 bits of an IPv4 address, so that most
	// packets cost two bit tests, not two map lookups.
	interest map[netip.Addr]bool
	bits     [1024]uint64
	// plainFwd is set once a copy forwarded without rewriting (DR's, or
	// TUN's inside IPIP) is seen: FNAT's and NAT's copies need not be
	// looked for. The scan's decoders read it (atomically).
	plainFwd atomic.Bool
	gen      int
	seed     maphash.Seed

	dirMACs  map[mac]string // director MACs, and how we know
	vrrp     vrrpState
	arp      arpState
	icmp     []icmpSeen
	checks   checkState
	overflow int // connections not followed (MaxConns)
	dropped  int // packets of followed connections not kept (MaxPackets)
	packets  int
	sawStage [][4]bool // per point, the stages it saw (set by Result)
}

type sigRef struct {
	c     *conn
	reply bool
}

// New returns a Tracer for cfg.
func New(cfg Config) *Tracer {
	cfg.defaults()
	t := &Tracer{
		cfg:      cfg,
		proto:    cfg.protoNum(),
		legs:     map[tuple]legRef{},
		clients:  map[netip.AddrPort]*conn{},
		sigs:     map[uint64]sigRef{},
		interest: map[netip.Addr]bool{},
		seed:     maphash.MakeSeed(),
		dirMACs:  map[mac]string{},
	}
	if cfg.VIP.IsValid() {
		t.addInterest(cfg.VIP.Unmap())
	}
	t.checks.init()
	return t
}

func (t *Tracer) addInterest(a netip.Addr) {
	t.interest[a] = true
	if a.Is4() {
		b := a.As4()
		k := uint16(b[2])<<8 | uint16(b[3])
		t.bits[k>>6] |= 1 << (k & 63)
	} else {
		t.bits[0] |= 1 // IPv6 (and the like) go to the map
	}
}

// interesting reports whether a followed packet may carry a.
func (t *Tracer) interesting(a netip.Addr) bool {
	if a.Is4() {
		b := a.As4()
		k := uint16(b[2])<<8 | uint16(b[3])
		if t.bits[k>>6]&(1<<(k&63)) == 0 {
			return false
		}
	}
	return t.interest[a]
}

// AddPoint registers a capture point and returns its index.
func (t *Tracer) AddPoint(p Point) int {
	ps := &pointState{Point: p, macs: map[mac]bool{}, addrs: map[netip.Addr]bool{}}
	for _, s := range p.MACs {
		if m, ok := parseMAC(s); ok {
			ps.macs[m] = true
			if p.Role == evidence.RoleDirector {
				t.dirMACs[m] = p.Host + "'s interface"
			}
		}
	}
	for _, a := range p.Addrs {
		ps.addrs[a.Unmap()] = true
	}
	t.points = append(t.points, ps)
	return len(t.points) - 1
}

// conn is one client connection to the service.
type conn struct {
	id      int
	proto   uint8
	client  netip.AddrPort
	vip     netip.AddrPort
	rip     netip.AddrPort // NAT/FNAT: the real server's end
	lip     netip.AddrPort // FNAT: the director's local end
	pkts    []*packet
	dropped int
	kinds   [3]bool // legs seen
	tunnels map[netip.Addr]bool
}

// packet is one packet of a connection, with every sighting of it.
type packet struct {
	reply  bool
	flags  uint8
	plen   int
	hasLen bool
	seq    uint32
	hasSeq bool
	id     uint16
	hasID  bool
	tsval  uint32
	hasTSV bool
	phash  uint64
	hashN  int
	t      int64 // first sighting, in the reference clock
	hasT   bool
	seen   []sighting
}

// sighting is one packet at one point.
type sighting struct {
	point   int
	frame   int
	t       int64
	hasT    bool
	dir     int8
	smac    mac
	dmac    mac
	hasSMAC bool
	hasDMAC bool
	tunnel  capture.Tunnel
	overlay bool
	via     capture.Tunnel
	vsrc    netip.Addr
	vdst    netip.Addr
	osrc    netip.Addr
	odst    netip.Addr
	olen    int
	odf     bool
	src     netip.AddrPort
	dst     netip.AddrPort
	kind    legKind
	ref     evidence.Ref
}

// observe takes one packet at one point. rescan is set on a second read
// of a point: only legs learned since its first read count then.
func (t *Tracer) observe(o *obs, rescan bool) {
	ps := t.points[o.point]
	h := &o.h
	if !h.src.IsValid() || !h.dst.IsValid() {
		return
	}
	if t.proto != 0 && h.proto != t.proto && h.proto != capture.ProtoICMP {
		return
	}
	tp := tuple{src: h.src, dst: h.dst, sport: h.sport, dport: h.dport, proto: h.proto}
	l, ok := t.legs[tp]
	if ok {
		if rescan && l.gen <= ps.gen {
			return // seen on the first read
		}
		t.record(o, l)
		return
	}
	if rescan {
		// Only rewritten copies of connections learned since.
		if l, ok := t.newLeg(o, tp); ok {
			t.record(o, l)
		}
		return
	}
	vip := t.cfg.VIP
	switch {
	case vip.IsValid() && h.dst == vip && t.portOK(h.dport):
		if c := t.newConn(netip.AddrPortFrom(h.src, h.sport), netip.AddrPortFrom(h.dst, h.dport), h.proto); c != nil {
			t.record(o, t.legs[tp])
		}
	case vip.IsValid() && h.src == vip && t.portOK(h.sport):
		if c := t.newConn(netip.AddrPortFrom(h.dst, h.dport), netip.AddrPortFrom(h.src, h.sport), h.proto); c != nil {
			t.record(o, t.legs[tp])
		}
	default:
		if l, ok := t.newLeg(o, tp); ok {
			t.record(o, l)
		}
	}
}

func (t *Tracer) portOK(p uint16) bool { return t.cfg.Port == 0 || p == t.cfg.Port }

// newConn starts following a connection; nil when it is not to be
// followed (another client, or too many).
func (t *Tracer) newConn(client, vip netip.AddrPort, proto uint8) *conn {
	if proto != capture.ProtoTCP && proto != capture.ProtoUDP && proto != 132 {
		return nil
	}
	if t.cfg.Client.IsValid() && client.Addr() != t.cfg.Client {
		return nil
	}
	if c := t.clients[client]; c != nil && c.vip == vip {
		return c
	}
	if len(t.conns) >= t.cfg.MaxConns {
		t.overflow++
		return nil
	}
	t.gen++
	c := &conn{id: len(t.conns) + 1, proto: proto, client: client, vip: vip}
	t.conns = append(t.conns, c)
	fw := tuple{src: client.Addr(), dst: vip.Addr(), sport: client.Port(), dport: vip.Port(), proto: proto}
	t.legs[fw] = legRef{c: c, kind: legClient, gen: t.gen}
	t.legs[fw.reverse()] = legRef{c: c, reply: true, kind: legClient, gen: t.gen}
	t.clients[client] = c
	t.addInterest(client.Addr())
	return c
}

// newLeg recognises a rewritten copy of a followed connection: NAT's
// (the client's end kept, the other rewritten) or FNAT's (both rewritten:
// known by what it carries).
func (t *Tracer) newLeg(o *obs, tp tuple) (legRef, bool) {
	h := &o.h
	if len(t.conns) == 0 {
		return legRef{}, false
	}
	vip := t.cfg.VIP
	if c := t.clients[netip.AddrPortFrom(h.src, h.sport)]; c != nil && h.dst != vip && h.proto == c.proto && !t.isClientSide(h.dst) {
		t.gen++
		c.rip = netip.AddrPortFrom(h.dst, h.dport)
		l := legRef{c: c, kind: legNAT, gen: t.gen}
		t.legs[tp] = l
		t.legs[tp.reverse()] = legRef{c: c, reply: true, kind: legNAT, gen: t.gen}
		t.addInterest(h.dst)
		return l, true
	}
	if c := t.clients[netip.AddrPortFrom(h.dst, h.dport)]; c != nil && h.src != vip && h.proto == c.proto && !t.isClientSide(h.src) {
		t.gen++
		c.rip = netip.AddrPortFrom(h.src, h.sport)
		l := legRef{c: c, reply: true, kind: legNAT, gen: t.gen}
		t.legs[tp] = l
		t.legs[tp.reverse()] = legRef{c: c, kind: legNAT, gen: t.gen}
		t.addInterest(h.src)
		return l, true
	}
	if h.proto != capture.ProtoTCP && h.proto != capture.ProtoUDP {
		return legRef{}, false
	}
	// FNAT: an option naming the client, or a packet already seen.
	if h.toa.IsValid() {
		if c := t.clients[h.toa]; c != nil {
			return t.fnatLeg(c, tp, false), true
		}
	}
	keys, nk := t.sigKeys(h)
	for _, k := range keys[:nk] {
		if s, ok := t.sigs[k]; ok && s.c.proto == h.proto {
			// The copy must not be the client's own packet or its reply:
			// a rewritten copy has neither the client nor the VIP in it.
			if h.src == s.c.client.Addr() || h.dst == s.c.client.Addr() || h.src == vip || h.dst == vip {
				continue
			}
			return t.fnatLeg(s.c, tp, s.reply), true
		}
	}
	return legRef{}, false
}

// isClientSide reports whether a is a followed client's address: a
// packet between two clients is no rewritten copy.
func (t *Tracer) isClientSide(a netip.Addr) bool {
	return a == t.cfg.VIP
}

func (t *Tracer) fnatLeg(c *conn, tp tuple, reply bool) legRef {
	t.gen++
	if reply {
		c.rip, c.lip = netip.AddrPortFrom(tp.src, tp.sport), netip.AddrPortFrom(tp.dst, tp.dport)
	} else {
		c.lip, c.rip = netip.AddrPortFrom(tp.src, tp.sport), netip.AddrPortFrom(tp.dst, tp.dport)
	}
	l := legRef{c: c, reply: reply, kind: legFNAT, gen: t.gen}
	t.legs[tp] = l
	t.legs[tp.reverse()] = legRef{c: c, reply: !reply, kind: legFNAT, gen: t.gen}
	t.addInterest(tp.src)
	t.addInterest(tp.dst)
	return l
}

// sigKeys are the keys under which FNAT's copy of a packet is found: the
// TCP timestamp with the length and flags (kept by every rewrite), and
// the IP ID with the length and payload.
func (t *Tracer) sigKeys(h *hdr) ([2]uint64, int) {
	var keys [2]uint64
	n := 0
	if h.hasTSV && h.proto == capture.ProtoTCP {
		keys[n] = 1<<63 | uint64(h.tsval)<<24 | uint64(h.plen&0xffff)<<8 | uint64(h.flags&0x07)
		n++
	}
	if h.hasID && h.hashN > 0 {
		keys[n] = (uint64(h.id)<<48 | uint64(h.plen&0xffff)<<32 | h.phash&0xffffffff) &^ (1 << 63)
		n++
	}
	return keys, n
}

// record adds a sighting of a followed connection's packet.
func (t *Tracer) record(o *obs, l legRef) {
	c := l.c
	ps := t.points[o.point]
	ps.hits++
	c.kinds[l.kind] = true
	if o.tunnel != capture.NoTunnel && !o.overlay && !l.reply {
		if c.tunnels == nil {
			c.tunnels = map[netip.Addr]bool{}
		}
		c.tunnels[o.odst] = true
	}
	p := t.match(c, o, l)
	if p == nil {
		if len(c.pkts) >= t.cfg.MaxPackets {
			c.dropped++
			t.dropped++
			return
		}
		p = &packet{
			reply: l.reply, flags: o.h.flags & 0x17, plen: o.h.plen, hasLen: o.h.hasLen,
			seq: o.h.seq, hasSeq: o.h.proto == capture.ProtoTCP && o.h.hasFlags && l.kind != legFNAT,
			id: o.h.id, hasID: o.h.hasID, tsval: o.h.tsval, hasTSV: o.h.hasTSV, phash: o.h.phash, hashN: o.h.hashN,
		}
		if o.hasT {
			p.t, p.hasT = o.t-ps.skew, true
		}
		c.pkts = append(c.pkts, p)
		keys, nk := t.sigKeys(&o.h)
		for _, k := range keys[:nk] {
			if _, dup := t.sigs[k]; !dup {
				t.sigs[k] = sigRef{c: c, reply: l.reply}
			}
		}
	} else {
		for i := range p.seen {
			if p.seen[i].point == o.point && p.seen[i].frame == o.frame {
				return // read twice
			}
		}
		t.learnSkew(p, o)
		if !t.plainFwd.Load() && l.kind == legClient && !l.reply {
			for i := range p.seen {
				q := &p.seen[i]
				if q.point == o.point && (q.tunnel != o.tunnel && !q.overlay && !o.overlay || q.hasSMAC && o.hasSMAC && q.smac != o.smac) {
					t.plainFwd.Store(true)
				}
			}
		}
		if !p.hasID && o.h.hasID {
			p.id, p.hasID = o.h.id, true
		}
		if !p.hasTSV && o.h.hasTSV {
			p.tsval, p.hasTSV = o.h.tsval, true
		}
		if p.hashN == 0 && o.h.hashN > 0 {
			p.phash, p.hashN = o.h.phash, o.h.hashN
		}
	}
	s := sighting{
		point: o.point, frame: o.frame, t: o.t, hasT: o.hasT, dir: o.dir,
		smac: o.smac, dmac: o.dmac, hasSMAC: o.hasSMAC, hasDMAC: o.hasDMAC,
		tunnel: o.tunnel, overlay: o.overlay, via: o.via, vsrc: o.vsrc, vdst: o.vdst, osrc: o.osrc, odst: o.odst, olen: o.olen, odf: o.odf,
		src: netip.AddrPortFrom(o.h.src, o.h.sport), dst: netip.AddrPortFrom(o.h.dst, o.h.dport),
		kind: l.kind, ref: o.ref(),
	}
	p.seen = append(p.seen, s)
}

// match finds the packet of c that o is another sighting of.
func (t *Tracer) match(c *conn, o *obs, l legRef) *packet {
	h := &o.h
	ps := t.points[o.point]
	var best *packet
	bestScore, bestDist := 0, int64(-1)
	for _, p := range c.pkts {
		if p.reply != l.reply || p.flags != h.flags&0x17 {
			continue
		}
		if p.hasLen && h.hasLen && p.plen != h.plen {
			continue
		}
		score := 0
		if p.hasTSV && h.hasTSV {
			if p.tsval != h.tsval {
				continue
			}
			score += 2
		}
		if p.hasID && h.hasID {
			if p.id != h.id {
				continue
			}
			score++
		}
		if p.hasSeq && h.proto == capture.ProtoTCP && l.kind != legFNAT {
			if p.seq != h.seq {
				continue
			}
			score++
		}
		if p.hashN > 0 && p.hashN == h.hashN {
			if p.phash != h.phash {
				continue
			}
			score++
		}
		// Nothing but time tells apart retransmissions printed without
		// IP IDs: the nearest one not yet seen here.
		dist := int64(0)
		if p.hasT && o.hasT {
			dist = abs(o.t - ps.skew - p.t)
			if score < 3 && dist > int64(t.cfg.Window) && ps.skewSet {
				continue
			}
		}
		if score < 3 && seenAt(p, o.point, o.dir, o.tunnel, o.smac) {
			continue
		}
		if best == nil || score > bestScore || score == bestScore && dist < bestDist {
			best, bestScore, bestDist = p, score, dist
		}
	}
	if best != nil && bestScore == 0 && !(best.hasT && o.hasT && ps.skewSet && bestDist <= int64(t.cfg.Window)) {
		// Only the flags and length agree, and time cannot vouch for it.
		return nil
	}
	return best
}

// lvsTunnel reports whether a sighting is LVS's tunnel (IPIP, GRE
// without an Ethernet frame inside): the director's forwarded copy.
func (s *sighting) lvsTunnel() bool { return s.tunnel != capture.NoTunnel && !s.overlay }

// seenAt reports whether p was already seen at point in the same form.
func seenAt(p *packet, point int, dir int8, tun capture.Tunnel, smac mac) bool {
	for i := range p.seen {
		s := &p.seen[i]
		if s.point == point && s.dir == dir && s.tunnel == tun && s.smac == smac {
			return true
		}
	}
	return false
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// learnSkew takes the offset between the clocks of o's point and the
// reference (the clock of the packet's first sighting) from a sure match.
func (t *Tracer) learnSkew(p *packet, o *obs) {
	ps := t.points[o.point]
	if !p.hasT || !o.hasT || len(p.seen) == 0 {
		return
	}
	first := t.points[p.seen[0].point]
	if first == ps || !(p.hasTSV || p.hasID) {
		return
	}
	if len(ps.samples) < 64 {
		ps.samples = append(ps.samples, o.t-p.t)
	}
	// The median of what is known so far; transit times (well under a
	// millisecond on a LAN) are noise beside the skews that matter.
	if len(ps.samples) >= 1 && !ps.skewSet || len(ps.samples)%8 == 0 {
		ps.skew = median(ps.samples)
		ps.skewSet = true
	}
}

func median(xs []int64) int64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]int64(nil), xs...)
	// Insertion sort: at most 64 samples.
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[len(s)/2]
}
