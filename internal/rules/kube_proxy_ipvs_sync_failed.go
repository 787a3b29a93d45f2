package rules

import (
	"fmt"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/messages"
)

var kubeProxyIPVSSyncFailed = &Rule{
	ID: "kube-proxy.ipvs-sync-failed",
	Doc: "kube-proxy's IPVS proxier logs that it cannot list a virtual service's destinations or sync its endpoints: " +
		"the IPVS table stops following the pods.",
	Rank:     12,
	Needs:    []Need{kubeProxyNeed},
	Explains: []string{"director.no-available-realserver", "trace.director-not-forwarding", "trace.rs-not-replying"},
	Run: func(p *Pass) {
		for _, h := range p.Case.Hosts {
			checkIPVSSyncFailed(p, h)
		}
	},
}

func checkIPVSSyncFailed(p *Pass, h *evidence.Host) {
	sync := loggedLines(h, 3, "kubernetes.proxy.sync-endpoint-failed")
	list := loggedLines(h, 3, "kubernetes.proxy.ipvs-list-destinations-failed")
	if len(sync)+len(list) == 0 {
		return
	}
	// The listing's error says why; the sync line names the service.
	ev := append(refsOf(list), refsOf(sync)...)
	var reason, service string
	if len(list) > 0 {
		if e, ok := messages.Lookup(list[0].Message); ok {
			reason = e.Fields(list[0].Ref.Text)["error"]
		}
	}
	if len(sync) > 0 {
		if e, ok := messages.Lookup(sync[0].Message); ok {
			f := e.Fields(sync[0].Ref.Text)
			service = f["vs"]
			if reason == "" {
				reason = f["error"]
			}
		}
	}
	sev := diagnosis.Warning
	what := "its virtual services"
	if service != "" {
		sev = diagnosis.Critical // a named service whose real servers stopped following its pods
		what = "virtual service " + service
	}
	p.Report(diagnosis.Finding{
		Severity: sev,
		Host:     h.Name,
		Title:    fmt.Sprintf("kube-proxy on %s cannot sync the real servers of %s (%s)", h.Name, what, clip(orName(reason, "error not shown"), 60)),
		Explanation: "Each sync kube-proxy lists a virtual service's destinations in IPVS, then adds the endpoints that " +
			"are missing and removes the ones that are gone. The listing fails here, and kube-proxy gives up on the " +
			"service before changing anything: its real servers no longer follow the pods (a new pod never receives " +
			"traffic, a deleted one still does, so connections through the service fail). \"parseIP Error\" is kube-proxy " +
			"1.18.0 failing to decode the kernel's answer (kubernetes#89520, fixed in 1.18.1; 1.17 works).",
		Evidence: ev,
		Fix: []string{
			fixCmd("ipvsadm -Ln", "on %s: the service's real servers, to compare with the pods kubectl get endpoints lists", h.Name),
			fixStep("upgrade kube-proxy past the bug its error names (1.18.1 or later for parseIP Error), or go back to the version that worked"),
			fixCmd("kubectl -n kube-system rollout restart daemonset kube-proxy", "a new kube-proxy resyncs every service; its log must show no \"Failed to list IPVS destinations\""),
		},
	})
}
