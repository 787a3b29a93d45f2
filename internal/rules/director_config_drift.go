package rules

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var directorConfigDrift = &Rule{
	ID:       "director.config-drift",
	Explains: []string{"net.icmp-unreachable", "trace.director-not-forwarding"},
	Doc:      "The running IPVS table differs from the director's keepalived.conf (missing or extra services or real servers, another scheduler or forwarding method), or keeps real servers at a port the Kubernetes Service no longer targets.",
	Rank:     13,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindIPVS, Command: "ipvsadm -Sn"},
		{Role: evidence.RoleDirector, Kind: evidence.KindKeepalived, Command: "cat /etc/keepalived/keepalived.conf"},
	},
	Run: func(p *Pass) {
		for _, d := range p.Directors() {
			checkTimeoutsUnset(p, d)
			checkServiceDrift(p, d)
			kc := d.Keepalived
			if d.IPVS == nil || kc == nil || len(kc.VirtualServers) == 0 || !d.Has(evidence.KindIPVS) || !d.Has(evidence.KindKeepalived) {
				continue
			}
			checkDrift(p, d, kc)
		}
	},
}

// methodOf is the IPVS forwarding method keepalived uses for lb_kind.
func methodOf(kind string) string {
	switch kind {
	case "DR":
		return evidence.MethodRoute
	case "TUN":
		return evidence.MethodTunnel
	case "FNAT":
		return evidence.MethodFullNat
	}
	return evidence.MethodMasq // NAT, and what keepalived uses for none or an unknown one
}

type confKey struct {
	proto string // upper case; "" when the config says none
	addr  netip.Addr
	port  uint16
	mark  uint32
	ref   evidence.Ref
}

func confKeys(kc *evidence.KeepalivedConfig, kv *evidence.KVirtualServer) []confKey {
	switch {
	case kv.FWMark != 0:
		return []confKey{{mark: kv.FWMark, ref: kv.Ref}}
	case kv.Group != "":
		var out []confKey
		for _, e := range kc.VSGroups[kv.Group] {
			out = append(out, confKey{proto: kv.Proto, addr: e.Addr, port: e.Port, mark: e.FWMark, ref: e.Ref})
		}
		return out
	case kv.Addr.IsValid():
		return []confKey{{proto: kv.Proto, addr: kv.Addr, port: kv.Port, ref: kv.Ref}}
	}
	return nil
}

func (k confKey) matches(vs *evidence.VirtualService) bool {
	if k.mark != 0 {
		return vs.Proto == "FWM" && vs.FWMark == k.mark
	}
	if vs.Proto == "FWM" || vs.Addr != k.addr || vs.Port != k.port {
		return false
	}
	return k.proto == "" || strings.EqualFold(k.proto, vs.Proto)
}

func (k confKey) String() string {
	if k.mark != 0 {
		return "FWM " + strconv.FormatUint(uint64(k.mark), 10)
	}
	return strings.TrimSpace(k.proto + " " + netip.AddrPortFrom(k.addr, k.port).String())
}

func checkDrift(p *Pass, d *evidence.Host, kc *evidence.KeepalivedConfig) {
	var diffs []string
	var ev []evidence.Ref
	matched := map[*evidence.VirtualService]bool{}
	logsSeen := d.Has(evidence.KindLogs)
	ghost := false
	for _, kv := range kc.VirtualServers {
		for _, k := range confKeys(kc, kv) {
			var vs *evidence.VirtualService
			for _, t := range d.IPVS.Services {
				if k.matches(t) {
					vs = t
					break
				}
			}
			if vs == nil {
				diffs = append(diffs, fmt.Sprintf("keepalived.conf defines %s, the running table has no such service", k))
				ev = append(ev, k.ref)
				continue
			}
			matched[vs] = true
			if kv.LbAlgo != "" && vs.Scheduler != "" && !strings.EqualFold(kv.LbAlgo, vs.Scheduler) {
				diffs = append(diffs, fmt.Sprintf("%s runs scheduler %s, keepalived.conf says %s", vs.Key(), vs.Scheduler, kv.LbAlgo))
				ev = append(ev, vs.Ref)
			}
			d1, e1, g := realServerDrift(p, d, kv, vs, logsSeen)
			diffs = append(diffs, d1...)
			ev = append(ev, e1...)
			ghost = ghost || g
		}
	}
	var manual []string
	for _, t := range d.IPVS.Services {
		if !matched[t] && !kubeProxyService(d, t) {
			diffs = append(diffs, fmt.Sprintf("the running table has %s, which keepalived.conf does not define (a manual ipvsadm rule?)", t.Key()))
			ev = append(ev, t.Ref)
			if del := ipvsadmDelete(t); del != "" {
				manual = append(manual, fixCmd(del, "remove the service keepalived.conf does not define"))
			}
		}
	}
	if len(manual) == 0 {
		manual = []string{fixStep("remove the entries keepalived.conf does not define: ipvsadm -D (a service), ipvsadm -d (a real server); the table: ipvsadm -Ln")}
	}
	if len(diffs) == 0 {
		return
	}
	// The lines that differ decide; the table and the configuration they
	// were read from follow.
	ev = append(ev, tableRef(d), kc.Ref)
	if kc.Ref.Text == "" {
		ev[len(ev)-1].Text = "(keepalived.conf)"
	}
	shown := diffs
	if len(shown) > 6 {
		shown = append(shown[:6:6], fmt.Sprintf("and %d more", len(diffs)-6))
	}
	sev := diagnosis.Warning
	if ghost {
		sev = diagnosis.Critical
		diffs = append(diffs, "a real server outside keepalived.conf is never health-checked: if it is down, its share of the connections fails")
	}
	p.Report(diagnosis.Finding{
		Severity: sev,
		Host:     d.Name,
		Title:    fmt.Sprintf("the running IPVS table of %s differs from its keepalived.conf (%d difference(s))", d.Name, len(diffs)),
		Explanation: "keepalived installs what its configuration says; a table that differs was changed by hand (ipvsadm " +
			"leftovers), by another tool, or keepalived has not loaded the current file (not reloaded, or it rejected it). " +
			"What runs is not what the configuration promises, and the next reload or failover changes the traffic: " +
			strings.Join(shown, "; ") + ".",
		Evidence: ev,
		Fix: append(append([]string{fixCmd("ipvsadm -Sn > /tmp/ipvs.before", "on %s: keep a copy", d.Name)}, manual...),
			fixStep("or put them in keepalived.conf; then keepalived installs what it says:"),
			keepalivedApply(p, nil, d, "")),
	})
}

// realServerDrift compares the real servers of one virtual server. A real
// server missing from the table is drift only when its health check did
// not fail (keepalived removes failed ones); with inhibit_on_failure a
// failed one stays at weight 0.
func realServerDrift(p *Pass, d *evidence.Host, kv *evidence.KVirtualServer, vs *evidence.VirtualService, logsSeen bool) ([]string, []evidence.Ref, bool) {
	var diffs []string
	var ev []evidence.Ref
	want := methodOf(kv.LbKind)
	used := map[*evidence.RealServer]bool{}
	missing := 0
	for _, r := range kv.RealServers {
		var dest *evidence.RealServer
		for _, x := range vs.Dests {
			if x.Addr == r.Addr && (x.Port == r.Port || kv.LbKind == "DR" || kv.LbKind == "TUN") && !used[x] {
				dest = x
				break
			}
		}
		if dest == nil && vs.Filtered {
			continue // the listing was filtered: the server may be there
		}
		if dest == nil {
			missing++
			if dead := deadEvidence(d, r.Addr); len(dead) > 0 && !r.InhibitOnFailure {
				continue // removed by its failing check: not drift
			}
			if !logsSeen && !r.InhibitOnFailure {
				p.Notef("real server %s of %s is not in %s's table; its health check may have removed it — add `journalctl -u keepalived` to tell",
					r.Addr, vs.Key(), d.Name)
				continue
			}
			diffs = append(diffs, fmt.Sprintf("real server %s of %s is in keepalived.conf but not in the running table", r.Addr, vs.Key()))
			ev = append(ev, r.Ref)
			continue
		}
		used[dest] = true
		if weightDrifted(r, dest) {
			diffs = append(diffs, fmt.Sprintf("%s forwards to %s with weight %d, keepalived.conf says weight %d", vs.Key(), dest.Addr, dest.Weight, r.Weight))
			ev = append(ev, dest.Ref, r.WeightRef)
		}
		if dest.Method != "" && dest.Method != evidence.MethodLocal && dest.Method != want {
			diffs = append(diffs, fmt.Sprintf("%s forwards to %s by %s, keepalived.conf says lb_kind %s (%s)", vs.Key(), dest.Addr, dest.Method, orName(kv.LbKind, "none, i.e. NAT"), want))
			ev = append(ev, dest.Ref)
			if !kv.LbKindRef.IsZero() {
				ev = append(ev, kv.LbKindRef)
			}
		}
	}
	if missing == len(kv.RealServers) && len(kv.RealServers) > 0 {
		// Every configured server is out: what remains is the sorry
		// server, not a manual leftover.
		return diffs, ev, false
	}
	// An unlisted server with weight that the director cannot reach: a
	// leftover nobody health-checks, which gets its share of the
	// connections although it is gone.
	ghost := false
	for _, x := range vs.Dests {
		if !used[x] {
			diffs = append(diffs, fmt.Sprintf("%s has real server %s, which keepalived.conf does not list", vs.Key(), netip.AddrPortFrom(x.Addr, x.Port)))
			ev = append(ev, x.Ref)
			if x.Weight > 0 {
				if ref, dead := unresolvedNeighbor(d, x.Addr); dead {
					ghost = true
					ev = append(ev, ref)
				}
			}
		}
	}
	return diffs, ev, ghost
}

// unresolvedNeighbor reports whether d's neighbour table shows rip unresolved
// (FAILED/INCOMPLETE): the director cannot deliver to it.
func unresolvedNeighbor(d *evidence.Host, rip netip.Addr) (evidence.Ref, bool) {
	for _, n := range d.Neighbors {
		if n.IP == rip && (strings.EqualFold(n.State, "FAILED") || strings.EqualFold(n.State, "INCOMPLETE")) {
			return n.Ref, true
		}
	}
	return evidence.Ref{}, false
}

// kubeProxyService reports whether a service belongs to kube-proxy in
// IPVS mode, which puts its service addresses on the kube-ipvs0 dummy:
// they share the table with keepalived's without being drift.
func kubeProxyService(d *evidence.Host, vs *evidence.VirtualService) bool {
	kube := false
	for _, a := range d.Addrs {
		if strings.HasPrefix(a.Iface, "kube-ipvs") {
			kube = true
			if a.Prefix.Addr() == vs.Addr {
				return true
			}
		}
	}
	if !kube || d.Keepalived == nil {
		return false
	}
	// NodePorts sit on the node's own addresses: with kube-proxy present,
	// a service on an address that no vrrp_instance floats is its.
	for _, vi := range d.Keepalived.VRRPInstances {
		for _, v := range vi.VIPs {
			if v.Prefix.Addr() == vs.Addr {
				return false
			}
		}
	}
	return true
}

// ipvsadmDelete is the command that removes vs from the table; "" when it
// cannot be named.
func ipvsadmDelete(vs *evidence.VirtualService) string {
	switch {
	case vs.Proto == "FWM" && vs.FWMark != 0:
		return fmt.Sprintf("ipvsadm -D -f %d", vs.FWMark)
	case vs.Addr.IsValid():
		flag := map[string]string{"TCP": "-t", "UDP": "-u", "SCTP": "--sctp-service"}[strings.ToUpper(vs.Proto)]
		if flag == "" {
			return ""
		}
		return fmt.Sprintf("ipvsadm -D %s %s", flag, netip.AddrPortFrom(vs.Addr, vs.Port))
	}
	return ""
}

// weightDrifted reports a real server IPVS weighs otherwise than
// keepalived.conf says. keepalived changes a weight itself only through a
// health check: to 0 when it fails (inhibit_on_failure, alpha), or to what
// a MISC_CHECK with misc_dynamic returns; so a table weight above 0 that
// is not the configured one, without a MISC_CHECK, is not keepalived's
// doing (a manual ipvsadm -e, or keepalived programming another value:
// 2.1.x programs weight 0 as 1).
func weightDrifted(r *evidence.KRealServer, dest *evidence.RealServer) bool {
	if r.WeightRef.IsZero() || dest.Weight <= 0 || dest.Weight == r.Weight {
		return false
	}
	return r.Check == nil || r.Check.Type != "MISC_CHECK"
}

// checkTimeoutsUnset reports global_defs' lvs_timeouts that keepalived
// never applies. Up to 2.1.3 the VRRP process set them, and only when it
// managed the sync daemon (vrrp_daemon.c: `if (vrrp_ipvs_needed())`, which
// is `global_data->lvs_syncd.ifname`); from 2.1.4 the checker sets them
// (check_daemon.c, commit 42e2f0f1 "ipvs: Fix configuring of sync
// daemon"). Without lvs_sync_daemon, IPVS keeps its own timeouts (900 120
// 300 unless someone set others).
func checkTimeoutsUnset(p *Pass, d *evidence.Host) {
	kc := d.Keepalived
	if kc == nil || kc.LVSTimeouts == nil || kc.LVSSyncDaemon != nil {
		return
	}
	version, vref := runningVersion(d)
	if version != "" && !keepalivedBefore(version, 2, 1, 4) {
		return
	}
	ev := []evidence.Ref{*kc.LVSTimeouts}
	running := "IPVS keeps the timeouts it had (900 120 300 after boot unless something else set them)"
	if d.IPVS != nil && d.IPVS.Timeouts != nil {
		t := d.IPVS.Timeouts
		if (kc.LVSTimeoutTCP == 0 || kc.LVSTimeoutTCP == t.TCP) && (kc.LVSTimeoutFin == 0 || kc.LVSTimeoutFin == t.TCPFin) &&
			(kc.LVSTimeoutUDP == 0 || kc.LVSTimeoutUDP == t.UDP) {
			return // applied anyway (by hand, or a later keepalived)
		}
		ev = append(ev, t.Ref)
		running = fmt.Sprintf("the running IPVS timeouts are %d %d %d", t.TCP, t.TCPFin, t.UDP)
	}
	which := "keepalived before 2.1.4"
	if version != "" {
		which = "keepalived " + version
		ev = append(ev, vref)
	}
	var want []string
	for _, x := range []struct {
		name string
		v    int
	}{{"tcp", kc.LVSTimeoutTCP}, {"tcpfin", kc.LVSTimeoutFin}, {"udp", kc.LVSTimeoutUDP}} {
		if x.v > 0 {
			want = append(want, fmt.Sprintf("%s %d", x.name, x.v))
		}
	}
	syncd := "lvs_sync_daemon followed by the interface and the name of the vrrp_instance"
	for _, vi := range kc.VRRPInstances {
		if vi.Interface != "" && vi.Name != "" {
			syncd = "lvs_sync_daemon " + vi.Interface + " " + vi.Name
			break
		}
	}
	fix := []string{
		fixStep("in global_defs of keepalived.conf on %s: add %s (the sync daemon, "+
			"which also makes keepalived < 2.1.4 set lvs_timeouts), or upgrade keepalived to 2.1.4 or later", d.Name, syncd),
		keepalivedApply(p, firstService(p), d, ""),
	}
	if len(want) > 0 {
		fix = append(fix, fixCmd(fmt.Sprintf("ipvsadm --set %d %d %d", kc.LVSTimeoutTCP, kc.LVSTimeoutFin, kc.LVSTimeoutUDP),
			"meanwhile, by hand (0 keeps a value)"))
	}
	fix = append(fix, fixCmd("ipvsadm -L --timeout", "shows the configured values"))
	p.Report(diagnosis.Finding{
		Severity: diagnosis.Warning,
		Host:     d.Name,
		Title:    fmt.Sprintf("keepalived on %s does not apply its lvs_timeouts (%s): global_defs has no lvs_sync_daemon", d.Name, strings.Join(want, " ")),
		Explanation: fmt.Sprintf("%s sets IPVS's timeouts from lvs_timeouts only in the process that runs the connection "+
			"sync daemon, which it starts only with an lvs_sync_daemon line; keepalived.conf on %s has none, so %s. "+
			"Idle connections expire when IPVS's own timeout says, not keepalived.conf's.", which, d.Name, running),
		Evidence: ev,
		Fix:      fix,
	})
}

// keepalivedBefore reports whether version ("2.0.20") is older than
// major.minor.patch; false when it cannot be read.
func keepalivedBefore(version string, major, minor, patch int) bool {
	var v [3]int
	for i, f := range strings.SplitN(strings.TrimPrefix(version, "v"), ".", 3) {
		n := 0
		for _, c := range f {
			if c < '0' || c > '9' {
				break
			}
			n = n*10 + int(c-'0')
		}
		v[i] = n
	}
	want := [3]int{major, minor, patch}
	for i := range v {
		if v[i] != want[i] {
			return v[i] < want[i]
		}
	}
	return false
}

// serviceVirtuals are the table's virtual services that carry the port of
// a Kubernetes Service ds: at its address and port, or at its nodePort on
// any address. A manifest without a clusterIP (the API server assigns it)
// names no address, and a whole node's table holds other Services on the
// same port: there the Service's are those whose real servers are at the
// targetPort and at another port (one Service port's endpoints share their
// targetPort, so the mix is the Service's old and new versions), whatever
// their port (a quoted table's port may be edited or mistyped).
func serviceVirtuals(d *evidence.Host, ds *evidence.DeclaredService, target uint16) []*evidence.VirtualService {
	var out []*evidence.VirtualService
	for _, vs := range d.IPVS.Services {
		if vs.Proto == "FWM" || !strings.EqualFold(vs.Proto, ds.Proto) {
			continue
		}
		if ds.Addr.IsValid() {
			if (vs.Addr == ds.Addr && vs.Port == ds.Port) || (ds.NodePort != 0 && vs.Port == ds.NodePort) {
				out = append(out, vs)
			}
			continue
		}
		at, other := false, false
		for _, r := range vs.Dests {
			at = at || r.Port == target
			other = other || r.Port != target
		}
		if at && other {
			out = append(out, vs)
		}
	}
	return out
}

// checkServiceDrift compares the table with the Kubernetes Services the
// case quotes (the proxy's intent: kube-proxy, kube-router): a real
// server at a port the Service does not target is left from an earlier
// version of it (a port changed and applied again), which the proxy did
// not remove; the connections IPVS schedules to it are refused.
func checkServiceDrift(p *Pass, d *evidence.Host) {
	if d.IPVS == nil || !d.Has(evidence.KindIPVS) {
		return
	}
	var diffs, fixes []string
	var ev []evidence.Ref
	seen := map[*evidence.RealServer]bool{}
	for i := range d.Declared {
		ds := &d.Declared[i]
		if ds.Controller != "kubernetes" {
			continue
		}
		target, err := strconv.ParseUint(ds.TargetPort, 10, 16)
		if err != nil || target == 0 {
			continue // a named targetPort: the pods' port numbers are not in the manifest
		}
		for _, vs := range serviceVirtuals(d, ds, uint16(target)) {
			for _, r := range vs.Dests {
				if r.Port == uint16(target) || seen[r] || vs.Filtered {
					continue
				}
				seen[r] = true
				diffs = append(diffs, fmt.Sprintf("%s forwards to %s, but Service %s sends port %d to targetPort %d",
					vs.Key(), netip.AddrPortFrom(r.Addr, r.Port), ds.Name, ds.Port, target))
				ev = append(ev, r.Ref, ds.Ref)
				flag := map[string]string{"TCP": "-t", "UDP": "-u", "SCTP": "--sctp-service"}[strings.ToUpper(vs.Proto)]
				if flag != "" && vs.Addr.IsValid() {
					fixes = append(fixes, fixCmd(fmt.Sprintf("ipvsadm -d %s %s -r %s", flag, netip.AddrPortFrom(vs.Addr, vs.Port), netip.AddrPortFrom(r.Addr, r.Port)),
						"remove the real server the Service no longer targets"))
				}
			}
		}
	}
	if len(diffs) == 0 {
		return
	}
	ev = append(ev, tableRef(d))
	p.Report(diagnosis.Finding{
		Severity: diagnosis.Critical,
		Host:     d.Name,
		Title:    fmt.Sprintf("the running IPVS table of %s keeps real servers its Kubernetes Service no longer targets (%d)", d.Name, len(diffs)),
		Explanation: "the service proxy (kube-proxy, kube-router) should keep one real server per endpoint at the Service's " +
			"targetPort; a real server at another port is left from an earlier version of the Service (its port changed and " +
			"was applied again) that the proxy did not remove. IPVS still schedules connections to it and nothing listens " +
			"there: those connections are refused or time out while the others work: " + strings.Join(diffs, "; ") + ".",
		Evidence: ev,
		Fix: append(append([]string{fixCmd("ipvsadm -Sn > /tmp/ipvs.before", "on %s: keep a copy", d.Name)}, fixes...),
			fixStep("restart the service proxy on the node so that it rebuilds its table from the Services, and upgrade it if it "+
				"keeps stale real servers (kube-router before #842 did)")),
	})
}
