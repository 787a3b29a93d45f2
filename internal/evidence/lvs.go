package evidence

import (
	"net/netip"
	"strconv"
	"strings"
)

// IPVS is the director's IPVS state, from ipvsadm or /proc/net/ip_vs*.
type IPVS struct {
	Version  string // "1.2.1"
	TableRef Ref    // the header line, when present
	// DPVS: the banner says "(size=0)", which only DPVS's ipvsadm prints
	// (its daemon answers info->size = 0, src/ipvs/ip_vs_service.c; the
	// kernel prints its connection table's size, 256 or more): the
	// table is DPVS's, a user-space IPVS with its own limits.
	DPVS     bool
	Services []*VirtualService
	// Connections are grouped: a million-entry `ipvsadm -Lnc` must not
	// cost a million structs. Each group keeps its first line as evidence.
	Conns      []*ConnGroup
	TotalConns int
	// Totals are the table-wide counters of /proc/net/ip_vs_stats.
	Totals     *Stats
	TotalsRate *Rate
	TotalsRef  Ref
	// Timeouts are `ipvsadm -L --timeout`'s: how long IPVS keeps an idle
	// connection entry; nil when not collected.
	Timeouts *IPVSTimeouts
	// SyncDaemons are the lines of `ipvsadm -L --daemon` naming a running
	// connection sync daemon ("master sync daemon (mcast=eth0, syncid=51)").
	SyncDaemons []Ref
	// LocalAddrs are the FULLNAT local addresses of each service, as
	// `ipvsadm -G` (Alibaba's LVS, DPVS) lists them; nil when not shown.
	LocalAddrs []*FNATLocalAddrs
}

// FNATLocalAddrs are one service's FULLNAT local addresses: the sources
// the director gives its connections towards the real servers.
type FNATLocalAddrs struct {
	VIP   netip.AddrPort
	Total int // the count ipvsadm printed
	Addrs []FNATLocalAddr
	Ref   Ref
}

// FNATLocalAddr is one local address with the kernel's counters:
// Conflicts counts the port allocations that found the port taken,
// Conns the connections using the address now.
type FNATLocalAddr struct {
	Addr      netip.Addr
	Conflicts uint64
	Conns     uint64
	Ref       Ref
}

// DeclaredService is a virtual service an IPVS controller's settings
// declare, which the controller keeps in the table: lvscare's --vs with
// its --rs (sealos's HA for the Kubernetes API).
// A Kubernetes Service manifest declares one per port and address
// (clusterIP, each externalIP); without a clusterIP (the API server
// assigns it) Addr is not valid and only the ports are known.
type DeclaredService struct {
	Controller  string // "lvscare", "kubernetes"
	Name        string // the Service's namespace/name; "" for lvscare
	Proto       string // "TCP"
	Addr        netip.Addr
	Port        uint16
	RealServers []netip.AddrPort
	// TargetPort is the port the Service's endpoints (the table's real
	// servers) listen on: its targetPort, or Port when the manifest
	// gives none; a named port ("http") when it names one.
	TargetPort string
	NodePort   uint16
	Ref        Ref // the line naming the virtual service
}

// IPVSTimeouts are IPVS's idle timeouts in seconds: an established TCP
// connection, one closing (FIN received), and a UDP flow.
type IPVSTimeouts struct {
	TCP, TCPFin, UDP int
	Ref              Ref
}

// VirtualService is one IPVS virtual service.
type VirtualService struct {
	Proto      string // "TCP", "UDP", "SCTP", "FWM"
	Addr       netip.Addr
	Port       uint16
	FWMark     uint32
	Scheduler  string
	Flags      []string // e.g. "persistent", "ops"
	Persistent int      // persistence timeout in seconds, 0 when not persistent, -1 when persistent with an unknown timeout (/proc/net/ip_vs prints jiffies)
	Stats      *Stats
	Rate       *Rate
	Dests      []*RealServer
	Ref        Ref
	// Filtered says the listing that showed the service went through a
	// filter (`ipvsadm -Ln | grep 31201`) or was cut by hand ("......"):
	// real servers may be missing from Dests, so no real server listed
	// proves nothing. A complete listing of the service clears it.
	Filtered bool
}

// Key is "TCP 192.0.2.10:80" or "FWM 7".
func (s *VirtualService) Key() string {
	if s.Proto == "FWM" {
		return "FWM " + strconv.FormatUint(uint64(s.FWMark), 10)
	}
	return s.Proto + " " + netip.AddrPortFrom(s.Addr, s.Port).String()
}

// RealServer is one destination of a virtual service.
type RealServer struct {
	Addr       netip.Addr
	Port       uint16
	Method     string // "Route" (DR), "Tunnel", "Masq" (NAT), "FullNat", "Local"
	Weight     int
	ActiveConn int
	InActConn  int
	Stats      *Stats
	Rate       *Rate
	Ref        Ref
}

// Stats are cumulative counters (ipvsadm --stats).
type Stats struct {
	Conns, InPkts, OutPkts, InBytes, OutBytes uint64
	// Ref is the line that printed the counters: a finding that rests on
	// them cites it, not a listing without numbers.
	Ref Ref
}

// Rate are per-second rates (ipvsadm --rate).
type Rate struct {
	CPS, InPPS, OutPPS, InBPS, OutBPS uint64
}

// ConnGroup counts IPVS connection entries that share protocol, virtual
// address and destination.
type ConnGroup struct {
	Proto    string
	Virtual  netip.AddrPort
	Dest     netip.AddrPort
	Template bool // persistence template (client port 0 / state NONE)
	States   map[string]int
	Count    int
	First    Ref
	// Unanswered are the group's first entries in SYN_RECV (at most
	// MaxUnanswered): the client's SYN was forwarded and no reply came back
	// through this director. Their client is what the grouping forgets.
	Unanswered []ConnEntry
}

// MaxUnanswered bounds ConnGroup.Unanswered: a SYN flood fills a table
// with them, a rule needs a few.
const MaxUnanswered = 4

// ConnEntry is one IPVS connection entry a rule needs by itself.
type ConnEntry struct {
	Client netip.AddrPort
	Ref    Ref
}

// Forwarding methods as ipvsadm prints them.
const (
	MethodRoute   = "Route"
	MethodTunnel  = "Tunnel"
	MethodMasq    = "Masq"
	MethodFullNat = "FullNat"
	MethodLocal   = "Local"
)

// ModeOfMethod maps an ipvsadm forwarding method to a mode name.
func ModeOfMethod(m string) string {
	switch m {
	case MethodRoute:
		return "dr"
	case MethodTunnel:
		return "tun"
	case MethodMasq:
		return "nat"
	case MethodFullNat:
		return "fnat"
	}
	return ""
}

// KeepalivedConfig is a parsed keepalived.conf with its includes.
type KeepalivedConfig struct {
	Ref        Ref // the file
	RouterID   string
	VRRPStrict *Ref // set when vrrp_strict is present
	// LVSSyncDaemon is global_defs' lvs_sync_daemon line: keepalived runs
	// IPVS's connection sync daemon, so a new master knows the old one's
	// connections.
	LVSSyncDaemon *Ref
	// LVSTimeouts is global_defs' lvs_timeouts line: the IPVS tcp, tcpfin
	// and udp timeouts keepalived is to set (0: not given).
	LVSTimeouts                  *Ref
	LVSTimeoutTCP, LVSTimeoutFin int
	LVSTimeoutUDP                int
	// LVSFragment holds the lines of virtual_server settings pasted on
	// their own, outside any block ("persistence_timeout 4294967295"): a
	// fragment says the host runs keepalived's LVS side.
	LVSFragment []Ref
	// VRRPFragment holds the lines of vrrp_instance settings pasted
	// without their instance ("unicast_peer {"): the host runs keepalived's
	// VRRP side.
	VRRPFragment    []Ref
	VRRPInstances   []*VRRPInstance
	VirtualServers  []*KVirtualServer
	LocalAddrGroups map[string][]KAddrRange
	VSGroups        map[string][]KVSGroupEntry
	// Issues are keyword-level problems the parser saw (unknown or
	// deprecated keywords, bad values), with their lines.
	Issues []KeepalivedIssue
}

// KeepalivedIssue is a config problem found while parsing.
type KeepalivedIssue struct {
	Keyword string
	Message string
	Ref     Ref
	// OnlyV2: a problem only for keepalived 2.x (a 1.x keyword 2.x
	// rejects) in a file that does not itself say which version it is for;
	// it stands when the host's keepalived says it is 2.x.
	OnlyV2 bool
}

// VRRPInstance is a vrrp_instance block.
type VRRPInstance struct {
	Name         string
	State        string // MASTER/BACKUP as configured
	Interface    string
	VRID         int
	Priority     int
	AdvertInt    float64
	Nopreempt    bool
	AuthType     string
	UnicastSrc   netip.Addr
	UnicastPeers []netip.Addr
	// UnicastPeerRefs are the lines of UnicastPeers, in the same order:
	// a peer list that misses a director is cited by its entries.
	UnicastPeerRefs []Ref
	VIPs            []KVIP
	Ref             Ref
	// Accept is "accept" or "no_accept" as configured, "" when unset
	// (keepalived then accepts unless vrrp_strict is on).
	Accept    string
	AcceptRef Ref
}

// KVIP is one virtual_ipaddress entry.
type KVIP struct {
	Prefix netip.Prefix
	Dev    string
	Label  string
	Ref    Ref
}

// KVirtualServer is a virtual_server block.
type KVirtualServer struct {
	Addr        netip.Addr
	Port        uint16
	FWMark      uint32
	Group       string // virtual_server group NAME
	Proto       string // "TCP", "UDP", "SCTP"
	LbAlgo      string
	LbKind      string // "DR", "NAT", "TUN", "FNAT" (from lb_kind or lvs_method)
	LbKindRef   Ref
	Persistence int
	// PersistenceRef is the persistence_timeout line.
	PersistenceRef Ref
	LaddrGroup     string // laddr_group_name (FNAT fork)
	LaddrRef       Ref
	DelayLoop      int
	RealServers    []*KRealServer
	Ref            Ref
}

// KRealServer is a real_server block.
type KRealServer struct {
	Addr             netip.Addr
	Port             uint16
	Weight           int
	WeightRef        Ref // the weight line; zero when the default 1 applies
	InhibitOnFailure bool
	Check            *KCheck
	Ref              Ref
}

// KCheck is a health checker of a real server.
type KCheck struct {
	Type        string // TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK, SMTP_CHECK, DNS_CHECK, ...
	ConnectIP   netip.Addr
	ConnectPort uint16
	URLs        []string
	Ref         Ref
	// ConnectIPRef and ConnectPortRef are the lines that set them: what
	// a finding about where the check probes must cite.
	ConnectIPRef, ConnectPortRef Ref
}

// KAddrRange is one local_address_group entry: an address or a range
// such as 10.0.0.1-20.
type KAddrRange struct {
	From, To netip.Addr
	Ref      Ref
}

// Contains reports whether a is within the range.
func (r KAddrRange) Contains(a netip.Addr) bool {
	return r.From.Compare(a) <= 0 && a.Compare(r.To) <= 0
}

// KVSGroupEntry is one virtual_server_group entry.
type KVSGroupEntry struct {
	Addr   netip.Addr
	Port   uint16
	FWMark uint32
	Ref    Ref
}

// LogEvent is a log line that matters (keepalived, kernel).
type LogEvent struct {
	Kind    string // one of the LogXxx constants
	Time    string // as printed
	Subject string // VRRP instance, real server "ip:port", interface...
	Detail  string
	Ref     Ref
	// Message is the id of the entry of internal/messages the line is,
	// when it is one: what the program's source says the line means.
	Message string
	// Console: keepalived printed the line on its console (--log-console,
	// "Fri Feb 23 23:27:08 2018: ..."), not through syslog: it runs in
	// the foreground, as container images run it.
	Console bool
}

// Log event kinds.
const (
	LogVRRPMaster       = "vrrp-master"
	LogVRRPBackup       = "vrrp-backup"
	LogVRRPFault        = "vrrp-fault"
	LogRSRemoved        = "rs-removed"
	LogRSAdded          = "rs-added"
	LogCheckFailed      = "check-failed"
	LogIPVSInitFailed   = "ipvs-init-failed"
	LogConntrackFull    = "conntrack-full"
	LogMartianSource    = "martian-source"
	LogConfigError      = "config-error"
	LogVRRPPeerPriority = "vrrp-higher-prio-advert"
	LogVRRPBadAuth      = "vrrp-auth-mismatch"
	LogGARPSent         = "garp-sent"
	// LogVRRPLowerPrio is an advert from a peer with a lower priority than
	// ours while we are MASTER: the peer is MASTER too (split brain).
	LogVRRPLowerPrio = "vrrp-lower-prio-advert"
	// LogVRRPBadPacket is a VRRP advert the peer's settings disagree with
	// (VRID, VIP count, interval, version).
	LogVRRPBadPacket = "vrrp-bad-packet"
	// LogVRRPInstance is any other line of a keepalived VRRP instance
	// ("(DMZ) removing VIPs."): VRRP runs on the host. Subject is the
	// instance's name.
	LogVRRPInstance = "vrrp-instance"
	// LogIPVSLoaded is the kernel loading IPVS or a scheduler: IPVS exists.
	LogIPVSLoaded = "ipvs-loaded"
	// LogIPVSNoDest is the kernel finding no usable real server for a
	// connection ("IPVS: rr: TCP 192.0.2.100:80 - no destination available").
	LogIPVSNoDest = "ipvs-no-destination"
	// LogKeepalivedVersion is keepalived saying its version: "Starting
	// Keepalived v2.2.7" in its log, or `keepalived -v`. Subject holds
	// the version ("2.2.7").
	LogKeepalivedVersion = "keepalived-version"
	// LogMessage is a line of the message table (internal/messages) that
	// names a cause and no other kind reads: Subject and Message hold the
	// entry's id.
	LogMessage = "message"
	// LogKubeProxy is a line of kube-proxy's own log (klog: "I1120
	// 15:18:19.757786 26448 conntrack.go:52] Setting nf_conntrack_max"):
	// the host runs kube-proxy, which forwards service traffic.
	LogKubeProxy = "kube-proxy"
	// LogKubeProxyConfig is a setting of kube-proxy read from its command
	// line or KubeProxyConfiguration: Subject is "proxy-mode=ipvs" or
	// "ipvs-exclude-cidrs=10.0.0.0/8,...".
	LogKubeProxyConfig = "kube-proxy-config"
	// LogKubeProxyModprobeQuiet is the log line just before kube-proxy's
	// "IPVS proxier will not be used because the following required
	// kernel modules are not loaded" when it is no modprobe failure:
	// kube-proxy runs modprobe for each module right before it reads
	// /proc/modules and warns of each that fails, so the modules it
	// names loaded without complaint yet are not listed there (built into
	// the kernel, or refused silently by an `install ... /bin/true` rule).
	// Subject holds the modules named.
	LogKubeProxyModprobeQuiet = "kube-proxy-modprobe-quiet"
)

// ManagedVIP is an address keepalived's VRRP moves, as a log line or a
// captured advert names it, with that line.
type ManagedVIP struct {
	Addr netip.Addr
	Ref  Ref
}

// KeepalivedVIPs lists, once each and in the order seen, the VIPs that
// h's evidence shows keepalived's VRRP managing without its configuration:
// the addresses of its gratuitous ARPs ("Sending gratuitous ARPs on eth0
// for 192.0.2.10") and those VRRP adverts captured on h carry ("addrs:
// 192.0.2.10"). keepalived sends both only for its vrrp_instance's
// virtual_ipaddress entries.
func (h *Host) KeepalivedVIPs() []ManagedVIP {
	var out []ManagedVIP
	seen := map[netip.Addr]bool{}
	add := func(a netip.Addr, ref Ref) {
		if a.IsValid() && !a.IsUnspecified() && !a.IsMulticast() && !seen[a] {
			seen[a] = true
			out = append(out, ManagedVIP{Addr: a, Ref: ref})
		}
	}
	for _, l := range h.Logs {
		if l.Kind != LogGARPSent {
			continue
		}
		if a, err := netip.ParseAddr(strings.TrimRight(l.Subject, ".,")); err == nil {
			add(a, l.Ref)
		}
	}
	for i := range h.Frames {
		f := &h.Frames[i]
		if f.Proto != "vrrp" {
			continue
		}
		for _, a := range f.VRRPAddrs {
			add(a, f.Ref)
		}
	}
	return out
}
