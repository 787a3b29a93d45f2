package rules

import (
	"fmt"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
	"net/netip"
	"strings"

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
					Fix:      cloudFix(p, s, cloud, rsLoss.director),
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
					Fix: append([]string{
						fixCmd(fmt.Sprintf("tcpdump -e -n -i any host %s and port %d", s.VIP, s.Port), "first confirm it: on a director and a real server while the client retries; the forwarded frame leaves one and never reaches the other"),
					}, cloudFix(p, s, cloud, nil)...),
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

// cloudPort is a VM's port in the cloud network and what it must be
// allowed to send from.
type cloudPort struct {
	name  string
	ip    netip.Addr
	allow string
	why   string
}

// cloudFix lets the VMs send what DR makes them send, with the cloud's
// own CLI: the director's port the clients' addresses (it forwards their
// packets unchanged), the real servers' ports the VIP (they answer from
// it). Ports are found by the VMs' addresses, which the evidence holds.
func cloudFix(p *Pass, s *topology.Service, cloud string, d *evidence.Host) []string {
	var ports []cloudPort
	ds := p.ActiveDirectors(s)
	if d != nil {
		ds = []*evidence.Host{d}
	}
	for _, d := range ds {
		if ip := directorIP(d); ip.IsValid() {
			ports = append(ports, cloudPort{d.Name, ip, "0.0.0.0/0", "it forwards the clients' packets with their source address"})
		}
	}
	for _, rip := range s.RIPs {
		name := rip.String()
		if h := p.Topo.HostOwning(rip); h != nil {
			name = h.Name
		}
		ports = append(ports, cloudPort{name, rip, s.VIP.String() + "/32", "it answers the clients from the VIP"})
	}
	var fix []string
	switch {
	case strings.HasPrefix(cloud, "OpenStack") || strings.HasPrefix(cloud, "Huawei"):
		for _, pt := range ports {
			fix = append(fix, fixCmd(fmt.Sprintf("openstack port set --allowed-address ip-address=%s $(openstack port list --fixed-ip ip-address=%s -f value -c ID)", pt.allow, pt.ip),
				"%s's port: %s", pt.name, pt.why))
		}
	case strings.HasPrefix(cloud, "Amazon"):
		for _, pt := range ports {
			fix = append(fix, fixCmd(fmt.Sprintf("aws ec2 modify-network-interface-attribute --no-source-dest-check --network-interface-id $(aws ec2 describe-network-interfaces --filters Name=addresses.private-ip-address,Values=%s --query 'NetworkInterfaces[0].NetworkInterfaceId' --output text)", pt.ip),
				"%s's interface: %s", pt.name, pt.why))
		}
	case strings.HasPrefix(cloud, "Microsoft Azure"):
		for _, pt := range ports {
			fix = append(fix, fixCmd(fmt.Sprintf("az network nic update --ip-forwarding true --ids $(az network nic list --query \"[?ipConfigurations[0].privateIPAddress=='%s'].id\" -o tsv)", pt.ip),
				"%s's NIC: %s", pt.name, pt.why))
		}
	case strings.HasPrefix(cloud, "Google"):
		fix = append(fix, fixStep("Google Cloud: only an instance created with --can-ip-forward may send from other addresses (gcloud compute instances create ... --can-ip-forward): recreate %s and the real servers so", strings.Join(portNames(ports), ", ")))
	default:
		fix = append(fix, fixStep("%s: allow %s's port to send from any address and the real servers' ports from the VIP %s (the provider's anti-spoofing or source/destination check)", cloud, strings.Join(portNames(ports[:min(1, len(ports))]), ""), s.VIP))
	}
	return append(fix, fixStep("or forward by FNAT, whose packets carry the VMs' own addresses (TUN still needs the VIP allowed on the real servers' ports)"))
}

func portNames(ps []cloudPort) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.name)
	}
	return out
}
