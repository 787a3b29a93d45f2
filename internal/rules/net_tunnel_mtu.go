package rules

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

var netTunnelMTU = &Rule{
	ID:    "net.tunnel-mtu",
	Modes: []string{"tun"},
	Doc:   "TUN adds a 20-byte IPIP header: full-size client segments (MSS 1460 on 1500-byte links) no longer fit, and only ICMP frag-needed (PMTU discovery) saves the connection; a capture where a segment answered by frag-needed is resent as large shows that ICMP filtered, whatever the service.",
	Rank:  30,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindLinks, Command: "ip -d link"},
	},
	Explains: []string{"kernel.drop"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if s.Mode == "tun" && s.VIP.IsValid() {
				checkTunnelMTU(p, s)
			}
		}
		if len(p.Services()) == 0 {
			// No service to match the ICMP to: the capture alone can
			// still show path MTU discovery failing.
			checkPMTUIgnored(p)
		}
	},
}

// pmtuIgnored is a full-size TCP segment answered by ICMP frag-needed and
// resent unchanged after it, in one capture.
type pmtuIgnored struct {
	host        *evidence.Host
	seg, resent *evidence.Frame
	icmp        icmpUnreach
	repeats     int
}

// findPMTUIgnored finds, in each host's capture, a TCP segment too large
// for the MTU an ICMP frag-needed about its destination names, sent again
// with the same sequence and length after that ICMP: the sender never
// lowered its path MTU, so the ICMP did not reach its TCP stack.
func findPMTUIgnored(p *Pass) []pmtuIgnored {
	var out []pmtuIgnored
	for _, h := range p.Case.Hosts {
		var found *pmtuIgnored
		for k := range h.Frames {
			u, ok := decodeUnreach(h, &h.Frames[k])
			if !ok || u.kind != "frag" || u.mtu <= 0 || !u.about.IsValid() {
				continue
			}
			sender := u.frame.Dst
			for j := k - 1; j >= 0; j-- {
				f := &h.Frames[j]
				// IPv4 and TCP headers add 40 bytes at least. The sequence
				// numbers are compared as printed: one capture prints a
				// flow's relative numbers from one base.
				if f.Proto != "tcp" || f.Src != sender || f.Dst != u.about || f.Length+40 <= u.mtu {
					continue
				}
				for m := k + 1; m < len(h.Frames); m++ {
					g := &h.Frames[m]
					if g.Proto == "tcp" && g.Src == f.Src && g.SPort == f.SPort && g.Dst == f.Dst && g.DPort == f.DPort &&
						g.Seq == f.Seq && g.Length == f.Length {
						if found == nil {
							found = &pmtuIgnored{host: h, seg: f, resent: g, icmp: u}
						}
						found.repeats++
						break
					}
				}
				break
			}
		}
		if found != nil {
			out = append(out, *found)
		}
	}
	return out
}

// times says how often something happened after an ICMP.
func times(n int) string {
	if n == 1 {
		return "once after it"
	}
	return fmt.Sprintf("after %d of them", n)
}

// checkPMTUIgnored reports path MTU discovery failing in a capture: the
// ICMP that says the segments are too large arrives, and they are resent
// as large as before, until the connection times out.
func checkPMTUIgnored(p *Pass) {
	for _, x := range findPMTUIgnored(p) {
		sender := x.seg.Src
		p.Report(diagnosis.Finding{
			Severity: diagnosis.Critical,
			Host:     x.host.Name,
			Title: fmt.Sprintf("path MTU discovery fails: %s resends its %d-byte segments to %s after ICMP frag-needed (mtu %d)",
				sender, x.seg.Length, x.seg.Dst, x.icmp.mtu),
			Explanation: fmt.Sprintf("A hop on the path to %s (%s, the ICMP's sender) has an MTU of %d, less than a full-size "+
				"packet (a tunnel's, or an encapsulating hop's), and answers %s's %d-byte segments with ICMP fragmentation-needed. "+
				"The capture on %s shows that ICMP and then the same segment (seq %d, %d bytes) sent again as large as before "+
				"(%s): the sender never lowered its path MTU, so the ICMP never reached its TCP stack. Where the capture "+
				"ran on the sender, its own firewall drops the ICMP after tcpdump saw it: a rule accepting only some ICMP "+
				"(echo requests, type 8) ahead of a DROP or REJECT. Handshakes and small replies pass; every large reply is "+
				"resent until the connection times out.",
				x.seg.Dst, x.icmp.frame.Src, x.icmp.mtu, sender, x.seg.Length, x.host.Name, x.seg.Seq, x.seg.Length, times(x.repeats)),
			Evidence: []evidence.Ref{x.seg.Ref, x.icmp.frame.Ref, x.resent.Ref},
			Fix: []string{
				fixCmd("iptables -I INPUT -p icmp --icmp-type fragmentation-needed -j ACCEPT",
					"on %s: let ICMP type 3 code 4 in ahead of the rules that accept only echo requests (and in the chains a controller such as kube-router owns)", sender),
				fixCmd(fmt.Sprintf("iptables -t mangle -A OUTPUT -s %s -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss %d", sender, x.icmp.mtu-40),
					"or, on %s: announce an MSS whose packets fit the path", sender),
			},
		})
	}
}

var mssRe = regexp.MustCompile(`\bmss (\d+)`)

func frameMSS(f *evidence.Frame) int {
	if m := mssRe.FindStringSubmatch(f.Ref.Text); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

func checkTunnelMTU(p *Pass, s *topology.Service) {
	// ICMP frag-needed about the service's packets, wherever captured.
	var frags []icmpUnreach
	for _, h := range p.Case.Hosts {
		for i := range h.Frames {
			if u, ok := decodeUnreach(h, &h.Frames[i]); ok && u.kind == "frag" && answersService(p, s, u) {
				frags = append(frags, u)
			}
		}
	}
	// The director's link towards the real servers.
	var d *evidence.Host
	var link evidence.Link
	for _, x := range p.ActiveDirectors(s) {
		dev := ""
		for _, rip := range s.RIPs {
			if dev, _ = routeOut(x, rip); dev != "" {
				break
			}
		}
		if dev == "" {
			for _, a := range x.Addrs {
				if a.Prefix.Addr() == directorIP(x) {
					dev = a.Iface
				}
			}
		}
		if l, ok := x.Link(dev); ok && l.MTU > 0 {
			d, link = x, l
			break
		}
	}
	// The MSS of the service's handshakes: the real server's SYN-ACK
	// bounds what the client sends; without it, the client's SYN stands in.
	var synFrame, synackFrame *evidence.Frame
	for _, h := range p.Case.Hosts {
		for i := range h.Frames {
			f := &h.Frames[i]
			pk := innerOf(f)
			if !strings.Contains(pk.Flags, "S") || frameMSS(f) == 0 {
				continue
			}
			if _, toVIP := vipPacket(f, s); toVIP && synFrame == nil {
				synFrame = f
			} else if pk.Src == s.VIP && pk.SPort == s.Port && synackFrame == nil {
				synackFrame = f
			}
		}
	}
	mssFrame := synackFrame
	if mssFrame == nil {
		mssFrame = synFrame
	}
	mss := 0
	if mssFrame != nil {
		mss = frameMSS(mssFrame)
	}
	tooBig := d != nil && mss > 0 && mss+40+20 > link.MTU
	if len(frags) == 0 && !tooBig {
		return
	}
	var ev []evidence.Ref
	host := ""
	if d != nil {
		host = d.Name
		ev = append(ev, link.Ref)
	}
	if mssFrame != nil && tooBig {
		ev = append(ev, mssFrame.Ref)
	}
	for _, h := range p.RealServersOf(s) {
		for _, l := range h.Links {
			if (l.Kind == "ipip" || strings.HasPrefix(l.Name, "tunl")) && l.MTU > 1480 {
				ev = append(ev, l.Ref)
			}
		}
	}
	sev := diagnosis.Warning
	lost := ""
	for i, u := range frags {
		if i < 2 {
			ev = append(ev, u.frame.Ref)
		}
		if host == "" {
			host = u.host.Name
		}
	}
	if len(frags) > 0 {
		// The director told the client to shrink; did the client hear it?
		for _, c := range p.Topo.Clients() {
			if c == frags[0].host || len(c.Frames) == 0 {
				continue
			}
			sawFlow, sawFrag := false, false
			for i := range c.Frames {
				f := &c.Frames[i]
				if _, ok := vipPacket(f, s); ok {
					sawFlow = true
				}
				if u, ok := decodeUnreach(c, f); ok && u.kind == "frag" {
					sawFrag = true
				}
			}
			if sawFlow && !sawFrag {
				sev = diagnosis.Critical
				lost = fmt.Sprintf(" %s's capture shows the connection but never the ICMP: it is filtered on the way, so the large packets are retransmitted until the connection times out.", c.Name)
				ev = append(ev, seenRef(c, evidence.KindFrames))
			}
		}
	}
	mtuText := "the director's link MTU"
	if d != nil {
		mtuText = fmt.Sprintf("%s's %s MTU %d", d.Name, link.Name, link.MTU)
	}
	title := fmt.Sprintf("TUN encapsulation does not fit %s", mtuText)
	if mss > 0 && tooBig {
		title = fmt.Sprintf("TUN: segments of MSS %d plus 60 bytes of headers exceed %s", mss, mtuText)
	}
	if len(frags) > 0 {
		title += fmt.Sprintf("; %d ICMP frag-needed seen", len(frags))
	}
	p.Report(diagnosis.Finding{
		Severity: sev,
		Host:     host,
		Title:    title,
		Explanation: "In TUN mode the director wraps each client packet in a 20-byte IPIP header. A full-size segment " +
			"(1500 bytes with DF) becomes 1520 and no longer fits a 1500-byte link, so the director answers the client with ICMP " +
			"fragmentation-needed (mtu 1480) and the client must resend smaller. Handshakes and small requests work; uploads and " +
			"large requests stall wherever that ICMP is filtered." + lost,
		Evidence: ev,
		Fix:      mtuFix(s, d, link),
	})
}

// mtuFix makes the encapsulated segments fit: a smaller MSS from the real
// servers, or a larger MTU on d's link; and the ICMP that says so let
// through.
func mtuFix(s *topology.Service, d *evidence.Host, link evidence.Link) []string {
	fix := []string{fixCmd(fmt.Sprintf("iptables -t mangle -A OUTPUT -s %s -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1440", s.VIP),
		"on every real server: announce an MSS whose packets fit the tunnel")}
	if d != nil && link.Name != "" {
		fix = append(fix, fixCmd(fmt.Sprintf("ip link set dev %s mtu 1520", link.Name), "or, on %s (and the real servers' links, if the switches pass 1520-byte frames): room for the IPIP header", d.Name))
	} else {
		fix = append(fix, fixStep("or raise the MTU between the director and the real servers to at least 1520"))
	}
	return append(fix, fixStep("and let ICMP type 3 code 4 (fragmentation needed) through every firewall towards the clients"))
}
