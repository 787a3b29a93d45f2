package rules

import (
	"fmt"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var directorIPVSTableFlushed = &Rule{
	ID:   "director.ipvs-table-flushed",
	Doc:  "keepalived.conf defines a virtual server the running IPVS table lacks while another IPVS controller (kube-proxy in IPVS mode, kube-router) runs on the same host and removes services it did not create.",
	Rank: 3,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindIPVS, Command: "ipvsadm -Ln"},
		{Role: evidence.RoleDirector, Kind: evidence.KindKeepalived, Command: "cat /etc/keepalived/keepalived.conf"},
		{Role: evidence.RoleDirector, Kind: evidence.KindAddrs, Command: "ip addr"},
	},
	// The service gone from the table is what the others see: no virtual
	// service, a table that differs from the configuration, a director
	// that takes the packets and forwards nothing.
	Explains: []string{"director.no-virtual-service", "director.config-drift", "director.no-available-realserver",
		"trace.director-not-forwarding", "net.icmp-unreachable"},
	Run: func(p *Pass) {
		for _, d := range p.Directors() {
			kc := d.Keepalived
			if d.IPVS == nil || kc == nil || len(kc.VirtualServers) == 0 || !d.Has(evidence.KindIPVS) {
				continue
			}
			who, whoRefs := ipvsController(d)
			if who == "" {
				continue
			}
			var missing []string
			var ev []evidence.Ref
			for _, kv := range kc.VirtualServers {
				for _, k := range confKeys(kc, kv) {
					if !tableHas(d, k) {
						missing = append(missing, k.String())
						ev = append(ev, k.ref)
					}
				}
			}
			if len(missing) == 0 {
				continue // keepalived's services survive: excluded, or the controller leaves them alone
			}
			ev = append(ev, tableRef(d))
			ev = append(ev, whoRefs...)
			p.Report(diagnosis.Finding{
				Severity: diagnosis.Critical,
				Host:     d.Name,
				Title:    fmt.Sprintf("%s on %s removes keepalived's IPVS services: %s missing from the running table", who, d.Name, clip(strings.Join(missing, ", "), 80)),
				Explanation: fmt.Sprintf("keepalived.conf defines %s, the running IPVS table of %s does not hold it, and %s programs IPVS on the same host. "+
					"kube-proxy in IPVS mode (kube-router likewise) syncs the whole table: every few seconds it deletes the virtual services it did not create "+
					"unless their address is in --ipvs-exclude-cidrs, so keepalived's service lives a moment after each keepalived (re)start and is gone. "+
					"A manual leftover would not come with another controller: this is not config drift.",
					strings.Join(missing, ", "), d.Name, who),
				Evidence: ev,
				Fix: []string{
					"add the VIPs to kube-proxy's exclusion list: --ipvs-exclude-cidrs=<VIP>/32 (KubeProxyConfiguration ipvs.excludeCIDRs), then restart kube-proxy",
					"or run keepalived's IPVS on hosts where no other controller programs IPVS",
					"systemctl reload keepalived   # re-installs its services once nothing removes them",
				},
			})
		}
	},
}

// tableHas reports whether d's running table holds the configured service k.
func tableHas(d *evidence.Host, k confKey) bool {
	for _, t := range d.IPVS.Services {
		if k.matches(t) {
			return true
		}
	}
	return false
}

// ipvsController names another program that owns IPVS on d, with the
// lines that show it: kube-proxy's dummy interface kube-ipvs0 (which holds
// its service addresses), kube-router's kube-dummy-if, or kube-proxy's own
// log lines.
func ipvsController(d *evidence.Host) (string, []evidence.Ref) {
	var refs []evidence.Ref
	who := ""
	for _, a := range d.Addrs {
		switch {
		case strings.HasPrefix(a.Iface, "kube-ipvs"):
			who = "kube-proxy (IPVS mode)"
		case strings.HasPrefix(a.Iface, "kube-dummy-if"):
			if who == "" {
				who = "kube-router"
			}
		default:
			continue
		}
		if len(refs) < 3 {
			refs = append(refs, a.Ref)
		}
	}
	for _, l := range d.Logs {
		if l.Kind == evidence.LogKubeProxy {
			if who == "" {
				who = "kube-proxy"
			}
			refs = append(refs, l.Ref)
			break
		}
	}
	return who, refs
}
