// Package tracegen writes synthetic packet captures of an LVS cluster for
// benchmarks and tests: a director's view of a busy network (many flows
// that have nothing to do with the service) with a few client connections
// to the VIP forwarded to real servers, keepalived's health checks and
// VRRP adverts; and, for the same connections, the capture points before
// and after the director.
//
// Packets are built with gopacket's layers and written with pcapgo, so
// that the files are what a real capture would hold, byte for byte valid.
package tracegen

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Config says what to generate.
type Config struct {
	// Bytes stops the capture once this many bytes are written (0: no
	// bound); Packets once this many packets are (0: no bound). One of
	// them must be set.
	Bytes   int64
	Packets int
	// VIPFlows is how many client connections to the VIP the capture
	// holds, spread over its length.
	VIPFlows int
	// NoiseFlows is how many unrelated conversations run at once.
	NoiseFlows int
	Mode       string // "dr" (default), "tun", "nat"
	Seed       uint64
	Start      time.Time
	// Snaplen cuts every packet to this many bytes (0: whole packets).
	Snaplen int
	// NoiseBytes is the largest payload of the unrelated traffic (0:
	// 1448, a full segment; -1: none, for many small packets).
	NoiseBytes int
}

// The addresses of the generated cluster.
var (
	VIP        = netip.MustParseAddr("192.0.2.100")
	VPort      = uint16(80)
	DirectorIP = netip.MustParseAddr("192.0.2.2")
	RIPs       = []netip.Addr{netip.MustParseAddr("192.0.2.11"), netip.MustParseAddr("192.0.2.12")}
	ClientNet  = [3]byte{203, 0, 113}

	DirectorMAC = net.HardwareAddr{0x52, 0x54, 0, 0, 0, 0x02}
	RSMACs      = []net.HardwareAddr{{0x52, 0x54, 0, 0, 0, 0x0b}, {0x52, 0x54, 0, 0, 0, 0x0c}}
	RouterMAC   = net.HardwareAddr{0x52, 0x54, 0, 0, 0, 0x01}
)

// Stats says what was written.
type Stats struct {
	Packets    int
	Bytes      int64
	VIPPackets int // packets of VIP connections (both copies counted)
	VIPFlows   int
}

// WriteFile writes a capture at path.
func WriteFile(path string, c Config) (Stats, error) {
	f, err := os.Create(path)
	if err != nil {
		return Stats{}, err
	}
	st, err := Write(f, c)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return st, err
}

// Write writes the director's capture to w as pcap.
func Write(w io.Writer, c Config) (Stats, error) {
	if c.Bytes <= 0 && c.Packets <= 0 {
		return Stats{}, fmt.Errorf("tracegen: give Bytes or Packets")
	}
	if c.NoiseFlows <= 0 {
		c.NoiseFlows = 2000
	}
	if c.Start.IsZero() {
		c.Start = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	pw := pcapgo.NewWriter(bw)
	snap := uint32(262144)
	if c.Snaplen > 0 {
		snap = uint32(c.Snaplen)
	}
	if err := pw.WriteFileHeader(snap, layers.LinkTypeEthernet); err != nil {
		return Stats{}, err
	}
	g := &gen{c: c, pw: pw, rng: rand.New(rand.NewPCG(c.Seed, 0x1f2e3d4c)), now: c.Start}
	g.buf = gopacket.NewSerializeBuffer()
	g.noise = make([]noiseFlow, c.NoiseFlows)
	for i := range g.noise {
		g.noise[i] = g.newNoise(i)
	}
	total := c.Packets
	if total <= 0 {
		// Bytes only: about 760 bytes a packet on average (see noise).
		total = int(c.Bytes / 760)
	}
	// VIP connections start at even intervals over the capture.
	every := max(total/(c.VIPFlows+1), 1)
	next := every
	var live []*vipConn
	for g.err == nil {
		if c.Packets > 0 && g.st.Packets >= c.Packets || c.Bytes > 0 && g.st.Bytes >= c.Bytes {
			break
		}
		g.now = g.now.Add(time.Duration(2+g.rng.IntN(20)) * time.Microsecond)
		switch {
		case g.st.VIPFlows < c.VIPFlows && g.st.Packets >= next:
			next += every
			live = append(live, g.newVIP(g.st.VIPFlows))
			g.st.VIPFlows++
		case len(live) > 0 && g.rng.IntN(50) == 0:
			i := g.rng.IntN(len(live))
			if !g.stepVIP(live[i]) {
				live = append(live[:i], live[i+1:]...)
			}
		case g.st.Packets%5000 == 0:
			g.vrrp()
		case g.st.Packets%7919 == 0:
			g.healthCheck()
		default:
			g.stepNoise(&g.noise[g.rng.IntN(len(g.noise))])
		}
	}
	// Let the connections still open finish.
	for _, v := range live {
		for g.err == nil && g.stepVIP(v) {
			g.now = g.now.Add(50 * time.Microsecond)
		}
	}
	if g.err != nil {
		return g.st, g.err
	}
	return g.st, bw.Flush()
}

type gen struct {
	c     Config
	pw    *pcapgo.Writer
	rng   *rand.Rand
	now   time.Time
	buf   gopacket.SerializeBuffer
	noise []noiseFlow
	st    Stats
	ipid  uint16
	err   error
	hcN   int
}

type noiseFlow struct {
	a, b         netip.Addr
	macA, macB   net.HardwareAddr
	aport, bport uint16
	seqA, seqB   uint32
}

func (g *gen) newNoise(i int) noiseFlow {
	a := netip.AddrFrom4([4]byte{10, byte(1 + i%200), byte(i / 200), byte(1 + g.rng.IntN(250))})
	b := netip.AddrFrom4([4]byte{10, 200, byte(g.rng.IntN(4)), byte(1 + g.rng.IntN(250))})
	return noiseFlow{
		a: a, b: b,
		macA: net.HardwareAddr{0x52, 0x54, 1, byte(i >> 8), byte(i), 1}, macB: net.HardwareAddr{0x52, 0x54, 2, 0, 0, byte(i % 16)},
		aport: uint16(10000 + g.rng.IntN(50000)), bport: []uint16{443, 5432, 6379, 8080}[g.rng.IntN(4)],
		seqA: g.rng.Uint32(), seqB: g.rng.Uint32(),
	}
}

// stepNoise sends one packet of an unrelated conversation: mostly full
// data segments one way and bare ACKs the other, as bulk transfers show.
func (g *gen) stepNoise(f *noiseFlow) {
	r := g.rng.IntN(10)
	full := 1448
	switch {
	case g.c.NoiseBytes < 0:
		full = 0
	case g.c.NoiseBytes > 0:
		full = g.c.NoiseBytes
	}
	switch {
	case r < 5:
		n := full
		g.tcp(f.macB, f.macA, f.b, f.a, f.bport, f.aport, f.seqB, f.seqA, layers.TCP{ACK: true, PSH: r == 0}, n, 0)
		f.seqB += uint32(n)
	case r < 9:
		g.tcp(f.macA, f.macB, f.a, f.b, f.aport, f.bport, f.seqA, f.seqB, layers.TCP{ACK: true}, 0, 0)
	default:
		n := min(100+g.rng.IntN(500), full)
		g.tcp(f.macA, f.macB, f.a, f.b, f.aport, f.bport, f.seqA, f.seqB, layers.TCP{ACK: true, PSH: true}, n, 0)
		f.seqA += uint32(n)
	}
}

// vipConn is one client connection to the VIP as the director sees it.
type vipConn struct {
	client     netip.Addr
	cport      uint16
	rs         int
	seqC, seqS uint32
	step       int
	ts         uint32
}

func (g *gen) newVIP(i int) *vipConn {
	return &vipConn{
		client: netip.AddrFrom4([4]byte{ClientNet[0], ClientNet[1], ClientNet[2], byte(1 + i%250)}),
		cport:  uint16(30000 + i%30000),
		rs:     i % len(RIPs),
		seqC:   g.rng.Uint32(),
		seqS:   g.rng.Uint32(),
		ts:     g.rng.Uint32(),
	}
}

// stepVIP sends the next packet of a VIP connection: each client packet
// arrives (to the director's MAC) and leaves again for the real server,
// by MAC (DR), in IPIP (TUN) or to the RIP (NAT). DR and TUN replies go
// straight to the client; NAT's come back through the director.
func (g *gen) stepVIP(v *vipConn) bool {
	rsMAC := RSMACs[v.rs]
	in := func(fl layers.TCP, n int) {
		v.ts++
		pl := g.payload(n)
		g.ipid++
		id := g.ipid
		g.tcpID(RouterMAC, DirectorMAC, v.client, VIP, v.cport, VPort, v.seqC, v.seqS, fl, pl, v.ts, id)
		g.st.VIPPackets++
		switch g.c.Mode {
		case "tun":
			g.ipip(DirectorMAC, rsMAC, DirectorIP, RIPs[v.rs], v.client, VIP, v.cport, VPort, v.seqC, v.seqS, fl, pl, v.ts)
		case "nat":
			g.tcpID(DirectorMAC, rsMAC, v.client, RIPs[v.rs], v.cport, VPort, v.seqC, v.seqS, fl, pl, v.ts, id)
		default:
			g.tcpID(DirectorMAC, rsMAC, v.client, VIP, v.cport, VPort, v.seqC, v.seqS, fl, pl, v.ts, id)
		}
		g.st.VIPPackets++
		v.seqC += uint32(n)
		if fl.SYN || fl.FIN {
			v.seqC++
		}
	}
	out := func(fl layers.TCP, n int) {
		if g.c.Mode != "nat" {
			return
		}
		pl := g.payload(n)
		g.ipid++
		g.tcpID(rsMAC, DirectorMAC, RIPs[v.rs], v.client, VPort, v.cport, v.seqS, v.seqC, fl, pl, v.ts+7, g.ipid)
		g.tcpID(DirectorMAC, RouterMAC, VIP, v.client, VPort, v.cport, v.seqS, v.seqC, fl, pl, v.ts+7, g.ipid)
		g.st.VIPPackets += 2
		v.seqS += uint32(n)
		if fl.SYN || fl.FIN {
			v.seqS++
		}
	}
	v.step++
	switch v.step {
	case 1:
		in(layers.TCP{SYN: true}, 0)
	case 2:
		out(layers.TCP{SYN: true, ACK: true}, 0)
	case 3:
		in(layers.TCP{ACK: true}, 0)
	case 4:
		in(layers.TCP{ACK: true, PSH: true}, 78)
	case 5:
		out(layers.TCP{ACK: true, PSH: true}, 1200)
	case 6:
		in(layers.TCP{ACK: true, FIN: true}, 0)
	default:
		return false
	}
	return true
}

// healthCheck is keepalived's TCP_CHECK as many versions do it: connect,
// then close with a reset.
func (g *gen) healthCheck() {
	g.hcN++
	rs := g.hcN % len(RIPs)
	port := uint16(40000 + g.hcN%20000)
	seq, sseq := g.rng.Uint32(), g.rng.Uint32()
	g.tcp(DirectorMAC, RSMACs[rs], DirectorIP, RIPs[rs], port, VPort, seq, 0, layers.TCP{SYN: true}, 0, 1)
	g.tcp(RSMACs[rs], DirectorMAC, RIPs[rs], DirectorIP, VPort, port, sseq, seq+1, layers.TCP{SYN: true, ACK: true}, 0, 2)
	g.tcp(DirectorMAC, RSMACs[rs], DirectorIP, RIPs[rs], port, VPort, seq+1, sseq+1, layers.TCP{ACK: true}, 0, 3)
	g.tcp(DirectorMAC, RSMACs[rs], DirectorIP, RIPs[rs], port, VPort, seq+1, sseq+1, layers.TCP{RST: true, ACK: true}, 0, 4)
}

func (g *gen) vrrp() {
	eth := &layers.Ethernet{SrcMAC: DirectorMAC, DstMAC: net.HardwareAddr{1, 0, 0x5e, 0, 0, 0x12}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 255, Protocol: layers.IPProtocolVRRP, SrcIP: DirectorIP.AsSlice(), DstIP: net.IP{224, 0, 0, 18}}
	payload := gopacket.Payload([]byte{0x21, 51, 150, 1, 0, 1, 0, 0, 192, 0, 2, 100, 0, 0, 0, 0, 0, 0, 0, 0})
	g.write(eth, ip, payload)
}

func (g *gen) tcp(smac, dmac net.HardwareAddr, src, dst netip.Addr, sport, dport uint16, seq, ack uint32, fl layers.TCP, n int, ts uint32) {
	g.ipid++
	g.tcpID(smac, dmac, src, dst, sport, dport, seq, ack, fl, g.payload(n), ts, g.ipid)
}

func (g *gen) tcpID(smac, dmac net.HardwareAddr, src, dst netip.Addr, sport, dport uint16, seq, ack uint32, fl layers.TCP, pl gopacket.Payload, ts uint32, id uint16) {
	eth := &layers.Ethernet{SrcMAC: smac, DstMAC: dmac, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Id: id, Flags: layers.IPv4DontFragment, Protocol: layers.IPProtocolTCP, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
	t := g.tcpLayer(sport, dport, seq, ack, fl, ts)
	_ = t.SetNetworkLayerForChecksum(ip)
	g.write(eth, ip, t, pl)
}

func (g *gen) ipip(smac, dmac net.HardwareAddr, osrc, odst, src, dst netip.Addr, sport, dport uint16, seq, ack uint32, fl layers.TCP, pl gopacket.Payload, ts uint32) {
	eth := &layers.Ethernet{SrcMAC: smac, DstMAC: dmac, EthernetType: layers.EthernetTypeIPv4}
	outer := &layers.IPv4{Version: 4, TTL: 64, Id: g.ipid + 20000, Protocol: layers.IPProtocolIPv4, SrcIP: osrc.AsSlice(), DstIP: odst.AsSlice()}
	ip := &layers.IPv4{Version: 4, TTL: 64, Id: g.ipid, Flags: layers.IPv4DontFragment, Protocol: layers.IPProtocolTCP, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
	t := g.tcpLayer(sport, dport, seq, ack, fl, ts)
	_ = t.SetNetworkLayerForChecksum(ip)
	g.write(eth, outer, ip, t, pl)
}

func (g *gen) tcpLayer(sport, dport uint16, seq, ack uint32, fl layers.TCP, ts uint32) *layers.TCP {
	t := fl
	t.SrcPort, t.DstPort, t.Seq, t.Window = layers.TCPPort(sport), layers.TCPPort(dport), seq, 502
	if t.ACK {
		t.Ack = ack
	}
	if ts != 0 {
		var o [8]byte
		binary.BigEndian.PutUint32(o[0:4], ts)
		t.Options = []layers.TCPOption{{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: o[:]}}
	}
	return &t
}

// junk is the bytes payloads are cut from: varied, so that packets of the
// same length differ as real ones do.
var junk = func() []byte {
	r := rand.New(rand.NewPCG(7, 7))
	b := make([]byte, 64<<10)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}()

func (g *gen) payload(n int) gopacket.Payload {
	if n <= 0 {
		return nil
	}
	off := g.rng.IntN(len(junk) - n)
	return gopacket.Payload(junk[off : off+n])
}

func (g *gen) write(ls ...gopacket.SerializableLayer) {
	if g.err != nil {
		return
	}
	if err := gopacket.SerializeLayers(g.buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		g.err = err
		return
	}
	data := g.buf.Bytes()
	ci := gopacket.CaptureInfo{Timestamp: g.now, CaptureLength: len(data), Length: len(data)}
	if g.c.Snaplen > 0 && len(data) > g.c.Snaplen {
		data = data[:g.c.Snaplen]
		ci.CaptureLength = len(data)
	}
	if err := g.pw.WritePacket(ci, data); err != nil {
		g.err = err
		return
	}
	g.st.Packets++
	g.st.Bytes += int64(16 + len(data))
	g.now = g.now.Add(time.Microsecond)
}
