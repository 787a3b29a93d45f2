package rules

import (
	"fmt"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

var netVIPDADFailed = &Rule{
	ID: "net.vip-dad-failed",
	Doc: "An IPv6 VIP failed duplicate address detection on a director or real server: another node on the link " +
		"answers for it, and the host never uses the address.",
	Rank: 9,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindAddrs, Command: "ip -6 addr"},
	},
	Explains: []string{"director.vip-not-local", "rs.vip-missing", "net.stale-arp", "net.arp-conflict", "trace.director-not-forwarding", "trace.rs-not-replying", "trace.lost-in-transit"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if !s.VIP.Is6() {
				continue
			}
			for _, h := range p.Case.Hosts {
				for _, a := range h.AddrsOf(s.VIP) {
					if a.DADFailed {
						reportDADFailed(p, s, h, a)
					}
				}
			}
		}
	},
}

// reportDADFailed reports the VIP that failed duplicate address detection
// on h, naming the hosts of the case that hold it on an interface that
// answers neighbour solicitations (not lo): the other side of the clash.
func reportDADFailed(p *Pass, s *topology.Service, h *evidence.Host, a evidence.Addr) {
	ev := []evidence.Ref{a.Ref}
	var others []string
	for _, o := range p.Case.Hosts {
		if o == h {
			continue
		}
		for _, x := range o.AddrsOf(s.VIP) {
			if x.Iface != "lo" && !x.DADFailed && !x.Tentative {
				ev = append(ev, x.Ref)
				others = append(others, fmt.Sprintf("%s (%s on %s)", o.Name, x.Prefix, x.Iface))
			}
		}
	}
	// Neighbours that resolve the VIP to another MAC than h's show the
	// other holder.
	var foreign []string
	macs := map[string]bool{}
	for _, l := range h.Links {
		if l.MAC != "" {
			macs[strings.ToLower(l.MAC)] = true
		}
	}
	for _, o := range p.Case.Hosts {
		for _, n := range o.Neighbors {
			if n.IP == s.VIP && n.MAC != "" && !macs[strings.ToLower(n.MAC)] {
				ev = append(ev, n.Ref)
				foreign = append(foreign, fmt.Sprintf("%s (in %s's neighbour table)", n.MAC, o.Name))
			}
		}
	}
	what := "the director"
	if h.Role == evidence.RoleRealServer {
		what = "the real server"
	}
	expl := fmt.Sprintf("%s has the VIP %s on %s in state dadfailed: when it was added, another node on the link answered the "+
		"neighbour solicitation of duplicate address detection, and the kernel never uses an address that failed it: %s "+
		"neither answers neighbour solicitations for it nor accepts packets to it.", h.Name, s.VIP, a.Iface, what)
	var fix []string
	if len(others) > 0 {
		expl += fmt.Sprintf(" In the case, %s holds it where it answers neighbour solicitations: IPv6 has no arp_ignore, "+
			"so a real server's VIP belongs on lo (as a /128), where Linux does not answer for it.", strings.Join(others, ", "))
		fix = append(fix, fixStep("on %s: move the VIP to lo as a /128 (ip -6 addr del %s dev IFACE; ip -6 addr add %s/128 dev lo)", strings.Join(others, ", "), s.VIP, s.VIP))
	} else {
		expl += " No host of the case holds it on a NIC: another machine on the link does (a second director, a clone, a " +
			"real server not in the case)"
		if len(foreign) > 0 {
			expl += fmt.Sprintf(", the one with MAC %s.", strings.Join(foreign, ", "))
			fix = append(fix, fixStep("find the machine with MAC %s (the switch's MAC table, the hypervisor's domains) and take %s off its NIC", strings.Join(foreign, ", "), s.VIP))
		} else {
			expl += "; `ip -6 neigh show " + s.VIP.String() + "` on a neighbour names its MAC."
			fix = append(fix, fixCmd("ip -6 neigh show "+s.VIP.String(), "on a host of the link (after ping -6 -c1 %s): the MAC of the other holder; take the VIP off its NIC", s.VIP))
		}
	}
	fix = append(fix,
		fixCmd(fmt.Sprintf("ip -6 addr del %s dev %s && ip -6 addr add %s dev %s", a.Prefix, a.Iface, a.Prefix, a.Iface),
			"then on %s: add it again, DAD runs anew (a VIP keepalived manages comes back on its next transition)", h.Name),
		fixCmd("ip -6 addr show dev "+a.Iface, "no tentative or dadfailed on %s", s.VIP),
	)
	p.Report(diagnosis.Finding{
		Severity:    diagnosis.Critical,
		Host:        h.Name,
		Title:       fmt.Sprintf("the VIP %s failed duplicate address detection on %s (%s)", s.VIP, h.Name, a.Iface),
		Explanation: expl,
		Evidence:    ev,
		Fix:         fix,
	})
}
