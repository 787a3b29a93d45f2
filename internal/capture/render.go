package capture

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// render writes a frame as one line of `tcpdump -e -n` (with absolute
// sequence numbers, without TCP options): what a person reading a report
// recognises from their own terminal.
func (d *decoder) render(b []byte, f *evidence.Frame, ts time.Time) []byte {
	// Microseconds, as tcpdump prints even nanosecond captures.
	b = ts.AppendFormat(b, "15:04:05.000000")
	b = append(b, ' ')
	l := &d.link
	switch l.kind {
	case linkEther:
		b = append(b, f.SrcMAC...)
		b = append(b, " > "...)
		b = append(b, f.DstMAC...)
		b = append(b, ", "...)
		b = appendEtherType(b, l.etherType)
		b = append(b, ", length "...)
		b = strconv.AppendInt(b, int64(d.wireLen), 10)
		b = append(b, ": "...)
	case linkSLL, linkSLL2:
		if l.kind == linkSLL2 {
			if f.Iface != "" {
				b = append(b, f.Iface...)
				b = append(b, ' ')
			}
		}
		b = append(b, cookedDir(l.pktType)...)
		b = append(b, ' ')
		if l.kind == linkSLL2 {
			b = append(b, "ifindex "...)
			b = strconv.AppendInt(b, int64(l.ifindex), 10)
			b = append(b, ' ')
		}
		if f.SrcMAC != "" {
			b = append(b, f.SrcMAC...)
			b = append(b, ' ')
		}
		b = appendEtherType(b, l.etherType)
		b = append(b, ", length "...)
		b = strconv.AppendInt(b, int64(d.wireLen), 10)
		b = append(b, ": "...)
	}
	for i, v := range l.vlans {
		b = append(b, "vlan "...)
		b = strconv.AppendInt(b, int64(v), 10)
		b = append(b, ", p 0, "...)
		b = appendEtherType(b, l.vlanTypes[i])
		b = append(b, ", "...)
	}
	return d.appendPacket(b, f, 0, l.kind == linkRaw)
}

func cookedDir(t int) string {
	switch t {
	case 0:
		return "In"
	case 1:
		return "B"
	case 2:
		return "M"
	case 3:
		return "P"
	case 4:
		return "Out"
	}
	return "?"
}

func appendEtherType(b []byte, et layers.EthernetType) []byte {
	b = append(b, "ethertype "...)
	return appendEtherName(b, et)
}

// appendEtherName writes "IPv4 (0x0800)".
func appendEtherName(b []byte, et layers.EthernetType) []byte {
	switch et {
	case layers.EthernetTypeIPv4:
		b = append(b, "IPv4"...)
	case layers.EthernetTypeIPv6:
		b = append(b, "IPv6"...)
	case layers.EthernetTypeARP:
		b = append(b, "ARP"...)
	case layers.EthernetTypeDot1Q:
		b = append(b, "802.1Q"...)
	case layers.EthernetTypeQinQ:
		b = append(b, "802.1Q-QinQ"...)
	case layers.EthernetTypeLinkLayerDiscovery:
		b = append(b, "LLDP"...)
	default:
		b = append(b, "Unknown"...)
	}
	b = append(b, " (0x"...)
	h := strconv.FormatUint(uint64(et), 16)
	for i := len(h); i < 4; i++ {
		b = append(b, '0')
	}
	b = append(b, h...)
	return append(b, ')')
}

// appendPacket renders the network layer and up: "IP " before it as
// tcpdump prints it without -e.
func (d *decoder) appendPacket(b []byte, f *evidence.Frame, depth int, prefix bool) []byte {
	switch f.Type {
	case "arp":
		// With -e the ethertype already said ARP.
		return appendARP(b, f, prefix)
	case "ipv4", "ipv6", "vlan":
	default:
		if f.Type != "" && !f.Src.IsValid() {
			return append(b, f.Type...)
		}
	}
	if !f.Src.IsValid() {
		return append(b, "[|ip]"...)
	}
	if prefix {
		if f.Src.Is4() {
			b = append(b, "IP "...)
		} else {
			b = append(b, "IP6 "...)
		}
	}
	p := &d.pkts[min(depth, maxDepth)]
	ports := f.Proto == "tcp" || f.Proto == "udp"
	b = appendHostPort(b, f.Src, f.SPort, ports && !p.frag)
	b = append(b, " > "...)
	b = appendHostPort(b, f.Dst, f.DPort, ports && !p.frag)
	b = append(b, ": "...)
	if p.frag {
		b = append(b, f.Proto...)
		return b
	}
	switch {
	case p.tunnel == "ipip" && f.Inner != nil:
		return d.appendPacket(b, f.Inner, depth+1, false)
	case p.tunnel == "gre":
		b = append(b, "GREv0, proto "...)
		b = appendEtherName(b, p.greProto)
		return d.appendGRE(b, f, depth)
	case p.tunnel == "vxlan":
		b = append(b, "VXLAN, flags [I] (0x08), vni "...)
		b = strconv.AppendInt(b, int64(p.vni), 10)
		if f.Inner != nil {
			b = append(b, ": "...)
			b = append(b, p.innerMACs[0]...)
			b = append(b, " > "...)
			b = append(b, p.innerMACs[1]...)
			b = append(b, ", "...)
			b = d.appendPacket(b, f.Inner, depth+1, true)
		}
		return b
	}
	switch f.Proto {
	case "tcp":
		b = append(b, "Flags ["...)
		b = append(b, f.Flags...)
		b = append(b, ']')
		if f.HasSeq {
			b = append(b, ", seq "...)
			b = strconv.AppendUint(b, uint64(f.Seq), 10)
		}
		if p.hasAck {
			b = append(b, ", ack "...)
			b = strconv.AppendUint(b, uint64(p.ack), 10)
		}
		b = append(b, ", win "...)
		b = strconv.AppendUint(b, uint64(p.win), 10)
		if depth == p.optsOf && len(d.tcp.Options) > 0 {
			// Rules read the MSS a handshake announces from here.
			b = appendTCPOptions(b, d.tcp.Options)
		}
	case "udp":
		b = append(b, "UDP"...)
	case "icmp":
		b = append(b, "ICMP "...)
		b = append(b, f.ICMP...)
		if f.ICMP == "echo request" || f.ICMP == "echo reply" {
			b = append(b, ", id "...)
			b = strconv.AppendUint(b, uint64(p.icmpID), 10)
			b = append(b, ", seq "...)
			b = strconv.AppendUint(b, uint64(p.icmpSeq), 10)
		}
	case "icmp6":
		b = append(b, "ICMP6"...)
	case "vrrp":
		if p.vrrp != "" {
			b = append(b, p.vrrp...)
		} else {
			b = append(b, "VRRP"...)
		}
	default:
		b = append(b, "ip-proto-"...)
		b = strconv.AppendInt(b, int64(protoNumber(f.Proto)), 10)
	}
	b = append(b, ", length "...)
	return strconv.AppendInt(b, int64(f.Length), 10)
}

func (d *decoder) appendGRE(b []byte, f *evidence.Frame, depth int) []byte {
	b = append(b, ", length "...)
	b = strconv.AppendInt(b, int64(f.Length), 10)
	if f.Inner != nil {
		b = append(b, ": "...)
		if d.pkts[depth].innerLink {
			b = append(b, d.pkts[depth].innerMACs[0]...)
			b = append(b, " > "...)
			b = append(b, d.pkts[depth].innerMACs[1]...)
			b = append(b, ", "...)
		}
		b = d.appendPacket(b, f.Inner, depth+1, d.pkts[depth].innerLink)
	}
	return b
}

func appendHostPort(b []byte, a netip.Addr, port uint16, withPort bool) []byte {
	b = a.AppendTo(b)
	if withPort {
		b = append(b, '.')
		b = strconv.AppendUint(b, uint64(port), 10)
	}
	return b
}

func appendARP(b []byte, f *evidence.Frame, prefix bool) []byte {
	if prefix {
		b = append(b, "ARP, "...)
	}
	switch f.ARPOp {
	case "request":
		b = append(b, "Request who-has "...)
		b = f.ARPIP.AppendTo(b)
		b = append(b, " tell "...)
		b = f.Src.AppendTo(b)
	case "reply":
		b = append(b, "Reply "...)
		b = f.ARPIP.AppendTo(b)
		b = append(b, " is-at "...)
		b = append(b, f.ARPMAC...)
	default:
		b = append(b, "ARP (unknown operation)"...)
	}
	b = append(b, ", length "...)
	return strconv.AppendInt(b, int64(f.Length), 10)
}

func protoNumber(name string) int {
	switch name {
	case "tcp":
		return 6
	case "udp":
		return 17
	case "icmp":
		return 1
	case "icmp6":
		return 58
	case "ipip":
		return 4
	case "vrrp":
		return 112
	case "igmp":
		return 2
	case "gre":
		return 47
	case "esp":
		return 50
	case "ah":
		return 51
	case "sctp":
		return 132
	}
	n, _ := strconv.Atoi(name)
	return n
}

// appendTCPOptions writes TCP options as tcpdump does:
// ", options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7]".
func appendTCPOptions(b []byte, opts []layers.TCPOption) []byte {
	b = append(b, ", options ["...)
	for i, o := range opts {
		if i > 0 {
			b = append(b, ',')
		}
		v := o.OptionData
		switch o.OptionType {
		case layers.TCPOptionKindEndList:
			b = append(b, "eol"...)
		case layers.TCPOptionKindNop:
			b = append(b, "nop"...)
		case layers.TCPOptionKindMSS:
			b = append(b, "mss "...)
			if len(v) == 2 {
				b = strconv.AppendUint(b, uint64(v[0])<<8|uint64(v[1]), 10)
			}
		case layers.TCPOptionKindWindowScale:
			b = append(b, "wscale "...)
			if len(v) == 1 {
				b = strconv.AppendUint(b, uint64(v[0]), 10)
			}
		case layers.TCPOptionKindSACKPermitted:
			b = append(b, "sackOK"...)
		case layers.TCPOptionKindSACK:
			b = append(b, "sack "...)
			b = strconv.AppendInt(b, int64(len(v)/8), 10)
		case layers.TCPOptionKindTimestamps:
			b = append(b, "TS"...)
			if len(v) == 8 {
				b = append(b, " val "...)
				b = strconv.AppendUint(b, uint64(be32(v)), 10)
				b = append(b, " ecr "...)
				b = strconv.AppendUint(b, uint64(be32(v[4:])), 10)
			}
		case layers.TCPOptionKindMultipathTCP:
			b = append(b, "mptcp"...)
		default:
			b = append(b, "unknown-"...)
			b = strconv.AppendInt(b, int64(o.OptionType), 10)
		}
	}
	return append(b, ']')
}

func be32(v []byte) uint32 {
	return uint32(v[0])<<24 | uint32(v[1])<<16 | uint32(v[2])<<8 | uint32(v[3])
}
