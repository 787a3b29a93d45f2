package evidence

import (
	"net/netip"
	"sort"
	"strings"
)

// Role is what a host does in the cluster.
type Role string

const (
	RoleUnknown    Role = ""
	RoleDirector   Role = "director"
	RoleRealServer Role = "realserver"
	RoleHypervisor Role = "hypervisor"
	RoleClient     Role = "client"
	RoleRouter     Role = "router"
)

// ParseRole accepts the words people write in a role file.
func ParseRole(s string) (Role, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "director", "lb", "ds", "lvs", "balancer", "loadbalancer":
		return RoleDirector, true
	case "realserver", "real-server", "rs", "backend", "real_server":
		return RoleRealServer, true
	case "hypervisor", "host", "kvm", "bridge":
		return RoleHypervisor, true
	case "client":
		return RoleClient, true
	case "router", "gateway", "switch":
		return RoleRouter, true
	}
	return RoleUnknown, false
}

// Case is everything known about one incident.
type Case struct {
	Root     string   // case directory, or "" for loose transcripts
	Service  Service  // what the user says is broken (case.yaml, flags)
	Symptom  string   // free text from case.yaml
	Client   Endpoint // the client the failing test ran from, when known
	Hosts    []*Host
	Problems []Problem
	// Notes are remarks about the input that are not problems with it.
	Notes []string
	// Read counts what of the input was understood, so that a report
	// never gives a clean bill of health for evidence it did not read.
	Read ReadStats

	// byName indexes Hosts; indexed is how many of Hosts it holds, so
	// that hosts appended to Hosts directly are indexed on the next
	// lookup. A case may have tens of thousands of host folders: a scan
	// per lookup made loading quadratic.
	byName, byFold map[string]*Host
	indexed        int
}

// AnonymisedNote is what a case note about hidden addresses says after the
// file's name and before the list of what each was read as ("x.y.z.208 as
// 254.176.226.208"): the report shows that list beside the service, whose
// address may be one of them.
const AnonymisedNote = "anonymised addresses and address placeholders are read as addresses of their own, the same wherever one recurs"

// Endpoint is an address with its provenance.
type Endpoint struct {
	Addr netip.Addr
	Ref  Ref
}

// Service identifies the virtual service under diagnosis.
type Service struct {
	VIP   netip.Addr
	Port  uint16
	Proto string // "tcp", "udp", "sctp"; empty when unknown
	Mode  string // "dr", "tun", "nat", "fnat"; empty when unknown
	Ref   Ref    // where the hint came from (case.yaml, flag, inferred)
}

// Host returns the host with that name, creating it if needed.
func (c *Case) Host(name string) *Host {
	if h := c.Lookup(name); h != nil {
		return h
	}
	h := NewHost(name)
	c.Hosts = append(c.Hosts, h)
	c.Lookup(name) // index it
	return h
}

// Lookup returns the host with that name, or nil.
func (c *Case) Lookup(name string) *Host {
	c.index()
	return c.byName[name]
}

// LookupFold returns the first host whose name equals name ignoring case,
// or nil.
func (c *Case) LookupFold(name string) *Host {
	c.index()
	return c.byFold[strings.ToLower(name)]
}

func (c *Case) index() {
	if c.byName == nil || c.indexed > len(c.Hosts) {
		c.byName, c.byFold, c.indexed = make(map[string]*Host, len(c.Hosts)), make(map[string]*Host, len(c.Hosts)), 0
	}
	for ; c.indexed < len(c.Hosts); c.indexed++ {
		h := c.Hosts[c.indexed]
		// The first host of a name wins, as a scan in order would find it.
		if _, dup := c.byName[h.Name]; !dup {
			c.byName[h.Name] = h
		}
		if k := strings.ToLower(h.Name); c.byFold[k] == nil {
			c.byFold[k] = h
		}
	}
}

// HostsWithRole lists the hosts that have role r, in case order.
func (c *Case) HostsWithRole(r Role) []*Host {
	var out []*Host
	for _, h := range c.Hosts {
		if h.Role == r {
			out = append(out, h)
		}
	}
	return out
}

// Kind names a kind of evidence ("ip-addr", "sysctl", ...). Rules ask
// whether a kind was seen on a host to tell "absent" from "not collected".
type Kind string

// Host is everything one host showed.
type Host struct {
	Name    string
	Role    Role
	RoleRef Ref

	// Seen records which kinds of evidence were collected on this host,
	// each with the source that held it.
	Seen map[Kind][]Ref

	Links     []Link
	Addrs     []Addr
	Routes    []Route
	RouteRule []IPRule
	Neighbors []Neighbor
	Sysctls   map[string]Sysctl

	IPVS       *IPVS
	Firewall   Firewall
	Listeners  []Listener
	Sockets    []Socket // connected TCP sockets, at most MaxSockets
	Keepalived *KeepalivedConfig
	Logs       []LogEvent
	// Declared are the virtual services an IPVS controller's settings
	// declare on this host (lvscare's --vs/--rs).
	Declared []DeclaredService
	// SwarmLB is the command that entered this network namespace as one of
	// Docker swarm's load balancers (nsenter --net=/var/run/docker/netns/
	// lb_<netid> or ingress_sbox): swarm programs IPVS there and forwards
	// its services' VIPs in masquerading (NAT) mode. Nil otherwise.
	SwarmLB *Ref

	Kernel   Kernel
	Platform Platform
	Libvirt  Libvirt

	Frames    []Frame
	Drops     []Drop
	DropStats []DropStats
	Counters  map[string]Counter
	Conntrack Conntrack
	// Observations are results of test commands seen in transcripts
	// (curl errors, ping/arping results) that say what the user saw.
	Observations []Observation
	// Hidden is what the host's outputs say they left out (a tool's own
	// warning, a listing cut short): what it hides is no evidence of
	// absence, and the command that shows it is worth asking for.
	Hidden []Hidden
	// Zone is the host's local time zone as its own output shows it, nil
	// when its evidence does not say: what its logs' times (printed
	// without a zone) are in.
	Zone *Zone
}

// Hidden is one part of the evidence an output left out: rules of tables
// another tool holds ("# Warning: iptables-legacy tables present"), the
// elements of a set a listing did not print, lines cut from a paste.
type Hidden struct {
	Kind    Kind   // the kind of evidence that is incomplete
	What    string // what is left out: "iptables-legacy tables", "the elements of nft set inet filter blocked"
	Command string // the command that shows it
	Ref     Ref    // the line that says (or shows) it is left out
	// ShownBy is the output of the host that shows what another left out
	// (iptables-legacy-save beside iptables-nft's warning); zero while
	// it is still hidden.
	ShownBy Ref
}

// AddHidden records a part of the evidence left out, once per kind and
// what.
func (h *Host) AddHidden(x Hidden) {
	for i, y := range h.Hidden {
		if y.Kind == x.Kind && y.What == x.What {
			if y.Ref.IsZero() {
				x.ShownBy = y.ShownBy
				h.Hidden[i] = x
			}
			return
		}
	}
	h.Hidden = append(h.Hidden, x)
}

// RevealHidden records that ref shows what of kind k, whichever output
// of the host is read first.
func (h *Host) RevealHidden(k Kind, what string, ref Ref) {
	for i, y := range h.Hidden {
		if y.Kind == k && y.What == what {
			if h.Hidden[i].ShownBy.IsZero() {
				h.Hidden[i].ShownBy = ref
			}
			return
		}
	}
	h.Hidden = append(h.Hidden, Hidden{Kind: k, What: what, ShownBy: ref})
}

// HiddenOf lists what the host's outputs left out of evidence of kind k
// and no other output of the host shows.
func (h *Host) HiddenOf(k Kind) []Hidden {
	var out []Hidden
	for _, x := range h.Hidden {
		if x.Kind == k && x.ShownBy.IsZero() && !x.Ref.IsZero() {
			out = append(out, x)
		}
	}
	return out
}

// Zone is a host's local time zone and the line that shows it.
type Zone struct {
	Offset int // seconds east of UTC
	// Ref is the line that shows it: a tcpdump printout of a capture the
	// folder holds (the printout is in local time, the capture in UTC).
	Ref Ref
}

// NewHost returns an empty host.
func NewHost(name string) *Host {
	return &Host{Name: name, Seen: map[Kind][]Ref{}, Sysctls: map[string]Sysctl{}, Counters: map[string]Counter{}}
}

// MarkSeen records that evidence of kind k came from ref's source.
func (h *Host) MarkSeen(k Kind, ref Ref) {
	for _, r := range h.Seen[k] {
		if r.Source == ref.Source && r.Line == ref.Line {
			return
		}
	}
	h.Seen[k] = append(h.Seen[k], ref)
}

// Has reports whether evidence of kind k was collected on the host.
func (h *Host) Has(k Kind) bool { return len(h.Seen[k]) > 0 }

// SeenKinds lists the kinds collected on the host, sorted.
func (h *Host) SeenKinds() []Kind {
	out := make([]Kind, 0, len(h.Seen))
	for k := range h.Seen {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Kinds of evidence, one per thing a rule may need.
const (
	KindAddrs      Kind = "ip-addr"
	KindLinks      Kind = "ip-link"
	KindRoutes     Kind = "ip-route"
	KindLocalTable Kind = "ip-route-local"
	// KindRouteGet is `ip route get` output: lookup answers, not a table.
	KindRouteGet   Kind = "ip-route-get"
	KindRules      Kind = "ip-rule"
	KindNeighbors  Kind = "neighbors"
	KindSysctl     Kind = "sysctl"
	KindIPVS       Kind = "ipvs"
	KindIPVSStats  Kind = "ipvs-stats"
	KindIPVSConns  Kind = "ipvs-conns"
	KindFirewall   Kind = "firewall"
	KindIPTables   Kind = "iptables"
	KindNFT        Kind = "nft"
	KindEbtables   Kind = "ebtables"
	KindIPSets     Kind = "ipsets"
	KindFirewalld  Kind = "firewalld-zones"
	KindListeners  Kind = "listeners"
	KindSockets    Kind = "sockets"
	KindKeepalived Kind = "keepalived-conf"
	KindLogs       Kind = "logs"
	KindUname      Kind = "uname"
	KindKernels    Kind = "installed-kernels"
	KindModules    Kind = "lsmod"
	KindOSRelease  Kind = "os-release"
	KindDMI        Kind = "dmi"
	KindLibvirt    Kind = "libvirt-domain"
	KindNWFilter   Kind = "libvirt-nwfilter"
	KindFrames     Kind = "packets"
	KindCounters   Kind = "counters"
	KindConntrack  Kind = "conntrack"
	KindObserved   Kind = "observations"

	// Kinds recorded so that a later reader knows what was collected; no
	// rule needs them yet.
	KindModinfo      Kind = "modinfo"
	KindNWFilterList Kind = "libvirt-nwfilter-list"
	KindVirshList    Kind = "libvirt-domain-list"
)

// KindFirewalldDirect: firewalld's direct rules (firewall-cmd --direct
// --get-all-rules), which run before its zones; they are in
// Firewall.Rules, but are not the whole firewall (KindFirewall).
const KindFirewalldDirect Kind = "firewalld-direct"

// Link is a network interface.
type Link struct {
	Index   int
	Name    string
	Kind    string // "loopback", "ether", "ipip", "dummy", "bridge", "veth", "vlan", "vxlan", ...
	MTU     int
	Up      bool // administratively up (the UP flag)
	LowerUp bool
	State   string // operstate as printed: UP, DOWN, UNKNOWN
	MAC     string // lower-case colon form
	Master  string
	Ref     Ref
}

// Addr is an address assigned to an interface.
type Addr struct {
	Iface     string
	Label     string // e.g. "lo:0", "ens33:0"
	Prefix    netip.Prefix
	Scope     string // "global", "host", "link"
	Secondary bool
	// Tentative and DADFailed are IPv6 duplicate address detection's
	// states (`ip -6 addr` prints "dadfailed tentative"): a tentative
	// address is not used yet, one that failed is never used, because
	// another node on the link answers for it.
	Tentative bool
	DADFailed bool
	Ref       Ref
}

// Route is one route of any table.
type Route struct {
	Table   string // "main", "local", or a number/name
	Type    string // "unicast", "local", "broadcast", "blackhole", "unreachable", "prohibit", ...
	Dst     netip.Prefix
	Gateway netip.Addr
	Dev     string
	Src     netip.Addr
	Proto   string
	Scope   string
	Metric  int
	Ref     Ref
}

// IPRule is a policy routing rule.
type IPRule struct {
	Priority int
	Selector string // everything between the priority and "lookup"
	Table    string
	Ref      Ref
}

// Neighbor is an ARP/neighbour table entry.
type Neighbor struct {
	IP    netip.Addr
	MAC   string
	Dev   string
	State string // REACHABLE, STALE, FAILED, INCOMPLETE, PERMANENT, ...
	Ref   Ref
}

// Sysctl is one kernel parameter as shown.
type Sysctl struct {
	Key   string // dotted: net.ipv4.conf.all.rp_filter
	Value string
	Ref   Ref
}

// Counter is a named counter (nstat, netstat -s, ethtool -S, /proc/net/snmp).
type Counter struct {
	Name  string
	Value int64
	Ref   Ref
}

// Conntrack is the connection tracking table's fill level.
type Conntrack struct {
	Count, Max       int64
	CountRef, MaxRef Ref
}

// Observation is something a test command showed (curl: No route to host).
type Observation struct {
	Kind string // "curl-error", "connect-refused", "timeout", "ping-ok", ...
	Ref  Ref
	// Target is the address the test was aimed at (from the output or the
	// command line); Port is 0 for ping/arping. MAC is set for ARP replies.
	Target netip.Addr
	Port   uint16
	MAC    string
}

// Platform is what the host runs on.
type Platform struct {
	Manufacturer, Product string
	OSID, OSVersion       string
	Ref                   Ref
}

// Kernel is the running and installed kernels and modules.
type Kernel struct {
	Release   string // uname -r
	Version   string // the #1 SMP ... build string, when shown
	Machine   string
	Ref       Ref
	Installed []InstalledKernel
	Modules   map[string]Ref // loaded modules (lsmod); nil when not collected
	// Builtin are modules compiled into the kernel (`modinfo NAME`'s
	// "filename: (builtin)", modules.builtin, CONFIG_IP_VS=y): present
	// although lsmod and /proc/modules never list them.
	Builtin map[string]Ref
	// NotLoaded are modules a filtered module list would have shown and
	// did not (`lsmod | grep ip_vs` printing nothing): not loaded. Code
	// built into the kernel is never listed either (see Builtin).
	NotLoaded map[string]Ref
}

// InstalledKernel is one boot entry or installed kernel package.
type InstalledKernel struct {
	Version string
	Path    string
	Title   string
	Default bool
	// History is true for a package a package manager's history shows
	// installed (dnf/yum history info): that history may not hold every
	// transaction, so a kernel it does not show may still be installed.
	History bool
	// Removed is true for a package the history shows removed since.
	Removed bool
	Ref     Ref
}

// AddrsOf returns the host's addresses equal to a (any interface).
func (h *Host) AddrsOf(a netip.Addr) []Addr {
	var out []Addr
	for _, x := range h.Addrs {
		if x.Prefix.Addr() == a {
			out = append(out, x)
		}
	}
	return out
}

// Link returns the interface named name.
func (h *Host) Link(name string) (Link, bool) {
	for _, l := range h.Links {
		if l.Name == name {
			return l, true
		}
	}
	return Link{}, false
}

// IsLocal reports whether a is one of the host's addresses.
func (h *Host) IsLocal(a netip.Addr) bool { return len(h.AddrsOf(a)) > 0 }

// ReadStats counts the blocks of input (a command's output, a file) by
// what became of them.
type ReadStats struct {
	Blocks     int // blocks with content
	Understood int // parsed by a known format
	Context    int // output of commands pasted for context, not evidence
	Failed     int // a command's error in place of its output
}
