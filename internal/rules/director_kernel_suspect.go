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
					Fix:      kernelFix(p, s, d),
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
	for _, ik := range pkgs {
		if ik.Removed && sameKernel(ik.Version, k.Release) {
			return fmt.Sprintf("the package of the running kernel %s was removed (the package history): its modules went with it, "+
				"so what was not loaded before (IPVS schedulers, netfilter helpers) cannot be loaded", k.Release), append(refs, ik.Ref)
		}
	}
	if len(pkgs) > 0 {
		found, history := false, true
		var names []string
		for _, ik := range pkgs {
			if ik.Removed {
				continue
			}
			names = append(names, ik.Version)
			refs = append(refs, ik.Ref)
			history = history && ik.History
			if sameKernel(ik.Version, k.Release) {
				found = true
			}
		}
		switch {
		case found || len(names) == 0:
		case history:
			// A history may hold only some transactions: no proof.
			p.Notef("on %s, the package history given shows kernel packages %s installed but not the running %s: "+
				"`rpm -q kernel kernel-core` says whether a package installed it", d.Name, strings.Join(names, ", "), k.Release)
		default:
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
	if len(d.HiddenOf(evidence.KindFirewall)) > 0 {
		return false // a table the outputs do not show may drop it
	}
	v := fwsim.Walk(&d.Firewall, evidence.Packet{Proto: s.Proto, Dst: s.VIP, DPort: s.Port, CtState: "NEW"}, "prerouting", "input")
	return !v.Dropped
}

// kernelFix boots d into the distribution's kernel: the newest one a
// package installed, by its boot entry's path when grubby listed it. The
// reboot says what it disrupts.
func kernelFix(p *Pass, s *topology.Service, d *evidence.Host) []string {
	k := d.Kernel
	target, path := "", ""
	for _, ik := range k.Installed {
		if strings.Contains(ik.Path, "/boot/") || ik.Title != "" || sameKernel(ik.Version, k.Release) || ik.Version == "" || ik.Removed {
			continue
		}
		if target == "" || kernelNewer(ik.Version, target) {
			target = ik.Version
		}
	}
	if target == "" {
		// No package list: a working peer's kernel.
		for _, peer := range p.Directors() {
			if peer != d && peer.Kernel.Release != "" && peer.Kernel.Release != k.Release {
				target = peer.Kernel.Release
				break
			}
		}
	}
	if target != "" {
		path = "/boot/vmlinuz-" + strings.TrimPrefix(target, "kernel-")
		for _, ik := range k.Installed {
			if strings.Contains(ik.Path, "/boot/") && strings.Contains(ik.Path, strings.TrimPrefix(target, "kernel-")) {
				path = ik.Path
			}
		}
	}
	reboot := fixCmd("reboot", "%s carries no traffic meanwhile", d.Name)
	if s != nil && s.VIP.IsValid() && holdsVIP(d, s.VIP) {
		reboot = fixCmd("reboot", "%s holds the VIP: the reboot fails it over to the backup (if there is one); do it at a quiet time", d.Name)
	}
	var fix []string
	switch {
	case path != "" && distroFamily(d) != "deb":
		fix = append(fix, fixCmd("grubby --set-default "+path, "on %s: boot the distribution's kernel", d.Name))
	case distroFamily(d) == "deb":
		fix = append(fix, fixStep("on %s: make GRUB boot the distribution's kernel%s (its entries: grep -E 'menuentry|submenu' /boot/grub/grub.cfg; then grub-set-default and update-grub)", d.Name, orEmpty(" "+target, target)))
	default:
		fix = append(fix, fixCmd("rpm -q kernel; grubby --info=ALL | grep -E '^(index|kernel)'", "on %s: the distribution's kernels; boot one with grubby --set-default, then reboot", d.Name))
		return append(fix, reboot)
	}
	fix = append(fix, reboot)
	want := strings.TrimPrefix(target, "kernel-")
	if want == "" {
		return append(fix, fixCmd("uname -r", "after the reboot: compare with a working director's"))
	}
	return append(fix, fixCmd("uname -r", "after the reboot: must print %s; then retest through the VIP", want))
}

// orEmpty is s when cond is not empty, else "".
func orEmpty(s, cond string) string {
	if cond == "" {
		return ""
	}
	return s
}

// kernelNewer reports whether release a sorts after b, comparing the
// numbers in them one by one (5.10.0-60.18 before 5.10.0-60.139).
func kernelNewer(a, b string) bool {
	na, nb := numbersIn(a), numbersIn(b)
	for i := 0; i < len(na) && i < len(nb); i++ {
		if na[i] != nb[i] {
			return na[i] > nb[i]
		}
	}
	return len(na) > len(nb)
}

func numbersIn(s string) []int {
	var out []int
	n, in := 0, false
	for _, c := range s {
		if c >= '0' && c <= '9' {
			n, in = n*10+int(c-'0'), true
			continue
		}
		if in {
			out = append(out, n)
		}
		n, in = 0, false
	}
	if in {
		out = append(out, n)
	}
	return out
}
