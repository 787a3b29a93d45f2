package topology

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// scanOwning is HostOwning as a scan of every host's addresses: what the
// index must answer.
func scanOwning(c *evidence.Case, a netip.Addr) *evidence.Host {
	for _, h := range c.Hosts {
		for _, x := range h.AddrsOf(a) {
			if x.Iface != "lo" || a.IsLoopback() {
				return h
			}
		}
	}
	return nil
}

// scanRIP is which RIP of s host h is, scanning every RIP.
func scanRIP(s *Service, h *evidence.Host) (netip.Addr, bool) {
	for _, rip := range s.RIPs {
		for _, a := range h.AddrsOf(rip) {
			if a.Iface != "lo" {
				return rip, true
			}
		}
	}
	return netip.Addr{}, false
}

func addr(h *evidence.Host, iface, prefix string) {
	h.Addrs = append(h.Addrs, evidence.Addr{Iface: iface, Prefix: netip.MustParsePrefix(prefix)})
}

// lookalikeCase has the addresses that make the answers differ: a VIP on
// every real server's lo, an address on two hosts, loopbacks, a host with
// two RIPs, one with a RIP only on lo, RIPs listed out of host order.
func lookalikeCase() *evidence.Case {
	c := &evidence.Case{}
	ds := c.Host("ds1")
	ds.IPVS = &evidence.IPVS{Services: []*evidence.VirtualService{{Proto: "TCP", Addr: netip.MustParseAddr("192.0.2.100"), Port: 80}}}
	addr(ds, "eth0", "10.0.0.2/24")
	addr(ds, "eth0", "192.0.2.100/32")
	addr(ds, "lo", "127.0.0.1/8")
	for i := 1; i <= 6; i++ {
		rs := c.Host(fmt.Sprintf("rs%d", i))
		addr(rs, "lo", "127.0.0.1/8")
		addr(rs, "lo", "192.0.2.100/32")
		addr(rs, "eth0", fmt.Sprintf("10.0.0.%d/24", 10+i))
	}
	addr(c.Lookup("rs2"), "eth1", "10.0.0.13/24") // rs3's RIP on rs2 as well
	addr(c.Lookup("rs4"), "eth0", "10.0.0.21/24") // a second RIP, listed first
	addr(c.Lookup("rs5"), "lo", "10.0.0.22/32")   // a RIP only on lo
	addr(c.Lookup("rs6"), "eth0", "10.0.0.2/24")  // the director's address again
	addr(c.Lookup("rs6"), "eth0", "fe80::1/64")   // IPv6
	var dests []*evidence.RealServer
	for _, a := range []string{"10.0.0.21", "10.0.0.13", "10.0.0.11", "10.0.0.12", "10.0.0.14", "10.0.0.15", "10.0.0.16", "10.0.0.22", "10.0.0.99"} {
		dests = append(dests, &evidence.RealServer{Addr: netip.MustParseAddr(a), Port: 80, Method: evidence.MethodRoute})
	}
	ds.IPVS.Services[0].Dests = dests
	return c
}

func TestHostOwningIndexMatchesScan(t *testing.T) {
	c := lookalikeCase()
	topo := Resolve(c, Hints{})
	var probes []netip.Addr
	for _, h := range c.Hosts {
		for _, a := range h.Addrs {
			probes = append(probes, a.Prefix.Addr())
		}
	}
	probes = append(probes, netip.MustParseAddr("10.0.0.99"), netip.MustParseAddr("fe80::1"), netip.Addr{})
	for _, a := range probes {
		if got, want := topo.HostOwning(a), scanOwning(c, a); got != want {
			t.Errorf("HostOwning(%v) = %v, scan says %v", a, got, want)
		}
	}
	// A host added after Resolve: the index no longer covers the case.
	late := c.Host("late")
	addr(late, "eth0", "10.9.9.9/24")
	if topo.HostOwning(netip.MustParseAddr("10.9.9.9")) != late {
		t.Errorf("host added after Resolve not found")
	}
}

func TestOwnRIPMatchesScan(t *testing.T) {
	c := lookalikeCase()
	topo := Resolve(c, Hints{})
	if len(topo.Services) != 1 {
		t.Fatalf("services %v", topo.Services)
	}
	s := topo.Services[0]
	built := &Service{RIPs: s.RIPs} // by hand: no index
	for _, h := range c.Hosts {
		want, wok := scanRIP(s, h)
		for _, sv := range []*Service{s, built} {
			if got, ok := sv.OwnRIP(h); got != want || ok != wok {
				t.Errorf("OwnRIP(%s) = %v %v, scan says %v %v", h.Name, got, ok, want, wok)
			}
		}
	}
	if rip, _ := s.OwnRIP(c.Lookup("rs4")); rip != netip.MustParseAddr("10.0.0.21") {
		t.Errorf("rs4: %v, want the RIP listed first", rip)
	}
}

// BenchmarkHostOwning: asking for every RIP costs the same per RIP with
// 100 or 2,000 real servers.
func BenchmarkHostOwning(b *testing.B) {
	for _, n := range []int{100, 2000} {
		b.Run(fmt.Sprintf("rs=%d", n), func(b *testing.B) {
			c := &evidence.Case{}
			ds := c.Host("ds1")
			vs := &evidence.VirtualService{Proto: "TCP", Addr: netip.MustParseAddr("192.0.2.100"), Port: 80}
			ds.IPVS = &evidence.IPVS{Services: []*evidence.VirtualService{vs}}
			for i := range n {
				rip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
				rs := c.Host(fmt.Sprintf("rs%d", i))
				addr(rs, "lo", "192.0.2.100/32")
				rs.Addrs = append(rs.Addrs, evidence.Addr{Iface: "eth0", Prefix: netip.PrefixFrom(rip, 8)})
				vs.Dests = append(vs.Dests, &evidence.RealServer{Addr: rip, Port: 80, Method: evidence.MethodRoute})
			}
			topo := Resolve(c, Hints{})
			s := topo.Services[0]
			b.ResetTimer()
			for b.Loop() {
				for _, rip := range s.RIPs {
					h := topo.HostOwning(rip)
					if _, ok := s.OwnRIP(h); !ok {
						b.Fatal("no RIP")
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/rip")
		})
	}
}

// TestDirectorFromVRRPLogOrConnections: a host whose only evidence is a
// keepalived VRRP log, or an IPVS connection table, is a director; a host
// with an empty IPVS table (a real server that has ipvsadm) is not.
func TestDirectorFromVRRPLogOrConnections(t *testing.T) {
	c := &evidence.Case{}
	c.Host("lb").Logs = []evidence.LogEvent{{Kind: evidence.LogVRRPInstance, Subject: "DMZ"}}
	c.Host("web1").Logs = []evidence.LogEvent{{Kind: evidence.LogVRRPMaster, Subject: "VI_1"}}
	c.Host("node01").IPVS = &evidence.IPVS{TotalConns: 1, Conns: []*evidence.ConnGroup{{Proto: "TCP", Count: 1}}}
	c.Host("rs1").IPVS = &evidence.IPVS{}
	tp := Resolve(c, Hints{})
	for name, want := range map[string]evidence.Role{"lb": evidence.RoleDirector, "web1": evidence.RoleDirector,
		"node01": evidence.RoleDirector, "rs1": evidence.RoleUnknown} {
		if got := c.Lookup(name).Role; got != want {
			t.Errorf("%s: role %q, want %q (%s)", name, got, want, tp.RoleInferred[name])
		}
	}
}

// TestKubeProxyStatsOnlyIsNAT: a --stats listing has no Forward column,
// but a node whose kube-proxy runs in IPVS mode forwards every service by
// masquerading: the mode is NAT, cited by kube-proxy's line.
func TestKubeProxyStatsOnlyIsNAT(t *testing.T) {
	c := &evidence.Case{}
	n := c.Host("node1")
	vs := &evidence.VirtualService{Proto: "TCP", Addr: netip.MustParseAddr("192.0.2.2"), Port: 30080,
		Stats: &evidence.Stats{InPkts: 2},
		Dests: []*evidence.RealServer{{Addr: netip.MustParseAddr("10.244.1.14"), Port: 8080, Stats: &evidence.Stats{InPkts: 2}}},
		Ref:   evidence.Ref{Host: "node1", Source: "x", Line: 3}}
	n.IPVS = &evidence.IPVS{Services: []*evidence.VirtualService{vs}}
	ref := evidence.Ref{Host: "node1", Source: "kube-proxy.log", Line: 1, Text: "I1121 06:47:12.381920 2201 server_others.go:259] Using ipvs Proxier."}
	n.Logs = []evidence.LogEvent{{Kind: evidence.LogKubeProxy, Detail: "Using ipvs Proxier.", Ref: ref}}
	tp := Resolve(c, Hints{})
	if len(tp.Services) != 1 || tp.Services[0].Mode != "nat" || tp.Services[0].ModeRef != ref {
		t.Fatalf("services %+v", tp.Services)
	}
	n.Logs = nil
	n.Role = evidence.RoleUnknown
	if tp := Resolve(c, Hints{}); tp.Services[0].Mode != "" {
		t.Errorf("without kube-proxy the mode of a --stats listing is unknown, got %q", tp.Services[0].Mode)
	}
}

// TestDeclaredServiceMakesDirector: lvscare's --vs/--rs options make their
// host a director of that service, whose real servers they name.
func TestDeclaredServiceMakesDirector(t *testing.T) {
	c := &evidence.Case{}
	n := c.Host("master01")
	n.Declared = []evidence.DeclaredService{{Controller: "lvscare", Proto: "TCP", Addr: netip.MustParseAddr("192.0.2.30"), Port: 16443,
		RealServers: []netip.AddrPort{netip.MustParseAddrPort("192.0.2.31:6443"), netip.MustParseAddrPort("192.0.2.32:6443")},
		Ref:         evidence.Ref{Host: "master01", Source: "x", Line: 3}}}
	tp := Resolve(c, Hints{})
	if n.Role != evidence.RoleDirector || len(tp.Services) != 1 {
		t.Fatalf("role %q, services %+v", n.Role, tp.Services)
	}
	s := tp.Services[0]
	if s.String() != "tcp 192.0.2.30:16443" || len(s.RIPs) != 2 || s.Ref.Line != 3 {
		t.Errorf("service %s RIPs %v ref %+v", s, s.RIPs, s.Ref)
	}
}
