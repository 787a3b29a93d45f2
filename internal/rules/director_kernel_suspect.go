package rules

import (
	"fmt"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/fwsim"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

var directorKernelSuspect = &Rule{
	ID: "director.kernel-suspect",
	Doc: "The director receives the client's packets, its IPVS service, VIP and firewall are right, it forwards " +
		"nothing, and its running kernel is not the distribution's (or a working peer's).",
	Rank: 30,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindUname, Command: "uname -a"},
		{Role: evidence.RoleDirector, Kind: evidence.KindKernels, Command: PlaceKernels},
		{Role: evidence.RoleDirector, Kind: evidence.KindFrames, Command: Capture, When: WhileRetrying},
	},
	Explains: []string{"trace.director-not-forwarding", "trace.rs-not-replying"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			for _, d := range p.ActiveDirectors(s) {
				v := viewDirector(d, s)
				if len(v.in) == 0 || len(v.out) > 0 || !configLooksRight(d, s) {
					continue
				}
				why, refs := kernelAnomaly(p, d)
				if why == "" {
					p.Notef("%s receives packets for %s and forwards none although its configuration looks right; "+
						"compare `uname -r` with a working director and with the distribution's kernel (`rpm -q kernel`, `grubby --info=ALL`)", d.Name, s)
					continue
				}
				ev := append(refs, firstRefs(v.in, 2)...)
				ev = append(ev, s.IPVS[d.Name].Ref)
				p.Report(diagnosis.Finding{
					Severity: diagnosis.Critical,
					Host:     d.Name,
					Title:    fmt.Sprintf("%s runs a non-standard kernel and IPVS forwards nothing", d.Name),
					Explanation: fmt.Sprintf("Client packets for %s reach %s, its IPVS service has usable real servers, the VIP is local "+
						"and no firewall rule drops the traffic, yet no packet is forwarded. %s. Kernels built outside the "+
						"distribution's process have broken IPVS before (wrong config options, mismatched modules).", s, d.Name, upperFirst(why)),
					Evidence: ev,
					Fix: []string{
						"boot the distribution's kernel: grubby --set-default /boot/vmlinuz-<distribution kernel> && reboot",
						"then retest through the VIP; compare `uname -r` with a working director",
					},
				})
			}
		}
	},
}

// kernelAnomaly says why the running kernel of d is not the one the
// distribution (or a working peer) runs, with the evidence.
func kernelAnomaly(p *Pass, d *evidence.Host) (string, []evidence.Ref) {
	k := d.Kernel
	if k.Release == "" {
		return "", nil
	}
	var pkgs, boots []evidence.InstalledKernel
	for _, ik := range k.Installed {
		if strings.Contains(ik.Path, "/boot/") || ik.Title != "" {
			boots = append(boots, ik)
		} else {
			pkgs = append(pkgs, ik)
		}
	}
	refs := []evidence.Ref{k.Ref}
	if len(pkgs) > 0 {
		found := false
		var names []string
		for _, ik := range pkgs {
			names = append(names, ik.Version)
			refs = append(refs, ik.Ref)
			if sameKernel(ik.Version, k.Release) {
				found = true
			}
		}
		if !found {
			return fmt.Sprintf("the running kernel %s was not installed by a distribution package (installed: %s): it was built or copied by hand",
				k.Release, strings.Join(names, ", ")), refs
		}
	}
	refs = []evidence.Ref{k.Ref}
	for _, ik := range boots {
		if ik.Default && !sameKernel(ik.Version+ik.Path, k.Release) {
			return fmt.Sprintf("the running kernel %s is not the boot default (%s)", k.Release, orName(ik.Version, ik.Path)),
				append(refs, ik.Ref)
		}
	}
	for _, peer := range p.Directors() {
		if peer != d && peer.Kernel.Release != "" && peer.Kernel.Release != k.Release {
			return fmt.Sprintf("the running kernel %s differs from %s's %s", k.Release, peer.Name, peer.Kernel.Release),
				append(refs, peer.Kernel.Ref)
		}
	}
	return "", nil
}

// sameKernel compares a package or path naming a kernel with a release.
func sameKernel(name, release string) bool {
	return release != "" && strings.Contains(name, release)
}

// configLooksRight reports whether everything lvsdoctor can check on the
// director for s is in order: the service has usable real servers, the
// VIP is local and no firewall rule drops the traffic.
func configLooksRight(d *evidence.Host, s *topology.Service) bool {
	vs := s.IPVS[d.Name]
	if vs == nil {
		return false
	}
	usable := false
	for _, rs := range vs.Dests {
		if rs.Weight > 0 {
			usable = true
		}
	}
	if !usable {
		return false
	}
	if d.Has(evidence.KindAddrs) && !d.IsLocal(s.VIP) {
		return false
	}
	v := fwsim.Walk(&d.Firewall, evidence.Packet{Proto: s.Proto, Dst: s.VIP, DPort: s.Port, CtState: "NEW"}, "prerouting", "input")
	return !v.Dropped
}
