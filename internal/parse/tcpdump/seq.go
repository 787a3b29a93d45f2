package tcpdump

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// tcpdump prints TCP sequence numbers relative to a base it picks per
// connection (print-tcp.c, unless -S): the first packet of a connection
// carrying the ACK flag is printed with absolute numbers and sets the base,
// its own sequence number for its direction and its acknowledgment minus
// one for the other. Every later ACK-bearing packet is printed relative to
// those bases; packets without ACK (a bare SYN) are always absolute.
//
// Two captures of the same packet at two points (director, real server)
// pick different bases, so relative numbers cannot be compared; the
// parser undoes tcpdump's arithmetic to give absolute numbers, and leaves
// HasSeq unset when the base cannot be known (the paste lost the start of
// the connection).

// maxFlows bounds the connections tracked in one document.
const maxFlows = 100000

type flowKey struct{ a, b netip.AddrPort }

type flowBase struct {
	first        netip.AddrPort // the sender of the packet that set the bases
	seq, ack     uint32         // base of first's direction, and of the other
	seqOK, ackOK bool
}

type seqState struct {
	absolute bool // the command line says -S
	flows    map[flowKey]*flowBase
	syns     map[[2]netip.AddrPort]uint32 // ISN of bare SYNs, by (src, dst)
}

func newSeqState(cmd string) *seqState {
	s := &seqState{flows: map[flowKey]*flowBase{}, syns: map[[2]netip.AddrPort]uint32{}}
	for _, f := range strings.Fields(cmd) {
		if len(f) >= 2 && f[0] == '-' && f[1] != '-' && strings.ContainsRune(f, 'S') {
			s.absolute = true
		}
		if f == "--absolute-tcp-sequence-numbers" {
			s.absolute = true
		}
	}
	return s
}

func key(a, b netip.AddrPort) flowKey {
	if a.Addr().Less(b.Addr()) || a.Addr() == b.Addr() && a.Port() < b.Port() {
		return flowKey{a, b}
	}
	return flowKey{b, a}
}

// fix turns f's sequence number into the absolute one. ack is the
// acknowledgment number as printed (hasAck false when not printed).
func (st *seqState) fix(f *evidence.Frame, ack uint32, hasAck bool) {
	if st.absolute || !f.Src.IsValid() || !f.Dst.IsValid() {
		return
	}
	src, dst := netip.AddrPortFrom(f.Src, f.SPort), netip.AddrPortFrom(f.Dst, f.DPort)
	ackFlag := strings.Contains(f.Flags, ".") || hasAck
	if !ackFlag {
		if strings.Contains(f.Flags, "S") && f.HasSeq && len(st.syns) < maxFlows {
			st.syns[[2]netip.AddrPort{src, dst}] = f.Seq
		}
		return // printed as is
	}
	k := key(src, dst)
	b := st.flows[k]
	if b == nil {
		if len(st.flows) >= maxFlows {
			f.HasSeq = false
			return
		}
		// The first ACK-bearing packet: printed absolute, it sets the bases.
		b = &flowBase{first: src}
		st.flows[k] = b
		if hasAck {
			b.ack, b.ackOK = ack-1, true
		}
		if f.HasSeq {
			b.seq, b.seqOK = f.Seq, true
		} else if isn, ok := st.syns[[2]netip.AddrPort{src, dst}]; ok {
			// A bare ACK does not print its sequence number; after the
			// handshake it is the sender's ISN + 1.
			b.seq, b.seqOK = isn+1, true
		}
		if hasAck && ack < 1<<16 && (!f.HasSeq || f.Seq < 1<<16) {
			// Small numbers on the first packet: the paste lost the start
			// of the capture and these are already relative.
			b.seqOK, b.ackOK = false, false
			f.HasSeq = false
		}
		return
	}
	if !f.HasSeq {
		return
	}
	base, ok := b.ack, b.ackOK
	if src == b.first {
		base, ok = b.seq, b.seqOK
	}
	if !ok {
		f.HasSeq = false
		return
	}
	if f.Seq >= 1<<24 && near(f.Seq, base) {
		// Already absolute: the capture was printed with -S.
		return
	}
	f.Seq += base
}

// near reports whether a and b are within 2^24 of each other, modulo 2^32.
func near(a, b uint32) bool {
	d := a - b
	return d < 1<<24 || -d < 1<<24
}

// ackOf reads the acknowledgment number printed in a TCP summary.
func ackOf(s string) (uint32, bool) {
	k := wordIndex(s, "ack ")
	if k < 0 {
		return 0, false
	}
	num := s[k+4:]
	j := 0
	for j < len(num) && j < 11 && isDigit(num[j]) {
		j++
	}
	n, err := strconv.ParseUint(num[:j], 10, 32)
	if err != nil {
		return 0, false
	}
	return uint32(n), true
}
