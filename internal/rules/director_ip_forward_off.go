package rules

import (
	"fmt"
	"regexp"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var directorIPForwardOff = &Rule{
	ID:       "director.ip-forward-off",
	Modes:    []string{"nat", "fnat"},
	Doc:      "NAT/FNAT directors forward the real servers' replies and need IPv4 forwarding on.",
	Rank:     9,
	Needs:    []Need{{Role: evidence.RoleDirector, Kind: evidence.KindSysctl, Command: "sysctl -a"}},
	Explains: []string{"director.return-path-missing", "trace.reply-lost"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if s.Mode != "nat" && s.Mode != "fnat" {
				continue
			}
			for _, d := range p.ActiveDirectors(s) {
				v, ref, ok := d.SysctlInt("net.ipv4.ip_forward")
				if !ok || v != 0 {
					continue
				}
				p.Report(diagnosis.Finding{
					Severity:    diagnosis.Critical,
					Host:        d.Name,
					Title:       fmt.Sprintf("IPv4 forwarding is off on %s (net.ipv4.ip_forward = 0)", d.Name),
					Explanation: "In NAT mode the real servers' replies are routed through the director, which must forward them. With forwarding off they are dropped and clients time out.",
					Evidence:    []evidence.Ref{ref},
					Fix:         ipForwardFix(d),
				})
			}
		}
	},
}

// swarmNetnsPath is the path of Docker swarm's load-balancer namespace in
// the line that entered it: only the characters Docker names it with, so
// the fix never repeats anything else of the input.
var swarmNetnsPath = regexp.MustCompile(`(?:/var)?/run/docker/netns/(?:lb_[A-Za-z0-9]+|ingress_sbox)`)

// ipForwardFix turns forwarding on where d forwards. In Docker swarm's
// load-balancer namespace that is the namespace now, and the host whose
// initial namespace the ones Docker creates later copy ip_forward from
// (moby#38723: the bare-metal host under an LXC container); a sysctl.d
// file is not applied inside Docker's namespaces.
func ipForwardFix(d *evidence.Host) []string {
	if d.SwarmLB == nil {
		return sysctlFix("on "+d.Name, "net.ipv4.ip_forward=1")
	}
	path := swarmNetnsPath.FindString(d.SwarmLB.Text)
	if path == "" {
		path = "/var/run/docker/netns/" + d.Name
	}
	return append([]string{
		fixCmd("nsenter --net="+path+" sysctl -w net.ipv4.ip_forward=1", "in %s, swarm's load balancer, now", d.Name),
		fixStep("new network namespaces copy net.ipv4.ip_forward from the initial one: turn it on on the host that owns it (the bare-metal host when Docker runs in a container), persisted:"),
	}, sysctlFix("on that host", "net.ipv4.ip_forward=1")...)
}
