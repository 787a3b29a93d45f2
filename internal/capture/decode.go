package capture

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/gopacket/gopacket/layers"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// Link types libpcap writes for raw IP besides LINKTYPE_RAW: the DLT_RAW
// values of BSD and OpenBSD, which old writers put in files.
const (
	linkTypeRawBSD     layers.LinkType = 12
	linkTypeRawOpenBSD layers.LinkType = 14
)

// maxDepth bounds tunnels inside tunnels: a crafted packet must not make
// the decoder recurse without end.
const maxDepth = 3

// decoder decodes one packet at a time into a Frame with gopacket's layer
// decoders, reused from packet to packet so that reading allocates only
// for what a frame keeps.
type decoder struct {
	eth   layers.Ethernet
	sll   layers.LinuxSLL
	sll2  layers.LinuxSLL2
	dot1q layers.Dot1Q
	ip4   [maxDepth + 1]layers.IPv4
	tcp   layers.TCP
	icmp  layers.ICMPv4
	arp   layers.ARP
	gre   layers.GRE
	vx    layers.VXLAN
	fb    feedback

	wireLen int  // the packet's length on the wire
	snapped bool // the capture kept fewer bytes than the wire had
	cut     bool
	bad     bool
	why     string

	// What the rendering needs beyond the Frame.
	link linkInfo
	pkts [maxDepth + 1]pktInfo
	macs map[[6]byte]string
	buf  []byte // scratch for a frame's time and rendering
}

// feedback records what gopacket's decoders report about truncation.
type feedback struct{ truncated bool }

func (f *feedback) SetTruncated() { f.truncated = true }

// linkInfo is the link header as rendered.
type linkInfo struct {
	kind      int // linkEther, linkSLL, linkSLL2, linkRaw
	etherType layers.EthernetType
	vlans     []uint16
	vlanTypes []layers.EthernetType
	ifindex   int
	pktType   int
}

const (
	linkEther = iota
	linkSLL
	linkSLL2
	linkRaw
)

// pktInfo is what a frame's rendering needs of one IP packet.
type pktInfo struct {
	ack       uint32
	hasAck    bool
	win       uint16
	icmpID    uint16
	icmpSeq   uint16
	vrrp      string
	tunnel    string // "gre", "vxlan", "ipip"
	greProto  layers.EthernetType
	vni       uint32
	innerLink bool // VXLAN/GRE-TEB: the inner packet has its own Ethernet header
	innerMACs [2]string
	frag      bool
	optsOf    int // depth of the TCP header d.tcp holds, -1 for none
}

func (d *decoder) init() {
	d.macs = make(map[[6]byte]string)
}

func (d *decoder) reset(wireLen, capLen int) {
	d.wireLen = wireLen
	d.snapped = capLen < wireLen
	d.cut, d.bad, d.why = false, false, ""
	d.link = linkInfo{vlans: d.link.vlans[:0], vlanTypes: d.link.vlanTypes[:0]}
	for i := range d.pkts {
		d.pkts[i] = pktInfo{optsOf: -1}
	}
}

func (d *decoder) malformed(format string, args ...any) {
	if !d.bad {
		d.bad, d.why = true, fmt.Sprintf(format, args...)
	}
}

// mac interns a MAC address: the few MACs of a capture repeat in every
// frame, so each is allocated once.
func (d *decoder) mac(b []byte) string {
	if len(b) != 6 {
		if len(b) == 0 {
			return ""
		}
		return hexColon(b)
	}
	var k [6]byte
	copy(k[:], b)
	if s, ok := d.macs[k]; ok {
		return s
	}
	s := hexColon(b)
	if len(d.macs) < 4096 {
		d.macs[k] = s
	}
	return s
}

func hexColon(b []byte) string {
	const hx = "0123456789abcdef"
	out := make([]byte, 0, len(b)*3)
	for i, c := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, hx[c>>4], hx[c&15])
	}
	return string(out)
}

// decodeLink decodes the link header and what it carries. It reports false for
// a link type it does not know.
func (d *decoder) decodeLink(f *evidence.Frame, data []byte, lt layers.LinkType, ifnames map[int]string) bool {
	d.fb = feedback{}
	switch lt {
	case layers.LinkTypeEthernet:
		d.link.kind = linkEther
		if err := d.eth.DecodeFromBytes(data, &d.fb); err != nil {
			d.short("Ethernet frame")
			f.Type = "ether"
			return true
		}
		f.SrcMAC, f.DstMAC = d.mac(d.eth.SrcMAC), d.mac(d.eth.DstMAC)
		// Ethernet's decoder turns 802.3 lengths into LLC; the type field
		// as sent is what tcpdump shows.
		et := layers.EthernetType(binary.BigEndian.Uint16(data[12:14]))
		d.link.etherType = et
		d.ether(f, et, data[14:], 0, 14)
	case layers.LinkTypeLinuxSLL:
		d.link.kind = linkSLL
		if err := d.sll.DecodeFromBytes(data, &d.fb); err != nil {
			d.failed("Linux cooked header", err)
			f.Type = "sll"
			return true
		}
		f.Dir = direction(int(d.sll.PacketType))
		d.link.pktType = int(d.sll.PacketType)
		f.SrcMAC = d.mac(d.sll.Addr)
		d.link.etherType = d.sll.EthernetType
		d.ether(f, d.sll.EthernetType, data[16:], 0, 16)
	case layers.LinkTypeLinuxSLL2:
		d.link.kind = linkSLL2
		if err := d.sll2.DecodeFromBytes(data, &d.fb); err != nil {
			d.failed("Linux cooked v2 header", err)
			f.Type = "sll"
			return true
		}
		f.Dir = direction(int(d.sll2.PacketType))
		d.link.pktType = int(d.sll2.PacketType)
		d.link.ifindex = int(d.sll2.InterfaceIndex)
		if name, ok := ifnames[int(d.sll2.InterfaceIndex)]; ok {
			f.Iface = name
		} else {
			// -i any: the file's name or pcapng block says "any", not
			// the interface of this packet.
			f.Iface = ""
		}
		f.SrcMAC = d.mac(d.sll2.Addr)
		d.link.etherType = d.sll2.ProtocolType
		d.ether(f, d.sll2.ProtocolType, data[20:], 0, 20)
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6, linkTypeRawBSD, linkTypeRawOpenBSD:
		d.link.kind = linkRaw
		if len(data) == 0 {
			d.short("raw IP frame")
			f.Type = "raw"
			return true
		}
		switch data[0] >> 4 {
		case 4:
			f.Type = "ipv4"
			d.ipv4(f, data, 0)
		case 6:
			f.Type = "ipv6"
			d.ipv6(f, data)
		default:
			f.Type = "raw"
			d.malformed("raw IP frame that is neither IPv4 nor IPv6 (version %d)", data[0]>>4)
		}
	default:
		return false
	}
	return true
}

// short records a header that ends before it should: cut by the snap
// length when the capture kept fewer bytes than the wire packet had,
// malformed otherwise.
func (d *decoder) short(what string) {
	if d.snapped {
		d.cut = true
		return
	}
	d.malformed("%s ends before its header does", what)
}

// failed records a header gopacket's decoder refused: short, or wrong.
func (d *decoder) failed(what string, err error) {
	if d.fb.truncated {
		d.short(what)
		return
	}
	d.malformed("%s: %v", what, err)
}

// direction names a Linux cooked packet type as the tcpdump text parser
// does ("In", "B", "M", "P", "Out").
func direction(t int) string {
	switch t {
	case 0:
		return "in"
	case 1:
		return "broadcast"
	case 2:
		return "multicast"
	case 3:
		return "other"
	case 4:
		return "out"
	}
	return ""
}

// ether decodes what an ethertype announces; hdr is the bytes of link
// header before data (for ARP's length).
func (d *decoder) ether(f *evidence.Frame, et layers.EthernetType, data []byte, depth, hdr int) {
	for (et == layers.EthernetTypeDot1Q || et == layers.EthernetTypeQinQ) && depth == 0 {
		setType(f, "vlan")
		d.fb = feedback{}
		if err := d.dot1q.DecodeFromBytes(data, &d.fb); err != nil {
			d.short("802.1Q tag")
			return
		}
		d.link.vlans = append(d.link.vlans, d.dot1q.VLANIdentifier)
		d.link.vlanTypes = append(d.link.vlanTypes, d.dot1q.Type)
		et = d.dot1q.Type
		data = data[4:]
		hdr += 4
		if len(d.link.vlans) > 4 {
			d.malformed("more than 4 VLAN tags")
			return
		}
	}
	switch et {
	case layers.EthernetTypeIPv4:
		setType(f, "ipv4")
		d.ipv4(f, data, depth)
	case layers.EthernetTypeIPv6:
		setType(f, "ipv6")
		d.ipv6(f, data)
	case layers.EthernetTypeARP:
		setType(f, "arp")
		d.arpPacket(f, data, hdr)
	case 0x8035:
		setType(f, "rarp")
	case layers.EthernetTypeLinkLayerDiscovery:
		setType(f, "lldp")
	default:
		if et < 0x0600 {
			setType(f, "802.3")
		} else {
			setType(f, "0x"+strconv.FormatUint(uint64(et), 16))
		}
	}
}

func setType(f *evidence.Frame, t string) {
	if f.Type == "" {
		f.Type = t
	}
}

// arpPacket reads an ARP packet as the tcpdump text parser reports it:
// a request's target is ARPIP and Dst, its sender Src; a reply's sender
// is ARPIP and Src, with its MAC in ARPMAC.
func (d *decoder) arpPacket(f *evidence.Frame, data []byte, hdr int) {
	f.Proto = "arp"
	f.Length = max(d.wireLen-hdr, 0)
	d.fb = feedback{}
	if err := d.arp.DecodeFromBytes(data, &d.fb); err != nil {
		d.failed("ARP packet", err)
		return
	}
	if d.arp.ProtAddressSize != 4 || d.arp.Protocol != layers.EthernetTypeIPv4 {
		return
	}
	sender, _ := netip.AddrFromSlice(d.arp.SourceProtAddress)
	target, _ := netip.AddrFromSlice(d.arp.DstProtAddress)
	switch d.arp.Operation {
	case 1:
		f.ARPOp = "request"
		f.ARPIP, f.Dst, f.Src = target, target, sender
	case 2:
		f.ARPOp = "reply"
		f.ARPIP, f.Src = sender, sender
		f.ARPMAC = d.mac(d.arp.SourceHwAddress)
	}
}

// ipv4 decodes an IPv4 packet at tunnel depth depth.
func (d *decoder) ipv4(f *evidence.Frame, data []byte, depth int) {
	ip := &d.ip4[depth]
	d.fb = feedback{}
	if err := ip.DecodeFromBytes(data, &d.fb); err != nil {
		d.failed("IPv4 header", err)
		if len(data) >= 20 {
			// Addresses are where they always are: keep them.
			f.Src = addr4(data[12:16])
			f.Dst = addr4(data[16:20])
			f.TTL = int(data[8])
			f.IPID = int(binary.BigEndian.Uint16(data[4:6]))
			f.Proto = protoName(layers.IPProtocol(data[9]))
		}
		return
	}
	if ip.Version != 4 {
		d.malformed("IPv4 header with version %d", ip.Version)
	}
	f.Src, f.Dst = addr4(ip.SrcIP), addr4(ip.DstIP)
	f.TTL = int(ip.TTL)
	f.IPID = int(ip.Id)
	f.DF = ip.Flags&layers.IPv4DontFragment != 0
	f.Proto = protoName(ip.Protocol)
	payloadLen := int(ip.Length) - int(ip.IHL)*4
	payload := ip.Payload
	p := &d.pkts[depth]
	if ip.FragOffset != 0 {
		// A later fragment: no transport header in it.
		p.frag = true
		f.Length = payloadLen
		return
	}
	d.transport(f, ip.Protocol, payload, payloadLen, depth)
}

func addr4(b []byte) netip.Addr {
	if len(b) != 4 {
		return netip.Addr{}
	}
	return netip.AddrFrom4([4]byte(b))
}

// ipv6 decodes the fixed IPv6 header and walks the extension headers to
// the transport protocol.
func (d *decoder) ipv6(f *evidence.Frame, data []byte) {
	if len(data) < 40 {
		d.short("IPv6 header")
		return
	}
	f.Src = netip.AddrFrom16([16]byte(data[8:24]))
	f.Dst = netip.AddrFrom16([16]byte(data[24:40]))
	f.TTL = int(data[7])
	plen := int(binary.BigEndian.Uint16(data[4:6]))
	next := layers.IPProtocol(data[6])
	rest := data[40:]
	if len(rest) > plen && plen > 0 {
		rest = rest[:plen]
	}
	for hops := 0; hops < 8; hops++ {
		switch next {
		case layers.IPProtocolIPv6HopByHop, layers.IPProtocolIPv6Routing, layers.IPProtocolIPv6Destination:
			if len(rest) < 8 || (int(rest[1])+1)*8 > len(rest) {
				d.short("IPv6 extension header")
				f.Proto = protoName(next)
				return
			}
			n := (int(rest[1]) + 1) * 8
			next, rest, plen = layers.IPProtocol(rest[0]), rest[n:], plen-n
			continue
		case layers.IPProtocolIPv6Fragment:
			if len(rest) < 8 {
				d.short("IPv6 fragment header")
				return
			}
			if binary.BigEndian.Uint16(rest[2:4])&0xfff8 != 0 {
				f.Proto = protoName(layers.IPProtocol(rest[0]))
				d.pkts[0].frag = true
				return
			}
			next, rest, plen = layers.IPProtocol(rest[0]), rest[8:], plen-8
			continue
		}
		break
	}
	f.Proto = protoName(next)
	if next == layers.IPProtocolICMPv6 {
		f.Length = max(plen, 0)
		return
	}
	d.transport(f, next, rest, plen, 0)
}

// protoName names an IP protocol as the tcpdump text parser does.
func protoName(p layers.IPProtocol) string {
	switch p {
	case layers.IPProtocolTCP:
		return "tcp"
	case layers.IPProtocolUDP:
		return "udp"
	case layers.IPProtocolICMPv4:
		return "icmp"
	case layers.IPProtocolICMPv6:
		return "icmp6"
	case layers.IPProtocolIPv4:
		return "ipip"
	case layers.IPProtocolVRRP:
		return "vrrp"
	case layers.IPProtocolIGMP:
		return "igmp"
	case layers.IPProtocolGRE:
		return "gre"
	case layers.IPProtocolESP:
		return "esp"
	case layers.IPProtocolAH:
		return "ah"
	case layers.IPProtocolSCTP:
		return "sctp"
	}
	return strconv.Itoa(int(p))
}

// transport decodes what an IP packet carries; plen is its length as the
// IP header gives it, payload what the capture kept of it.
func (d *decoder) transport(f *evidence.Frame, proto layers.IPProtocol, payload []byte, plen, depth int) {
	p := &d.pkts[depth]
	switch proto {
	case layers.IPProtocolTCP:
		d.fb = feedback{}
		if len(payload) < 20 {
			d.short("TCP header")
			if len(payload) >= 4 {
				f.SPort = binary.BigEndian.Uint16(payload[0:2])
				f.DPort = binary.BigEndian.Uint16(payload[2:4])
			}
			return
		}
		// Cut options are no loss: the fixed header is all a frame keeps.
		if err := d.tcp.DecodeFromBytes(payload, &d.fb); err != nil && !d.fb.truncated {
			d.malformed("TCP header: %v", err)
		}
		// The fixed header is decoded even when the options were cut.
		t := &d.tcp
		f.SPort, f.DPort = uint16(t.SrcPort), uint16(t.DstPort)
		f.Flags = tcpFlags(payload[13])
		f.Length = max(plen-int(t.DataOffset)*4, 0)
		// HasSeq as in tcpdump's default printout, which shows seq only
		// for data, SYN, FIN and RST: a capture's frame then keys like
		// the same packet printed on another host.
		f.Seq, f.HasSeq = t.Seq, f.Length > 0 || payload[13]&0x07 != 0
		p.ack, p.hasAck, p.win = t.Ack, t.ACK, t.Window
		for i := range d.pkts {
			d.pkts[i].optsOf = -1
		}
		p.optsOf = depth
	case layers.IPProtocolUDP:
		if len(payload) < 8 {
			d.short("UDP header")
			if len(payload) >= 4 {
				f.SPort = binary.BigEndian.Uint16(payload[0:2])
				f.DPort = binary.BigEndian.Uint16(payload[2:4])
			}
			return
		}
		f.SPort = binary.BigEndian.Uint16(payload[0:2])
		f.DPort = binary.BigEndian.Uint16(payload[2:4])
		ulen := int(binary.BigEndian.Uint16(payload[4:6]))
		f.Length = max(ulen-8, 0)
		if f.DPort == 4789 && depth < maxDepth {
			d.vxlan(f, payload[8:], depth)
		}
	case layers.IPProtocolICMPv4:
		f.Length = max(plen, 0)
		d.icmpPacket(f, payload, depth)
	case layers.IPProtocolVRRP:
		f.Length = max(plen, 0)
		if len(payload) >= 4 {
			p.vrrp = fmt.Sprintf("VRRPv%d, %s, vrid %d, prio %d", payload[0]>>4, vrrpType(payload[0]&0x0f), payload[1], payload[2])
		} else {
			d.short("VRRP packet")
		}
	case layers.IPProtocolIPv4:
		p.tunnel = "ipip"
		if depth < maxDepth {
			f.Inner = &evidence.Frame{Type: "ipv4", IPID: -1}
			d.ipv4(f.Inner, payload, depth+1)
		}
	case layers.IPProtocolGRE:
		f.Length = max(plen, 0)
		d.grePacket(f, payload, depth)
	default:
		f.Length = max(plen, 0)
	}
}

func vrrpType(t byte) string {
	if t == 1 {
		return "Advertisement"
	}
	return "type#" + strconv.Itoa(int(t))
}

// tcpFlags renders TCP flags as tcpdump does: F S R P . U E W in that
// order, "none" for none.
func tcpFlags(b byte) string {
	switch b & 0x1f {
	// The common sets without allocating.
	case 0x02:
		if b == 0x02 {
			return "S"
		}
	case 0x12:
		if b == 0x12 {
			return "S."
		}
	case 0x10:
		if b == 0x10 {
			return "."
		}
	case 0x18:
		if b == 0x18 {
			return "P."
		}
	case 0x11:
		if b == 0x11 {
			return "F."
		}
	case 0x04:
		if b == 0x04 {
			return "R"
		}
	case 0x14:
		if b == 0x14 {
			return "R."
		}
	}
	var out []byte
	for _, fl := range []struct {
		bit byte
		c   byte
	}{{0x01, 'F'}, {0x02, 'S'}, {0x04, 'R'}, {0x08, 'P'}, {0x10, '.'}, {0x20, 'U'}, {0x40, 'E'}, {0x80, 'W'}} {
		if b&fl.bit != 0 {
			out = append(out, fl.c)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return string(out)
}

// icmpPacket reads an ICMP message into the text tcpdump prints for it
// (without ", id N, seq N" and ", length N", as the text parser keeps it).
func (d *decoder) icmpPacket(f *evidence.Frame, payload []byte, depth int) {
	d.fb = feedback{}
	if err := d.icmp.DecodeFromBytes(payload, &d.fb); err != nil {
		d.short("ICMP header")
		return
	}
	typ, code := d.icmp.TypeCode.Type(), d.icmp.TypeCode.Code()
	p := &d.pkts[depth]
	p.icmpID, p.icmpSeq = d.icmp.Id, d.icmp.Seq
	quoted := payload[8:]
	qdst := func() (string, bool) {
		if len(quoted) < 20 {
			d.short("packet quoted by ICMP")
			return "", false
		}
		return addr4(quoted[16:20]).String(), true
	}
	switch typ {
	case 0:
		f.ICMP = "echo reply"
	case 8:
		f.ICMP = "echo request"
	case 3:
		dst, ok := qdst()
		if !ok {
			return
		}
		switch code {
		case 2:
			f.ICMP = fmt.Sprintf("%s protocol %d unreachable", dst, quoted[9])
		case 3:
			hl := int(quoted[0]&0x0f) * 4
			if len(quoted) < hl+4 || hl < 20 {
				d.short("packet quoted by ICMP")
				return
			}
			dport := binary.BigEndian.Uint16(quoted[hl+2 : hl+4])
			switch quoted[9] {
			case 6:
				f.ICMP = fmt.Sprintf("%s tcp port %d unreachable", dst, dport)
			case 17:
				f.ICMP = fmt.Sprintf("%s udp port %d unreachable", dst, dport)
			default:
				f.ICMP = fmt.Sprintf("%s protocol %d port %d unreachable", dst, quoted[9], dport)
			}
		case 4:
			if mtu := binary.BigEndian.Uint16(payload[6:8]); mtu != 0 {
				f.ICMP = fmt.Sprintf("%s unreachable - need to frag (mtu %d)", dst, mtu)
			} else {
				f.ICMP = dst + " unreachable - need to frag"
			}
		default:
			if format, ok := unreachFormats[code]; ok {
				f.ICMP = fmt.Sprintf(format, dst)
			} else {
				f.ICMP = fmt.Sprintf("#%d %s unreachable", code, dst)
			}
		}
	case 5:
		dst, ok := qdst()
		if !ok {
			return
		}
		gw := addr4(payload[4:8]).String()
		switch code {
		case 0:
			f.ICMP = fmt.Sprintf("redirect %s to net %s", dst, gw)
		case 1:
			f.ICMP = fmt.Sprintf("redirect %s to host %s", dst, gw)
		case 2:
			f.ICMP = fmt.Sprintf("redirect-tos %s to net %s", dst, gw)
		case 3:
			f.ICMP = fmt.Sprintf("redirect-tos %s to host %s", dst, gw)
		default:
			f.ICMP = fmt.Sprintf("redirect-#%d %s to net %s", code, dst, gw)
		}
	case 11:
		switch code {
		case 0:
			f.ICMP = "time exceeded in-transit"
		case 1:
			f.ICMP = "ip reassembly time exceeded"
		default:
			f.ICMP = fmt.Sprintf("time exceeded-#%d", code)
		}
	case 12:
		if code != 0 {
			f.ICMP = fmt.Sprintf("parameter problem - code %d", code)
		} else {
			f.ICMP = fmt.Sprintf("parameter problem - octet %d", payload[4])
		}
	default:
		if s, ok := icmpNames[typ]; ok {
			f.ICMP = s
		} else {
			f.ICMP = fmt.Sprintf("type-#%d", typ)
		}
	}
}

// unreachFormats are tcpdump's texts for the other unreachable codes.
var unreachFormats = map[uint8]string{
	0:  "net %s unreachable",
	1:  "host %s unreachable",
	5:  "%s unreachable - source route failed",
	6:  "net %s unreachable - unknown",
	7:  "host %s unreachable - unknown",
	8:  "%s unreachable - source host isolated",
	9:  "net %s unreachable - admin prohibited",
	10: "host %s unreachable - admin prohibited",
	11: "net %s unreachable - tos prohibited",
	12: "host %s unreachable - tos prohibited",
	13: "host %s unreachable - admin prohibited filter",
	14: "host %s unreachable - host precedence violation",
	15: "host %s unreachable - precedence cutoff",
}

var icmpNames = map[uint8]string{
	4: "source quench", 9: "router advertisement", 10: "router solicitation", 13: "time stamp request",
	14: "time stamp reply", 15: "information request", 16: "information reply", 17: "address mask request",
	18: "address mask reply",
}

// grePacket decodes GRE and the packet it carries (IPv4, or an Ethernet
// frame for transparent bridging).
func (d *decoder) grePacket(f *evidence.Frame, payload []byte, depth int) {
	p := &d.pkts[depth]
	p.tunnel = "gre"
	d.fb = feedback{}
	if err := d.gre.DecodeFromBytes(payload, &d.fb); err != nil {
		d.failed("GRE header", err)
		return
	}
	p.greProto = d.gre.Protocol
	if depth >= maxDepth {
		return
	}
	inner := d.gre.Payload
	switch d.gre.Protocol {
	case layers.EthernetTypeIPv4:
		f.Inner = &evidence.Frame{Type: "ipv4", IPID: -1}
		d.ipv4(f.Inner, inner, depth+1)
	case layers.EthernetTypeTransparentEthernetBridging:
		d.innerEther(f, inner, depth)
	}
}

// vxlan decodes a VXLAN header and the Ethernet frame it carries.
func (d *decoder) vxlan(f *evidence.Frame, payload []byte, depth int) {
	p := &d.pkts[depth]
	d.fb = feedback{}
	if err := d.vx.DecodeFromBytes(payload, &d.fb); err != nil {
		d.short("VXLAN header")
		return
	}
	p.tunnel, p.vni = "vxlan", d.vx.VNI
	d.innerEther(f, d.vx.Payload, depth)
}

func (d *decoder) innerEther(f *evidence.Frame, data []byte, depth int) {
	p := &d.pkts[depth]
	if len(data) < 14 {
		d.short("tunnelled Ethernet frame")
		return
	}
	p.innerLink = true
	in := &evidence.Frame{IPID: -1, SrcMAC: d.mac(data[6:12]), DstMAC: d.mac(data[0:6])}
	p.innerMACs = [2]string{in.SrcMAC, in.DstMAC}
	f.Inner = in
	switch et := layers.EthernetType(binary.BigEndian.Uint16(data[12:14])); et {
	case layers.EthernetTypeIPv4:
		in.Type = "ipv4"
		d.ipv4(in, data[14:], depth+1)
	case layers.EthernetTypeIPv6:
		in.Type = "ipv6"
		d.ipv6(in, data[14:])
	case layers.EthernetTypeARP:
		in.Type = "arp"
		d.arpPacket(in, data[14:], 14)
	default:
		in.Type = "0x" + strconv.FormatUint(uint64(et), 16)
	}
}
