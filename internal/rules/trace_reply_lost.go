package rules

import (
	"fmt"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

var traceReplyLost = &Rule{
	ID:       "trace.reply-lost",
	Doc:      "A real server sent its reply to the client, and the client's capture of the same connection never shows it.",
	Rank:     90,
	Requires: []Requirement{PacketPath},
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
