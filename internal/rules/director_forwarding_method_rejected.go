package rules

import (
	"fmt"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/messages"
)

var directorForwardingMethodRejected = &Rule{
	ID:   "director.forwarding-method-rejected",
	Doc:  "The controller that programs the director (kube-keepalived-vip) refuses the forwarding method configured for a service, which is then not programmed as configured.",
	Rank: 4,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindLogs, Command: "kubectl logs -n kube-system -l app=kube-keepalived-vip"},
	},
	Explains: []string{"director.no-virtual-service", "director.config-drift"},
	Run: func(p *Pass) {
		for _, h := range p.Case.Hosts {
			var refs []evidence.Ref
			method := ""
			for _, l := range h.Logs {
				if l.Message == "" || !names(l.Message, "director.forwarding-method-rejected") {
					continue
				}
				if len(refs) < maxLoggedRefs {
					refs = append(refs, l.Ref)
				}
				if e, ok := messages.Lookup(l.Message); ok && method == "" {
					method = e.Fields(l.Detail)["method"]
				}
			}
			if len(refs) == 0 {
				continue
			}
			why := fmt.Sprintf("%q is no method it knows: a typo in the ConfigMap entry (namespace/service:NAT or :DR)", method)
			fix := []string{fixStep("in the controller's ConfigMap: write the entry as namespace/service:NAT or namespace/service:DR")}
			if method == "DR" || method == "NAT" {
				why = fmt.Sprintf("%s is one of the two methods it says it supports: its own check is wrong. kube-keepalived-vip's parseNsSvcLVS "+
					"(keepalived-vip/utils.go) tested the method with the regexp `NAT` alone until kubernetes/contrib#2677, so every DR "+
					"service was refused", method)
				fix = []string{
					fixStep("upgrade kube-keepalived-vip to an image built after kubernetes/contrib#2677 (lvsRegex `NAT|DR`), or use :NAT for the service meanwhile"),
					fixCmd("kubectl -n kube-system get configmap -o yaml", "the entries namespace/service:METHOD the controller reads"),
				}
			}
			p.Report(diagnosis.Finding{
				Severity: diagnosis.Critical,
				Host:     h.Name,
				Title:    fmt.Sprintf("the keepalived controller on %s refuses the forwarding method %s configured for a service", h.Name, orName(method, "given")),
				Explanation: "kube-keepalived-vip writes keepalived.conf from a ConfigMap whose entries name a Service and its LVS method; it " +
					"logs \"invalid LVS method\" and skips an entry whose method it refuses, so that service gets no virtual_server, or " +
					"not the one configured. Here " + why + ".",
				Evidence: refs,
				Fix:      fix,
			})
		}
	},
}
