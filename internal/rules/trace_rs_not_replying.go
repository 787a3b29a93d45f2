package rules

import (
	"fmt"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

var traceRSNotReplying = &Rule{
	ID:       "trace.rs-not-replying",
	Doc:      "A real server's capture shows the forwarded client packets arriving and no reply (no SYN-ACK, reset or ICMP) leaving.",
	Rank:     87,
	Requires: []Requirement{PacketPath},
	Needs: []Need{
		{Role: evidence.RoleRealServer, Kind: evidence.KindFrames, Command: "tcpdump -e -n -i <iface> host <client>"},
	},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			before := len(p.Findings())
			for _, h := range p.RealServersOf(s) {
				if len(h.Frames) > 0 {
					checkRSReplies(p, s, h)
				}
			}
			reportTraced(p, s, "trace.rs-not-replying", before)
		}
	},
}

// demandsReply reports whether a client packet calls for an answer of the
// server: a TCP SYN or data segment (a bare ACK does not).
func demandsReply(p *evidence.Frame) bool {
	if !strings.EqualFold(p.Proto, "tcp") {
		return false
	}
	fl := p.Flags
	if strings.Contains(fl, "S") && !strings.Contains(fl, ".") {
		return true
	}
	return p.Length > 0
}

// arrival is a forwarded client flow as a real server's capture shows it.
type arrival struct {
	flow   flow
	frames []*evidence.Frame // the frames carrying it in, in capture order
	demand bool              // a packet in it calls for an answer
}

// arrivalsAt lists the client flows of s that h's captures show coming
// in: addressed to the VIP (DR, TUN's inner packet) or, in NAT, to h's RIP.
func arrivalsAt(p *Pass, s *topology.Service, h *evidence.Host) []*arrival {
	macs := hostMACs(h)
	rip, hasRIP := p.RIPOf(s, h)
	port := rsPort(p, s, h)
	var out []*arrival
	byFlow := map[flow]*arrival{}
	for i := range h.Frames {
		f := &h.Frames[i]
		if f.Dir == "out" || f.Iface == "lo" || (f.SrcMAC != "" && macs[strings.ToLower(f.SrcMAC)]) {
			continue
		}
		var pk *evidence.Frame
		switch s.Mode {
		case "nat":
			if !hasRIP || f.Inner != nil || f.Dst != rip || (port != 0 && f.DPort != port) || !sameProto(f.Proto, s.Proto) {
				continue
			}
			if c := p.Case.Client.Addr; c.IsValid() && f.Src != c {
				continue
			}
			if o := p.Topo.HostOwning(f.Src); o != nil && o.Role != evidence.RoleClient {
				continue // health checks from the director, tests from the hypervisor
			}
			pk = f
		case "fnat":
			continue // the source is a local address of the director: health checks look the same
		default:
			q, ok := vipPacket(f, s)
			if !ok {
				continue
			}
			pk = q
		}
		if pk.SPort == 0 && pk.DPort == 0 {
			continue
		}
		k := flowOf(pk)
		a := byFlow[k]
		if a == nil {
			a = &arrival{flow: k}
			byFlow[k] = a
			out = append(out, a)
		}
		a.frames = append(a.frames, f)
		if demandsReply(pk) {
			a.demand = true
		}
	}
	return out
}

// answered returns a frame of h's captures that answers flow k: a packet
// of the reverse flow (SYN-ACK, data, reset) or an ICMP error to the client.
func answered(h *evidence.Host, k flow) *evidence.Frame {
	r := k.reverse()
	for i := range h.Frames {
		f := &h.Frames[i]
		if f.Inner == nil && flowOf(f) == r {
			return f
		}
		if f.Proto == "icmp" && f.Dst == k.src && strings.Contains(f.ICMP, "unreachable") && strings.Contains(f.ICMP, k.dst.String()) {
			return f
		}
	}
	return nil
}

func checkRSReplies(p *Pass, s *topology.Service, h *evidence.Host) {
	arr := arrivalsAt(p, s, h)
	if len(arr) == 0 {
		return
	}
	var lost []*arrival
	var proof *evidence.Frame
	replied := 0
	for _, a := range arr {
		if answered(h, a.flow) != nil {
			replied++
			continue
		}
		if !a.demand {
			continue
		}
		// The capture must have run long enough for an answer: the client
		// retransmitted, or the capture goes on a second later.
		later := laterFrame(h, a.frames[0], 1)
		if len(a.frames) < 2 && later == nil {
			continue
		}
		if later != nil && proof == nil {
			proof = later
		}
		lost = append(lost, a)
	}
	if len(lost) == 0 {
		return
	}
	// A capture on an interface that the replies do not leave by cannot
	// show them (tunl0 in TUN mode, a second NIC holding the default route).
	capIface := lost[0].frames[0].Iface
	if capIface != "" && h.Has(evidence.KindRoutes) {
		probe := p.Case.Client.Addr
		if !probe.IsValid() {
			probe = lost[0].flow.src
		}
		if out, _ := routeOut(h, probe); out != "" && out != capIface {
			p.Notef("%s's capture on %s shows %d client flow(s) of %s unanswered, but replies to the client leave by %s: capture there (or on any) to see them",
				h.Name, capIface, len(lost), s, out)
			return
		}
	}
	var ev []evidence.Ref
	for i, a := range lost {
		if i == 3 {
			break
		}
		ev = append(ev, firstRefs(a.frames, 2)...)
	}
	if proof != nil {
		ev = append(ev, proof.Ref)
	}
	sev := diagnosis.Critical
	title := fmt.Sprintf("%s received %d client connection(s) for %s and answered none", h.Name, len(lost), s)
	if replied > 0 {
		sev = diagnosis.Warning
		title = fmt.Sprintf("%s left %d of %d client connection(s) for %s unanswered", h.Name, len(lost), len(lost)+replied, s)
	}
	p.Report(diagnosis.Finding{
		Severity: sev,
		Host:     h.Name,
		Title:    title,
		Explanation: fmt.Sprintf("%s's capture shows the client's packets arriving (first: %s) as the director forwarded them, "+
			"retransmitted or followed by other traffic, and nothing going back: no SYN-ACK, no reset, no ICMP error. "+
			"%s dropped them before the application answered: its kernel (VIP not local, rp_filter, martian source, IPIP not "+
			"decapsulated), its firewall, or the application itself.", h.Name, lost[0].flow, h.Name),
		Evidence: ev,
		Fix: []string{
			"see the causes ranked above on " + h.Name,
			"else, on " + h.Name + " while the client retries: `nstat -az | grep -i -e drop -e filter -e martian`, `iptables -L -n -v`, `perf record -e skb:kfree_skb -a`",
		},
	})
}
