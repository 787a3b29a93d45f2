package rules

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

var (
	icmpAddrRe  = regexp.MustCompile(`\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}`)
	icmpPortRe  = regexp.MustCompile(`(tcp|udp|sctp) port (\d+)`)
	icmpMTURe   = regexp.MustCompile(`mtu (\d+)`)
	icmpProtoRe = regexp.MustCompile(`protocol (\d+) unreachable`)
)

// icmpUnreach is an ICMP destination-unreachable frame decoded from
// tcpdump's text: "host 192.0.2.100 unreachable - admin prohibited
// filter", "192.0.2.100 tcp port 80 unreachable", "192.0.2.100
// unreachable - need to frag (mtu 1480)".
type icmpUnreach struct {
	frame *evidence.Frame
	host  *evidence.Host // the capture's host
	about netip.Addr     // the original packet's destination
	port  uint16
	kind  string // "frag", "prohibited", "port", "protocol", "host", "net", "other"
	mtu   int
}

// decodeUnreach reads an ICMP destination-unreachable frame of h's capture.
func decodeUnreach(h *evidence.Host, f *evidence.Frame) (icmpUnreach, bool) {
	t := strings.ToLower(f.ICMP)
	if f.Proto != "icmp" || !strings.Contains(t, "unreachable") {
		return icmpUnreach{}, false
	}
	u := icmpUnreach{frame: f, host: h, kind: "other"}
	if a, err := netip.ParseAddr(icmpAddrRe.FindString(t)); err == nil {
		u.about = a
	}
	if m := icmpPortRe.FindStringSubmatch(t); m != nil {
		n, _ := strconv.Atoi(m[2])
		u.port = uint16(n)
	}
	switch {
	case strings.Contains(t, "need to frag"):
		u.kind = "frag"
		if m := icmpMTURe.FindStringSubmatch(t); m != nil {
			u.mtu, _ = strconv.Atoi(m[1])
		}
	case strings.Contains(t, "prohibited"):
		u.kind = "prohibited"
	case u.port != 0 || strings.Contains(t, " port "):
		u.kind = "port"
	case icmpProtoRe.MatchString(t):
		u.kind = "protocol"
	case strings.HasPrefix(t, "host "):
		u.kind = "host"
	case strings.HasPrefix(t, "net "):
		u.kind = "net"
	}
	return u, true
}

// answersService reports whether u refuses a packet of s's flow: one to
// the VIP or a RIP, on the service's port when the ICMP names one.
func answersService(p *Pass, s *topology.Service, u icmpUnreach) bool {
	if !u.about.IsValid() {
		return false
	}
	hit := u.about == s.VIP
	for _, r := range s.RIPs {
		if u.about == r {
			hit = true
		}
	}
	if !hit {
		return false
	}
	if u.port == 0 || u.port == s.Port {
		return true
	}
	if u.about != s.VIP {
		for _, h := range p.RealServersOf(s) {
			if h.IsLocal(u.about) && rsPort(p, s, h) == u.port {
				return true
			}
		}
	}
	return false
}
