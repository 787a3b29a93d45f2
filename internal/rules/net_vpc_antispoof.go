package rules

import (
	"fmt"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/platform"
)

var netVPCAntispoof = &Rule{
	ID:    "net.vpc-antispoof",
	Modes: []string{"dr"},
	Doc: "DR on a cloud network: the director's forwarded frames carry the client's source IP (and real servers " +
		"answer from the VIP), which the cloud's anti-spoofing drops between the VMs.",
	Rank: 15,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindDMI, Command: "dmidecode -s system-manufacturer; dmidecode -s system-product-name"},
		{Role: evidence.RoleRealServer, Kind: evidence.KindFrames, Command: Capture, When: WhileRetrying},
	},
	Explains: []string{"trace.lost-in-transit", "trace.reply-lost"},
	Run: func(p *Pass) {
		hasLibvirtFilter := false
		for _, hv := range p.Topo.Hypervisors() {
			if len(spoofFilters(hv)) > 0 {
				hasLibvirtFilter = true
			}
		}
		if hasLibvirtFilter {
			return // hypervisor.nwfilter-no-ip-spoofing names the filter itself
		}
		for _, s := range p.Services() {
			if s.Mode != "dr" {
				continue
			}
			var cloud string
			var cloudRef evidence.Ref
			for _, h := range p.Case.Hosts {
				if name, ref, ok := cloudOf(h); ok {
					cloud, cloudRef = name, ref
					break
				}
			}
			losses := lostInTransit(p, s)
			var rsLoss *transitLoss
			for i := range losses {
				if losses[i].point.Role == evidence.RoleRealServer {
					rsLoss = &losses[i]
					break
				}
			}
			switch {
			case rsLoss != nil && cloud != "":
				ev := []evidence.Ref{rsLoss.frame.Ref}
				if rsLoss.alive != nil {
					ev = append(ev, rsLoss.alive.Ref)
				}
				ev = append(ev, cloudRef)
				p.Report(diagnosis.Finding{
					Severity: diagnosis.Critical,
					Host:     rsLoss.director.Name,
					Title:    fmt.Sprintf("%s's network drops the DR frames %s forwards (source IP is the client's, not the VM's)", cloud, rsLoss.director.Name),
					Explanation: fmt.Sprintf("%s rewrote the MACs and sent the packet (%s) to %s, whose capture was running and saw "+
						"other traffic from the director (ARP, ping), yet never this packet. In DR mode the frame leaves the director "+
						"with the client's source IP and the VIP as destination; %s's virtual network only lets a port send its own "+
						"addresses, so it drops the frame between the VMs. Ping and ARP work because they use the VMs' own addresses.",
						rsLoss.director.Name, rsLoss.key, rsLoss.point.Name, cloud),
					Evidence: ev,
					Fix: []string{
						"allow the VIP and client sources on the ports: allowed-address-pairs (OpenStack/Huawei), disable source/dest check (AWS), or the provider's equivalent",
						"or switch to TUN (ipvsadm -e ... -i; the outer source is the director's own IP) or FNAT",
					},
				})
			case cloud != "" && rsLoss == nil && !anyRSCapture(p):
				var ev []evidence.Ref
				ev = append(ev, cloudRef)
				for _, d := range p.Directors() {
					if vs := s.IPVS[d.Name]; vs != nil && len(vs.Dests) > 0 {
						ev = append(ev, vs.Dests[0].Ref)
						break
					}
				}
				p.Report(diagnosis.Finding{
					Severity: diagnosis.Warning,
					Host:     cloudRef.Host,
					Title:    fmt.Sprintf("DR mode on %s: the cloud network usually drops DR frames", cloud),
					Explanation: "In DR mode the director sends frames with the client's source IP and real servers answer from the " +
						"VIP; cloud networks drop frames whose source is not the port's own address unless told otherwise. " +
						"Captures on the director and a real server would confirm it.",
					Evidence: ev,
					Fix: []string{
						"allow the addresses on the ports (allowed-address-pairs / source-dest check off), or use TUN/FNAT",
						"confirm: tcpdump -e -n on the director and on a real server while the client retries",
					},
				})
			}
		}
	},
}

// cloudOf names the cloud a host runs on, from its DMI strings: clouds
// and OpenStack drop frames whose source IP is not the sending port's own
// (port security, source/dest check, VTEP anti-spoofing).
func cloudOf(h *evidence.Host) (string, evidence.Ref, bool) {
	name, isCloud := platform.CloudVendor(h.Platform)
	if !isCloud {
		return "", evidence.Ref{}, false
	}
	return name, h.Platform.Ref, true
}

func anyRSCapture(p *Pass) bool {
	for _, h := range p.RealServers() {
		if h.Has(evidence.KindFrames) && len(h.Frames) > 0 {
			return true
		}
	}
	return false
}
