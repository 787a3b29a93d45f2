package rules

import (
	"fmt"
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
				continue // the ends' keepalive time is unknown: no comparison
			}
			send := "send"
			if len(names) == 1 {
				send = "sends"
			}
			p.Report(diagnosis.Finding{
				Severity: diagnosis.Warning,
				Host:     d.Name,
				Title: fmt.Sprintf("IPVS on %s forgets a TCP connection idle for %d s; %s %s keepalives only after %d s",
					d.Name, to.TCP, strings.Join(names, ", "), send, keep),
				Explanation: fmt.Sprintf("IPVS drops a connection's entry after %d s without a packet (ipvsadm -L --timeout). "+
					"A pooled or long-lived connection (database, message queue, ssh) that stays idle longer is forgotten: "+
					"its next packet matches no entry and, not being a SYN, is dropped or reset, so the application hangs on a stuck send queue "+
					"or gets a reset long after. The ends' TCP keepalives start at %d s (net.ipv4.tcp_keepalive_time), too late to keep the entry.",
					to.TCP, keep),
				Evidence: append([]evidence.Ref{to.Ref}, long...),
				Fix: []string{
					fmt.Sprintf("sysctl -w net.ipv4.tcp_keepalive_time=%d   # on the real servers and clients (persist in /etc/sysctl.d); applications must enable SO_KEEPALIVE", max(to.TCP/2, 60)),
					fixCmd(fmt.Sprintf("ipvsadm --set %d %d %d", keep+600, to.TCPFin, to.UDP), "on the directors, instead: IPVS's tcp, tcpfin and udp timeouts, the tcp one longer than the longest idle time"),
				},
			})
		}
	},
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
