package rules

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

var directorLoopbackVIP = &Rule{
	ID:   "director.loopback-vip",
	Doc:  "An IPVS virtual service on a loopback address (127.0.0.0/8, ::1) can take a connection but never complete it: the forwarded packets keep a loopback source that cannot leave the host.",
	Rank: 6,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindIPVS, Command: "ipvsadm -Ln", Settled: vipsKnownNotLoopback},
	},
	Explains: []string{"director.no-available-realserver", "trace.director-not-forwarding", "trace.reply-lost"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if !s.VIP.IsValid() || !s.VIP.IsLoopback() {
				continue
			}
			for _, name := range sortedNames(s.IPVS) {
				d := p.Case.Lookup(name)
				vs := s.IPVS[name]
				if d == nil || vs == nil {
					continue
				}
				reportLoopbackVIP(p, s, d, vs)
			}
		}
	},
}

// vipsKnownNotLoopback settles the rule without a table: every service's
// address is known, and none is a loopback address.
func vipsKnownNotLoopback(t *topology.Topology, _ *evidence.Host) bool {
	if len(t.Services) == 0 {
		return false
	}
	for _, s := range t.Services {
		if !s.VIP.IsValid() || s.VIP.IsLoopback() {
			return false
		}
	}
	return true
}

func sortedNames(m map[string]*evidence.VirtualService) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func reportLoopbackVIP(p *Pass, s *topology.Service, d *evidence.Host, vs *evidence.VirtualService) {
	ev := []evidence.Ref{vs.Ref}
	// What shows it failing: a test of that address that got no answer,
	// and counters of packets in with none back out.
	failed := false
	for _, h := range p.Case.Hosts {
		for _, o := range h.Observations {
			if o.Target != s.VIP || (o.Port != 0 && s.Port != 0 && o.Port != s.Port) {
				continue
			}
			switch o.Kind {
			case "timeout", "no-response", "connect-failed", "connection-reset", "empty-reply", "curl-error":
				ev = append(ev, o.Ref)
				failed = true
			}
		}
	}
	for _, rs := range vs.Dests {
		if rs.Stats != nil && rs.Stats.InPkts > 0 && rs.Stats.OutPkts == 0 && !rs.Stats.Ref.IsZero() {
			ev = append(ev, rs.Stats.Ref)
			failed = true
		}
	}
	sev := diagnosis.Warning
	if s.Given || len(p.Services()) == 1 || failed {
		sev = diagnosis.Critical
	}
	alt := nodeAddressService(d, vs)
	fix := []string{}
	if alt.IsValid() {
		fix = append(fix, fixStep("connect through an address of the node instead of %s: %s", netip.AddrPortFrom(vs.Addr, vs.Port), alt))
	} else {
		fix = append(fix, fixStep("connect through an address of the node instead of %s", netip.AddrPortFrom(vs.Addr, vs.Port)))
	}
	// The same port on the node's addresses and on the loopback is how
	// kube-proxy lays out a NodePort; so is a port of the NodePort range.
	if kubeProxyNode(d) || alt.IsValid() || vs.Port >= 30000 && vs.Port <= 32767 {
		fix = append(fix,
			fixStep("kube-proxy in IPVS mode makes these entries for every NodePort: set nodePortAddresses in its KubeProxyConfiguration to the node's own networks (no 127.0.0.0/8, no ::1), or use proxy-mode iptables where localhost NodePorts are required"),
			fixCmd("kubectl -n kube-system rollout restart daemonset kube-proxy", "after editing the kube-proxy ConfigMap"))
	} else if del := ipvsadmDelete(vs); del != "" {
		fix = append(fix, fixCmd(del, "on %s; define the service on an address of the node (keepalived.conf's virtual_server) instead", d.Name))
	}
	family := "127.0.0.1"
	if vs.Addr.Is6() {
		family = "::1"
	}
	p.Report(diagnosis.Finding{
		Severity: sev,
		Host:     d.Name,
		Title:    fmt.Sprintf("%s on %s is a virtual service on a loopback address: IPVS cannot forward its connections", vs.Key(), d.Name),
		Explanation: fmt.Sprintf("A connection to %s comes from %s and is scheduled to a real server, but the forwarded packets keep their loopback "+
			"source, which the kernel never lets leave the host (a martian on any other interface): the SYN is dropped after IPVS "+
			"counted it and the client hangs. This is how IPVS works, not a setting: kube-proxy's NodePorts on 127.0.0.1 and ::1 "+
			"can never be used (kubernetes#96879, #67730).", netip.AddrPortFrom(vs.Addr, vs.Port), family),
		Evidence: ev,
		Fix:      fix,
	})
}

// nodeAddressService finds the same service on an address of the node
// (kube-proxy's NodePort on the node's IP, of the same family): where a
// client on the node should connect instead.
func nodeAddressService(d *evidence.Host, vs *evidence.VirtualService) netip.AddrPort {
	if d.IPVS == nil {
		return netip.AddrPort{}
	}
	for _, o := range d.IPVS.Services {
		a := o.Addr
		if o == vs || !a.IsValid() || a.IsLoopback() || a.Is6() != vs.Addr.Is6() || a.IsLinkLocalUnicast() {
			continue
		}
		if o.Port == vs.Port && strings.EqualFold(o.Proto, vs.Proto) {
			return netip.AddrPortFrom(a, o.Port)
		}
	}
	return netip.AddrPort{}
}

// kubeProxyNode reports whether kube-proxy programs d's IPVS table: its
// log, its settings, or its kube-ipvs0 dummy.
func kubeProxyNode(d *evidence.Host) bool {
	for _, l := range d.Logs {
		if l.Kind == evidence.LogKubeProxy || l.Kind == evidence.LogKubeProxyConfig {
			return true
		}
	}
	for _, a := range d.Addrs {
		if strings.HasPrefix(a.Iface, "kube-ipvs") {
			return true
		}
	}
	for _, l := range d.Links {
		if strings.HasPrefix(l.Name, "kube-ipvs") {
			return true
		}
	}
	return false
}
