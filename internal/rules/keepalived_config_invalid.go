package rules

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

// keepalivedConfigInvalid reports keepalived.conf errors that change what
// keepalived does. The parser already knows which keywords each version
// accepts (a 1.3 keyword in a 1.3 file is no issue); this rule weighs the
// issues: the structural ones (unknown lb_kind, a VIP no VRRP instance
// brings up, a dangling laddr_group_name, a missing protocol that turned
// a TCP service into UDP) on their own, critical when they break the
// service under diagnosis, and the keyword noise as one warning.
//
// It declares no Explains on purpose: keyword noise shares the cause ID
// with the structural errors, and must not be ranked as the reason for a
// VIP that is down for another cause. The critical findings still come
// first by their rank.
var keepalivedConfigInvalid = &Rule{
	ID: "keepalived.config-invalid",
	Doc: "keepalived.conf has errors that change behaviour: unknown or misplaced keywords, an unknown lb_kind, a " +
		"virtual_server whose VIP no vrrp_instance brings up, a laddr_group_name naming no group.",
	Rank:  4,
	Needs: []Need{{Role: evidence.RoleDirector, Kind: evidence.KindKeepalived, Command: "cat /etc/keepalived/keepalived.conf"}},
	Run: func(p *Pass) {
		vips, anyInstance := instanceVIPs(p)
		for _, d := range p.Directors() {
			handled := map[evidence.Ref]bool{}
			if kc := d.Keepalived; kc != nil {
				for _, kv := range kc.VirtualServers {
					svc := serviceConfiguredBy(p, d, kv)
					checkLbKind(p, d, kc, kv, svc, handled)
					checkLaddrGroup(p, d, kc, kv, svc, handled)
					checkNoProtocol(p, d, kc, kv, svc, handled)
					if anyInstance {
						checkVIPInNoInstance(p, d, kc, kv, svc, vips)
					}
				}
			}
			checkSkippedServers(p, d, handled)
			checkPersistenceRange(p, d, handled)
			reportKeywordNoise(p, d, handled)
		}
	},
}

// instanceVIPs gathers the virtual_ipaddress entries of every director's
// vrrp_instances: a VIP brought up by any director's VRRP is covered.
func instanceVIPs(p *Pass) (map[netip.Addr]bool, bool) {
	out := map[netip.Addr]bool{}
	found := false
	for _, d := range p.Directors() {
		kc := d.Keepalived
		if kc == nil {
			continue
		}
		for _, vi := range kc.VRRPInstances {
			found = true
			for _, v := range vi.VIPs {
				out[v.Prefix.Addr()] = true
			}
		}
	}
	return out, found
}

// serviceConfiguredBy returns the service under diagnosis that kv configures on d.
func serviceConfiguredBy(p *Pass, d *evidence.Host, kv *evidence.KVirtualServer) *topology.Service {
	for _, s := range p.Services() {
		if s.Config[d.Name] == kv {
			return s
		}
	}
	return nil
}

// issueAt returns the parser's issue at ref whose message starts with prefix.
func issueAt(kc *evidence.KeepalivedConfig, ref evidence.Ref, prefix string) *evidence.KeepalivedIssue {
	if ref.IsZero() {
		return nil
	}
	for i := range kc.Issues {
		is := &kc.Issues[i]
		if is.Ref.Source == ref.Source && is.Ref.Line == ref.Line && strings.HasPrefix(is.Message, prefix) {
			return is
		}
	}
	return nil
}

func virtualServerName(kv *evidence.KVirtualServer) string {
	switch {
	case kv.FWMark != 0:
		return fmt.Sprintf("virtual_server fwmark %d", kv.FWMark)
	case kv.Group != "":
		return "virtual_server group " + kv.Group
	}
	return "virtual_server " + netip.AddrPortFrom(kv.Addr, kv.Port).String()
}

func checkLbKind(p *Pass, d *evidence.Host, kc *evidence.KeepalivedConfig, kv *evidence.KVirtualServer, svc *topology.Service, handled map[evidence.Ref]bool) {
	is := issueAt(kc, kv.LbKindRef, "unknown lb_kind")
	if is == nil {
		return
	}
	handled[is.Ref] = true
	sev := diagnosis.Warning
	ev := []evidence.Ref{is.Ref}
	if svc != nil {
		sev = diagnosis.Critical
		if vs := svc.IPVS[d.Name]; vs != nil {
			for _, rs := range vs.Dests {
				if rs.Method == evidence.MethodMasq {
					ev = append(ev, rs.Ref)
					break
				}
			}
		}
	}
	p.Report(diagnosis.Finding{
		Severity: sev,
		Host:     d.Name,
		Title:    fmt.Sprintf("%s on %s has an unknown lb_kind %q: keepalived forwards it by NAT", virtualServerName(kv), d.Name, kv.LbKind),
		Explanation: "keepalived knows lb_kind DR, TUN and NAT (and FNAT in the FULLNAT fork). It does not reject an " +
			"unknown value: it falls back to NAT, so IPVS rewrites the destination address and expects the replies back " +
			"through the director. Real servers set up for DR (VIP on lo, their own default gateway) answer the client " +
			"directly from the wrong address, and the connections fail.",
		Evidence: ev,
		Fix: []string{
			fixStep("in keepalived.conf on %s, %s: lb_kind DR (or TUN or NAT: as the real servers are set up)", d.Name, virtualServerName(kv)),
			keepalivedApply(p, svc, d, ""),
		},
	})
}

func checkLaddrGroup(p *Pass, d *evidence.Host, kc *evidence.KeepalivedConfig, kv *evidence.KVirtualServer, svc *topology.Service, handled map[evidence.Ref]bool) {
	if kv.LaddrGroup == "" {
		return
	}
	if _, ok := kc.LocalAddrGroups[kv.LaddrGroup]; ok {
		return
	}
	if is := issueAt(kc, kv.LaddrRef, "laddr_group_name"); is != nil {
		handled[is.Ref] = true
	}
	sev := diagnosis.Warning
	if svc != nil && kv.LbKind == "FNAT" {
		sev = diagnosis.Critical
	}
	var names []string
	for n := range kc.LocalAddrGroups {
		names = append(names, n)
	}
	expl := fmt.Sprintf("In FNAT the director rewrites the source of forwarded packets to a local address taken from the "+
		"local_address_group that laddr_group_name names. No group is called %q in this configuration, so the "+
		"virtual server has no local address and FNAT connections cannot be made.", kv.LaddrGroup)
	if len(names) > 0 {
		expl += fmt.Sprintf(" The groups defined are: %s.", strings.Join(names, ", "))
	}
	p.Report(diagnosis.Finding{
		Severity:    sev,
		Host:        d.Name,
		Title:       fmt.Sprintf("%s on %s uses laddr_group_name %s, which names no local_address_group", virtualServerName(kv), d.Name, kv.LaddrGroup),
		Explanation: expl,
		Evidence:    []evidence.Ref{kv.LaddrRef},
		Fix: []string{
			fixStep("in keepalived.conf on %s: define local_address_group %s { %s } (%s's own addresses), or fix the name", d.Name, kv.LaddrGroup, strings.Join(ownAddrs(p, d), " "), d.Name),
			keepalivedApply(p, svc, d, ""),
		},
	})
}

// checkNoProtocol reports a virtual_server without `protocol` that keepalived
// 2.x installed as UDP while the service under diagnosis is TCP.
func checkNoProtocol(p *Pass, d *evidence.Host, kc *evidence.KeepalivedConfig, kv *evidence.KVirtualServer, svc *topology.Service, handled map[evidence.Ref]bool) {
	is := issueAt(kc, kv.Ref, "no protocol")
	if is == nil || !kv.Addr.IsValid() || p.Case.Service.Proto != "tcp" || p.Case.Service.VIP != kv.Addr {
		return
	}
	if p.Case.Service.Port != 0 && p.Case.Service.Port != kv.Port {
		return
	}
	if d.IPVS == nil || !d.Has(evidence.KindIPVS) {
		return
	}
	var udp *evidence.VirtualService
	for _, vs := range d.IPVS.Services {
		if vs.Addr == kv.Addr && vs.Port == kv.Port {
			if vs.Proto == "TCP" {
				return
			}
			if vs.Proto == "UDP" {
				udp = vs
			}
		}
	}
	if udp == nil {
		return
	}
	handled[is.Ref] = true
	p.Report(diagnosis.Finding{
		Severity: diagnosis.Critical,
		Host:     d.Name,
		Title:    fmt.Sprintf("%s on %s has no `protocol`: keepalived installed it as UDP, the clients use TCP", virtualServerName(kv), d.Name),
		Explanation: "Without a protocol line keepalived 1.x used TCP, keepalived 2.x uses UDP. The running table shows the " +
			"service as UDP, so TCP connections to the VIP match no virtual service.",
		Evidence: []evidence.Ref{is.Ref, udp.Ref},
		Fix: []string{
			fixStep("in keepalived.conf on %s, %s: add the line `protocol TCP`", d.Name, virtualServerName(kv)),
			keepalivedApply(p, svc, d, ""),
		},
	})
}

func checkVIPInNoInstance(p *Pass, d *evidence.Host, kc *evidence.KeepalivedConfig, kv *evidence.KVirtualServer, svc *topology.Service, vips map[netip.Addr]bool) {
	type vipRef struct {
		addr netip.Addr
		ref  evidence.Ref
	}
	var addrs []vipRef
	switch {
	case kv.Addr.IsValid():
		addrs = append(addrs, vipRef{kv.Addr, kv.Ref})
	case kv.Group != "":
		seen := map[netip.Addr]bool{}
		for _, e := range kc.VSGroups[kv.Group] {
			if e.Addr.IsValid() && !seen[e.Addr] {
				seen[e.Addr] = true
				addrs = append(addrs, vipRef{e.Addr, e.Ref})
			}
		}
	}
	for _, v := range addrs {
		if vips[v.addr] {
			continue
		}
		var holders []*evidence.Host
		checked := 0
		for _, o := range p.Directors() {
			if !o.Has(evidence.KindAddrs) {
				continue
			}
			checked++
			if holdsVIP(o, v.addr) {
				holders = append(holders, o)
			}
		}
		// The service's VIP, then the virtual_ipaddress entries that carry
		// other addresses instead (the mistake is usually among them).
		ev := []evidence.Ref{v.ref}
		for _, vi := range kc.VRRPInstances {
			for _, x := range vi.VIPs {
				if len(ev) < 5 {
					ev = append(ev, x.Ref)
				}
			}
			if len(vi.VIPs) == 0 {
				ev = append(ev, vi.Ref)
			}
		}
		sev := diagnosis.Warning
		expl := fmt.Sprintf("keepalived brings a VIP up only when it is in the virtual_ipaddress block of a vrrp_instance "+
			"that is MASTER. %s is in none, on any director of the case, so keepalived never adds it: ", v.addr)
		switch {
		case len(holders) > 0:
			for _, h := range holders {
				ev = append(ev, h.AddrsOf(v.addr)[0].Ref)
			}
			expl += fmt.Sprintf("it is up on %s by other means now, but does not move on failover.", holders[0].Name)
		case checked > 0:
			// Where the VIP would be: the addresses of the interface the
			// instances run on, which do not include it.
			for _, o := range p.Directors() {
				if !o.Has(evidence.KindAddrs) {
					continue
				}
				var on []evidence.Ref
				for _, vi := range kc.VRRPInstances {
					if vi.Interface != "" {
						on = append(on, addrRefsOn(o, vi.Interface)...)
					}
				}
				if len(on) == 0 {
					on = []evidence.Ref{seenRef(o, evidence.KindAddrs)}
				}
				ev = append(ev, on...)
			}
			expl += "no director holds it, so packets for it never reach IPVS."
			if svc != nil {
				sev = diagnosis.Critical
			}
		default:
			expl += "unless something else configures it, packets for it never reach IPVS."
		}
		p.Report(diagnosis.Finding{
			Severity:    sev,
			Host:        d.Name,
			Title:       fmt.Sprintf("the VIP %s of %s on %s is in no vrrp_instance's virtual_ipaddress", v.addr, virtualServerName(kv), d.Name),
			Explanation: expl,
			Evidence:    ev,
			Fix: []string{
				fixStep("in keepalived.conf on every director: add %s to the virtual_ipaddress block of the vrrp_instance that carries the service", v.addr),
				keepalivedApply(p, svc, d, ""),
			},
		})
	}
}

// reportKeywordNoise reports the remaining issues of d's keepalived.conf, and
// the configuration complaints of its keepalived log, as one warning.
func reportKeywordNoise(p *Pass, d *evidence.Host, handled map[evidence.Ref]bool) {
	var msgs []string
	var ev []evidence.Ref
	if kc := d.Keepalived; kc != nil {
		version, vref := runningVersion(d)
		for _, is := range kc.Issues {
			if handled[is.Ref] {
				continue
			}
			msg := is.Message
			if is.OnlyV2 && !strings.HasPrefix(version, "2.") {
				continue // a 1.x keyword: a problem only if this keepalived is 2.x
			}
			// The configuration's line decides; the version that makes it
			// one follows it.
			ev = append(ev, is.Ref)
			if is.OnlyV2 {
				msg += " (keepalived here is v" + version + ")"
				ev = append(ev, vref)
			}
			msgs = append(msgs, fmt.Sprintf("line %d: %s", is.Ref.Line, msg))
		}
	}
	logged := 0
	for _, l := range d.Logs {
		if l.Kind != evidence.LogConfigError || handled[l.Ref] {
			continue
		}
		if logged < 5 {
			ev = append(ev, l.Ref)
			if d.Keepalived == nil {
				msgs = append(msgs, "keepalived said: "+clip(l.Ref.Text, 120))
			}
		}
		logged++
	}
	if len(ev) == 0 {
		return
	}
	n := len(msgs)
	if n == 0 {
		n = logged
	}
	shown := msgs
	if len(shown) > 5 {
		shown = append(shown[:5:5], fmt.Sprintf("and %d more", len(msgs)-5))
	}
	if len(ev) > 12 {
		ev = ev[:12]
	}
	expl := "keepalived skips what it does not understand with only a log line, and keeps running with the rest: " +
		"a misspelt or misplaced keyword silently changes a check, a timer or a VRRP setting."
	if len(shown) > 0 {
		expl += " " + strings.Join(shown, "; ") + "."
	}
	if logged > 0 {
		expl += fmt.Sprintf(" keepalived's own log shows %d configuration complaint(s).", logged)
	}
	p.ReportMinor(diagnosis.Finding{
		Severity:    diagnosis.Warning,
		Host:        d.Name,
		Title:       fmt.Sprintf("keepalived.conf on %s has %d problem(s) keepalived ignores or reads differently", d.Name, n),
		Explanation: expl,
		Evidence:    ev,
		Fix: []string{
			fixCmd("keepalived -t -f /etc/keepalived/keepalived.conf", "on %s (keepalived 2.x): lists every problem; fix them", d.Name),
			keepalivedApply(p, firstService(p), d, ""),
		},
	})
}

// runningVersion is the keepalived version d's evidence shows (its log's
// "Starting Keepalived vX" or `keepalived -v`), the latest said.
func runningVersion(d *evidence.Host) (string, evidence.Ref) {
	var v string
	var ref evidence.Ref
	for _, l := range d.Logs {
		if l.Kind == evidence.LogKeepalivedVersion {
			v, ref = l.Subject, l.Ref
		}
	}
	return v, ref
}

// ownAddrs are d's own IPv4 addresses: what a local_address_group holds.
func ownAddrs(p *Pass, d *evidence.Host) []string {
	var out []string
	for _, a := range d.Addrs {
		if a.Iface != "lo" && a.Prefix.Addr().Is4() && !p.Topo.IsVIP(a.Prefix.Addr()) && !containerIface(a.Iface) {
			out = append(out, a.Prefix.Addr().String())
		}
	}
	if len(out) == 0 {
		// Not in the evidence: the command that prints them, runnable as
		// it stands.
		return []string{"$(ip -o -4 addr show scope global | awk '{print $4}')"}
	}
	return out
}
