package ipvsnl

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// Format is one of ipvsadm's listings.
type Format int

const (
	FormatList    Format = iota // ipvsadm -Ln
	FormatStats                 // ipvsadm -Ln --stats
	FormatRate                  // ipvsadm -Ln --rate
	FormatTimeout               // ipvsadm -Ln --timeout
)

// Command is the ipvsadm command line whose output f is.
func (f Format) Command() string {
	switch f {
	case FormatStats:
		return "ipvsadm -Ln --stats"
	case FormatRate:
		return "ipvsadm -Ln --rate"
	case FormatTimeout:
		return "ipvsadm -Ln --timeout"
	}
	return "ipvsadm -Ln"
}

// linux/socket.h, netinet/in.h, ip_vs.h
const (
	afInet  = 2
	afInet6 = 10

	protoTCP  = 6
	protoUDP  = 17
	protoSCTP = 132

	svcFPersistent = 0x0001
	svcFOnePacket  = 0x0004
	svcFSched1     = 0x0008
	svcFSched2     = 0x0010
	svcFSched3     = 0x0020

	fwdMask    = 0x0007
	fwdFullNat = 0x0005 // the FULLNAT forks' IP_VS_CONN_F_FULLNAT
)

// Text prints the table as `ipvsadm -Ln` does with format f (List, Stats
// or Rate). The table is not modified.
func (t *Table) Text(f Format) []byte {
	var b bytes.Buffer
	v := t.Info.Version
	fmt.Fprintf(&b, "IP Virtual Server version %d.%d.%d (size=%d)\n", v>>16&0xff, v>>8&0xff, v&0xff, int32(t.Info.ConnTabSize))
	switch f {
	case FormatStats:
		fmt.Fprintf(&b, "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n",
			"Prot LocalAddress:Port", "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes")
	case FormatRate:
		fmt.Fprintf(&b, "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n",
			"Prot LocalAddress:Port", "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS")
	default:
		b.WriteString("Prot LocalAddress:Port Scheduler Flags\n" +
			"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n")
	}
	svcs := append([]Service(nil), t.Services...)
	msort(svcs, cmpServices)
	for i := range svcs {
		writeService(&b, &svcs[i], f)
	}
	return b.Bytes()
}

// Text prints the timeouts as `ipvsadm -Ln --timeout` does.
func (c Config) Text() []byte {
	return fmt.Appendf(nil, "Timeout (tcp tcpfin udp): %d %d %d\n", int32(c.TCP), int32(c.TCPFin), int32(c.UDP))
}

func writeService(b *bytes.Buffer, s *Service, f Format) {
	var name string
	if s.FWMark != 0 {
		name = "FWM  " + strconv.Itoa(int(int32(s.FWMark)))
		if s.AF == afInet6 {
			name += " IPv6"
		}
	} else {
		name = fmt.Sprintf("%-4s %s", protoName(s.Protocol), addrPort(s.AF, s.Addr, s.Port))
		if s.AF != afInet6 && len(name) > 33 {
			name = name[:33]
		}
	}
	switch f {
	case FormatStats:
		fmt.Fprintf(b, "%-33s", name)
		largenums(b, s.Stats.Conns, s.Stats.InPkts, s.Stats.OutPkts, s.Stats.InBytes, s.Stats.OutBytes)
	case FormatRate:
		fmt.Fprintf(b, "%-33s", name)
		largenums(b, s.Stats.CPS, s.Stats.InPPS, s.Stats.OutPPS, s.Stats.InBPS, s.Stats.OutBPS)
	default:
		b.WriteString(name + " " + s.Sched)
		if s.Flags&(svcFSched1|svcFSched2|svcFSched3) != 0 {
			b.WriteString(" (" + schedFlags(s) + ")")
		}
		if s.Flags&svcFPersistent != 0 {
			fmt.Fprintf(b, " persistent %d", s.Timeout)
			if s.AF == afInet && s.Netmask != 0xffffffff {
				var m [4]byte
				binary.NativeEndian.PutUint32(m[:], s.Netmask)
				fmt.Fprintf(b, " mask %d.%d.%d.%d", m[0], m[1], m[2], m[3])
			}
			if s.AF == afInet6 && s.Netmask != 128 {
				fmt.Fprintf(b, " mask %d", int32(s.Netmask))
			}
			if s.PE != "" {
				b.WriteString(" pe " + s.PE)
			}
		}
		if s.Flags&svcFOnePacket != 0 {
			b.WriteString(" ops")
		}
	}
	b.WriteByte('\n')

	ds := append([]Dest(nil), s.Dests...)
	msort(ds, cmpDests)
	for i := range ds {
		d := &ds[i]
		dname := addrPort(d.AF, d.Addr, d.Port)
		if d.AF != afInet6 && len(dname) > 28 {
			dname = dname[:28]
		}
		// libipvs reads a real server's 64-bit counters with nla_get_u32
		// (all but the bytes): what ipvsadm shows is their low half
		st := d.Stats
		for _, p := range []*uint64{&st.Conns, &st.InPkts, &st.OutPkts, &st.CPS, &st.InPPS, &st.OutPPS, &st.InBPS, &st.OutBPS} {
			*p = uint64(uint32(*p))
		}
		switch f {
		case FormatStats:
			fmt.Fprintf(b, "  -> %-28s", dname)
			largenums(b, st.Conns, st.InPkts, st.OutPkts, st.InBytes, st.OutBytes)
		case FormatRate:
			fmt.Fprintf(b, "  -> %-28s %8d %8d %8d", dname, st.CPS, st.InPPS, st.OutPPS)
			largenums(b, st.InBPS, st.OutBPS)
		default:
			fmt.Fprintf(b, "  -> %-28s %-7s %-6d %-10d %-10d", dname, fwdName(d.FwdMethod), int32(d.Weight), d.ActiveConns, d.InactConns)
		}
		b.WriteByte('\n')
	}
}

func protoName(p uint16) string {
	switch p {
	case protoTCP:
		return "TCP"
	case protoUDP:
		return "UDP"
	case protoSCTP:
		return "SCTP"
	}
	return "?"
}

func fwdName(m uint32) string {
	switch m & fwdMask {
	case 0:
		return "Masq"
	case 1:
		return "Local"
	case 2:
		return "Tunnel"
	case 3:
		return "Route"
	case fwdFullNat:
		return "FullNat"
	}
	return "(null)" // glibc's printf of a NULL %s
}

func schedFlags(s *Service) string {
	var fl []string
	switch s.Sched {
	case "sh", "mh":
		if s.Flags&svcFSched1 != 0 {
			fl = append(fl, s.Sched+"-fallback")
		}
		if s.Flags&svcFSched2 != 0 {
			fl = append(fl, s.Sched+"-port")
		}
	default:
		for i, bit := range []uint32{svcFSched1, svcFSched2, svcFSched3} {
			if s.Flags&bit != 0 {
				fl = append(fl, "flag-"+strconv.Itoa(i+1))
			}
		}
	}
	return strings.Join(fl, ",")
}

// largenums prints each as print_largenum() without --exact: 9 wide, then
// K/M/G/T past 100 million.
func largenums(b *bytes.Buffer, vs ...uint64) {
	for _, i := range vs {
		switch {
		case i < 100000000:
			fmt.Fprintf(b, "%9d", i)
		case i < 1000000000:
			fmt.Fprintf(b, "%8dK", i/1000)
		case i < 100000000000:
			fmt.Fprintf(b, "%8dM", i/1000000)
		case i < 100000000000000:
			fmt.Fprintf(b, "%8dG", i/1000000000)
		default:
			fmt.Fprintf(b, "%8dT", i/1000000000000)
		}
	}
}

// addrPort is addrport_to_anyname() with -n: "a.b.c.d:port" for AF_INET,
// "[addr]:port" for anything else (inet_ntop fails on an unknown family
// and glibc prints the NULL as "(null)").
func addrPort(af uint16, a [16]byte, port uint16) string {
	switch af {
	case afInet:
		return fmt.Sprintf("%d.%d.%d.%d:%d", a[0], a[1], a[2], a[3], port)
	case afInet6:
		return "[" + ntop6(a) + "]:" + strconv.Itoa(int(port))
	}
	return "[(null)]:" + strconv.Itoa(int(port))
}

// ntop6 is glibc's inet_ntop6: the longest run of two or more zero words
// (the first of equal ones) becomes "::", and ::a.b.c.d / ::ffff:a.b.c.d
// keep their dotted quad.
func ntop6(a [16]byte) string {
	var w [8]uint16
	for i := range w {
		w[i] = uint16(a[2*i])<<8 | uint16(a[2*i+1])
	}
	bestBase, bestLen, curBase, curLen := -1, 0, -1, 0
	for i := range w {
		if w[i] == 0 {
			if curBase == -1 {
				curBase, curLen = i, 1
			} else {
				curLen++
			}
			continue
		}
		if curBase != -1 {
			if bestBase == -1 || curLen > bestLen {
				bestBase, bestLen = curBase, curLen
			}
			curBase = -1
		}
	}
	if curBase != -1 && (bestBase == -1 || curLen > bestLen) {
		bestBase, bestLen = curBase, curLen
	}
	if bestBase != -1 && bestLen < 2 {
		bestBase = -1
	}
	var s strings.Builder
	for i := 0; i < 8; i++ {
		if bestBase != -1 && i >= bestBase && i < bestBase+bestLen {
			if i == bestBase {
				s.WriteByte(':')
			}
			continue
		}
		if i != 0 {
			s.WriteByte(':')
		}
		if i == 6 && bestBase == 0 && (bestLen == 6 || bestLen == 5 && w[5] == 0xffff) {
			fmt.Fprintf(&s, "%d.%d.%d.%d", a[12], a[13], a[14], a[15])
			break
		}
		s.WriteString(strconv.FormatUint(uint64(w[i]), 16))
	}
	if bestBase != -1 && bestBase+bestLen == 8 {
		s.WriteByte(':')
	}
	return s.String()
}
