package rules

import (
	"fmt"
	"net/netip"
	"slices"
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
			if kc == nil || len(kc.VirtualServers) == 0 {
				continue
			}
			ctl := ipvsController(d)
			if ctl.who == "" {
				continue
			}
			table := d.IPVS != nil && d.Has(evidence.KindIPVS)
			if !table && !ctl.modeIPVS {
				continue // a controller seen, its mode and the table unknown: the notes ask for ipvsadm -Ln
			}
			var missing, cidrs []string
			var ev []evidence.Ref
			for _, kv := range kc.VirtualServers {
				for _, k := range confKeys(kc, kv) {
					if ctl.excludes(k.addr) || (table && tableHas(d, k)) {
						continue
					}
					missing = append(missing, k.String())
					ev = append(ev, k.ref)
					if c := netip.PrefixFrom(k.addr, k.addr.BitLen()).String(); k.addr.IsValid() && !slices.Contains(cidrs, c) {
						cidrs = append(cidrs, c)
					}
				}
			}
			if len(missing) == 0 {
				continue // keepalived's services survive: excluded, or the controller leaves them alone
			}
			gone := "missing from the running table"
			seen := fmt.Sprintf("the running IPVS table of %s does not hold it", d.Name)
			if table {
				ev = append(ev, tableRef(d))
			} else {
				gone = "not excluded from its table"
				seen = "no --ipvs-exclude-cidrs covers it"
			}
			ev = append(ev, ctl.refs...)
			p.Report(diagnosis.Finding{
				Severity: diagnosis.Critical,
				Host:     d.Name,
				Title:    fmt.Sprintf("%s on %s removes keepalived's IPVS services: %s %s", ctl.who, d.Name, clip(strings.Join(missing, ", "), 80), gone),
				Explanation: fmt.Sprintf("keepalived.conf defines %s, %s, and %s programs IPVS on the same host. "+
					"kube-proxy in IPVS mode (kube-router likewise) syncs the whole table: every few seconds it deletes the virtual services it did not create "+
					"unless their address is in --ipvs-exclude-cidrs, so keepalived's service lives a moment after each keepalived (re)start and is gone. "+
					"A manual leftover would not come with another controller: this is not config drift.",
					strings.Join(missing, ", "), seen, ctl.who),
				Evidence: ev,
				Fix: []string{
					fixStep("in kube-proxy's configuration (KubeProxyConfiguration ipvs.excludeCIDRs, or the flag --ipvs-exclude-cidrs): add %s", orName(strings.Join(cidrs, ","), "keepalived's VIPs (grep virtual_server /etc/keepalived/keepalived.conf)")),
					fixCmd("kubectl -n kube-system rollout restart daemonset kube-proxy", "kube-proxy reads its exclusions at start"),
					fixStep("or run keepalived's IPVS on hosts where no other controller programs IPVS"),
					fixCmd("systemctl reload keepalived", "on %s: re-installs its services once nothing removes them (reload: a restart on the VRRP master fails the VIP over)", d.Name),
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

// controller is another program that owns IPVS on a host.
type controller struct {
	who      string // "" when none is seen
	modeIPVS bool   // its own settings say IPVS mode (kube-proxy --proxy-mode=ipvs)
	exclude  []netip.Prefix
	refs     []evidence.Ref
}

func (c controller) excludes(a netip.Addr) bool {
	for _, p := range c.exclude {
		if a.IsValid() && p.Contains(a) {
			return true
		}
	}
	return false
}

// ipvsController names another program that owns IPVS on d, with the
// lines that show it: kube-proxy's dummy interface kube-ipvs0 (which holds
// its service addresses), kube-router's kube-dummy-if, kube-proxy's own
// log lines, or its settings (--proxy-mode=ipvs, --ipvs-exclude-cidrs).
func ipvsController(d *evidence.Host) controller {
	var c controller
	n := 0
	for _, a := range d.Addrs {
		switch {
		case strings.HasPrefix(a.Iface, "kube-ipvs"):
			c.who = "kube-proxy (IPVS mode)"
		case strings.HasPrefix(a.Iface, "kube-dummy-if"):
			if c.who == "" {
				c.who = "kube-router"
			}
		default:
			continue
		}
		if n < 3 {
			c.refs = append(c.refs, a.Ref)
			n++
		}
	}
	logged := false
	for _, l := range d.Logs {
		switch {
		case l.Kind == evidence.LogKubeProxy && !logged:
			logged = true
			if c.who == "" {
				c.who = "kube-proxy"
			}
			c.refs = append(c.refs, l.Ref)
		case l.Kind == evidence.LogKubeProxyConfig && l.Subject == "proxy-mode=ipvs":
			c.who, c.modeIPVS = "kube-proxy (IPVS mode)", true
			c.refs = append(c.refs, l.Ref)
		case l.Kind == evidence.LogKubeProxyConfig && strings.HasPrefix(l.Subject, "ipvs-exclude-cidrs="):
			for _, s := range strings.Split(strings.TrimPrefix(l.Subject, "ipvs-exclude-cidrs="), ",") {
				if p, err := netip.ParsePrefix(strings.TrimSpace(s)); err == nil {
					c.exclude = append(c.exclude, p.Masked())
				}
			}
		}
	}
	return c
}
