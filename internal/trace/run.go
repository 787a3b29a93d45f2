package trace

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/capture"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/finding"
)

// Input is one capture file to trace.
type Input struct {
	Point
	Path string
	// Options for the capture reader beyond the point's (interface names
	// of a cooked v2 capture, time zone).
	IfNames map[int]string
}

// Run streams the captures and returns what they show. Memory holds the
// followed connections, not the packets: a file is read once (twice for
// the few that may hold NAT/FNAT copies of connections learned from a
// later file), and, without a VIP, once more first to find it.
func Run(in []Input, cfg Config) *Result {
	cfg.defaults()
	var probs []evidence.Problem
	vipFrom := ""
	if !cfg.VIP.IsValid() {
		var ps []evidence.Problem
		cfg.VIP, cfg.Port, vipFrom, ps = discover(in, cfg)
		probs = append(probs, ps...)
		if !cfg.VIP.IsValid() {
			r := &Result{Notes: []string{"no connection to a virtual service found in the captures: give --vip (and --port)"}, Path: Path{Flows: []Flow{}, Observations: []finding.Finding{}}, Findings: nil, Problems: probs}
			return r
		}
	}
	t := New(cfg)
	order := make([]int, len(in))
	for i := range order {
		order[i] = i
	}
	// Client and director captures first: the connections they show are
	// what the rewritten copies at the real servers are matched to.
	sort.SliceStable(order, func(a, b int) bool { return roleOrder(in[order[a]]) < roleOrder(in[order[b]]) })
	idx := make([]int, len(in))
	for _, i := range order {
		idx[i] = t.AddPoint(in[i].Point)
	}
	connsAt := make([]int, len(in))
	scanned := make([]bool, len(in))
	for _, i := range order {
		pt := idx[i]
		opt := t.options(in[i])
		opt.Prefilter = t.prefilter
		opt.Skipped = func(s capture.SkipStats) { t.skipped(pt, s) }
		_, ps := capture.Scan(in[i].Path, opt, func(p *capture.Packet) bool {
			t.packet(pt, p, false)
			return true
		})
		probs = append(probs, ps...)
		t.points[pt].gen = t.gen
		connsAt[i] = len(t.conns)
		scanned[i] = true
	}
	// A second read where rewritten copies may have gone unrecognised.
	for _, i := range order {
		pt := idx[i]
		ps := t.points[pt]
		if !t.rewriting() || len(t.conns) == 0 || connsAt[i] == len(t.conns) && ps.hits > 0 {
			continue
		}
		capture.Scan(in[i].Path, t.options(in[i]), func(p *capture.Packet) bool {
			t.packet(pt, p, true)
			return true
		})
	}
	r := t.Result()
	r.Service.VIPFrom = vipFrom
	r.Problems = probs
	return r
}

func (t *Tracer) options(in Input) capture.Options {
	return capture.Options{Host: in.Host, Source: in.Source, IfNames: in.IfNames}
}

// rewriting reports whether copies with other addresses than the client's
// packet may exist: NAT or FNAT seen, given, or not ruled out.
func (t *Tracer) rewriting() bool {
	switch t.cfg.Mode {
	case "nat", "fnat":
		return true
	case "dr", "tun":
		return false
	}
	for _, c := range t.conns {
		if c.kinds[legNAT] || c.kinds[legFNAT] {
			return true
		}
	}
	// Nothing but the client's own packets seen anywhere: a real server
	// behind NAT/FNAT would show only rewritten ones.
	for _, c := range t.conns {
		if len(c.tunnels) > 0 || t.hasForwardedDR(c) {
			return false
		}
	}
	return true
}

func roleOrder(in Input) int {
	r := in.Role
	if r == "" {
		r = RoleFromName(in.Host + " " + in.Source)
	}
	switch r {
	case evidence.RoleClient:
		return 0
	case evidence.RoleRouter:
		return 1
	case evidence.RoleDirector:
		return 2
	case evidence.RoleHypervisor:
		return 3
	case evidence.RoleRealServer:
		return 4
	}
	return 5
}

// discover finds the VIP from the packets: an address VRRP advertises
// that clients connect to, else the destination whose connections are
// seen forwarded (the same packet leaving again with another MAC, or
// inside IPIP), else the one most connections go to.
func discover(in []Input, cfg Config) (netip.Addr, uint16, string, []evidence.Problem) {
	type cand struct {
		syns, fwd, tun int
	}
	cands := map[netip.AddrPort]*cand{}
	vrrp := map[netip.Addr]bool{}
	type pktID struct {
		point      int
		src        netip.Addr
		sport, id  uint16
		proto      uint8
		dst        netip.AddrPort
		dmac, smac [6]byte
	}
	recent := map[[4]uint64]pktID{}
	var probs []evidence.Problem
	proto := cfg.protoNum()
	for i, inp := range in {
		_, ps := capture.Scan(inp.Path, capture.Options{Host: inp.Host, Source: inp.Source}, func(p *capture.Packet) bool {
			ip := &p.IP
			if !ip.Valid {
				return true
			}
			if ip.Proto == capture.ProtoVRRP {
				for _, a := range vrrpAddrs(ip.Payload) {
					if len(vrrp) < 64 {
						vrrp[a] = true
					}
				}
				return true
			}
			if proto != 0 && ip.Proto != proto || !ip.HasPorts || ip.Proto != capture.ProtoTCP && ip.Proto != capture.ProtoUDP {
				return true
			}
			first := ip.Proto == capture.ProtoUDP || ip.Flags&(capture.FlagSYN|capture.FlagACK) == capture.FlagSYN
			if !first {
				return true
			}
			if cfg.Port != 0 && ip.DPort != cfg.Port {
				return true
			}
			k := netip.AddrPortFrom(ip.Dst, ip.DPort)
			c := cands[k]
			if c == nil {
				if len(cands) >= 1<<16 {
					return true
				}
				c = &cand{}
				cands[k] = c
			}
			c.syns++
			if p.Tunnel != capture.NoTunnel {
				c.tun++
			}
			if ip.HasID && p.HasDstMAC {
				a := ip.Src.As16()
				key := [4]uint64{uint64(i)<<32 | uint64(ip.ID)<<16 | uint64(ip.SPort), uint64(ip.Proto), leU64(a[:8]), leU64(a[8:])}
				if o, ok := recent[key]; ok && o.dst == k && o.dmac != p.DstMAC && o.dmac == p.SrcMAC {
					c.fwd++
				} else {
					if len(recent) >= 1<<16 {
						clear(recent)
					}
					recent[key] = pktID{point: i, src: ip.Src, sport: ip.SPort, id: ip.ID, proto: ip.Proto, dst: k, dmac: p.DstMAC, smac: p.SrcMAC}
				}
			}
			return true
		})
		probs = append(probs, ps...)
	}
	type scored struct {
		k     netip.AddrPort
		score int
		why   string
	}
	var all []scored
	for k, c := range cands {
		s := scored{k: k, score: c.syns}
		switch {
		case vrrp[k.Addr()]:
			s.score += 1 << 40
			s.why = "the address VRRP advertises that clients connect to"
		case c.tun > 0:
			s.score += c.tun << 30
			s.why = "its connections are forwarded inside IPIP"
		case c.fwd > 0:
			s.score += c.fwd << 30
			s.why = "its connections are received and forwarded again with another MAC"
		default:
			s.why = "most connections go to it"
		}
		all = append(all, s)
	}
	if len(all) == 0 {
		return netip.Addr{}, 0, "", probs
	}
	slices.SortFunc(all, func(a, b scored) int {
		if a.score != b.score {
			return b.score - a.score
		}
		return strings.Compare(a.k.String(), b.k.String())
	})
	best := all[0]
	port := best.k.Port()
	if cfg.Port != 0 {
		port = cfg.Port
	}
	return best.k.Addr(), port, fmt.Sprintf("%s: %s", best.k, best.why), probs
}

func leU64(b []byte) uint64 {
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// FromFrames traces frames already read: a case's hosts, each frame a
// packet of the capture (or printout) its Ref names.
func FromFrames(hosts []*evidence.Host, cfg Config) *Result {
	t := New(cfg)
	type src struct {
		h      *evidence.Host
		source string
	}
	var srcs []src
	seen := map[src]bool{}
	for _, h := range hosts {
		for i := range h.Frames {
			s := src{h, h.Frames[i].Ref.Source}
			if !seen[s] {
				seen[s] = true
				srcs = append(srcs, s)
			}
		}
	}
	sort.SliceStable(srcs, func(a, b int) bool {
		return roleOrder(Input{Point: Point{Role: srcs[a].h.Role, Host: srcs[a].h.Name}}) < roleOrder(Input{Point: Point{Role: srcs[b].h.Role, Host: srcs[b].h.Name}})
	})
	idx := map[src]int{}
	neigh := confirmedNeighbors(hosts)
	// An address two hosts hold (a VIP that moved, a VIP on real servers'
	// lo) is no host's identity.
	shared := map[netip.Addr]int{}
	for _, h := range hosts {
		own := map[netip.Addr]bool{}
		for _, a := range h.Addrs {
			if !own[a.Prefix.Addr()] {
				own[a.Prefix.Addr()] = true
				shared[a.Prefix.Addr()]++
			}
		}
	}
	for _, s := range srcs {
		p := pointOfHost(s.h, s.source)
		if len(p.MACs) == 0 {
			// No interface of its own in the evidence: what another
			// host's neighbour table confirms for its own addresses.
			for _, a := range s.h.Addrs {
				if m, ok := neigh[a.Prefix.Addr()]; ok && a.Iface != "lo" && a.Prefix.Addr() != cfg.VIP && shared[a.Prefix.Addr()] < 2 {
					p.MACs = append(p.MACs, m)
				}
			}
		}
		idx[s] = t.AddPoint(p)
	}
	for _, s := range srcs {
		pt := idx[s]
		for i := range s.h.Frames {
			if f := &s.h.Frames[i]; f.Ref.Source == s.source {
				t.Frame(pt, f)
			}
		}
		t.points[pt].gen = t.gen
	}
	return t.Result()
}

// pointOfHost is a capture point on a host of a case.
func pointOfHost(h *evidence.Host, source string) Point {
	p := Point{Host: h.Name, Role: h.Role, Source: source}
	for i := range h.Frames {
		if f := &h.Frames[i]; f.Ref.Source == source && f.Iface != "" {
			p.Iface = f.Iface
			break
		}
	}
	for _, l := range h.Links {
		if l.MAC != "" && l.MAC != "00:00:00:00:00:00" && l.Kind != "loopback" {
			p.MACs = append(p.MACs, l.MAC)
		}
	}
	for _, a := range h.Addrs {
		if a.Iface != "lo" || h.Role != evidence.RoleRealServer {
			p.Addrs = append(p.Addrs, a.Prefix.Addr())
		}
	}
	return p
}

// confirmedNeighbors maps an address to the MAC the hosts' neighbour
// tables agree it has, where one confirms it (REACHABLE: answered
// lately; PERMANENT: set by hand). A STALE entry may be the MAC of
// yesterday's owner, and two MACs for one address name nobody.
func confirmedNeighbors(hosts []*evidence.Host) map[netip.Addr]string {
	out := map[netip.Addr]string{}
	bad := map[netip.Addr]bool{}
	for _, h := range hosts {
		for _, n := range h.Neighbors {
			st := strings.ToUpper(n.State)
			if n.MAC == "" || !strings.Contains(st, "REACHABLE") && !strings.Contains(st, "PERMANENT") {
				continue
			}
			m := strings.ToLower(n.MAC)
			if prev, ok := out[n.IP]; ok && prev != m {
				bad[n.IP] = true
			}
			out[n.IP] = m
		}
	}
	for a := range bad {
		delete(out, a)
	}
	return out
}
