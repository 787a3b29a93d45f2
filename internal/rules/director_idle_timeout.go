package rules

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var directorIdleTimeout = &Rule{
	ID:   "director.idle-timeout",
	Doc:  "IPVS's tcp idle timeout (ipvsadm -L --timeout) is shorter than the TCP keepalive time of the connections' ends (net.ipv4.tcp_keepalive_time), so an idle long-lived connection is forgotten by the director and dies silently.",
	Rank: 48,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindIPVS, Command: "ipvsadm -L --timeout"},
		{Role: evidence.RoleRealServer, Kind: evidence.KindSysctl, Command: "sysctl net.ipv4.tcp_keepalive_time"},
	},
	Run: func(p *Pass) {
		var others []*evidence.Host
		others = append(others, p.RealServers()...)
		others = append(others, p.Topo.Clients()...)
		stuck := stuckSockets(p)
		reported := false
	directors:
		for _, d := range p.Directors() {
			if d.IPVS == nil || d.IPVS.Timeouts == nil || d.IPVS.Timeouts.TCP <= 0 {
				continue
			}
			to := d.IPVS.Timeouts
			ends := others
			if localClients(p, d) {
				ends = append([]*evidence.Host{d}, others...)
			}
			var long []evidence.Ref
			var names []string
			keep := 0
			for _, h := range ends {
				s, ok := h.Sysctls["net.ipv4.tcp_keepalive_time"]
				if !ok {
					continue
				}
				n, err := strconv.Atoi(strings.TrimSpace(s.Value))
				if err != nil {
					continue
				}
				if n < to.TCP {
					// one end probes before IPVS forgets: its keepalives
					// keep the entry alive (for sockets with SO_KEEPALIVE)
					continue directors
				}
				keep = n
				long = append(long, s.Ref)
				names = append(names, h.Name)
			}
			if len(long) == 0 {
				if len(stuck) > 0 {
					p.Notef("%s: IPVS on %s forgets a TCP connection idle for %d s (%s), and %s; run `sysctl net.ipv4.tcp_keepalive_time` "+
						"where the connections start and end: a keepalive time above %d s means idle connections are forgotten",
						stuck[0].Ref, d.Name, to.TCP, to.Ref, stuckWhat(stuck), to.TCP)
				}
				continue // the ends' keepalive time is unknown: no comparison
			}
			send := "send"
			if len(names) == 1 {
				send = "sends"
			}
			// A latent fault until a connection is seen stuck on it.
			sev := diagnosis.Warning
			seen := ""
			ev := append([]evidence.Ref{to.Ref}, long...)
			if len(stuck) > 0 {
				sev = diagnosis.Critical
				seen = " A connection to the service shows the symptom: " + stuckWhat(stuck) + "."
				for i, s := range stuck {
					if i == 3 {
						break
					}
					ev = append(ev, s.Ref)
				}
			}
			reported = true
			p.Report(diagnosis.Finding{
				Severity: sev,
				Host:     d.Name,
				Title: fmt.Sprintf("IPVS on %s forgets a TCP connection idle for %d s; %s %s keepalives only after %d s",
					d.Name, to.TCP, strings.Join(names, ", "), send, keep),
				Explanation: fmt.Sprintf("IPVS drops a connection's entry after %d s without a packet (ipvsadm -L --timeout). "+
					"A pooled or long-lived connection (database, message queue, ssh) that stays idle longer is forgotten: "+
					"its next packet matches no entry and, not being a SYN, is dropped or reset, so the application hangs on a stuck send queue "+
					"or gets a reset long after. The ends' TCP keepalives start at %d s (net.ipv4.tcp_keepalive_time), too late to keep the entry.%s",
					to.TCP, keep, seen),
				Evidence: ev,
				Fix: []string{
					fmt.Sprintf("sysctl -w net.ipv4.tcp_keepalive_time=%d   # on the real servers and clients (persist in /etc/sysctl.d); applications must enable SO_KEEPALIVE", max(to.TCP/2, 60)),
					fixCmd(fmt.Sprintf("ipvsadm --set %d %d %d", keep+600, to.TCPFin, to.UDP), "on the directors, instead: IPVS's tcp, tcpfin and udp timeouts, the tcp one longer than the longest idle time"),
				},
			})
		}
		if !reported && len(stuck) > 0 && !anyTimeouts(p) {
			p.Notef("%s: %s; if that address is a load balancer's virtual service (IPVS: keepalived, kube-proxy, a Docker swarm "+
				"service VIP), a connection idle longer than IPVS's tcp timeout (900 s by default) is forgotten by it: run "+
				"`ipvsadm -L --timeout` on the host that balances it and `sysctl net.ipv4.tcp_keepalive_time` where the connection starts",
				stuck[0].Ref, stuckWhat(stuck))
		}
	},
}

// stuckSockets are the established TCP connections, on any host, that hold
// sent bytes their peer has not acknowledged, towards a service under
// diagnosis (its VIP and port), or towards anything when no service is
// known. One listing cannot tell a stuck queue from one in flight; a
// connection to a balanced address with a queue is what a forgotten
// connection looks like, and the finding says so only beside the timeout.
func stuckSockets(p *Pass) []evidence.Socket {
	vips := map[netip.AddrPort]bool{}
	for _, s := range p.Services() {
		if s.VIP.IsValid() && s.Port != 0 && (s.Proto == "" || s.Proto == "tcp") {
			vips[netip.AddrPortFrom(s.VIP, s.Port)] = true
		}
	}
	var out []evidence.Socket
	for _, h := range p.Case.Hosts {
		for _, s := range h.Sockets {
			if s.Established() && s.SendQ > 0 && (len(vips) == 0 || vips[s.Peer]) {
				out = append(out, s)
			}
		}
	}
	return out
}

func stuckWhat(ss []evidence.Socket) string {
	s := ss[0]
	what := fmt.Sprintf("the connection %s → %s is established with %d bytes sent and not acknowledged (Send-Q)", s.Local, s.Peer, s.SendQ)
	if len(ss) > 1 {
		what += fmt.Sprintf(", and %d more like it", len(ss)-1)
	}
	return what
}

func anyTimeouts(p *Pass) bool {
	for _, h := range p.Case.Hosts {
		if h.IPVS != nil && h.IPVS.Timeouts != nil {
			return true
		}
	}
	return false
}

// localClients reports whether d's own connections go through its IPVS
// services: a kube-proxy or kube-router node, whose pods and host
// processes reach the service addresses through the node's own table, or
// a director the failing test ran from. Its own tcp_keepalive_time then
// rules the client end of those connections (for processes in its network
// namespace; a pod has its own, 7200 s unless set).
func localClients(p *Pass, d *evidence.Host) bool {
	if ipvsController(d).who != "" {
		return true
	}
	c := p.Case.Client.Addr
	return c.IsValid() && d.IsLocal(c)
}
