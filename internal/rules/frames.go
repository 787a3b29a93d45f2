package rules

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

// pktKey identifies one IP packet at every capture point it passes: DR
// rewrites only MACs and TUN wraps the packet, so the client's IP header
// (addresses, IP ID) and TCP sequence survive both.
type pktKey struct {
	src, dst     netip.Addr
	sport, dport uint16
	id           int
	seq          uint32
}

func (k pktKey) String() string {
	s := fmt.Sprintf("%s:%d > %s:%d", k.src, k.sport, k.dst, k.dport)
	if k.id >= 0 {
		s += fmt.Sprintf(" IP id %d", k.id)
	}
	if k.seq != 0 {
		s += fmt.Sprintf(" seq %d", k.seq)
	}
	return s
}

// keyOf is the key of packet p.
func keyOf(p *evidence.Frame) pktKey {
	k := pktKey{src: p.Src, dst: p.Dst, sport: p.SPort, dport: p.DPort, id: p.IPID}
	if p.HasSeq {
		k.seq = p.Seq
	}
	return k
}

// vipPacket returns the client packet a frame carries for service s (the
// inner packet of an IPIP frame) and whether the frame is one.
func vipPacket(f *evidence.Frame, s *topology.Service) (*evidence.Frame, bool) {
	p := f
	if f.Inner != nil {
		p = f.Inner
	}
	if !s.VIP.IsValid() || p.Dst != s.VIP {
		return nil, false
	}
	if s.Port != 0 && p.DPort != 0 && p.DPort != s.Port {
		return nil, false
	}
	if s.Proto != "" && p.Proto != "" && !strings.EqualFold(p.Proto, s.Proto) {
		return nil, false
	}
	return p, true
}

// sawPacket returns the frame at which h's captures show packet k.
func sawPacket(h *evidence.Host, k pktKey, s *topology.Service) *evidence.Frame {
	for i := range h.Frames {
		f := &h.Frames[i]
		p, ok := vipPacket(f, s)
		if !ok {
			continue
		}
		if keyOf(p) == k {
			return f
		}
	}
	return nil
}

// frameFrom returns a frame on h whose source MAC is one of macs, or whose
// source IP is from: proof that h's capture ran and saw that sender.
func frameFrom(h *evidence.Host, macs map[string]bool, from netip.Addr) *evidence.Frame {
	for i := range h.Frames {
		f := &h.Frames[i]
		if f.SrcMAC != "" && macs[strings.ToLower(f.SrcMAC)] {
			return f
		}
		if from.IsValid() && (f.Src == from || f.ARPIP == from) {
			return f
		}
	}
	return nil
}

// capturesOf lists hosts other than skip whose captures were given.
func capturesOf(p *Pass, skip *evidence.Host) []*evidence.Host {
	var out []*evidence.Host
	for _, h := range p.Case.Hosts {
		if h != skip && h.Has(evidence.KindFrames) && len(h.Frames) > 0 {
			out = append(out, h)
		}
	}
	return out
}

// innerOf is the packet a frame carries: the inner one of an IPIP frame.
func innerOf(f *evidence.Frame) *evidence.Frame {
	if f.Inner != nil {
		return f.Inner
	}
	return f
}

// frameHeadsTo reports whether a forwarded frame is addressed to host h
// (by destination MAC for DR, outer destination IP for TUN).
func frameHeadsTo(f *evidence.Frame, h *evidence.Host) bool {
	if f.Inner != nil {
		return h.IsLocal(f.Dst)
	}
	macs := hostMACs(h)
	if len(macs) == 0 || f.DstMAC == "" {
		return true // cannot tell: assume it was meant for h
	}
	return macs[strings.ToLower(f.DstMAC)]
}

// clockRe reads the time of day of tcpdump's default timestamp.
var clockRe = regexp.MustCompile(`(?:^|[ T])(\d{1,2}):(\d\d):(\d\d(?:\.\d+)?)`)

// frameSeconds reads a frame's time as seconds (since the epoch for
// pcaps and -tt, since midnight for tcpdump's clock). Times are only
// compared between frames of one capture file.
func frameSeconds(f *evidence.Frame) (float64, bool) {
	t := strings.TrimSpace(f.Time)
	if t == "" {
		return 0, false
	}
	if ts, err := time.Parse(time.RFC3339Nano, t); err == nil {
		return float64(ts.UnixNano()) / 1e9, true
	}
	if m := clockRe.FindStringSubmatch(t); m != nil {
		h, _ := strconv.Atoi(m[1])
		mi, _ := strconv.Atoi(m[2])
		s, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			return 0, false
		}
		return float64(h*3600+mi*60) + s, true
	}
	if v, err := strconv.ParseFloat(t, 64); err == nil && v > 1e8 {
		return v, true // tcpdump -tt
	}
	return 0, false
}
