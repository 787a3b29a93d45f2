package evidence

import (
	"net/netip"
	"strings"
)

// Firewall holds the rules of every tool and table, normalised so that a
// rule can ask "could this drop VIP traffic?" whatever printed it.
type Firewall struct {
	Rules  []FirewallRule
	Chains []Chain
	// Warnings are lines in which a tool said the listing is incomplete,
	// e.g. iptables-nft's "# Warning: iptables-legacy tables present":
	// rules exist that this evidence does not show.
	Warnings []Ref
	// IPSets are the ipset sets shown (ipset list/save), by name; rules
	// match them through SetMatch.
	IPSets map[string]IPSet
	// FirewalldZones are firewalld's zones (firewall-cmd --list-all):
	// its configuration as firewalld reports it, beside the rules it made.
	FirewalldZones []FirewalldZone
}

// Chain is a chain with its policy (base chains only have one).
type Chain struct {
	Tool     string // "iptables", "ip6tables", "nft", "ebtables"
	Family   string // nft family: ip, ip6, inet, bridge, arp, netdev; "ip" for iptables
	Table    string
	Name     string
	Hook     string // prerouting, input, forward, output, postrouting; "" for user chains
	Policy   string // ACCEPT/DROP (upper case); "" for user chains
	Pkts     uint64
	Bytes    uint64
	Counters bool
	Ref      Ref
}

// FirewallRule is one rule. Matches the parser did not understand are kept
// in Extra so that a rule is never taken to match more than it does.
type FirewallRule struct {
	Tool   string
	Family string
	Table  string
	Chain  string
	Hook   string // the base chain hook this rule's chain is (or "")
	Num    int    // 1-based position in its chain

	Proto    string // "tcp", "udp", "icmp", "all", "112", ...; "!tcp" when negated
	Src      AddrMatch
	Dst      AddrMatch
	InIface  string // "!" prefix when negated
	OutIface string
	SPorts   []PortRange
	DPorts   []PortRange
	CtState  []string // upper case: INVALID, NEW, ESTABLISHED, RELATED, UNTRACKED
	Mark     string   // mark match as printed (0x8000/0x8000)
	SrcMAC   string
	// EtherType is the link-layer protocol an ebtables (-p) or nft bridge
	// (ether type) rule matches: "IPv4", "IPv6", "ARP", "0x0835"; "!" prefix
	// when negated; "" for any. A Packet is always IP, so ARP rules never
	// match it.
	EtherType string
	Comment   string
	// Sets are the rule's ipset matches (-m set --match-set): they match
	// only as far as the sets' members are known.
	Sets  []SetMatch
	Extra []string // match text not understood

	Verdict string // ACCEPT, DROP, REJECT, RETURN, JUMP, GOTO, MARK, NOTRACK, CT, DNAT, SNAT, MASQUERADE, LOG, COUNTER, ...
	Target  string // jump/goto target chain, mark value, reject-with...

	Pkts     uint64
	Bytes    uint64
	Counters bool
	Ref      Ref
}

// AddrMatch is an address match: a set of prefixes, possibly negated.
// An empty set matches every address.
type AddrMatch struct {
	Prefixes []netip.Prefix
	Negate   bool
}

// Any reports whether the match places no restriction.
func (m AddrMatch) Any() bool { return len(m.Prefixes) == 0 && !m.Negate }

// Matches reports whether a matches; an invalid a (unknown address) only
// matches an unrestricted AddrMatch.
func (m AddrMatch) Matches(a netip.Addr) bool {
	if len(m.Prefixes) == 0 {
		return !m.Negate
	}
	if !a.IsValid() {
		return false
	}
	in := false
	for _, p := range m.Prefixes {
		if p.Contains(a) {
			in = true
			break
		}
	}
	return in != m.Negate
}

// PortRange is an inclusive port range; a single port has From == To.
type PortRange struct{ From, To uint16 }

// Packet is what a firewall rule is matched against.
type Packet struct {
	Proto   string // "tcp", "udp", "112"
	Src     netip.Addr
	Dst     netip.Addr
	SPort   uint16
	DPort   uint16
	InIface string
	CtState string // "NEW", "INVALID", ... or "" when any
}

// Match is how surely a rule matches a packet.
type Match int

const (
	NoMatch Match = iota
	MayMatch
	Matches
)

// MatchPacket decides whether r applies to p. It answers MayMatch when the
// rule has conditions that cannot be decided from the packet alone (marks,
// unparsed matches, an interface when the packet's is unknown).
func (r *FirewallRule) MatchPacket(p Packet) Match {
	return r.MatchPacketSets(p, nil)
}

// MatchPacketSets is MatchPacket with the host's ipsets known: a rule's
// set matches are decided from the sets' members, and stay MayMatch for a
// set whose members were not shown.
func (r *FirewallRule) MatchPacketSets(p Packet, sets map[string]IPSet) Match {
	sure := true
	if r.Proto != "" && r.Proto != "all" && p.Proto != "" {
		neg := strings.HasPrefix(r.Proto, "!")
		proto := strings.TrimPrefix(r.Proto, "!")
		if (protoEqual(proto, p.Proto)) == neg {
			return NoMatch
		}
	}
	if !r.Src.Any() {
		if !p.Src.IsValid() {
			sure = false
		} else if !r.Src.Matches(p.Src) {
			return NoMatch
		}
	}
	if !r.Dst.Any() {
		if !p.Dst.IsValid() {
			sure = false
		} else if !r.Dst.Matches(p.Dst) {
			return NoMatch
		}
	}
	if len(r.DPorts) > 0 {
		if p.DPort == 0 {
			sure = false
		} else if !inRanges(r.DPorts, p.DPort) {
			return NoMatch
		}
	}
	if len(r.SPorts) > 0 {
		if p.SPort == 0 {
			sure = false
		} else if !inRanges(r.SPorts, p.SPort) {
			return NoMatch
		}
	}
	if r.InIface != "" && r.InIface != "*" && r.InIface != "any" {
		if p.InIface == "" {
			sure = false
		} else if !IfaceMatch(r.InIface, p.InIface) {
			return NoMatch
		}
	}
	if len(r.CtState) > 0 {
		if p.CtState == "" {
			sure = false
		} else {
			found := false
			for _, s := range r.CtState {
				if strings.EqualFold(s, p.CtState) {
					found = true
				}
			}
			if !found {
				return NoMatch
			}
		}
	}
	if r.EtherType != "" {
		switch etherTypeMatch(r.EtherType, p) {
		case NoMatch:
			return NoMatch
		case MayMatch:
			sure = false
		}
	}
	for _, m := range r.Sets {
		switch m.Match(p, sets) {
		case NoMatch:
			return NoMatch
		case MayMatch:
			sure = false
		}
	}
	if r.Mark != "" || r.SrcMAC != "" || len(r.Extra) > 0 {
		sure = false
	}
	if sure {
		return Matches
	}
	return MayMatch
}

// Drops reports whether the rule's verdict discards the packet.
func (r *FirewallRule) Drops() bool {
	switch strings.ToUpper(r.Verdict) {
	case "DROP", "REJECT":
		return true
	}
	return false
}

// etherTypeMatch says whether an IP packet can carry ethertype et. A
// packet whose family is unknown may be IPv4 or IPv6.
func etherTypeMatch(et string, p Packet) Match {
	neg := strings.HasPrefix(et, "!")
	et = strings.ToLower(strings.TrimPrefix(et, "!"))
	v4 := p.Src.Is4() || p.Dst.Is4()
	v6 := (p.Src.IsValid() && !p.Src.Is4()) || (p.Dst.IsValid() && !p.Dst.Is4())
	var fam string
	switch et {
	case "ipv4", "ip", "0x0800", "0x800":
		fam = "4"
	case "ipv6", "ip6", "0x86dd":
		fam = "6"
	}
	var m Match
	switch {
	case fam == "":
		m = NoMatch // ARP, RARP, VLAN, ...: not an IP packet
	case !v4 && !v6:
		m = MayMatch
	case (fam == "4") == v4:
		m = Matches
	}
	if neg {
		switch m {
		case Matches:
			return NoMatch
		case NoMatch:
			return Matches
		}
	}
	return m
}

func protoEqual(a, b string) bool {
	a, b = strings.ToLower(a), strings.ToLower(b)
	if a == b {
		return true
	}
	num := map[string]string{"tcp": "6", "udp": "17", "icmp": "1", "vrrp": "112", "ipip": "4", "ipencap": "4", "sctp": "132"}
	return num[a] == b || num[b] == a
}

func inRanges(rs []PortRange, p uint16) bool {
	for _, r := range rs {
		if p >= r.From && p <= r.To {
			return true
		}
	}
	return false
}

// IfaceMatch implements iptables interface matching: a trailing "+" is a
// prefix wildcard, a leading "!" negates.
func IfaceMatch(pattern, iface string) bool {
	neg := strings.HasPrefix(pattern, "!")
	pattern = strings.TrimPrefix(pattern, "!")
	var m bool
	if strings.HasSuffix(pattern, "+") {
		m = strings.HasPrefix(iface, strings.TrimSuffix(pattern, "+"))
	} else {
		m = pattern == iface
	}
	return m != neg
}

// Socket is a connected TCP socket (`ss -tn`, `netstat -tn`): its two
// ends, its state and the bytes queued each way. Bytes held in SendQ of an
// established socket are sent and not acknowledged yet.
type Socket struct {
	Local, Peer netip.AddrPort
	State       string // as the tool printed it: ESTABLISHED, ESTAB, SYN-SENT...
	RecvQ       int
	SendQ       int
	Process     string
	Ref         Ref
}

// Established reports whether the socket is in the established state
// (netstat's ESTABLISHED, ss's ESTAB).
func (s Socket) Established() bool { return s.State == "ESTABLISHED" || s.State == "ESTAB" }

// Listener is a listening socket.
type Listener struct {
	Proto   string // "tcp", "udp", "tcp6", "udp6" normalised to tcp/udp
	Addr    netip.Addr
	Any     bool // bound to the wildcard (0.0.0.0, ::, *)
	Port    uint16
	Process string
	Ref     Ref
}

// Accepts reports whether the listener would take a connection to dst:port.
func (l Listener) Accepts(proto string, dst netip.Addr, port uint16) bool {
	if !strings.EqualFold(l.Proto, proto) || l.Port != port {
		return false
	}
	if l.Any {
		// A wildcard shown with its family (0.0.0.0, or ss's [::] which it
		// prints only for IPV6_V6ONLY sockets) takes that family only; an
		// invalid Addr (ss's "*", netstat's ":::") may take both.
		return !l.Addr.IsValid() || !dst.IsValid() || l.Addr.Is4() == dst.Unmap().Is4()
	}
	return l.Addr == dst.Unmap() || l.Addr == dst
}

// Libvirt is what a hypervisor showed about its domains and filters.
type Libvirt struct {
	Interfaces []DomainInterface
	Filters    []NWFilter
}

// DomainInterface is one <interface> of a domain (virsh dumpxml).
type DomainInterface struct {
	Domain       string
	MAC          string
	Bridge       string
	Target       string // vnetN
	FilterRef    string
	FilterParams map[string]string
	Ref          Ref // the <filterref> line when present, else the <interface> line
}

// NWFilter is one libvirt network filter (virsh nwfilter-dumpxml).
type NWFilter struct {
	Name       string
	Chain      string
	FilterRefs []string
	Rules      []NWFilterRule
	Ref        Ref
}

// NWFilterRule is one <rule>.
type NWFilterRule struct {
	Action    string
	Direction string
	Priority  int
	Protocol  string            // the element name: ip, mac, arp, ...
	Attrs     map[string]string // srcipaddr, protocol, ...
	Ref       Ref
}

// Frame is one packet as a capture or tcpdump text showed it.
type Frame struct {
	Time   string // as printed, or RFC3339Nano for pcaps
	Iface  string
	SrcMAC string
	DstMAC string
	Type   string // "ipv4", "arp", "ipv6", "vlan", ...
	Src    netip.Addr
	Dst    netip.Addr
	Proto  string // "tcp", "udp", "icmp", "ipip", "vrrp", "arp", or a number
	SPort  uint16
	DPort  uint16
	IPID   int // -1 when unknown
	TTL    int
	DF     bool
	Flags  string // TCP flags as tcpdump prints them: S, S., P., R, F.
	Seq    uint32
	HasSeq bool
	Length int    // the protocol payload's length, as tcpdump prints it last ("length 0" for a bare SYN)
	ICMP   string // "echo request", "host 192.0.2.1 unreachable", ...
	ARPOp  string // "request", "reply"
	ARPIP  netip.Addr
	ARPMAC string
	Inner  *Frame // IPIP inner packet
	// VRID, VRRPPrio and VRRPAddrs are a VRRP advertisement's virtual
	// router id, priority and the addresses it carries ("vrid 51, prio 100,
	// ... addrs: 10.0.0.100"): the VIPs its sender's keepalived manages.
	VRID      int
	VRRPPrio  int
	VRRPAddrs []netip.Addr
	Ref       Ref
	// Dir is the direction a Linux cooked capture (tcpdump -i any) shows:
	// "in", "out", "broadcast", "multicast", "other" (to another host); ""
	// when the capture does not say. In DR mode the forwarded copy differs
	// from the received packet only by this (or by its MACs).
	Dir string
}

// FirewalldZone is one zone as `firewall-cmd --list-all` shows it.
type FirewalldZone struct {
	Name       string
	Active     bool // "(active)": an interface or a source is bound to it
	Default    bool // "(default)" when firewall-cmd says so
	Target     string
	Interfaces []string
	Sources    []string
	Services   []string
	Ports      []string // "8080/tcp", "5000-5010/udp"
	Protocols  []string
	Masquerade bool
	RichRules  []Ref // one per rule, its text as printed
	Ref        Ref
}
