package rules

import (
	"net/netip"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// TestServiceVirtuals: which virtual services of a node's table are a
// Kubernetes Service's. With its clusterIP: that address and port, and
// its nodePort. Without (the manifest as applied, kube-router#715): only
// a service mixing real servers at the targetPort and another port; a
// service of another Service on the same port, all at its own targetPort,
// is not this one's.
func TestServiceVirtuals(t *testing.T) {
	vs := func(addr string, port uint16, dests ...string) *evidence.VirtualService {
		v := &evidence.VirtualService{Proto: "TCP", Addr: netip.MustParseAddr(addr), Port: port}
		for _, d := range dests {
			ap := netip.MustParseAddrPort(d)
			v.Dests = append(v.Dests, &evidence.RealServer{Addr: ap.Addr(), Port: ap.Port(), Method: evidence.MethodMasq})
		}
		return v
	}
	other := vs("10.96.5.5", 80, "10.244.3.3:80")
	stale := vs("10.108.87.50", 80, "10.11.4.76:8080", "10.11.4.76:80")
	node := vs("192.0.2.11", 30080, "10.244.1.14:8080", "10.244.1.14:9000")
	cluster := vs("10.104.12.7", 80, "10.244.1.14:8080")
	d := &evidence.Host{Name: "node1", IPVS: &evidence.IPVS{Services: []*evidence.VirtualService{other, stale, node, cluster}}}
	keys := func(l []*evidence.VirtualService) string {
		s := ""
		for _, v := range l {
			s += v.Key() + ";"
		}
		return s
	}
	noAddr := &evidence.DeclaredService{Controller: "kubernetes", Proto: "TCP", Port: 80, TargetPort: "80"}
	if got := keys(serviceVirtuals(d, noAddr, 80)); got != "TCP 10.108.87.50:80;" {
		t.Errorf("without clusterIP: %s", got)
	}
	withAddr := &evidence.DeclaredService{Controller: "kubernetes", Proto: "TCP", Addr: netip.MustParseAddr("10.104.12.7"), Port: 80, TargetPort: "8080", NodePort: 30080}
	if got := keys(serviceVirtuals(d, withAddr, 8080)); got != "TCP 192.0.2.11:30080;TCP 10.104.12.7:80;" {
		t.Errorf("with clusterIP and nodePort: %s", got)
	}
}
