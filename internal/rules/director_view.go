package rules

import (
	"net/netip"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

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

// viewDirector reads h's captures as a director of s.
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
