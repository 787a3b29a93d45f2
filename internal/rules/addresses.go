package rules

import (
	"net/netip"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

// arpSilentIface reports whether iface is one a DR/TUN real server may
// hold the VIP on without answering ARP for it on the wire (lo, tunl,
// dummy, kube-ipvs).
func arpSilentIface(iface string) bool {
	return iface == "lo" || strings.HasPrefix(iface, "lo:") || strings.HasPrefix(iface, "tunl") ||
		strings.HasPrefix(iface, "dummy") || strings.HasPrefix(iface, "kube-ipvs")
}

// holdsVIP reports whether d holds vip on a real interface (as the VRRP
// master does), not on lo as a real server would.
func holdsVIP(d *evidence.Host, vip netip.Addr) bool {
	for _, a := range d.AddrsOf(vip) {
		if !arpSilentIface(a.Iface) && !arpSilentIface(a.Label) {
			return true
		}
	}
	return false
}

// vipHolders are the directors that hold s's VIP on a real interface.
func vipHolders(p *Pass, s *topology.Service) []*evidence.Host {
	var out []*evidence.Host
	for _, d := range p.Directors() {
		for _, a := range d.AddrsOf(s.VIP) {
			if a.Iface != "lo" {
				out = append(out, d)
				break
			}
		}
	}
	return out
}

// macOwner returns the case host one of whose interfaces has mac.
func macOwner(p *Pass, mac string) *evidence.Host {
	mac = strings.ToLower(mac)
	for _, h := range p.Case.Hosts {
		if hostMACs(h)[mac] {
			return h
		}
	}
	return nil
}

// hostMACs lists the MAC addresses of a host's interfaces.
func hostMACs(h *evidence.Host) map[string]bool {
	m := map[string]bool{}
	for _, l := range h.Links {
		if l.MAC != "" && l.MAC != "00:00:00:00:00:00" {
			m[strings.ToLower(l.MAC)] = true
		}
	}
	return m
}

// directorIP is the director's first global address that is not a VIP.
func directorIP(h *evidence.Host) netip.Addr {
	for _, a := range h.Addrs {
		if a.Iface != "lo" && a.Prefix.Addr().Is4() && a.Prefix.Bits() < 32 && !a.Secondary {
			return a.Prefix.Addr()
		}
	}
	return netip.Addr{}
}

// addrRefsOn cites h's addresses on iface, else the interface itself.
func addrRefsOn(h *evidence.Host, iface string) []evidence.Ref {
	var out []evidence.Ref
	for _, a := range h.Addrs {
		if a.Iface == iface {
			out = append(out, a.Ref)
		}
	}
	if l, ok := h.Link(iface); ok && len(out) == 0 {
		out = append(out, l.Ref)
	}
	return out
}

// containerIface reports whether iface is a bridge or veth the host runs
// for its containers or VMs (docker0, virbr0, cni0, veth...): its
// addresses are no evidence about the service.
func containerIface(iface string) bool {
	for _, p := range []string{"docker", "veth", "virbr", "br-", "cni", "flannel", "cali", "podman", "kube-bridge"} {
		if strings.HasPrefix(iface, p) {
			return true
		}
	}
	return false
}

// addrBlock cites h's addresses of one family, as `ip addr` shows them:
// first those of the interface where an address should be (one that is
// not the loopback's own first: another cluster's VIP on lo:0 tells most),
// its own line when it has none, then the other interfaces' (not the
// containers' bridges). For an absence ("the VIP is not on lo") the lines
// that show what is there decide.
func addrBlock(h *evidence.Host, first string, v4 bool) []evidence.Ref {
	var out, loop []evidence.Ref
	for _, a := range h.Addrs {
		if a.Iface == first && a.Prefix.Addr().Is4() == v4 {
			if a.Prefix.Addr().IsLoopback() {
				loop = append(loop, a.Ref)
			} else {
				out = append(out, a.Ref)
			}
		}
	}
	out = append(out, loop...)
	if l, ok := h.Link(first); ok && !l.Ref.IsZero() && len(out) == 0 {
		out = append(out, l.Ref)
	}
	for _, a := range h.Addrs {
		if a.Iface != first && a.Prefix.Addr().Is4() == v4 && !containerIface(a.Iface) && !a.Prefix.Addr().IsLinkLocalUnicast() {
			out = append(out, a.Ref)
		}
	}
	return out
}
