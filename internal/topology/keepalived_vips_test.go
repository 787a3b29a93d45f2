package topology

import (
	"net/netip"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/syslog"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/tcpdump"
)

// A keepalived log with gratuitous ARPs and no configuration: its GARPs'
// addresses are the VIPs under diagnosis, cited by their lines.
func TestServicesFromGARPLog(t *testing.T) {
	c := &evidence.Case{}
	h := c.Host("web1")
	text := "Jun 23 13:41:16 web1 Keepalived_vrrp[3021]: VRRP_Instance(VI_1) Entering MASTER STATE\n" +
		"Jun 23 13:41:16 web1 Keepalived_vrrp[3021]: VRRP_Instance(VI_1) setting protocol VIPs.\n" +
		"Jun 23 13:41:16 web1 Keepalived_vrrp[3021]: VRRP_Instance(VI_1) Sending gratuitous ARPs on eth0 for 1.2.3.4\n" +
		"Jun 23 13:41:16 web1 Keepalived_vrrp[3021]: VRRP_Instance(VI_1) Sending gratuitous ARPs on eth0 for 5.6.7.8\n" +
		"Jun 23 13:41:21 web1 Keepalived_vrrp[3021]: VRRP_Instance(VI_1) Sending gratuitous ARPs on eth0 for 1.2.3.4\n"
	h.Logs, _ = syslog.ParseLog(evidence.Doc{Host: "web1", Source: "messages", Start: 1, Text: text})
	topo := Resolve(c, Hints{})
	if h.Role != evidence.RoleDirector {
		t.Errorf("web1 is %s", h.Role)
	}
	if len(topo.Services) != 2 || topo.Services[0].VIP != netip.MustParseAddr("1.2.3.4") || topo.Services[1].VIP != netip.MustParseAddr("5.6.7.8") {
		t.Fatalf("services %v", topo.Services)
	}
	if r := topo.Services[0].Ref; r.Line != 3 || r.Source != "messages" {
		t.Errorf("1.2.3.4 cited as %+v", r)
	}
	if topo.Services[0].Mode != "" || topo.Services[0].Port != 0 {
		t.Errorf("port or mode made up: %+v", topo.Services[0])
	}
}

// Captured adverts name their VIPs; an IPVS table, when there is one,
// says which services there are, and the adverts add none.
func TestServicesFromVRRPAdverts(t *testing.T) {
	capture := "10:00:00.000001 IP 10.0.0.2 > 224.0.0.18: VRRPv2, Advertisement, vrid 51, prio 100, authtype none, intvl 1s, length 20, addrs: 10.0.0.100\n"
	c := &evidence.Case{}
	h := c.Host("lb1")
	h.Frames, _ = tcpdump.Parse(evidence.Doc{Host: "lb1", Source: "cap.txt", Start: 1, Text: capture})
	topo := Resolve(c, Hints{})
	if len(topo.Services) != 1 || topo.Services[0].VIP != netip.MustParseAddr("10.0.0.100") || topo.Services[0].Ref.Source != "cap.txt" {
		t.Fatalf("services %v", topo.Services)
	}

	c = &evidence.Case{}
	h = c.Host("lb1")
	h.Frames, _ = tcpdump.Parse(evidence.Doc{Host: "lb1", Source: "cap.txt", Start: 1, Text: capture})
	h.IPVS = &evidence.IPVS{Services: []*evidence.VirtualService{{Proto: "TCP", Addr: netip.MustParseAddr("10.0.0.100"), Port: 80}}}
	topo = Resolve(c, Hints{})
	if len(topo.Services) != 1 || topo.Services[0].Port != 80 {
		t.Fatalf("with a table: services %v", topo.Services)
	}
}

// Docker swarm's load-balancer namespace is a NAT director; another host
// with the same sysctls is not.
func TestSwarmLBNamespace(t *testing.T) {
	c := &evidence.Case{}
	lb := c.Host("lb_nlw0vbakt")
	ref := evidence.Ref{Host: lb.Name, Source: "paste.txt", Line: 2, Text: "nsenter --net=/var/run/docker/netns/lb_nlw0vbakt cat /proc/sys/net/ipv4/ip_forward"}
	lb.SwarmLB = &ref
	other := c.Host("test")
	topo := Resolve(c, Hints{})
	if lb.Role != evidence.RoleDirector || other.Role != evidence.RoleUnknown {
		t.Errorf("roles %s %s", lb.Role, other.Role)
	}
	if len(topo.Services) != 1 || topo.Services[0].Mode != "nat" || topo.Services[0].ModeRef != ref || topo.Services[0].VIP.IsValid() {
		t.Fatalf("services %+v", topo.Services)
	}
}
