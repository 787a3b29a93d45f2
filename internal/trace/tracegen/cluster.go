package tracegen

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Cluster says what a multi-point capture set shows: the same
// connections captured at the client, the director and the real servers,
// each point with its own clock.
type Cluster struct {
	Mode  string // dr, tun, nat, fnat
	Conns int    // client connections (default 3)
	Seed  uint64
	// Skew shifts a point's clock: "rs1" → +3.2s.
	Skew map[string]time.Duration
	// Drop says where packets disappear: "forward" (after the director,
	// before the real server), "reply" (after the real server, before
	// the client), "rs" (the real server receives and does not answer).
	Drop string
	// Refuse makes the real servers answer the SYN with a reset.
	Refuse bool
	// Cooked writes the director's capture as tcpdump -i any does (Linux
	// cooked v2, with directions) instead of Ethernet.
	Cooked bool
	// SnapLen cuts every packet of every point.
	SnapLen int
	// Shuffle swaps the timestamps of neighbouring packets in the real
	// servers' captures (out-of-order times, as NIC timestamping does).
	Shuffle bool
	// SeqShift is added to the sequence numbers FNAT's copies carry
	// (FNAT implementations may rewrite them).
	SeqShift uint32
	// TOA puts the client's address in the TCP option FNAT directors add.
	TOA bool
	// NoTS leaves out the TCP timestamp option.
	NoTS bool
	// Underlay adds hv.pcap: a hypervisor's capture of its overlay's
	// underlay, where the frames between the director and the real
	// servers travel inside VXLAN.
	Underlay bool
}

// The cluster's addresses beyond the director capture's.
var (
	ClientIP  = netip.MustParseAddr("203.0.113.7")
	ClientMAC = net.HardwareAddr{0x52, 0x54, 0, 0, 0, 0x0a}
	LIP       = netip.MustParseAddr("198.51.100.2") // FNAT's local address on the director
	NATRIPs   = []netip.Addr{netip.MustParseAddr("198.51.100.11"), netip.MustParseAddr("198.51.100.12")}
)

type stamped struct {
	t    time.Time
	data []byte
	dir  int // cooked packet type: 0 in, 4 out
}

type pointW struct {
	name string
	pkts []stamped
}

// WriteCluster writes client.pcap, director.pcap, rs1.pcap and rs2.pcap
// in dir and returns their paths.
func WriteCluster(dir string, c Cluster) ([]string, error) {
	if c.Conns <= 0 {
		c.Conns = 3
	}
	g := &cgen{c: c, rng: rand.New(rand.NewPCG(c.Seed, 99)), now: time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)}
	g.points = map[string]*pointW{}
	for _, n := range []string{"client", "director", "rs1", "rs2", "hv"} {
		g.points[n] = &pointW{name: n}
	}
	for i := range c.Conns {
		g.background()
		g.conn(i)
		g.now = g.now.Add(700 * time.Millisecond)
	}
	g.now = g.now.Add(3 * time.Second)
	g.background()
	if g.err != nil {
		return nil, g.err
	}
	var out []string
	names := []string{"client", "director", "rs1", "rs2"}
	if c.Underlay {
		names = append(names, "hv")
	}
	for _, n := range names {
		p := filepath.Join(dir, n+".pcap")
		if err := g.write(p, g.points[n]); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

type cgen struct {
	c      Cluster
	rng    *rand.Rand
	now    time.Time
	points map[string]*pointW
	ipid   uint16
	err    error
}

// pkt describes one packet for serialisation.
type pkt struct {
	smac, dmac net.HardwareAddr
	src, dst   netip.Addr
	sport      uint16
	dport      uint16
	seq, ack   uint32
	fl         layers.TCP
	n          int
	ts         uint32
	id         uint16
	toa        netip.AddrPort
	outer      [2]netip.Addr // IPIP
	payload    []byte
}

func (g *cgen) bytes(p pkt) []byte {
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	eth := &layers.Ethernet{SrcMAC: p.smac, DstMAC: p.dmac, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Id: p.id, Flags: layers.IPv4DontFragment, Protocol: layers.IPProtocolTCP, SrcIP: p.src.AsSlice(), DstIP: p.dst.AsSlice()}
	t := p.fl
	t.SrcPort, t.DstPort, t.Seq, t.Window = layers.TCPPort(p.sport), layers.TCPPort(p.dport), p.seq, 502
	if t.ACK {
		t.Ack = p.ack
	}
	if !g.c.NoTS {
		var o [8]byte
		binary.BigEndian.PutUint32(o[0:4], p.ts)
		t.Options = append(t.Options, layers.TCPOption{OptionType: layers.TCPOptionKindNop}, layers.TCPOption{OptionType: layers.TCPOptionKindNop},
			layers.TCPOption{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: o[:]})
	}
	if p.toa.IsValid() {
		var o [6]byte
		binary.BigEndian.PutUint16(o[0:2], p.toa.Port())
		a := p.toa.Addr().As4()
		copy(o[2:], a[:])
		t.Options = append(t.Options, layers.TCPOption{OptionType: 254, OptionLength: 8, OptionData: o[:]})
	}
	_ = t.SetNetworkLayerForChecksum(ip)
	ls := []gopacket.SerializableLayer{eth}
	if p.outer[0].IsValid() {
		ls = append(ls, &layers.IPv4{Version: 4, TTL: 64, Id: p.id + 1000, Protocol: layers.IPProtocolIPv4, SrcIP: p.outer[0].AsSlice(), DstIP: p.outer[1].AsSlice()})
	}
	ls = append(ls, ip, &t)
	if p.n > 0 {
		ls = append(ls, gopacket.Payload(p.payload))
	}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		if g.err == nil {
			g.err = fmt.Errorf("tracegen: %v", err)
		}
		return nil
	}
	return append([]byte(nil), buf.Bytes()...)
}

func (g *cgen) at(point string, d time.Duration, p pkt, dir int) {
	pw := g.points[point]
	pw.pkts = append(pw.pkts, stamped{t: g.now.Add(d), data: g.bytes(p), dir: dir})
}

// underlay puts a frame between the director and a real server on the
// hypervisor's underlay capture, inside VXLAN.
func (g *cgen) underlay(d time.Duration, p pkt) {
	if !g.c.Underlay {
		return
	}
	inner := g.bytes(p)
	buf := gopacket.NewSerializeBuffer()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{0x52, 0x54, 9, 0, 0, 1}, DstMAC: net.HardwareAddr{0x52, 0x54, 9, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
	udp := &layers.UDP{SrcPort: 40000, DstPort: 4789}
	_ = udp.SetNetworkLayerForChecksum(ip)
	vx := &layers.VXLAN{ValidIDFlag: true, VNI: 100}
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, udp, vx, gopacket.Payload(inner)); err != nil {
		if g.err == nil {
			g.err = err
		}
		return
	}
	g.points["hv"].pkts = append(g.points["hv"].pkts, stamped{t: g.now.Add(d), data: append([]byte(nil), buf.Bytes()...)})
}

// background is what every capture holds besides the connections: the
// director's VRRP advert, seen everywhere, and its health check of each
// real server (keepalived's TCP_CHECK: connect, then reset).
func (g *cgen) background() {
	adv := g.vrrpBytes()
	for _, n := range []string{"client", "director", "rs1", "rs2", "hv"} {
		g.points[n].pkts = append(g.points[n].pkts, stamped{t: g.now.Add(-300 * time.Millisecond), data: adv, dir: 4})
	}
	for rs, name := range []string{"rs1", "rs2"} {
		rip := RIPs[rs]
		dip := DirectorIP
		if g.c.Mode == "nat" || g.c.Mode == "fnat" {
			rip, dip = NATRIPs[rs], LIP
		}
		port := uint16(33000 + g.rng.IntN(20000))
		seq, sseq := g.rng.Uint32(), g.rng.Uint32()
		d := -200 * time.Millisecond
		for k, p := range []pkt{
			{smac: DirectorMAC, dmac: RSMACs[rs], src: dip, dst: rip, sport: port, dport: VPort, seq: seq, fl: layers.TCP{SYN: true}},
			{smac: RSMACs[rs], dmac: DirectorMAC, src: rip, dst: dip, sport: VPort, dport: port, seq: sseq, ack: seq + 1, fl: layers.TCP{SYN: true, ACK: true}},
			{smac: DirectorMAC, dmac: RSMACs[rs], src: dip, dst: rip, sport: port, dport: VPort, seq: seq + 1, ack: sseq + 1, fl: layers.TCP{ACK: true}},
			{smac: DirectorMAC, dmac: RSMACs[rs], src: dip, dst: rip, sport: port, dport: VPort, seq: seq + 1, ack: sseq + 1, fl: layers.TCP{RST: true, ACK: true}},
		} {
			g.ipid++
			p.id, p.ts = g.ipid, g.rng.Uint32()
			dir := 4
			if k == 1 {
				dir = 0
			}
			g.at("director", d, p, dir)
			g.at(name, d+20*time.Microsecond, p, 4-dir)
			d += 100 * time.Microsecond
		}
	}
}

func (g *cgen) vrrpBytes() []byte {
	buf := gopacket.NewSerializeBuffer()
	eth := &layers.Ethernet{SrcMAC: DirectorMAC, DstMAC: net.HardwareAddr{1, 0, 0x5e, 0, 0, 0x12}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 255, Protocol: layers.IPProtocolVRRP, SrcIP: DirectorIP.AsSlice(), DstIP: net.IP{224, 0, 0, 18}}
	v := VIP.As4()
	payload := gopacket.Payload([]byte{0x21, 51, 150, 1, 0, 1, 0, 0, v[0], v[1], v[2], v[3], 0, 0, 0, 0, 0, 0, 0, 0})
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, payload); err != nil && g.err == nil {
		g.err = err
	}
	return append([]byte(nil), buf.Bytes()...)
}

// conn writes one connection at every point.
func (g *cgen) conn(i int) {
	c := g.c
	rs := i % 2
	rsName := []string{"rs1", "rs2"}[rs]
	rsMAC := RSMACs[rs]
	rip := RIPs[rs]
	if c.Mode == "nat" || c.Mode == "fnat" {
		rip = NATRIPs[rs]
	}
	cport := uint16(40000 + i)
	lport := uint16(5000 + i)
	cseq, sseq := g.rng.Uint32(), g.rng.Uint32()
	cts, sts := g.rng.Uint32(), g.rng.Uint32()
	step := time.Duration(0)
	// send is one client→server packet through the cluster.
	send := func(fl layers.TCP, n int) {
		g.ipid++
		id := g.ipid
		cts += 10
		payload := make([]byte, n)
		for k := range payload {
			payload[k] = byte(g.rng.Uint32())
		}
		orig := pkt{smac: ClientMAC, dmac: DirectorMAC, src: ClientIP, dst: VIP, sport: cport, dport: VPort, seq: cseq, ack: sseq, fl: fl, n: n, ts: cts, id: id, payload: payload}
		g.at("client", step, orig, 4)
		g.at("director", step+30*time.Microsecond, orig, 0)
		fw := orig
		fw.smac, fw.dmac = DirectorMAC, rsMAC
		switch c.Mode {
		case "tun":
			fw.outer = [2]netip.Addr{DirectorIP, rip}
		case "nat":
			fw.dst = rip
		case "fnat":
			fw.src, fw.dst, fw.sport = LIP, rip, lport
			fw.seq += c.SeqShift
			if fw.fl.ACK {
				fw.ack += 0
			}
			if c.TOA && fl.SYN {
				fw.toa = netip.AddrPortFrom(ClientIP, cport)
			}
		}
		g.at("director", step+60*time.Microsecond, fw, 4)
		g.underlay(step+75*time.Microsecond, fw)
		if c.Drop != "forward" {
			g.at(rsName, step+90*time.Microsecond, fw, 0)
		}
		cseq += uint32(n)
		if fl.SYN || fl.FIN {
			cseq++
		}
		step += 2 * time.Millisecond
	}
	// reply is one server→client packet.
	reply := func(fl layers.TCP, n int) {
		if c.Drop == "rs" || c.Drop == "forward" {
			return
		}
		g.ipid++
		sts += 10
		payload := make([]byte, n)
		for k := range payload {
			payload[k] = byte(g.rng.Uint32())
		}
		r := pkt{smac: rsMAC, dmac: ClientMAC, src: VIP, dst: ClientIP, sport: VPort, dport: cport, seq: sseq, ack: cseq, fl: fl, n: n, ts: sts, id: g.ipid, payload: payload}
		switch c.Mode {
		case "nat":
			r.src, r.dmac = rip, DirectorMAC
		case "fnat":
			r.src, r.dst, r.dport, r.dmac = rip, LIP, lport, DirectorMAC
			r.ack += c.SeqShift
		}
		g.at(rsName, step, r, 4)
		g.underlay(step+10*time.Microsecond, r)
		back := r
		if c.Mode == "nat" || c.Mode == "fnat" {
			g.at("director", step+30*time.Microsecond, r, 0)
			back.smac, back.dmac, back.src, back.dst, back.dport, back.ack = DirectorMAC, ClientMAC, VIP, ClientIP, cport, cseq
			g.at("director", step+60*time.Microsecond, back, 4)
		}
		if c.Drop != "reply" {
			g.at("client", step+90*time.Microsecond, back, 0)
		}
		sseq += uint32(n)
		if fl.SYN || fl.FIN {
			sseq++
		}
		step += 2 * time.Millisecond
	}
	send(layers.TCP{SYN: true}, 0)
	if c.Refuse {
		reply(layers.TCP{RST: true, ACK: true}, 0)
		return
	}
	if c.Drop == "forward" || c.Drop == "rs" {
		// The client tries again after a second, twice.
		for range 2 {
			step += time.Second
			cseq--
			send(layers.TCP{SYN: true}, 0)
		}
		return
	}
	reply(layers.TCP{SYN: true, ACK: true}, 0)
	send(layers.TCP{ACK: true}, 0)
	send(layers.TCP{ACK: true, PSH: true}, 40)
	reply(layers.TCP{ACK: true, PSH: true}, 300)
	send(layers.TCP{ACK: true, FIN: true}, 0)
}

// write writes a point's packets as a pcap, its clock skewed.
func (g *cgen) write(path string, pw *pointW) error {
	sort.SliceStable(pw.pkts, func(i, j int) bool { return pw.pkts[i].t.Before(pw.pkts[j].t) })
	skew := g.c.Skew[pw.name]
	if g.c.Shuffle && (pw.name == "rs1" || pw.name == "rs2") {
		for i := 0; i+1 < len(pw.pkts); i += 2 {
			pw.pkts[i].t, pw.pkts[i+1].t = pw.pkts[i+1].t, pw.pkts[i].t
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := pcapgo.NewWriterNanos(f)
	snap := uint32(262144)
	if g.c.SnapLen > 0 {
		snap = uint32(g.c.SnapLen)
	}
	cooked := g.c.Cooked && pw.name == "director"
	lt := layers.LinkTypeEthernet
	if cooked {
		lt = layers.LinkTypeLinuxSLL2
	}
	if err := w.WriteFileHeader(snap, lt); err != nil {
		f.Close()
		return err
	}
	for _, p := range pw.pkts {
		data := p.data
		if cooked {
			data = cookedV2(data, p.dir)
		}
		ci := gopacket.CaptureInfo{Timestamp: p.t.Add(skew), CaptureLength: len(data), Length: len(data)}
		if g.c.SnapLen > 0 && len(data) > g.c.SnapLen {
			data = data[:g.c.SnapLen]
			ci.CaptureLength = len(data)
		}
		if err := w.WritePacket(ci, data); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// cookedV2 turns an Ethernet frame into a Linux cooked v2 record: the
// protocol, interface 2, the packet type, the source MAC.
func cookedV2(eth []byte, dir int) []byte {
	out := make([]byte, 20+len(eth)-14)
	copy(out[0:2], eth[12:14])
	binary.BigEndian.PutUint32(out[4:8], 2)
	binary.BigEndian.PutUint16(out[8:10], 1) // ARPHRD_ETHER
	out[10] = byte(dir)
	out[11] = 6
	copy(out[12:18], eth[6:12])
	copy(out[20:], eth[14:])
	return out
}
