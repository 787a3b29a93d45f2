package rules

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

// flow is one direction of a connection as a capture shows it.
type flow struct {
	src, dst     netip.Addr
	sport, dport uint16
}

func (f flow) reverse() flow { return flow{src: f.dst, dst: f.src, sport: f.dport, dport: f.sport} }

func (f flow) String() string {
	return fmt.Sprintf("%s > %s", netip.AddrPortFrom(f.src, f.sport), netip.AddrPortFrom(f.dst, f.dport))
}

func flowOf(p *evidence.Frame) flow {
	return flow{src: p.Src, dst: p.Dst, sport: p.SPort, dport: p.DPort}
}

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

// laterFrame returns a frame of h's capture file that holds f which was
// taken at least gap seconds after f: proof that the capture was still
// running when an answer to f would have come.
func laterFrame(h *evidence.Host, f *evidence.Frame, gap float64) *evidence.Frame {
	t0, ok := frameSeconds(f)
	if !ok {
		return nil
	}
	for i := len(h.Frames) - 1; i >= 0; i-- {
		g := &h.Frames[i]
		if g.Ref.Source != f.Ref.Source {
			continue
		}
		if t, ok := frameSeconds(g); ok && t-t0 >= gap {
			return g
		}
	}
	return nil
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

func sameProto(a, b string) bool { return b == "" || a == "" || strings.EqualFold(a, b) }

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

var rsNotReplying = &Rule{
	ID:   "trace.rs-not-replying",
	Doc:  "A real server's capture shows the forwarded client packets arriving and no reply (no SYN-ACK, reset or ICMP) leaving.",
	Rank: 87,
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

var replyLost = &Rule{
	ID:   "trace.reply-lost",
	Doc:  "A real server sent its reply to the client, and the client's capture of the same connection never shows it.",
	Rank: 90,
	Needs: []Need{
		{Role: evidence.RoleClient, Kind: evidence.KindFrames, Command: "tcpdump -n -i <iface> host <VIP>"},
	},
	Run: func(p *Pass) {
		clients := p.Topo.Clients()
		for _, s := range p.Services() {
			if !s.VIP.IsValid() {
				continue
			}
			before := len(p.Findings())
			for _, h := range p.RealServersOf(s) {
				for _, c := range clients {
					if c != h && len(c.Frames) > 0 && len(h.Frames) > 0 {
						checkReplyLost(p, s, h, c)
					}
				}
			}
			reportTraced(p, s, "trace.reply-lost", before)
		}
	},
}

// repliesFrom lists, per client flow (client → VIP), the first reply h's
// captures show h sending for s.
func repliesFrom(p *Pass, s *topology.Service, h *evidence.Host) (map[flow]*evidence.Frame, []flow) {
	macs := hostMACs(h)
	src, port := s.VIP, s.Port
	if s.Mode == "nat" {
		rip, ok := p.RIPOf(s, h)
		if !ok {
			return nil, nil
		}
		src, port = rip, rsPort(p, s, h)
	}
	out := map[flow]*evidence.Frame{}
	var order []flow
	for i := range h.Frames {
		f := &h.Frames[i]
		if f.Inner != nil || f.Src != src || (port != 0 && f.SPort != port) || f.Dir == "in" || !sameProto(f.Proto, s.Proto) {
			continue
		}
		if f.SrcMAC != "" && len(macs) > 0 && !macs[strings.ToLower(f.SrcMAC)] {
			continue // a frame another host sent
		}
		if o := p.Topo.HostOwning(f.Dst); o != nil && o.Role == evidence.RoleDirector {
			continue // an answer to a health check
		}
		k := flow{src: f.Dst, dst: s.VIP, sport: f.DPort, dport: s.Port}
		if _, ok := out[k]; !ok {
			out[k] = f
			order = append(order, k)
		}
	}
	return out, order
}

func checkReplyLost(p *Pass, s *topology.Service, h, c *evidence.Host) {
	replies, order := repliesFrom(p, s, h)
	type loss struct {
		k     flow
		reply *evidence.Frame
		sent  []*evidence.Frame
		proof *evidence.Frame
	}
	var lost []loss
	for _, k := range order {
		var sent []*evidence.Frame
		got := false
		for i := range c.Frames {
			f := &c.Frames[i]
			if f.Inner != nil {
				continue
			}
			switch flowOf(f) {
			case k:
				sent = append(sent, f)
			case k.reverse():
				got = true
			}
		}
		if got || len(sent) == 0 {
			continue // answered, or the client's capture did not cover the flow
		}
		later := laterFrame(c, sent[0], 1)
		if len(sent) < 2 && later == nil {
			continue
		}
		lost = append(lost, loss{k: k, reply: replies[k], sent: sent, proof: later})
	}
	if len(lost) == 0 {
		return
	}
	l := lost[0]
	ev := []evidence.Ref{l.reply.Ref}
	ev = append(ev, firstRefs(l.sent, 2)...)
	if l.proof != nil {
		ev = append(ev, l.proof.Ref)
	}
	for _, o := range lost[1:min(len(lost), 3)] {
		ev = append(ev, o.reply.Ref)
	}
	path := "straight to the client (DR/TUN: through the real server's gateway, not the director)"
	if s.Mode == "nat" {
		path = "back through the director, which rewrites its source to the VIP"
	}
	p.Report(diagnosis.Finding{
		Severity: diagnosis.Critical,
		Host:     h.Name,
		Title:    fmt.Sprintf("%s replied to %d client connection(s) of %s, and %s never received the replies", h.Name, len(lost), s, c.Name),
		Explanation: fmt.Sprintf("%s's capture shows the reply to %s leaving, while %s's capture of the same connection shows only "+
			"its own packets (retransmitted). The reply goes %s; something on that path drops it: a router or firewall that "+
			"saw only one half of the connection, anti-spoofing that refuses the VIP as a source, or the wrong gateway.",
			h.Name, l.k, c.Name, path),
		Evidence: ev,
		Fix: []string{
			fmt.Sprintf("on %s: ip route get %s   # the reply's way out", h.Name, l.k.src),
			"capture on each hop of that path (gateway, hypervisor bridge) to find where the reply disappears",
		},
	})
}
