package rules

import (
	"fmt"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var kubeProxyIPVSBuiltinUndetected = &Rule{
	ID: "kube-proxy.ipvs-builtin-undetected",
	Doc: "kube-proxy reports the IPVS modules \"not loaded\" and falls back to iptables on a kernel that has IPVS built " +
		"in: its modprobe of them logged no failure, or the IPVS table, modinfo or the kernel's log show IPVS there.",
	Rank:  32,
	Needs: []Need{kubeProxyNeed},
	Run: func(p *Pass) {
		for _, h := range p.Case.Hosts {
			checkIPVSBuiltinUndetected(p, h)
		}
	},
}

func checkIPVSBuiltinUndetected(p *Pass, h *evidence.Host) {
	var missing []evidence.LogEvent
	for _, l := range loggedLines(h, 3, "kubernetes.proxy.ipvs-modules-missing") {
		if strings.Contains(l.Detail, "ip_vs") || strings.Contains(l.Ref.Text, "ip_vs") {
			missing = append(missing, l) // not just nf_conntrack_ipv4, renamed in 4.19
		}
	}
	if len(missing) == 0 {
		return
	}
	present, how, ok := ipvsPresent(h)
	if !ok {
		return // IPVS may really be absent: director.ipvs-unavailable reads the line
	}
	ev := []evidence.Ref{missing[0].Ref, present}
	if r, ok := iptablesProxier(h); ok {
		ev = append(ev, r)
	}
	p.Report(diagnosis.Finding{
		Severity: diagnosis.Warning,
		Host:     h.Name,
		Title:    fmt.Sprintf("kube-proxy on %s says the IPVS modules are not loaded, but IPVS is built into its kernel: it runs iptables instead", h.Name),
		Explanation: fmt.Sprintf("kube-proxy before 1.11 decides whether IPVS is there from the loaded modules of "+
			"/proc/modules only, which never lists code built into the kernel (kubernetes#63801). Here %s. The kernel "+
			"has IPVS and kube-proxy's check is wrong: it falls back to the iptables proxier. Services are still "+
			"forwarded, by iptables; IPVS mode (its schedulers, ipvsadm's view) is not in use.", how),
		Evidence: ev,
		Fix: []string{
			fixCmd("cat /proc/net/ip_vs", "on %s: the IPVS table header proves IPVS is in the kernel (modinfo ip_vs says `filename: (builtin)`)", h.Name),
			fixStep("upgrade kube-proxy to 1.11 or later, which also reads /lib/modules/$(uname -r)/modules.builtin, or boot a kernel with IPVS as modules"),
			fixCmd("kubectl -n kube-system rollout restart daemonset kube-proxy", "its log must then say `Using ipvs Proxier.`"),
		},
	})
}

// ipvsPresent returns the line of h's evidence that shows IPVS in its
// kernel, and how it shows it: modinfo says built in, the IPVS table
// answers, the kernel logged IPVS registering, or kube-proxy's modprobe of
// the modules it then found "not loaded" logged no failure.
func ipvsPresent(h *evidence.Host) (evidence.Ref, string, bool) {
	if r, ok := h.Kernel.Builtin["ip_vs"]; ok {
		return r, fmt.Sprintf("the kernel says ip_vs is built in (%s)", clip(strings.Join(strings.Fields(r.Text), " "), 60)), true
	}
	failed := false
	for _, l := range h.Logs {
		failed = failed || l.Kind == evidence.LogIPVSInitFailed
	}
	if v := h.IPVS; v != nil && !failed {
		if len(v.Services) > 0 {
			return v.Services[0].Ref, "the IPVS table holds virtual services", true
		}
		if !v.TableRef.IsZero() {
			return v.TableRef, "the IPVS table answers", true
		}
	}
	for _, l := range h.Logs {
		if l.Kind == evidence.LogIPVSLoaded {
			return l.Ref, "the kernel logged IPVS registering", true
		}
	}
	for _, l := range h.Logs {
		if l.Kind == evidence.LogKubeProxyModprobeQuiet && strings.Contains(l.Subject, "ip_vs") {
			return l.Ref, "kube-proxy ran modprobe for each of them just before, and the log shows no modprobe failure " +
				"(it warns of each module modprobe cannot load): modprobe found them, yet /proc/modules lacks them, " +
				"which is what built-in code looks like (or an `install ip_vs /bin/true` rule: `cat /proc/net/ip_vs` tells)", true
		}
	}
	return evidence.Ref{}, "", false
}
