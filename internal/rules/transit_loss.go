package rules

import (
	"fmt"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

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
