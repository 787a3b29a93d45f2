// Package topology works out, from the evidence, who is who in the case
// (directors, real servers, hypervisors, the client), which virtual
// service is being diagnosed and how it forwards. Rules read this view
// instead of each re-deriving it.
package topology

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// Hints are what the user told us on the command line; they win over
// case.yaml, which wins over what the tables imply.
type Hints struct {
	VIP   netip.Addr
	Port  uint16
	Proto string
	Mode  string
}

// Topology is the resolved view of a case.
type Topology struct {
	Case     *evidence.Case
	Services []*Service
	// RoleInferred says, for hosts whose role was not given, why lvsdoctor
	// took them to have the role they have.
	RoleInferred map[string]string

	// owners indexes HostOwning over the ownersOf first hosts of the case:
	// rules ask it for every RIP and every packet, and a scan of every
	// address of every host each time made diagnose quadratic in the
	// number of real servers.
	owners   map[netip.Addr]*evidence.Host
	ownersOf int
}

// Service is one virtual service under diagnosis, as every director and
// keepalived.conf shows it.
type Service struct {
	VIP    netip.Addr
	Port   uint16
	Proto  string // lower case: tcp, udp, sctp
	FWMark uint32
	Mode   string // dr, tun, nat, fnat, or "" when unknown
	// ModeRef is where the mode was read.
	ModeRef evidence.Ref
	// IPVS maps a director's name to its matching IPVS service (absent
	// when the director's table has none).
	IPVS map[string]*evidence.VirtualService
	// Config maps a director's name to its keepalived virtual_server.
	Config map[string]*evidence.KVirtualServer
	RIPs   []netip.Addr
	// declared are the controllers' settings that declare this service
	// (lvscare's --vs/--rs); their real servers are RIPs too.
	declared []*evidence.DeclaredService
	// ripIndex is the position of each RIP in RIPs (OwnRIP).
	ripIndex map[netip.Addr]int
	// Given is true when the user named this service (flag or case.yaml).
	Given bool
	Ref   evidence.Ref
}

// String is "tcp 192.0.2.10:80".
func (s *Service) String() string {
	if s.FWMark != 0 && !s.VIP.IsValid() {
		return "fwmark " + strconv.Itoa(int(s.FWMark))
	}
	if s.Port == 0 {
		return strings.TrimSpace(s.Proto + " " + s.VIP.String())
	}
	return strings.TrimSpace(s.Proto + " " + netip.AddrPortFrom(s.VIP, s.Port).String())
}

// Resolve builds the topology. It fills in roles that were not given.
func Resolve(c *evidence.Case, h Hints) *Topology {
	t := &Topology{Case: c, RoleInferred: map[string]string{}}
	hint := c.Service
	if h.VIP.IsValid() {
		hint.VIP, hint.Ref = h.VIP, evidence.Ref{Source: "command line", Text: "--vip " + h.VIP.String()}
	}
	if h.Port != 0 {
		hint.Port = h.Port
	}
	if h.Proto != "" {
		hint.Proto = strings.ToLower(h.Proto)
	}
	if h.Mode != "" {
		hint.Mode = h.Mode
	}
	t.inferDirectors()
	t.resolveServices(hint)
	t.inferOthers()
	t.indexOwners()
	return t
}

// indexOwners maps every address to the first host (in case order) that
// owns it, as HostOwning's scan finds it.
func (t *Topology) indexOwners() {
	t.owners = map[netip.Addr]*evidence.Host{}
	for _, h := range t.Case.Hosts {
		for _, x := range h.Addrs {
			a := x.Prefix.Addr()
			if ownsAddr(x, a) && t.owners[a] == nil {
				t.owners[a] = h
			}
		}
	}
	t.ownersOf = len(t.Case.Hosts)
}

// ownsAddr reports whether x, one of a host's addresses equal to a, says
// the host owns a: a VIP on lo does not (real servers share it).
func ownsAddr(x evidence.Addr, a netip.Addr) bool {
	return x.Iface != "lo" || a.IsLoopback()
}

func (t *Topology) inferDirectors() {
	for _, h := range t.Case.Hosts {
		if h.Role != evidence.RoleUnknown {
			continue
		}
		switch {
		case h.IPVS != nil && len(h.IPVS.Services) > 0:
			h.Role = evidence.RoleDirector
			t.RoleInferred[h.Name] = "it has IPVS virtual services"
		case h.Keepalived != nil && len(h.Keepalived.VirtualServers) > 0:
			h.Role = evidence.RoleDirector
			t.RoleInferred[h.Name] = "its keepalived.conf defines virtual servers"
		case h.Keepalived != nil && carriesVIPs(h.Keepalived):
			// keepalived moving a VIP with VRRP is what a director runs
			// (the virtual servers may be in an include not pasted).
			h.Role = evidence.RoleDirector
			t.RoleInferred[h.Name] = "its keepalived.conf moves VIPs with VRRP"
		case changesIPVS(h):
			h.Role = evidence.RoleDirector
			t.RoleInferred[h.Name] = "its keepalived log adds or removes real servers"
		case h.Keepalived != nil && (len(h.Keepalived.LVSFragment) > 0 || h.Keepalived.LVSTimeouts != nil || h.Keepalived.LVSSyncDaemon != nil):
			h.Role = evidence.RoleDirector
			t.RoleInferred[h.Name] = "its keepalived.conf holds IPVS settings"
		case h.Keepalived != nil && len(h.Keepalived.VRRPFragment) > 0:
			// quoted vrrp_instance settings: keepalived's VRRP side, which
			// moves a director's VIPs
			h.Role = evidence.RoleDirector
			t.RoleInferred[h.Name] = "its keepalived.conf holds VRRP settings"
		case programsIPVS(h):
			h.Role = evidence.RoleDirector
			t.RoleInferred[h.Name] = "its keepalived log shows keepalived programming IPVS"
		case hostDeclared(h) != nil:
			ds := hostDeclared(h)
			h.Role = evidence.RoleDirector
			t.RoleInferred[h.Name] = "its " + ds.Controller + " options declare virtual service " +
				netip.AddrPortFrom(ds.Addr, ds.Port).String()
		case runsVRRP(h):
			// keepalived's VRRP moving a VIP between hosts is what a
			// director pair runs (as its keepalived.conf would say).
			h.Role = evidence.RoleDirector
			t.RoleInferred[h.Name] = "its keepalived log runs VRRP instances"
		case h.IPVS != nil && (h.IPVS.TotalConns > 0 || len(h.IPVS.Conns) > 0):
			// Connection entries are made only where IPVS scheduled a
			// connection: on a director.
			h.Role = evidence.RoleDirector
			t.RoleInferred[h.Name] = "its IPVS connection table has entries"
		case h.SwarmLB != nil:
			// Docker swarm's load balancer: its IPVS forwards the
			// overlay's service VIPs in masquerading (NAT) mode.
			h.Role = evidence.RoleDirector
			t.RoleInferred[h.Name] = "it is a Docker swarm load-balancer network namespace (" + h.SwarmLB.Text + "), where swarm's IPVS forwards service VIPs in NAT mode"
		case runsKubeProxy(h):
			// kube-proxy forwards the service traffic of its node: in IPVS
			// mode with the kernel's IPVS, the node is a director.
			h.Role = evidence.RoleDirector
			t.RoleInferred[h.Name] = "it runs kube-proxy (its log)"
		case len(h.Libvirt.Interfaces) > 0 || len(h.Libvirt.Filters) > 0:
			h.Role = evidence.RoleHypervisor
			t.RoleInferred[h.Name] = "it shows libvirt domains or filters"
		}
	}
}

func (t *Topology) inferOthers() {
	rips := map[netip.Addr]bool{}
	vips := map[netip.Addr]bool{}
	for _, s := range t.Services {
		for _, r := range s.RIPs {
			rips[r] = true
		}
		if s.VIP.IsValid() {
			vips[s.VIP] = true
		}
	}
	for _, h := range t.Case.Hosts {
		if h.Role != evidence.RoleUnknown {
			continue
		}
		for _, a := range h.Addrs {
			if rips[a.Prefix.Addr()] {
				h.Role = evidence.RoleRealServer
				t.RoleInferred[h.Name] = "it owns real server address " + a.Prefix.Addr().String()
				break
			}
		}
		if h.Role != evidence.RoleUnknown {
			continue
		}
		for _, a := range h.Addrs {
			if vips[a.Prefix.Addr()] && (a.Iface == "lo" || strings.HasPrefix(a.Iface, "tunl") || strings.HasPrefix(a.Iface, "dummy")) {
				h.Role = evidence.RoleRealServer
				t.RoleInferred[h.Name] = "it holds the VIP on " + a.Iface
				break
			}
		}
		if h.Role != evidence.RoleUnknown {
			continue
		}
		if t.Case.Client.Addr.IsValid() && h.IsLocal(t.Case.Client.Addr) {
			h.Role = evidence.RoleClient
			t.RoleInferred[h.Name] = "it owns the client address"
		} else if len(h.Observations) > 0 && len(h.Addrs) == 0 && h.IPVS == nil {
			h.Role = evidence.RoleClient
			t.RoleInferred[h.Name] = "it only shows test commands"
		}
	}
}

func (t *Topology) resolveServices(hint evidence.Service) {
	byKey := map[string]*Service{}
	var order []string
	add := func(proto string, vip netip.Addr, port uint16, mark uint32) *Service {
		proto = strings.ToLower(proto)
		if proto == "fwm" {
			proto = ""
		}
		key := proto + " " + vip.String() + ":" + strconv.Itoa(int(port))
		if mark != 0 {
			// ipvsadm shows "FWM 1", keepalived "fwmark 1" with a protocol.
			key = "fwm " + strconv.Itoa(int(mark))
		}
		if s, ok := byKey[key]; ok {
			if s.Proto == "" {
				s.Proto = proto
			}
			return s
		}
		s := &Service{VIP: vip, Port: port, Proto: proto, FWMark: mark,
			IPVS: map[string]*evidence.VirtualService{}, Config: map[string]*evidence.KVirtualServer{}}
		byKey[key] = s
		order = append(order, key)
		return s
	}
	for _, h := range t.Case.HostsWithRole(evidence.RoleDirector) {
		if h.IPVS != nil {
			for _, vs := range h.IPVS.Services {
				s := add(vs.Proto, vs.Addr, vs.Port, vs.FWMark)
				s.IPVS[h.Name] = vs
				if s.Ref.IsZero() {
					s.Ref = vs.Ref
				}
			}
		}
		for i := range h.Declared {
			ds := &h.Declared[i]
			if !ds.Addr.IsValid() {
				continue // a Service whose clusterIP the API server assigns: its ports alone name no service
			}
			s := add(ds.Proto, ds.Addr, ds.Port, 0)
			s.declared = append(s.declared, ds)
			if s.Ref.IsZero() {
				s.Ref = ds.Ref
			}
		}
		if h.Keepalived != nil {
			for _, kv := range h.Keepalived.VirtualServers {
				s := add(kv.Proto, kv.Addr, kv.Port, kv.FWMark)
				s.Config[h.Name] = kv
				if s.Ref.IsZero() {
					s.Ref = kv.Ref
				}
			}
		}
	}
	var all []*Service
	for _, k := range order {
		all = append(all, byKey[k])
	}
	if len(all) == 0 && !hint.VIP.IsValid() {
		all = t.unconfiguredServices()
	}
	if !hint.VIP.IsValid() {
		all = t.markedVIPs(all)
	}
	if hint.VIP.IsValid() {
		var picked []*Service
		for _, s := range all {
			if s.VIP != hint.VIP {
				continue
			}
			if hint.Port != 0 && s.Port != hint.Port && s.Port != 0 {
				continue
			}
			if hint.Proto != "" && s.Proto != "" && s.Proto != hint.Proto {
				continue
			}
			picked = append(picked, s)
		}
		if len(picked) == 0 {
			picked = t.fwmarkServices(all, hint)
		}
		if len(picked) == 0 {
			// The user's service exists nowhere: keep it, so that rules can
			// say so (director.no-virtual-service).
			s := &Service{VIP: hint.VIP, Port: hint.Port, Proto: hint.Proto,
				IPVS: map[string]*evidence.VirtualService{}, Config: map[string]*evidence.KVirtualServer{}}
			picked = append(picked, s)
		}
		for _, s := range picked {
			s.Given = true
			s.Ref = hint.Ref
		}
		all = picked
	}
	for _, s := range all {
		t.fillService(s, hint)
	}
	t.Services = all
}

func (t *Topology) fillService(s *Service, hint evidence.Service) {
	seen := map[netip.Addr]bool{}
	methods := map[string]int{}
	var methodRef evidence.Ref
	for _, name := range sortedKeys(s.IPVS) {
		for _, d := range s.IPVS[name].Dests {
			if !seen[d.Addr] {
				seen[d.Addr] = true
				s.RIPs = append(s.RIPs, d.Addr)
			}
			if m := evidence.ModeOfMethod(d.Method); m != "" {
				methods[m]++
				if methodRef.IsZero() {
					methodRef = d.Ref
				}
			}
		}
	}
	for _, name := range sortedKeys(s.Config) {
		kv := s.Config[name]
		for _, r := range kv.RealServers {
			if !seen[r.Addr] {
				seen[r.Addr] = true
				s.RIPs = append(s.RIPs, r.Addr)
			}
		}
		if len(methods) == 0 && kv.LbKind != "" {
			methods[strings.ToLower(kv.LbKind)]++
			methodRef = kv.LbKindRef
		}
	}
	for _, ds := range s.declared {
		for _, r := range ds.RealServers {
			if !seen[r.Addr()] {
				seen[r.Addr()] = true
				s.RIPs = append(s.RIPs, r.Addr())
			}
		}
	}
	s.ripIndex = make(map[netip.Addr]int, len(s.RIPs))
	for i, r := range s.RIPs {
		s.ripIndex[r] = i
	}
	best, n := "", 0
	for m, c := range methods {
		if c > n || (c == n && m < best) {
			best, n = m, c
		}
	}
	switch {
	case hint.Mode != "":
		s.Mode, s.ModeRef = hint.Mode, hint.Ref
	case best != "":
		s.Mode, s.ModeRef = best, methodRef
	default:
		// A listing without the Forward column (--stats, --rate) says
		// no method; kube-proxy's IPVS services are all masquerading.
		for _, name := range sortedKeys(s.IPVS) {
			if h := t.Case.Lookup(name); h != nil {
				if ref, ok := kubeProxyRef(h); ok {
					s.Mode, s.ModeRef = "nat", ref
					break
				}
			}
		}
	}
}

// hostDeclared is the first virtual service the host's own controller
// options declare (lvscare's --vs); nil when none. A Kubernetes Service
// manifest is the cluster's intent, not the host's: quoting one does not
// make the host a node.
func hostDeclared(h *evidence.Host) *evidence.DeclaredService {
	for i := range h.Declared {
		if h.Declared[i].Controller != "kubernetes" && h.Declared[i].Addr.IsValid() {
			return &h.Declared[i]
		}
	}
	return nil
}

// kubeProxyRef is the line that shows kube-proxy programs h's IPVS table
// (its log or its settings, in IPVS mode), whose services all forward by
// masquerading.
func kubeProxyRef(h *evidence.Host) (evidence.Ref, bool) {
	for _, l := range h.Logs {
		if l.Kind == evidence.LogKubeProxyConfig && l.Subject == "proxy-mode=ipvs" {
			return l.Ref, true
		}
	}
	for _, l := range h.Logs {
		if l.Kind == evidence.LogKubeProxy && strings.Contains(l.Detail, "Using ipvs Proxier") {
			return l.Ref, true
		}
	}
	return evidence.Ref{}, false
}

// OwnRIP returns the first of s.RIPs that h has on an interface other
// than lo: which real server of s the host is. It looks h's few addresses
// up instead of scanning every RIP for each, so asking it for every real
// server costs O(real servers), not O(real servers²).
func (s *Service) OwnRIP(h *evidence.Host) (netip.Addr, bool) {
	if len(s.ripIndex) != len(s.RIPs) {
		// Not filled by Resolve (a Service built by hand), or RIPs
		// changed since: scan.
		for _, rip := range s.RIPs {
			for _, a := range h.AddrsOf(rip) {
				if a.Iface != "lo" {
					return rip, true
				}
			}
		}
		return netip.Addr{}, false
	}
	best := -1
	for _, a := range h.Addrs {
		if a.Iface == "lo" {
			continue
		}
		if i, ok := s.ripIndex[a.Prefix.Addr()]; ok && (best < 0 || i < best) {
			best = i
		}
	}
	if best < 0 {
		return netip.Addr{}, false
	}
	return s.RIPs[best], true
}

// Directors, RealServers, Hypervisors and Clients list hosts by role.
func (t *Topology) Directors() []*evidence.Host { return t.Case.HostsWithRole(evidence.RoleDirector) }

// RealServers lists the real servers.
func (t *Topology) RealServers() []*evidence.Host {
	return t.Case.HostsWithRole(evidence.RoleRealServer)
}

// Hypervisors lists the hypervisors.
func (t *Topology) Hypervisors() []*evidence.Host {
	return t.Case.HostsWithRole(evidence.RoleHypervisor)
}

// Clients lists the clients.
func (t *Topology) Clients() []*evidence.Host { return t.Case.HostsWithRole(evidence.RoleClient) }

// HostOwning returns the host that has a as one of its own addresses,
// skipping VIPs shared by real servers (a VIP on lo does not identify a
// host).
func (t *Topology) HostOwning(a netip.Addr) *evidence.Host {
	if t.owners != nil && t.ownersOf == len(t.Case.Hosts) {
		return t.owners[a]
	}
	for _, h := range t.Case.Hosts {
		for _, x := range h.AddrsOf(a) {
			if ownsAddr(x, a) {
				return h
			}
		}
	}
	return nil
}

// VIPs lists the distinct VIPs of the services under diagnosis.
func (t *Topology) VIPs() []netip.Addr {
	var out []netip.Addr
	seen := map[netip.Addr]bool{}
	for _, s := range t.Services {
		if s.VIP.IsValid() && !seen[s.VIP] {
			seen[s.VIP] = true
			out = append(out, s.VIP)
		}
	}
	return out
}

// IsVIP reports whether a is the VIP of a service under diagnosis.
func (t *Topology) IsVIP(a netip.Addr) bool {
	for _, s := range t.Services {
		if s.VIP == a {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// fwmarkServices finds the firewall-mark services that carry the hinted
// VIP:port: a mangle rule on a director marks the traffic (MARK set N)
// and an FWM N service takes it.
func (t *Topology) fwmarkServices(all []*Service, hint evidence.Service) []*Service {
	var out []*Service
	for _, s := range all {
		if s.FWMark == 0 {
			continue
		}
		for _, h := range t.Directors() {
			for _, r := range h.Firewall.Rules {
				if !SetsMark(&r, s.FWMark) {
					continue
				}
				p := evidence.Packet{Proto: hint.Proto, Dst: hint.VIP, DPort: hint.Port}
				if r.Dst.Any() || r.MatchPacket(p) == evidence.NoMatch {
					continue
				}
				s.VIP, s.Port = hint.VIP, hint.Port
				if s.Proto == "" {
					s.Proto = hint.Proto
				}
				out = append(out, s)
				goto next
			}
		}
	next:
	}
	return out
}

// markedVIPs gives each firewall-mark service without a VIP the VIPs
// and ports of the mangle rules that set its mark on a director (iptables
// `-d VIP -p tcp --dport 80 -j MARK --set-mark 3`, nft `ip daddr VIP tcp
// dport 80 meta mark set 3`), so that every rule about a VIP runs for it.
// A mark set on several VIPs gives one service per VIP, sharing the IPVS
// service and its configuration; a mark no rule sets on one address
// leaves the service without a VIP (director.no-virtual-service says why).
func (t *Topology) markedVIPs(all []*Service) []*Service {
	var out []*Service
	for _, s := range all {
		if s.FWMark == 0 || s.VIP.IsValid() {
			out = append(out, s)
			continue
		}
		targets := MarkedTargets(t.Directors(), s.FWMark)
		if len(targets) == 0 {
			out = append(out, s)
			continue
		}
		for i, m := range targets {
			x := s
			if i > 0 {
				c := *s
				x = &c
			}
			x.VIP, x.Port, x.Ref = m.VIP, m.Port, m.Rule.Ref
			if x.Proto == "" {
				x.Proto = m.Proto
			}
			out = append(out, x)
		}
	}
	return out
}

// MarkTarget is one VIP (and port) a firewall rule marks for an FWM
// service.
type MarkTarget struct {
	VIP   netip.Addr
	Port  uint16 // the first port the rule matches; 0 for any
	Proto string
	Rule  *evidence.FirewallRule
}

// MarkedTargets lists the single addresses that the MARK rules of hosts
// set mark on, each with the rule's first destination port, in the
// rules' order.
func MarkedTargets(hosts []*evidence.Host, mark uint32) []MarkTarget {
	var out []MarkTarget
	seen := map[netip.AddrPort]bool{}
	for _, h := range hosts {
		for i := range h.Firewall.Rules {
			r := &h.Firewall.Rules[i]
			if !SetsMark(r, mark) || r.Dst.Negate {
				continue
			}
			var port uint16
			if len(r.DPorts) > 0 {
				port = r.DPorts[0].From
			}
			proto := strings.ToLower(r.Proto)
			if proto != "tcp" && proto != "udp" && proto != "sctp" {
				proto = ""
			}
			for _, pfx := range r.Dst.Prefixes {
				if !pfx.IsSingleIP() {
					continue
				}
				k := netip.AddrPortFrom(pfx.Addr(), port)
				if seen[k] {
					continue
				}
				seen[k] = true
				out = append(out, MarkTarget{VIP: pfx.Addr(), Port: port, Proto: proto, Rule: r})
			}
		}
	}
	return out
}

// SetsMark reports whether r sets firewall mark m on the packets it
// matches (iptables -j MARK --set-mark/--set-xmark, nft meta mark set).
func SetsMark(r *evidence.FirewallRule, m uint32) bool {
	return strings.EqualFold(r.Verdict, "MARK") && parseMark(r.Target) == m
}

// parseMark reads a mark as iptables and nft print it: 0x7, 7, 0x7/0xff.
func parseMark(s string) uint32 {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	n, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		return 0
	}
	return uint32(n)
}

// unconfiguredServices are the services the evidence shows without an
// IPVS table, a keepalived virtual_server or a controller's settings: the
// VIPs keepalived's VRRP manages (its gratuitous ARPs, its captured
// adverts), of unknown port and mode; a Docker swarm load-balancer
// namespace's NAT service, of unknown VIP.
func (t *Topology) unconfiguredServices() []*Service {
	var all []*Service
	seen := map[netip.Addr]bool{}
	for _, h := range t.Case.Hosts {
		for _, v := range h.KeepalivedVIPs() {
			if seen[v.Addr] {
				continue
			}
			seen[v.Addr] = true
			all = append(all, &Service{VIP: v.Addr, Ref: v.Ref,
				IPVS: map[string]*evidence.VirtualService{}, Config: map[string]*evidence.KVirtualServer{}})
		}
	}
	if len(all) > 0 {
		return all
	}
	for _, h := range t.Case.HostsWithRole(evidence.RoleDirector) {
		if h.SwarmLB != nil {
			return []*Service{{Mode: "nat", ModeRef: *h.SwarmLB, Ref: *h.SwarmLB,
				IPVS: map[string]*evidence.VirtualService{}, Config: map[string]*evidence.KVirtualServer{}}}
		}
	}
	return nil
}

// carriesVIPs reports whether a keepalived configuration has a
// vrrp_instance with virtual addresses.
func carriesVIPs(kc *evidence.KeepalivedConfig) bool {
	for _, vi := range kc.VRRPInstances {
		if len(vi.VIPs) > 0 {
			return true
		}
	}
	return false
}

// runsKubeProxy reports whether h's logs are kube-proxy's.
func runsKubeProxy(h *evidence.Host) bool {
	for _, l := range h.Logs {
		if l.Kind == evidence.LogKubeProxy {
			return true
		}
	}
	return false
}

// runsVRRP reports whether h's log is keepalived's VRRP at work: an
// instance changing state, or gratuitous ARPs for its VIPs.
func runsVRRP(h *evidence.Host) bool {
	for _, l := range h.Logs {
		switch l.Kind {
		case evidence.LogVRRPMaster, evidence.LogVRRPBackup, evidence.LogVRRPFault, evidence.LogGARPSent,
			evidence.LogVRRPPeerPriority, evidence.LogVRRPLowerPrio, evidence.LogVRRPInstance:
			return true
		}
	}
	return false
}

// changesIPVS reports whether h's keepalived log adds or removes real
// servers of virtual services: keepalived's checkers run on a director.
func changesIPVS(h *evidence.Host) bool {
	for _, l := range h.Logs {
		if l.Kind == evidence.LogRSRemoved || l.Kind == evidence.LogRSAdded {
			return true
		}
	}
	return false
}

// programsIPVS reports whether h's keepalived logged about the IPVS table
// it builds (a refused IPVS command, a real server it skipped): only a
// director's keepalived has one.
func programsIPVS(h *evidence.Host) bool {
	for _, l := range h.Logs {
		if strings.HasPrefix(l.Message, "keepalived.ipvs.") || strings.HasPrefix(l.Message, "keepalived.check.") {
			return true
		}
	}
	return false
}
