package trace

import (
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// Names people give hosts and capture files, by role.
var roleNames = []struct {
	role evidence.Role
	re   *regexp.Regexp
}{
	{evidence.RoleDirector, regexp.MustCompile(`(^|[^a-z])(ds|dir|director|lvs|lb|ipvs|balancer|keepalived|vs)\d*([^a-z]|$)`)},
	{evidence.RoleRealServer, regexp.MustCompile(`(^|[^a-z])(rs|real|realserver|real-server|web|backend|app|nginx|httpd)\d*([^a-z]|$)`)},
	{evidence.RoleClient, regexp.MustCompile(`(^|[^a-z])(client|cli|cl|user|curl)\d*([^a-z]|$)`)},
	{evidence.RoleHypervisor, regexp.MustCompile(`(^|[^a-z])(hv|hyper|hypervisor|kvm|br|bridge|virbr|vnet|ovs)\d*([^a-z]|$)`)},
	{evidence.RoleRouter, regexp.MustCompile(`(^|[^a-z])(router|gw|gateway|rt|fw|firewall)\d*([^a-z]|$)`)},
}

// RoleFromName guesses a capture point's role from its host or file name
// ("ds1", "rs2-eth0.pcap", "client.pcap", "br0.pcap"); "" when it cannot.
func RoleFromName(name string) evidence.Role {
	n := strings.ToLower(name)
	for _, r := range roleNames {
		if r.re.MatchString(n) {
			return r.role
		}
	}
	return ""
}

// inferRoles gives the points of unknown role one, from their names and
// then from what they saw.
func (t *Tracer) inferRoles() {
	for _, ps := range t.points {
		if ps.Role != "" {
			continue
		}
		for _, n := range []string{ps.Host, ps.Source} {
			if r := RoleFromName(n); r != "" {
				ps.Role, ps.roleWhy = r, "from its name"
				break
			}
		}
	}
	for i, ps := range t.points {
		if ps.Role != "" {
			continue
		}
		var sent, fwd, reply, origin bool
		for _, c := range t.conns {
			for _, p := range c.pkts {
				for j := range p.seen {
					s := &p.seen[j]
					if s.point != i {
						continue
					}
					st := t.stageOf(c, p, s)
					switch {
					case p.reply:
						reply = true
						if earliest(p) == j {
							origin = true
						}
					case st == stageSent:
						sent = true
					default:
						fwd = true
					}
				}
			}
		}
		switch {
		case sent && fwd && !reply:
			ps.Role, ps.roleWhy = evidence.RoleDirector, "it sees the client's packets arrive and leave again, and no reply (direct return)"
		case sent && fwd && reply:
			ps.Role, ps.roleWhy = evidence.RoleHypervisor, "it sees the client's packets both before and after the director, and the replies"
		case fwd && origin:
			ps.Role, ps.roleWhy = evidence.RoleRealServer, "it sees the forwarded packets arrive and the replies leave first"
		case sent && !fwd:
			ps.Role, ps.roleWhy = evidence.RoleClient, "it sees the client's packets only as sent"
		case fwd:
			ps.Role, ps.roleWhy = evidence.RoleRealServer, "it sees only forwarded copies"
		}
		if ps.Role == evidence.RoleDirector {
			for _, c := range t.conns {
				for _, p := range c.pkts {
					for j := range p.seen {
						if s := &p.seen[j]; s.point == i && s.hasDMAC && !p.reply && !s.lvsTunnel() && t.stageOf(c, p, s) == stageSent {
							ps.macs[s.dmac] = true
						}
					}
				}
			}
		}
	}
}

// earliest is the index of a packet's first sighting in time.
func earliest(p *packet) int {
	best := 0
	for j := range p.seen {
		if p.seen[j].hasT && (!p.seen[best].hasT || p.seen[j].t < p.seen[best].t) {
			best = j
		}
	}
	return best
}
