package rules

import (
	"fmt"
	"net/netip"
	"strings"

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

func keyOf(p *evidence.Frame) pktKey {
	k := pktKey{src: p.Src, dst: p.Dst, sport: p.SPort, dport: p.DPort, id: p.IPID}
	if p.HasSeq {
		k.seq = p.Seq
	}
	return k
}

// hostMACs lists the MAC addresses of a host's interfaces.
func hostMACs(h *evidence.Host) map[string]bool {
	m := map[string]bool{}
	for _, l := range h.Links {
		if l.MAC != "" && l.MAC != "00:00:00:00:00:00" {
			m[strings.ToLower(l.MAC)] = true
		}
	}
	return m
}

// clientKey is a client's end of a connection.
type clientKey struct {
	addr netip.Addr
	port uint16
}

// directorView splits what a director's captures show for service s into
// packets that arrived for the VIP and copies it forwarded to a real
// server. A forwarded copy is told by its source MAC being the director's
// own (DR), by IPIP encapsulation (TUN), or, without link evidence, by
// being the second sighting of the same packet.
type directorView struct {
	in, out []*evidence.Frame
	// outKeys maps a forwarded packet to its frame.
	outKeys map[pktKey]*evidence.Frame
}

func viewDirector(h *evidence.Host, s *topology.Service) directorView {
	v := directorView{outKeys: map[pktKey]*evidence.Frame{}}
	macs := hostMACs(h)
	seen := map[pktKey]bool{}
	seenClient := map[clientKey]bool{}
	rips := map[netip.Addr]bool{}
	if s.Mode == "nat" {
		for _, r := range s.RIPs {
			rips[r] = true
		}
	}
	for i := range h.Frames {
		f := &h.Frames[i]
		p, ok := vipPacket(f, s)
		if !ok {
			// NAT rewrites the destination to the RIP: the forwarded copy
			// is the client's packet to a real server, same IP ID.
			if rips[f.Dst] && f.Src.IsValid() && !h.IsLocal(f.Src) && seenClient[clientKey{f.Src, f.SPort}] {
				v.out = append(v.out, f)
			}
			continue
		}
		k := keyOf(p)
		seenClient[clientKey{p.Src, p.SPort}] = true
		forwarded := false
		switch {
		case f.Inner != nil:
			forwarded = true
		case f.Dir != "":
			// tcpdump -i any: the cooked header says which copy left.
			forwarded = strings.EqualFold(f.Dir, "out")
		case len(macs) > 0 && f.SrcMAC != "":
			forwarded = macs[strings.ToLower(f.SrcMAC)]
		default:
			forwarded = seen[k] && k.id >= 0
		}
		if forwarded {
			v.out = append(v.out, f)
			if _, dup := v.outKeys[k]; !dup {
				v.outKeys[k] = f
			}
		} else {
			v.in = append(v.in, f)
			seen[k] = true
		}
	}
	return v
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

// firstRefs returns the refs of up to n frames.
func firstRefs(fs []*evidence.Frame, n int) []evidence.Ref {
	var out []evidence.Ref
	for i, f := range fs {
		if i == n {
			break
		}
		out = append(out, f.Ref)
	}
	return out
}

// transitLoss is a forwarded packet that a later capture point never saw.
type transitLoss struct {
	director *evidence.Host
	point    *evidence.Host
	frame    *evidence.Frame // the forwarded copy on the director
	key      pktKey
	alive    *evidence.Frame // a frame proving the point's capture was running
}

// lostInTransit finds forwarded packets that reached none of the capture
// points after the director: a real server (identified by the forwarded
// frame's destination MAC or tunnel address) or a hypervisor bridge.
func lostInTransit(p *Pass, s *topology.Service) []transitLoss {
	var out []transitLoss
	for _, d := range p.Directors() {
		v := viewDirector(d, s)
		if len(v.out) == 0 {
			continue
		}
		dmacs := hostMACs(d)
		if len(dmacs) == 0 {
			for _, f := range v.out {
				if f.SrcMAC != "" {
					dmacs[strings.ToLower(f.SrcMAC)] = true
				}
			}
		}
		dip := directorIP(d)
		for _, pt := range capturesOf(p, d) {
			if pt.Role != evidence.RoleRealServer && pt.Role != evidence.RoleHypervisor {
				continue
			}
			lost := 0
			var first transitLoss
			for _, f := range v.out {
				if pt.Role == evidence.RoleRealServer && !frameHeadsTo(f, pt) {
					continue
				}
				// A bridge capture only covers the director's interfaces it
				// saw: a two-armed director (NAT) forwards through another.
				if pt.Role == evidence.RoleHypervisor && f.SrcMAC != "" && !sawMAC(pt, f.SrcMAC) {
					continue
				}
				if sawForwarded(pt, f, s, dmacs) || !covers(pt, f) {
					continue
				}
				// A packet a real server received passed every hop before it.
				if pt.Role == evidence.RoleHypervisor && reachedSomeRS(p, d, f, s, dmacs) {
					continue
				}
				k := keyOf(innerOf(f))
				lost++
				if lost == 1 {
					first = transitLoss{director: d, point: pt, frame: f, key: k}
				}
			}
			if lost == 0 {
				continue
			}
			first.alive = frameFrom(pt, dmacs, dip)
			if first.alive == nil {
				// The point saw nothing of the director at all: its capture
				// may not have run at the same time; only the client's
				// incoming copy on a bridge proves it did.
				for _, f := range v.in {
					if g := sawPacket(pt, keyOf(innerOf(f)), s); g != nil {
						first.alive = g
						break
					}
				}
			}
			if first.alive != nil {
				out = append(out, first)
			}
		}
	}
	return out
}

// sawForwarded reports whether capture point pt shows the forwarded copy
// f: the same client packet, as the director sent it (DR, TUN) or with
// the destination rewritten to the real server (NAT).
func sawForwarded(pt *evidence.Host, f *evidence.Frame, s *topology.Service, dmacs map[string]bool) bool {
	if _, ok := vipPacket(f, s); ok {
		k := keyOf(innerOf(f))
		return sawPacket(pt, k, s) != nil && !pointSawOnlyIncoming(pt, k, s, dmacs)
	}
	for i := range pt.Frames {
		g := innerOf(&pt.Frames[i])
		if g.Src != f.Src || g.SPort != f.SPort || g.Dst != f.Dst || g.DPort != f.DPort {
			continue
		}
		if f.IPID >= 0 && g.IPID >= 0 && f.IPID != g.IPID {
			continue
		}
		if f.HasSeq && g.HasSeq && f.Seq != g.Seq {
			continue
		}
		return true
	}
	return false
}

// covers reports whether h's capture was running when f was sent: its
// frames' times (time of day as tcpdump prints them) span f's. Captures
// on different hosts are compared as they are; without parsable times
// every capture is taken to cover.
func covers(h *evidence.Host, f *evidence.Frame) bool {
	t, ok := timeOfDay(f.Time)
	if !ok {
		return true
	}
	lo, hi, any := 0.0, 0.0, false
	for i := range h.Frames {
		x, ok := timeOfDay(h.Frames[i].Time)
		if !ok {
			continue
		}
		if !any || x < lo {
			lo = x
		}
		if !any || x > hi {
			hi = x
		}
		any = true
	}
	// The first frame tells when the capture ran at the latest; the last
	// one only bounds its end from below (tcpdump runs until stopped, after
	// the test), hence the wider slack after it.
	const skew, tail = 1.0, 5.0
	return !any || (t >= lo-skew && t <= hi+tail)
}

// timeOfDay reads "07:13:35.788162" (also with a date before it) as seconds.
func timeOfDay(s string) (float64, bool) {
	if i := strings.LastIndexAny(s, " T"); i >= 0 {
		s = s[i+1:]
	}
	var h, m int
	var sec float64
	if n, err := fmt.Sscanf(s, "%d:%d:%f", &h, &m, &sec); err != nil || n != 3 {
		return 0, false
	}
	return float64(h*3600+m*60) + sec, true
}

// reachedSomeRS reports whether any real server's capture shows the
// forwarded copy f.
func reachedSomeRS(p *Pass, d *evidence.Host, f *evidence.Frame, s *topology.Service, dmacs map[string]bool) bool {
	for _, h := range capturesOf(p, d) {
		if h.Role == evidence.RoleRealServer && sawForwarded(h, f, s, dmacs) {
			return true
		}
	}
	return false
}

// sawMAC reports whether any frame of h has mac as source or destination.
func sawMAC(h *evidence.Host, mac string) bool {
	for i := range h.Frames {
		if strings.EqualFold(h.Frames[i].SrcMAC, mac) || strings.EqualFold(h.Frames[i].DstMAC, mac) {
			return true
		}
	}
	return false
}

// pointSawOnlyIncoming reports whether the point saw packet k only as
// the client's original frame (to the director's MAC), not the forwarded
// copy: what a bridge in front of the director shows when the copy is
// dropped on the director's port.
func pointSawOnlyIncoming(pt *evidence.Host, k pktKey, s *topology.Service, dmacs map[string]bool) bool {
	if len(dmacs) == 0 {
		return false
	}
	for i := range pt.Frames {
		f := &pt.Frames[i]
		pk, ok := vipPacket(f, s)
		if !ok || keyOf(pk) != k {
			continue
		}
		if f.Inner != nil || dmacs[strings.ToLower(f.SrcMAC)] {
			return false
		}
	}
	return true
}

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

// directorIP is the director's first global address that is not a VIP.
func directorIP(h *evidence.Host) netip.Addr {
	for _, a := range h.Addrs {
		if a.Iface != "lo" && a.Prefix.Addr().Is4() && a.Prefix.Bits() < 32 && !a.Secondary {
			return a.Prefix.Addr()
		}
	}
	return netip.Addr{}
}
