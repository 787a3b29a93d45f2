package rules

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

// spoofFilter is an anti-IP-spoofing filter on one VM port of a
// hypervisor: frames leaving the VM are dropped unless their source IP is
// one of allowed.
type spoofFilter struct {
	hyper   *evidence.Host
	port    string // vnet0
	domain  string
	filter  string // the filter the interface references
	mac     string
	allowed []netip.Addr
	refs    []evidence.Ref
}

// libvirt's stock filters that include no-ip-spoofing.
var spoofingFilters = map[string]bool{"no-ip-spoofing": true, "clean-traffic": true, "clean-traffic-gateway": true}

func includesIPSpoofing(h *evidence.Host, name string, depth int) (bool, []evidence.Ref) {
	if depth > 8 {
		return false, nil
	}
	for _, f := range h.Libvirt.Filters {
		if f.Name != name {
			continue
		}
		if name == "no-ip-spoofing" {
			var refs []evidence.Ref
			for _, r := range f.Rules {
				if strings.EqualFold(r.Action, "drop") || strings.Contains(r.Attrs["srcipaddr"], "$IP") {
					refs = append(refs, r.Ref)
				}
			}
			return true, append([]evidence.Ref{f.Ref}, refs...)
		}
		for _, sub := range f.FilterRefs {
			if ok, refs := includesIPSpoofing(h, sub, depth+1); ok {
				return true, append([]evidence.Ref{f.Ref}, refs...)
			}
		}
		return false, nil
	}
	// Not dumped: libvirt's stock filters are known.
	return spoofingFilters[name], nil
}

var ebIPChain = regexp.MustCompile(`^(?:I|O)-(.+)-ipv4-ip$`)

func spoofFilters(h *evidence.Host) []spoofFilter {
	var out []spoofFilter
	byPort := map[string]int{}
	for _, itf := range h.Libvirt.Interfaces {
		if itf.FilterRef == "" {
			continue
		}
		ok, refs := includesIPSpoofing(h, itf.FilterRef, 0)
		if !ok {
			continue
		}
		sf := spoofFilter{hyper: h, port: itf.Target, domain: itf.Domain, filter: itf.FilterRef, mac: strings.ToLower(itf.MAC),
			refs: append([]evidence.Ref{itf.Ref}, refs...)}
		for k, v := range itf.FilterParams {
			if strings.EqualFold(k, "IP") {
				if a, err := netip.ParseAddr(v); err == nil {
					sf.allowed = append(sf.allowed, a)
				}
			}
		}
		byPort[sf.port] = len(out)
		out = append(out, sf)
	}
	// The ebtables chains libvirt installs say the same without the XML:
	// I-vnet0-ipv4-ip: "-p IPv4 --ip-src 192.0.2.2 -j RETURN" then "-j DROP".
	for _, r := range h.Firewall.Rules {
		if r.Tool != "ebtables" {
			continue
		}
		m := ebIPChain.FindStringSubmatch(r.Chain)
		if m == nil {
			continue
		}
		port := m[1]
		i, ok := byPort[port]
		if !ok {
			byPort[port] = len(out)
			out = append(out, spoofFilter{hyper: h, port: port})
			i = len(out) - 1
		}
		sf := &out[i]
		switch strings.ToUpper(r.Verdict) {
		case "RETURN", "ACCEPT":
			if len(r.Src.Prefixes) == 1 && !r.Src.Negate && r.Src.Prefixes[0].Bits() == 32 {
				a := r.Src.Prefixes[0].Addr()
				if !a.IsUnspecified() {
					sf.allowed = appendAddr(sf.allowed, a)
					sf.refs = append(sf.refs, r.Ref)
				}
			}
		case "DROP":
			// The DROP is what bites: cite it before the allowed address.
			sf.refs = append([]evidence.Ref{r.Ref}, sf.refs...)
		}
	}
	// An ebtables chain without a DROP is no filter.
	var keep []spoofFilter
	for _, sf := range out {
		if len(sf.allowed) > 0 || sf.domain != "" {
			keep = append(keep, sf)
		}
	}
	return keep
}

func appendAddr(s []netip.Addr, a netip.Addr) []netip.Addr {
	for _, x := range s {
		if x == a {
			return s
		}
	}
	return append(s, a)
}

// vmOf finds the case host behind a filtered port: by MAC, else by the
// address the filter allows.
func vmOf(p *Pass, sf spoofFilter) *evidence.Host {
	for _, h := range p.Case.Hosts {
		if h == sf.hyper {
			continue
		}
		if sf.mac != "" && hostMACs(h)[sf.mac] {
			return h
		}
		if sf.domain != "" && strings.EqualFold(sf.domain, h.Name) {
			return h
		}
	}
	// Without the VM's `ip link`, the source MAC of the frames a director
	// forwarded is its own.
	if sf.mac != "" {
		for _, s := range p.Services() {
			for _, d := range p.Directors() {
				for _, f := range viewDirector(d, s).out {
					if strings.EqualFold(f.SrcMAC, sf.mac) {
						return d
					}
				}
			}
		}
	}
	for _, a := range sf.allowed {
		if h := p.Topo.HostOwning(a); h != nil && h != sf.hyper {
			return h
		}
	}
	return nil
}

var nwfilterRule = &Rule{
	ID:   "hypervisor.nwfilter-no-ip-spoofing",
	Doc:  "A libvirt clean-traffic/no-ip-spoofing filter on a director (or DR/TUN real server) VM's port drops the frames LVS sends with a source IP that is not the VM's own.",
	Rank: 10,
	Needs: []Need{
		{Role: evidence.RoleHypervisor, Kind: evidence.KindLibvirt, Command: "virsh dumpxml <director VM>"},
	},
	Explains: []string{"trace.lost-in-transit", "trace.rs-not-replying", "trace.reply-lost", "net.vpc-antispoof"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			for _, hv := range p.Topo.Hypervisors() {
				for _, sf := range spoofFilters(hv) {
					vm := vmOf(p, sf)
					if vm == nil {
						continue
					}
					reportSpoofFilter(p, s, sf, vm)
				}
			}
		}
	},
}

func reportSpoofFilter(p *Pass, s *topology.Service, sf spoofFilter, vm *evidence.Host) {
	var sends string
	switch {
	case vm.Role == evidence.RoleDirector && (s.Mode == "dr" || s.Mode == "nat" || s.Mode == ""):
		sends = "forwards the client's packets with the client's source IP"
		if s.Mode == "nat" {
			sends = "forwards the client's packets with the client's source IP and answers with the VIP as source"
		}
	case vm.Role == evidence.RoleRealServer && (s.Mode == "dr" || s.Mode == "tun"):
		sends = "answers clients with the VIP as source IP"
	default:
		return
	}
	allowed := make([]string, len(sf.allowed))
	for i, a := range sf.allowed {
		allowed[i] = a.String()
	}
	ev := append([]evidence.Ref(nil), sf.refs...)
	if loss := lostInTransit(p, s); len(loss) > 0 {
		ev = append(ev, loss[0].frame.Ref)
		if loss[0].alive != nil {
			ev = append(ev, loss[0].alive.Ref)
		}
	}
	where := sf.port
	if sf.domain != "" {
		where = fmt.Sprintf("%s (domain %s)", sf.port, sf.domain)
	}
	filter := orName(sf.filter, "no-ip-spoofing")
	p.Report(diagnosis.Finding{
		Severity: diagnosis.Critical,
		Host:     sf.hyper.Name,
		Title:    fmt.Sprintf("libvirt anti-spoofing filter on %s drops %s's LVS traffic", where, vm.Name),
		Explanation: fmt.Sprintf("%s %s (%s mode), but the hypervisor's nwfilter on its port only lets out frames whose "+
			"source IP is %s. The ebtables rules libvirt installs silently drop everything else, so the packets "+
			"leave the VM and vanish on the host bridge.", vm.Name, sends, strings.ToUpper(orUnknown(s.Mode)), strings.Join(allowed, ", ")),
		Evidence: ev,
		Fix: []string{
			fmt.Sprintf("virsh edit %s   # remove the <filterref filter='%s'> element from the interface", orName(sf.domain, vm.Name), filter),
			"restart the VM (or detach/attach the interface) so libvirt removes the ebtables chains",
			"or keep the filter and switch the service to TUN (the outer source is the director's own IP)",
		},
	})
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func orName(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
