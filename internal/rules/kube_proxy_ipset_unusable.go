package rules

import (
	"fmt"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var kubeProxyIPSetUnusable = &Rule{
	ID: "kube-proxy.ipset-unusable",
	Doc: "kube-proxy in IPVS mode cannot use ipset: it logs that the ipset command is missing or too old (and falls back " +
		"to iptables) or that it cannot create its sets (and programs no virtual service), or ipset itself refuses `comment`.",
	Rank:     4,
	Needs:    []Need{kubeProxyNeed},
	Explains: []string{"director.no-virtual-service", "director.ipvs-unavailable", "trace.director-not-forwarding"},
	Run: func(p *Pass) {
		for _, h := range p.Case.Hosts {
			checkIPSetUnusable(p, h)
		}
	},
}

func checkIPSetUnusable(p *Pass, h *evidence.Host) {
	create := loggedLines(h, 3, "kubernetes.proxy.ipset-create-failed")
	version := loggedLines(h, 2, "kubernetes.proxy.ipset-version-failed", "kubernetes.proxy.ipset-version-too-old")
	comment := loggedLines(h, 1, "ipset.create.unknown-argument-comment")
	if len(create)+len(version)+len(comment) == 0 {
		return
	}
	fallback := loggedLines(h, 1, "kubernetes.proxy.ipvs-fallback")
	ev := append(append(refsOf(create), refsOf(version)...), refsOf(comment)...)
	ev = append(ev, refsOf(fallback)...)
	if r, ok := iptablesProxier(h); ok {
		ev = append(ev, r)
	}
	fix := []string{
		fixCmd("kubectl -n kube-system exec ds/kube-proxy -- ipset --version", "the ipset kube-proxy runs: it must exist, and create `hash:ip comment` sets"),
		fixStep("give kube-proxy an ipset with the comment extension: an image that ships ipset (hyperkube 1.10.2+), the ipset package on a host that runs kube-proxy itself; on CentOS 7, kube-proxy 1.11.1+ no longer uses `comment`"),
		fixCmd("kubectl -n kube-system rollout restart daemonset kube-proxy", "kube-proxy checks ipset when it starts; its log must then say `Using ipvs Proxier.`"),
	}
	switch {
	case len(create) > 0:
		p.Report(diagnosis.Finding{
			Severity: diagnosis.Critical,
			Host:     h.Name,
			Title:    fmt.Sprintf("kube-proxy on %s cannot create its ipsets, so its IPVS proxier programs no service", h.Name),
			Explanation: "kube-proxy in IPVS mode keeps the addresses it masquerades, filters and loops back in ipsets " +
				"(KUBE-CLUSTER-IP, KUBE-LOOP-BACK, ...). Each sync first creates them; when the ipset command refuses " +
				"(exit status 2, a parameter problem: this ipset has no `comment` extension, as CentOS 7's 6.29), " +
				"kube-proxy stops the sync there, before any virtual service or real server is programmed. Service " +
				"addresses are then not forwarded: DNS and everything reached through a Service fail.",
			Evidence: ev,
			Fix:      fix,
		})
	case len(version) > 0:
		p.Report(diagnosis.Finding{
			Severity: diagnosis.Warning,
			Host:     h.Name,
			Title:    fmt.Sprintf("kube-proxy on %s finds no usable ipset and runs the iptables proxier instead of IPVS", h.Name),
			Explanation: "kube-proxy chooses the IPVS proxier only when `ipset --version` works and is recent enough. Here " +
				"it does not (the ipset command is missing from kube-proxy's image or host, or too old), so kube-proxy " +
				"falls back to iptables: services are still forwarded, by iptables rules, and nothing configured for IPVS " +
				"(schedulers, ipvsadm's view of the services) applies.",
			Evidence: ev,
			Fix:      fix,
		})
	default:
		p.Report(diagnosis.Finding{
			Severity: diagnosis.Warning,
			Host:     h.Name,
			Title:    fmt.Sprintf("ipset on %s has no comment extension: kube-proxy's IPVS sets cannot be created there", h.Name),
			Explanation: "ipset answered `Unknown argument: `comment'`: this ipset cannot create sets with comments, which " +
				"kube-proxy 1.11.0 creates its IPVS sets with. kube-proxy in IPVS mode on this host fails each sync " +
				"(\"error creating ipset KUBE-..., error: exit status 2\") and programs no service.",
			Evidence: ev,
			Fix:      fix,
		})
	}
}
