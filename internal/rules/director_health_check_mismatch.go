package rules

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

var directorHealthCheckMismatch = &Rule{
	ID: "director.health-check-mismatch",
	Doc: "A keepalived health check probes another port or address than the real server's service, so real " +
		"servers are removed while they serve, or stay in while the service is dead.",
	Rank: 7,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindKeepalived, Command: "cat /etc/keepalived/keepalived.conf"},
	},
	Explains: []string{"director.no-available-realserver"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			for _, d := range p.Directors() {
				kv := s.Config[d.Name]
				if kv == nil {
					continue
				}
				var fs []diagnosis.Finding
				for _, r := range kv.RealServers {
					if f := checkHealth(p, s, d, kv, r); f != nil {
						fs = append(fs, *f)
					}
				}
				reportMerged(p, fs, fmt.Sprintf("the health checks of %d real servers of %s on %s probe something other than the service", len(fs), s, d.Name))
			}
		}
		if len(p.Findings()) == 0 {
			for _, d := range p.Directors() {
				checkTCPProbeOfUDP(p, d)
			}
		}
	},
}

// checkTCPProbeOfUDP reads what keepalived logs of its checks when its
// configuration is not there: "TCP connection to [10.40.0.5]:udp:34197
// failed" is a TCP_CHECK of a UDP real server (keepalived 2.x names the
// protocol of the real server it probes), which can never succeed: the
// real server is removed however well it serves.
func checkTCPProbeOfUDP(p *Pass, d *evidence.Host) {
	var refs []evidence.Ref
	var rs string
	for _, l := range d.Logs {
		if l.Kind == evidence.LogCheckFailed && strings.HasPrefix(l.Detail, "TCP connection to [") && strings.Contains(l.Detail, "]:udp:") {
			if rs == "" {
				rs = l.Subject
			}
			if len(refs) < 2 {
				refs = append(refs, l.Ref)
			}
		}
	}
	if len(refs) == 0 {
		return
	}
	for _, l := range d.Logs {
		if l.Kind == evidence.LogRSRemoved && len(refs) < 3 {
			refs = append(refs, l.Ref)
			break
		}
	}
	p.Report(diagnosis.Finding{
		Severity: diagnosis.Critical,
		Host:     d.Name,
		Title:    fmt.Sprintf("keepalived on %s probes the UDP real server %s with a TCP connection (TCP_CHECK on a UDP service): the check can never pass, and the real server is removed", d.Name, orName(rs, "of the service")),
		Explanation: "keepalived's TCP_CHECK opens a TCP connection to the real server. A UDP service's real server " +
			"listens on UDP only, so the connection is refused or times out whatever the application does: every " +
			"real server fails its check and leaves the table, and the service has none left.",
		Evidence: refs,
		Fix: []string{
			fixStep("in keepalived.conf on %s, the real_server blocks of the UDP service: replace TCP_CHECK by a check of the UDP service (UDP_CHECK; DNS_CHECK for DNS; MISC_CHECK with a script that queries it)", d.Name),
			fixCmd("systemctl reload keepalived", "on %s: reload, not restart (a restart on the VRRP master fails the VIP over)", d.Name),
		},
	})
}

func checkProto(c *evidence.KCheck) string {
	switch c.Type {
	case "TCP_CHECK", "HTTP_GET", "SSL_GET", "SMTP_CHECK":
		return "tcp"
	case "UDP_CHECK", "DNS_CHECK":
		return "udp"
	}
	return ""
}

// outOfTable returns evidence that d's IPVS took rip out: the table
// lacks it or gives it weight 0, or the log says keepalived removed it.
func outOfTable(s *topology.Service, d *evidence.Host, rip netip.Addr) []evidence.Ref {
	var out []evidence.Ref
	if vs := s.IPVS[d.Name]; vs != nil && d.Has(evidence.KindIPVS) {
		found := false
		for _, rs := range vs.Dests {
			if rs.Addr == rip {
				found = true
				if rs.Weight == 0 {
					out = append(out, rs.Ref)
				}
			}
		}
		if !found {
			out = append(out, vs.Ref)
		}
	}
	for _, l := range d.Logs {
		if l.Kind == evidence.LogRSRemoved && subjectAddr(l.Subject) == rip {
			out = append(out, l.Ref)
			break
		}
	}
	return out
}

func checkHealth(p *Pass, s *topology.Service, d *evidence.Host, kv *evidence.KVirtualServer, r *evidence.KRealServer) *diagnosis.Finding {
	c := r.Check
	if c == nil {
		return nil
	}
	proto := checkProto(c)
	if proto == "" {
		return nil
	}
	portDiff := c.ConnectPort != 0 && r.Port != 0 && c.ConnectPort != r.Port
	ipDiff := c.ConnectIP.IsValid() && c.ConnectIP != r.Addr
	if !portDiff && !ipDiff {
		return nil
	}
	checkPort := r.Port
	if c.ConnectPort != 0 {
		checkPort = c.ConnectPort
	}
	svcProto := strings.ToLower(kv.Proto)
	if svcProto == "" {
		svcProto = s.Proto
	}
	rs := p.Topo.HostOwning(r.Addr)
	var fails []evidence.Ref
	for _, l := range d.Logs {
		if l.Kind == evidence.LogCheckFailed {
			if a := subjectAddr(l.Subject); a == r.Addr || (ipDiff && a == c.ConnectIP) {
				fails = append(fails, l.Ref)
				if len(fails) == 3 {
					break
				}
			}
		}
	}
	out := outOfTable(s, d, r.Addr)
	// The line that sends the probe elsewhere decides; the check's and the
	// real server's blocks say whose it is.
	var ev []evidence.Ref
	if ipDiff && !c.ConnectIPRef.IsZero() {
		ev = append(ev, c.ConnectIPRef)
	} else if !ipDiff && !c.ConnectPortRef.IsZero() {
		ev = append(ev, c.ConnectPortRef)
	}
	ev = append(ev, c.Ref, r.Ref)
	sev := diagnosis.Warning
	var what, why string
	switch {
	case ipDiff:
		what = fmt.Sprintf("probes %s instead of the real server %s", c.ConnectIP, r.Addr)
		why = fmt.Sprintf("The check's connect_ip sends the probe to %s, so %s's state follows another host: it is removed "+
			"when that host fails, and kept while %s itself is dead.", c.ConnectIP, r.Addr, r.Addr)
		if len(out) > 0 && len(fails) > 0 {
			sev = diagnosis.Critical
		}
	case rs != nil && rs.Has(evidence.KindListeners):
		checkOK := len(listenersOn(rs, proto, checkPort)) > 0
		svcOK := svcProto != "" && len(listenersOn(rs, svcProto, r.Port)) > 0
		switch {
		case checkOK && svcOK:
			return nil // a dedicated health port that is served: deliberate
		case !checkOK && svcOK:
			what = fmt.Sprintf("probes port %d, where nothing listens on %s; the service is on port %d", checkPort, rs.Name, r.Port)
			why = fmt.Sprintf("The check connects to port %d, and %s listens on port %d but not on %d, so the check always "+
				"fails and keepalived takes a working real server out of the service (or gives it weight 0).", checkPort, rs.Name, r.Port, checkPort)
			if len(out) > 0 {
				sev = diagnosis.Critical
			}
		case checkOK && !svcOK:
			what = fmt.Sprintf("probes port %d, which answers, while the service port %d has no listener on %s", checkPort, r.Port, rs.Name)
			why = "The check passes on the other port, so keepalived keeps a real server whose service is down in the table " +
				"and IPVS keeps sending clients to it."
		default:
			what = fmt.Sprintf("probes port %d instead of the service port %d", checkPort, r.Port)
			why = fmt.Sprintf("Nothing listens on either port on %s; the check cannot tell whether the service is up.", rs.Name)
		}
		ev = append(ev, seenRef(rs, evidence.KindListeners))
	case len(fails) > 0:
		what = fmt.Sprintf("probes port %d instead of the service port %d, and the probes fail", checkPort, r.Port)
		why = fmt.Sprintf("The check connects to port %d, not to the port the service uses (%d): keepalived judges the real "+
			"server by something clients never use, and the log shows those probes failing.", checkPort, r.Port)
	default:
		p.Notef("the health check of %s on %s probes port %d, the service is on %d: run `ss -lnt` on the real server to tell a dedicated health port from a mistake",
			r.Addr, d.Name, checkPort, r.Port)
		return nil
	}
	ev = append(ev, fails...)
	ev = append(ev, out...)
	return &diagnosis.Finding{
		Severity:    sev,
		Host:        d.Name,
		Title:       fmt.Sprintf("the %s of real server %s (%s) %s", c.Type, r.Addr, s, what),
		Explanation: why,
		Evidence:    ev,
		Fix: []string{
			fixStep("in keepalived.conf on %s, real_server %s: make the check probe the service, connect_port %d (or remove connect_port and connect_ip)", d.Name, r.Addr, r.Port),
			keepalivedApply(p, s, d, ""),
		},
	}
}
