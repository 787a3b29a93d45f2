package rules

import (
	"fmt"
	"net/netip"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

var netICMPUnreachable = &Rule{
	ID:   "net.icmp-unreachable",
	Doc:  "An ICMP destination-unreachable (host, net, port, protocol, admin-prohibited, frag-needed) answers the service's packets; its sender names the hop that refused them.",
	Rank: 70,
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if s.VIP.IsValid() {
				checkICMPUnreachable(p, s)
			}
		}
	},
}

// icmpSender names the host that sent an ICMP frame.
func icmpSender(p *Pass, f *evidence.Frame) (string, *evidence.Host) {
	if h := p.Topo.HostOwning(f.Src); h != nil && !p.Topo.IsVIP(f.Src) {
		return fmt.Sprintf("%s (%s)", f.Src, h.Name), h
	}
	if f.SrcMAC != "" {
		if h := macOwner(p, f.SrcMAC); h != nil {
			return fmt.Sprintf("%s (%s)", f.Src, h.Name), h
		}
	}
	return f.Src.String(), nil
}

var icmpWhat = map[string]string{
	"prohibited": "a firewall on the sender rejects the packet (REJECT --reject-with icmp-host-prohibited / icmp-admin-prohibited, or a router ACL)",
	"port":       "the sender has no socket on that port (UDP), or a REJECT rule answers with its default icmp-port-unreachable",
	"protocol":   "the sender does not speak the packet's IP protocol (IPIP without the ipip module or tunl0)",
	"host":       "the sender cannot reach the destination: nobody answered its ARP for the next hop, or a REJECT with icmp-host-unreachable",
	"net":        "the sender has no route to the destination's network",
	"frag":       "the packet is larger than the next link's MTU and may not be fragmented (DF)",
	"other":      "the sender refused to deliver the packet",
}

func checkICMPUnreachable(p *Pass, s *topology.Service) {
	type group struct {
		sender string
		host   *evidence.Host
		us     []icmpUnreach
	}
	var groups []*group
	byKey := map[string]*group{}
	for _, h := range p.Case.Hosts {
		for i := range h.Frames {
			u, ok := decodeUnreach(h, &h.Frames[i])
			if !ok || !answersService(p, s, u) {
				continue
			}
			if u.kind == "frag" && s.Mode == "tun" {
				continue // net.tunnel-mtu
			}
			name, sh := icmpSender(p, u.frame)
			k := u.frame.Src.String() + "|" + u.kind
			g := byKey[k]
			if g == nil {
				g = &group{sender: name, host: sh}
				byKey[k] = g
				groups = append(groups, g)
			}
			g.us = append(g.us, u)
		}
	}
	// What the test commands printed.
	var obs []evidence.Ref
	var obsHost *evidence.Host
	for _, h := range p.Case.Hosts {
		for _, o := range h.Observations {
			switch o.Kind {
			case "no-route", "host-unreachable", "net-unreachable":
			default:
				continue
			}
			if o.Target != s.VIP || (o.Port != 0 && s.Port != 0 && o.Port != s.Port) {
				continue
			}
			obs = append(obs, o.Ref)
			if obsHost == nil {
				obsHost = h
			}
		}
	}
	for _, g := range groups {
		u := g.us[0]
		host := u.host.Name
		if g.host != nil {
			host = g.host.Name
		}
		sev := diagnosis.Critical
		if u.kind == "frag" {
			sev = diagnosis.Warning
		}
		var ev []evidence.Ref
		for i, x := range g.us {
			if i == 3 {
				break
			}
			ev = append(ev, x.frame.Ref)
		}
		ev = append(ev, obs...)
		what := u.about.String()
		if u.port != 0 {
			what = netip.AddrPortFrom(u.about, u.port).String()
		}
		p.Report(diagnosis.Finding{
			Severity: sev,
			Host:     host,
			Title:    fmt.Sprintf("%s answers packets to %s with ICMP \"%s\" (%d seen)", g.sender, what, u.frame.ICMP, len(g.us)),
			Explanation: fmt.Sprintf("The capture on %s shows an ICMP destination-unreachable from %s for the service's packets: "+
				"%s. That hop is where the traffic stops; the client sees it as \"No route to host\" or \"Connection refused\" "+
				"instead of a timeout.", u.host.Name, g.sender, icmpWhat[u.kind]),
			Evidence: ev,
			Fix:      icmpFix(u, g.sender, s),
		})
	}
	if len(groups) == 0 && len(obs) > 0 {
		// A symptom without the hop that caused it: context for the
		// causes found elsewhere, not a cause of its own.
		p.Report(diagnosis.Finding{
			Severity: diagnosis.Warning,
			Host:     obsHost.Name,
			Title:    fmt.Sprintf("the test from %s to %s failed with \"No route to host\" (an ICMP unreachable or a failed ARP)", obsHost.Name, s),
			Explanation: "EHOSTUNREACH means the connection was refused by an ICMP host-unreachable or admin-prohibited error " +
				"(a REJECT rule on the way or on the director/real server), or that the client's own ARP for the VIP (or its " +
				"gateway) got no answer. Which hop sent it is not in the evidence.",
			Evidence: obs,
			Fix: []string{
				fixCmd("tcpdump -n -e 'icmp or arp'", "on %s while the test retries: the ICMP's source names the hop", obsHost.Name),
				fixCmd(fmt.Sprintf("ip neigh show %s", s.VIP), "on %s: FAILED or INCOMPLETE means nobody answers ARP for the VIP", obsHost.Name),
			},
		})
	}
}

func icmpFix(u icmpUnreach, sender string, s *topology.Service) []string {
	switch u.kind {
	case "prohibited", "port":
		port := u.port
		if port == 0 {
			port = s.Port
		}
		return []string{
			fixCmd("iptables-save -c | grep -i reject; nft list ruleset | grep -i reject", "on %s: the rule that answers; accept %s before it", sender, s),
			fixCmd(listenCmd(s, port), "on %s, if nothing rejects: is the service listening on port %d?", sender, port),
		}
	case "protocol":
		return []string{fixCmd("modprobe ipip && ip link set tunl0 up", "on %s: IPIP is not decapsulated there", sender)}
	case "host":
		return []string{fixCmd(fmt.Sprintf("ip neigh show %s; ip route get %s", u.about, u.about), "on %s: who should answer ARP for it", sender)}
	case "net":
		return []string{fixCmd(fmt.Sprintf("ip route get %s", u.about), "on %s: the route that is missing", sender)}
	case "frag":
		return []string{fixStep("let ICMP fragmentation-needed through to the client (path MTU discovery needs it), or lower the MTU or the MSS")}
	}
	return []string{fixCmd(fmt.Sprintf("ip route get %s; iptables-save -c | grep -i -e reject -e drop", u.about), "on %s: its route and firewall for %s", sender, u.about)}
}
