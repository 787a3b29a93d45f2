package rules

import (
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

// kube-proxy's own log, which the kube-proxy.* rules read: one command on
// the node gives it to them all, so they share it.
const kubeProxyLogs = "kubectl -n kube-system logs -l k8s-app=kube-proxy --tail=500"

// kubeProxyNeed asks for kube-proxy's log on a director that runs
// kube-proxy (its dummy kube-ipvs0, its settings, its log lines); a
// director without any sign of kube-proxy has nothing to ask for.
var kubeProxyNeed = Need{
	Role: evidence.RoleDirector, Kind: evidence.KindLogs, Command: kubeProxyLogs,
	Settled: func(_ *topology.Topology, h *evidence.Host) bool { return ipvsController(h).who == "" },
}

// loggedLines returns the lines of h's logs that are one of the message
// table's entries ids, at most max of them, and whether there are more.
func loggedLines(h *evidence.Host, max int, ids ...string) []evidence.LogEvent {
	var out []evidence.LogEvent
	for _, l := range h.Logs {
		if l.Message == "" || len(out) >= max {
			continue
		}
		for _, id := range ids {
			if l.Message == id {
				out = append(out, l)
				break
			}
		}
	}
	return out
}

func refsOf(ls []evidence.LogEvent) []evidence.Ref {
	out := make([]evidence.Ref, 0, len(ls))
	for _, l := range ls {
		out = append(out, l.Ref)
	}
	return out
}

// iptablesProxier returns kube-proxy's "Using iptables Proxier." line on
// h: the proxier it runs, whatever mode it was given.
func iptablesProxier(h *evidence.Host) (evidence.Ref, bool) {
	for _, l := range h.Logs {
		if l.Kind == evidence.LogKubeProxy && l.Detail == "Using iptables Proxier." {
			return l.Ref, true
		}
	}
	return evidence.Ref{}, false
}
