package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var directorIPVSUnavailable = &Rule{
	ID: "director.ipvs-unavailable",
	Doc: "The director's kernel has no working IPVS: ipvsadm, /proc/net/ip_vs or keepalived say it cannot be " +
		"initialised, or the ip_vs module is not loaded on a director that should forward.",
	Rank:     2,
	Needs:    []Need{{Role: evidence.RoleDirector, Kind: evidence.KindIPVS, Command: "ipvsadm -Ln"}},
	Explains: []string{"trace.director-not-forwarding", "director.no-virtual-service", "director.no-available-realserver", "director.config-drift"},
	// kube-proxy's "modules are not loaded" on a host whose kernel shows
	// IPVS is kube-proxy.ipvs-builtin-undetected, not a kernel without it.
	Disputed: func(h *evidence.Host) bool { _, _, ok := ipvsPresent(h); return ok },
	Run: func(p *Pass) {
		hosts := ipvsHosts(p)
		for _, d := range hosts {
			checkIPVS(p, d)
		}
		noteIPVSNotLoaded(p, hosts)
	},
}

// ipvsModuleNotLoaded reports whether h's module list shows ip_vs not
// loaded: a whole lsmod without it, or `lsmod | grep ip_vs` printing
// nothing; with the line that shows it.
func ipvsModuleNotLoaded(h *evidence.Host) (bool, evidence.Ref) {
	if r, ok := h.Kernel.NotLoaded["ip_vs"]; ok {
		return true, r
	}
	if _, loaded := h.Kernel.Modules["ip_vs"]; !loaded && h.Has(evidence.KindModules) && h.Kernel.Modules != nil {
		return true, seenRef(h, evidence.KindModules)
	}
	return false, evidence.Ref{}
}

// noteIPVSNotLoaded says what a module list without ip_vs means on a host
// nothing shows to be a director (a paste of `lsmod | grep ip_vs` alone):
// IPVS is not loaded, which is the fault if the host should forward, and
// none if it should not or has IPVS built in. A finding would claim more
// than the evidence holds.
func noteIPVSNotLoaded(p *Pass, checked []*evidence.Host) {
	for _, h := range p.Case.Hosts {
		if slices.Contains(checked, h) || h.Role != evidence.RoleUnknown {
			continue
		}
		missing, ref := ipvsModuleNotLoaded(h)
		if _, _, present := ipvsPresent(h); !missing || present {
			continue
		}
		p.Notef("%s: the ip_vs module is not loaded on %s. If %s should forward IPVS services (a keepalived director, a kube-proxy "+
			"node in IPVS mode, a Docker swarm node's service VIPs), nothing is forwarded: `modprobe ip_vs`, and check that "+
			"`cat /proc/net/ip_vs` prints the table's header; a kernel with IPVS built in lists no module (`modinfo ip_vs` says "+
			"`filename: (builtin)`), and then this is no fault", ref, h.Name, h.Name)
	}
}

// ipvsHosts lists the directors, and hosts of unknown role on which
// someone ran ipvsadm and was told IPVS is missing (they meant a director).
func ipvsHosts(p *Pass) []*evidence.Host {
	var out []*evidence.Host
	for _, h := range p.Case.Hosts {
		switch h.Role {
		case evidence.RoleDirector:
			out = append(out, h)
		case evidence.RoleUnknown:
			for _, l := range h.Logs {
				if l.Kind == evidence.LogIPVSInitFailed {
					out = append(out, h)
					break
				}
			}
		}
	}
	return out
}

// meantToForward reports whether d is meant to forward: its keepalived.conf
// defines virtual servers, or a service under diagnosis names it.
func meantToForward(p *Pass, d *evidence.Host) (bool, evidence.Ref) {
	if kc := d.Keepalived; kc != nil && len(kc.VirtualServers) > 0 {
		return true, kc.VirtualServers[0].Ref
	}
	for _, s := range p.Services() {
		if kv := s.Config[d.Name]; kv != nil {
			return true, kv.Ref
		}
	}
	return false, evidence.Ref{}
}

func checkIPVS(p *Pass, d *evidence.Host) {
	var fails, loaded []evidence.LogEvent
	for _, l := range d.Logs {
		switch l.Kind {
		case evidence.LogIPVSInitFailed:
			fails = append(fails, l)
		case evidence.LogIPVSLoaded:
			loaded = append(loaded, l)
		}
	}
	hasServices := d.IPVS != nil && len(d.IPVS.Services) > 0
	tableShown := d.IPVS != nil && (hasServices || d.Has(evidence.KindIPVS) || d.Has(evidence.KindIPVSConns) ||
		d.Has(evidence.KindIPVSStats) || !d.IPVS.TableRef.IsZero())
	_, modLoaded := d.Kernel.Modules["ip_vs"]
	lsmodLacks, lsmodRef := ipvsModuleNotLoaded(d)
	configured, confRef := meantToForward(p, d)

	if len(fails) == 0 {
		if !lsmodLacks || !configured || tableShown || len(loaded) > 0 {
			return
		}
		ev := []evidence.Ref{lsmodRef, confRef}
		if d.Kernel.Release != "" {
			ev = append(ev, d.Kernel.Ref)
		}
		p.Report(diagnosis.Finding{
			Severity: diagnosis.Warning,
			Host:     d.Name,
			Title:    fmt.Sprintf("the ip_vs module is not loaded on %s, which keepalived should make a director", d.Name),
			Explanation: fmt.Sprintf("%s's keepalived.conf defines virtual servers, which live in the kernel's IPVS module (ip_vs), "+
				"but the module list shows no ip_vs. Unless this kernel has IPVS built in, there is no virtual service: "+
				"packets for the VIP are delivered to the director itself and nothing is forwarded.", d.Name),
			Evidence: ev,
			Fix: []string{
				fixCmd("cat /proc/net/ip_vs; modinfo ip_vs", "on %s: 'filename: (builtin)' means IPVS is built in and this is no fault", d.Name),
				fixCmd("modprobe ip_vs", "else load it"),
				keepalivedApply(p, firstService(p), d, "keepalived installs its virtual servers only when it starts"),
			},
		})
		return
	}
	if hasServices {
		p.Notef("%s: IPVS failed to initialise once (%s), but %s's IPVS table has services, so IPVS works now",
			d.Name, fails[0].Ref, d.Name)
		return
	}
	last := fails[len(fails)-1]
	recovered := tableShown || modLoaded
	for _, l := range loaded {
		if l.Ref.Source == last.Ref.Source && l.Ref.Line > last.Ref.Line {
			recovered = true
		}
	}
	var ev []evidence.Ref
	for i, f := range fails {
		if i == 3 {
			break
		}
		ev = append(ev, f.Ref)
	}
	blocked := false
	for _, f := range fails {
		if strings.Contains(f.Ref.Text, "/bin/false") || strings.Contains(f.Ref.Text, "/bin/true") {
			blocked = true
		}
	}
	fix := []string{
		fixCmd("modprobe ip_vs && cat /proc/net/ip_vs", "on %s: must print the IPVS table header", d.Name),
		fixCmd("grep -rn ip_vs /etc/modprobe.d/ /usr/lib/modprobe.d/", "if modprobe fails: an `install ip_vs /bin/false` or `blacklist ip_vs` line forbids it"),
		modulesExtraFix(d),
		keepalivedApply(p, firstService(p), d, "keepalived installs its virtual servers only when it starts"),
	}
	if blocked {
		fix[1] = fixCmd("grep -rln 'install ip_vs /bin/' /etc/modprobe.d/ /usr/lib/modprobe.d/", "the file whose `install ip_vs /bin/false` line forbids loading IPVS: remove that line, then modprobe ip_vs")
	}
	if recovered {
		if !configured {
			p.Notef("%s: IPVS failed to initialise once (%s) and is there now; nothing on %s says it should forward", d.Name, last.Ref, d.Name)
			return
		}
		ev = append(ev, tableRef(d), confRef)
		for _, l := range loaded {
			ev = append(ev, l.Ref)
			break
		}
		p.Report(diagnosis.Finding{
			Severity: diagnosis.Warning,
			Host:     d.Name,
			Title:    fmt.Sprintf("keepalived on %s could not initialise IPVS, and the IPVS table has no service", d.Name),
			Explanation: fmt.Sprintf("The log shows IPVS missing when keepalived started. IPVS is available now, but keepalived "+
				"does not retry: the virtual servers of %s's keepalived.conf were never installed, so IPVS forwards nothing.", d.Name),
			Evidence: ev,
			Fix: []string{
				keepalivedApply(p, firstService(p), d, "keepalived installs its virtual servers only when it starts"),
				fixCmd("ipvsadm -Ln", "the virtual servers must be listed"),
				fixCmd("echo ip_vs > /etc/modules-load.d/ipvs.conf", "load ip_vs at boot, before keepalived"),
			},
		})
		return
	}
	if lsmodLacks {
		ev = append(ev, lsmodRef)
	}
	if d.Kernel.Release != "" {
		ev = append(ev, d.Kernel.Ref)
	}
	if configured {
		ev = append(ev, confRef)
	}
	p.Report(diagnosis.Finding{
		Severity: diagnosis.Critical,
		Host:     d.Name,
		Title:    fmt.Sprintf("%s's kernel has no working IPVS (%s)", d.Name, clip(orName(last.Detail, last.Ref.Text), 80)),
		Explanation: "Virtual services live in the kernel's IPVS module (ip_vs). It cannot be used on this host: the module " +
			"is not loaded and cannot be loaded, or the kernel was built without it. keepalived cannot install its virtual " +
			"servers and ipvsadm has no table, so packets for the VIP are delivered to the director itself and never forwarded.",
		Evidence: ev,
		Fix:      fix,
	})
}

// modulesExtraFix installs the kernel's extra modules, where the
// distributions keep ip_vs when the base package lacks it.
func modulesExtraFix(d *evidence.Host) string {
	switch distroFamily(d) {
	case "deb":
		return fixCmd("apt install linux-modules-extra-$(uname -r)", "ip_vs ships with the extra modules; else boot a kernel built with CONFIG_IP_VS")
	case "rpm":
		return fixCmd("dnf install kernel-modules-extra-$(uname -r)", "ip_vs ships with the extra modules on some kernels; else boot a kernel built with CONFIG_IP_VS")
	}
	return fixStep("install the kernel's extra modules (dnf install kernel-modules-extra-$(uname -r), or apt install linux-modules-extra-$(uname -r)), or boot a kernel built with CONFIG_IP_VS")
}
