package rules

import (
	"fmt"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

var hypervisorNwfilterNoIPSpoofing = &Rule{
	ID:   "hypervisor.nwfilter-no-ip-spoofing",
	Doc:  "A libvirt clean-traffic/no-ip-spoofing filter on a director (or DR/TUN real server) VM's port drops the frames LVS sends with a source IP that is not the VM's own.",
	Rank: 10,
	Needs: []Need{
		{Role: evidence.RoleHypervisor, Kind: evidence.KindLibvirt, Command: PlaceDomainXML},
	},
	Explains: []string{"trace.lost-in-transit", "trace.rs-not-replying", "trace.reply-lost", "net.vpc-antispoof", "kernel.drop"},
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
	ev := sf.refs()
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
		Fix:      nwfilterFix(s, sf, vm, filter),
	})
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// nwfilterFix removes the filter from the VM's interface. The edit
// applies when the domain starts again, so the VM stops meanwhile: said.
func nwfilterFix(s *topology.Service, sf spoofFilter, vm *evidence.Host, filter string) []string {
	dom := orName(sf.domain, vm.Name)
	iface := sf.port
	if sf.mac != "" {
		iface = "mac " + sf.mac
	}
	stops := fmt.Sprintf("%s stops meanwhile: move the VIP to the backup director first", vm.Name)
	if vm.Role == evidence.RoleRealServer {
		stops = fmt.Sprintf("%s stops meanwhile: set its weight to 0 first (ipvsadm -e ... -w 0 on the director)", vm.Name)
	} else if s != nil && s.VIP.IsValid() && !holdsVIP(vm, s.VIP) {
		stops = fmt.Sprintf("%s stops meanwhile (it does not hold the VIP now)", vm.Name)
	}
	alt := "TUN (the outer source is the director's own address)"
	if vm.Role == evidence.RoleRealServer {
		alt = "FNAT (the real servers answer from their own address)"
	}
	return []string{
		fixCmd("virsh edit "+dom, "on %s: remove the <filterref filter='%s'> element from the interface (%s)", sf.hyper.Name, filter, iface),
		fixCmd(fmt.Sprintf("virsh shutdown %s && until virsh domstate %s | grep -q 'shut off'; do sleep 1; done && virsh start %s", dom, dom, dom),
			"the edit applies when the domain starts again; %s", stops),
		fixStep("or keep the filter and forward by %s", alt),
	}
}
