package nltext

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os/user"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// link is one RTM_NEWLINK answer.
type link struct {
	family uint8
	typ    uint16 // ARPHRD_*
	index  int32
	flags  uint32
	a      attrs
}

const ifinfomsgLen = 16

// rtextFilterSkipStats keeps the kernel from sending counters nobody
// prints here (RTEXT_FILTER_SKIP_STATS).
const rtextFilterSkipStats = 1 << 3

func dumpLinks() ([]link, error) {
	req := make([]byte, ifinfomsgLen, ifinfomsgLen+8)
	req[0] = unix.AF_UNSPEC
	ext := make([]byte, 8)
	binary.NativeEndian.PutUint16(ext, 8)
	binary.NativeEndian.PutUint16(ext[2:], unix.IFLA_EXT_MASK)
	binary.NativeEndian.PutUint32(ext[4:], rtextFilterSkipStats)
	req = append(req, ext...)
	msgs, err := dump(unix.NETLINK_ROUTE, unix.RTM_GETLINK, unix.RTM_NEWLINK, req)
	links := make([]link, 0, len(msgs))
	for _, m := range msgs {
		if len(m) < ifinfomsgLen {
			continue
		}
		links = append(links, link{
			family: m[0],
			typ:    binary.NativeEndian.Uint16(m[2:]),
			index:  int32(binary.NativeEndian.Uint32(m[4:])),
			flags:  binary.NativeEndian.Uint32(m[8:]),
			a:      parseAttrs(m[ifinfomsgLen:]),
		})
	}
	return links, err
}

// linkIndex names interfaces by index, as iproute2's ll_map does.
type linkIndex map[int32]link

func indexLinks(ls []link) linkIndex {
	m := make(linkIndex, len(ls))
	for _, l := range ls {
		m[l.index] = l
	}
	return m
}

func (m linkIndex) name(i int32) string {
	if l, ok := m[i]; ok {
		if n, ok := l.a.str(unix.IFLA_IFNAME); ok {
			return n
		}
	}
	return fmt.Sprintf("if%d", i)
}

// Link renders `ip -d link show`.
func Link() ([]byte, error) {
	links, err := dumpLinks()
	if links == nil && err != nil {
		return nil, err
	}
	idx := indexLinks(links)
	var o outBuf
	for _, l := range links {
		printLink(&o, l, idx, true)
	}
	return o.result("ip -d link show", err)
}

// Addr renders `ip -d addr show`.
func Addr() ([]byte, error) {
	links, err := dumpLinks()
	if links == nil && err != nil {
		return nil, err
	}
	addrs, aerr := dumpAddrs()
	if aerr != nil && addrs == nil {
		return nil, aerr
	}
	byIndex := map[int32][]ifaddr{}
	for _, a := range addrs {
		byIndex[a.index] = append(byIndex[a.index], a)
	}
	idx := indexLinks(links)
	var o outBuf
	for _, l := range links {
		printLink(&o, l, idx, false)
		for _, a := range byIndex[l.index] {
			printAddr(&o, a)
		}
	}
	return o.result("ip -d addr show", joinErr(err, aerr))
}

func joinErr(a, b error) error {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	return fmt.Errorf("%w; %w", a, b)
}

// linkFlagNames are the IFF_* flags in the order ip prints them.
var linkFlagNames = []struct {
	bit  uint32
	name string
}{
	{unix.IFF_LOOPBACK, "LOOPBACK"}, {unix.IFF_BROADCAST, "BROADCAST"}, {unix.IFF_POINTOPOINT, "POINTOPOINT"},
	{unix.IFF_MULTICAST, "MULTICAST"}, {unix.IFF_NOARP, "NOARP"}, {unix.IFF_ALLMULTI, "ALLMULTI"},
	{unix.IFF_PROMISC, "PROMISC"}, {unix.IFF_MASTER, "MASTER"}, {unix.IFF_SLAVE, "SLAVE"},
	{unix.IFF_DEBUG, "DEBUG"}, {unix.IFF_DYNAMIC, "DYNAMIC"}, {unix.IFF_AUTOMEDIA, "AUTOMEDIA"},
	{unix.IFF_PORTSEL, "PORTSEL"}, {unix.IFF_NOTRAILERS, "NOTRAILERS"}, {unix.IFF_UP, "UP"},
	{unix.IFF_LOWER_UP, "LOWER_UP"}, {unix.IFF_DORMANT, "DORMANT"}, {unix.IFF_ECHO, "ECHO"},
}

func linkFlags(flags uint32, mdown bool) string {
	var parts []string
	if flags&unix.IFF_UP != 0 && flags&unix.IFF_RUNNING == 0 {
		parts = append(parts, "NO-CARRIER")
	}
	flags &^= unix.IFF_RUNNING
	for _, f := range linkFlagNames {
		if flags&f.bit != 0 {
			flags &^= f.bit
			parts = append(parts, f.name)
		}
	}
	s := strings.Join(parts, ",")
	if flags != 0 {
		if s != "" {
			s += ","
		}
		s += strconv.FormatUint(uint64(flags), 16)
	}
	if mdown {
		s += ",M-DOWN"
	}
	return "<" + s + "> "
}

var operStates = []string{"UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP"}

func printLink(o *outBuf, l link, idx linkIndex, doLink bool) {
	a := l.a
	name, ok := a.str(unix.IFLA_IFNAME)
	if !ok {
		name = "<nil>"
	}
	o.printf("%d: %s", l.index, name)
	mdown := false
	if peer, ok := a.u32(unix.IFLA_LINK); ok {
		switch {
		case peer == 0:
			o.str("@NONE: ")
		case a.has(unix.IFLA_LINK_NETNSID):
			o.printf("@if%d: ", int32(peer))
		default:
			o.printf("@%s: ", idx.name(int32(peer)))
			pl, found := idx[int32(peer)]
			mdown = !found || pl.flags&unix.IFF_UP == 0
		}
	} else {
		o.str(": ")
	}
	o.str(linkFlags(l.flags, mdown))
	if v, ok := a.u32(unix.IFLA_MTU); ok {
		o.printf("mtu %d ", v)
	}
	if q, ok := a.str(unix.IFLA_QDISC); ok {
		o.printf("qdisc %s ", q)
	}
	if m, ok := a.u32(unix.IFLA_MASTER); ok {
		o.printf("master %s ", idx.name(int32(m)))
	}
	if s, ok := a.u8(unix.IFLA_OPERSTATE); ok {
		if int(s) < len(operStates) {
			o.printf("state %s ", operStates[s])
		} else {
			o.printf("state %#x ", s)
		}
	}
	if doLink {
		if m, ok := a.u8(unix.IFLA_LINKMODE); ok {
			if m < 2 {
				o.printf("mode %s ", []string{"DEFAULT", "DORMANT"}[m])
			} else {
				o.printf("mode %d ", m)
			}
		}
	}
	if g, ok := a.u32(unix.IFLA_GROUP); ok {
		o.printf("group %s ", groupName(g))
	}
	if q, ok := a.u32(unix.IFLA_TXQLEN); ok && q != 0 {
		o.printf("qlen %d", q)
	}
	o.printf("\n    link/%s ", linkTypeName(l.typ))
	if hw, ok := a[unix.IFLA_ADDRESS]; ok {
		o.str(llAddr(hw, l.typ))
	}
	if hw, ok := a[unix.IFLA_BROADCAST]; ok {
		if l.flags&unix.IFF_POINTOPOINT != 0 {
			o.str(" peer ")
		} else {
			o.str(" brd ")
		}
		o.str(llAddr(hw, l.typ))
	}
	if id, ok := a.u32(unix.IFLA_LINK_NETNSID); ok {
		if int32(id) >= 0 {
			o.printf(" link-netnsid %d", int32(id))
		} else {
			o.str(" link-netnsid unknown")
		}
	}
	if pd, ok := a.u8(unix.IFLA_PROTO_DOWN); ok && pd != 0 {
		o.str(" protodown on ")
	}
	// -d details.
	if v, ok := a.u32(unix.IFLA_PROMISCUITY); ok {
		o.printf(" promiscuity %d ", v)
	}
	if v, ok := a.u32(unix.IFLA_ALLMULTI); ok {
		o.printf(" allmulti %d ", v)
	}
	if v, ok := a.u32(unix.IFLA_MIN_MTU); ok {
		o.printf("minmtu %d ", v)
	}
	if v, ok := a.u32(unix.IFLA_MAX_MTU); ok {
		o.printf("maxmtu %d ", v)
	}
	if li, ok := a[unix.IFLA_LINKINFO]; ok {
		printLinkInfo(o, parseAttrs(li), idx)
	}
	if doLink {
		if af, ok := a[unix.IFLA_AF_SPEC]; ok {
			printAFSpec(o, af)
		}
	}
	for _, f := range []struct {
		t    uint16
		name string
	}{
		{unix.IFLA_NUM_TX_QUEUES, "numtxqueues"}, {unix.IFLA_NUM_RX_QUEUES, "numrxqueues"},
		{unix.IFLA_GSO_MAX_SIZE, "gso_max_size"}, {unix.IFLA_GSO_MAX_SEGS, "gso_max_segs"},
		{unix.IFLA_TSO_MAX_SIZE, "tso_max_size"}, {unix.IFLA_TSO_MAX_SEGS, "tso_max_segs"},
		{unix.IFLA_GRO_MAX_SIZE, "gro_max_size"},
	} {
		if v, ok := a.u32(f.t); ok {
			o.printf("%s %d ", f.name, v)
		}
	}
	if s, ok := a.str(unix.IFLA_PARENT_DEV_BUS_NAME); ok {
		o.printf("parentbus %s ", s)
	}
	if s, ok := a.str(unix.IFLA_PARENT_DEV_NAME); ok {
		o.printf("parentdev %s ", s)
	}
	if s, ok := a.str(unix.IFLA_PHYS_PORT_NAME); ok {
		o.printf("portname %s ", s)
	}
	if b, ok := a[unix.IFLA_PHYS_PORT_ID]; ok {
		o.printf("portid %x ", b)
	}
	if b, ok := a[unix.IFLA_PHYS_SWITCH_ID]; ok {
		o.printf("switchid %x ", b)
	}
	if s, ok := a.str(unix.IFLA_IFALIAS); ok {
		o.printf("\n    alias %s", s)
	}
	if pl, ok := a[unix.IFLA_PROP_LIST]; ok {
		types, vals := attrList(pl)
		for i, t := range types {
			if t == unix.IFLA_ALT_IFNAME {
				o.printf("\n    altname %s", cstr(vals[i]))
			}
		}
	}
	o.str("\n")
}

func cstr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

func printAFSpec(o *outBuf, b []byte) {
	af := parseAttrs(b)
	in6, ok := af[unix.AF_INET6]
	if !ok {
		return
	}
	m, ok := parseAttrs(in6).u8(unix.IFLA_INET6_ADDR_GEN_MODE)
	if !ok {
		return
	}
	switch m {
	case 0:
		o.str("addrgenmode eui64 ")
	case 1:
		o.str("addrgenmode none ")
	case 2:
		o.str("addrgenmode stable_secret ")
	case 3:
		o.str("addrgenmode random ")
	default:
		o.printf("addrgenmode %#.2x ", m)
	}
}

var arphrdNames = map[uint16]string{
	0: "netrom", 1: "ether", 2: "eether", 3: "ax25", 4: "pronet", 5: "chaos", 6: "ieee802", 7: "arcnet",
	8: "atalk", 15: "dlci", 19: "atm", 23: "metricom", 24: "ieee1394", 32: "infiniband", 256: "slip",
	257: "cslip", 258: "slip6", 259: "cslip6", 260: "rsrvd", 264: "adapt", 270: "rose", 271: "x25",
	272: "hwx25", 280: "can", 512: "ppp", 513: "hdlc", 516: "lapb", 517: "ddcmp", 518: "rawhdlc",
	519: "rawip", 768: "ipip", 769: "tunnel6", 770: "frad", 771: "skip", 772: "loopback", 773: "ltalk",
	774: "fddi", 775: "bif", 776: "sit", 777: "ip/ddp", 778: "gre", 779: "pimreg", 780: "hippi",
	781: "ash", 782: "econet", 783: "irda", 784: "fcpp", 785: "fcal", 786: "fcpl", 787: "fcfb0",
	800: "tr", 801: "ieee802.11", 802: "ieee802.11/prism", 803: "ieee802.11/radiotap",
	804: "ieee802.15.4", 805: "ieee802.15.4/monitor", 820: "phonet", 821: "phonet_pipe", 822: "caif",
	823: "gre6", 824: "netlink", 825: "6lowpan", 0xfffe: "none", 0xffff: "void",
}

func linkTypeName(t uint16) string {
	if s, ok := arphrdNames[t]; ok {
		return s
	}
	return fmt.Sprintf("[%d]", t)
}

// llAddr prints a link-layer address as iproute2's ll_addr_n2a: tunnel
// endpoints as IP addresses, everything else as colon-separated hex.
func llAddr(b []byte, typ uint16) string {
	if len(b) == 4 && (typ == unix.ARPHRD_TUNNEL || typ == unix.ARPHRD_SIT || typ == unix.ARPHRD_IPGRE) {
		return netip.AddrFrom4([4]byte(b)).String()
	}
	if len(b) == 16 && (typ == unix.ARPHRD_TUNNEL6 || typ == unix.ARPHRD_IP6GRE) {
		return fmtAddr(netip.AddrFrom16([16]byte(b)))
	}
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(':')
		}
		fmt.Fprintf(&sb, "%02x", c)
	}
	return sb.String()
}

func printLinkInfo(o *outBuf, li attrs, idx linkIndex) {
	if kind, ok := li.str(unix.IFLA_INFO_KIND); ok {
		o.printf("\n    %s ", kind)
		var data attrs
		if d, ok := li[unix.IFLA_INFO_DATA]; ok {
			data = parseAttrs(d)
		}
		if data != nil {
			switch kind {
			case "bridge":
				printBridge(o, data)
			case "vxlan":
				printVxlan(o, data, idx)
			case "macvlan", "macvtap":
				printMacvlan(o, data)
			case "tun":
				printTun(o, data)
			case "vlan":
				printVlan(o, data)
			case "ipip", "sit":
				printIPTunnel(o, data, idx, kind)
			}
		}
	}
	if sk, ok := li.str(unix.IFLA_INFO_SLAVE_KIND); ok {
		o.printf("\n    %s_slave ", sk)
		if d, ok := li[unix.IFLA_INFO_SLAVE_DATA]; ok && sk == "bridge" {
			printBridgeSlave(o, parseAttrs(d))
		}
	}
}

// bridgeID prints a struct ifla_bridge_id as iproute2 does, the MAC part
// through glibc's ether_ntoa (no zero padding).
func bridgeID(b []byte) string {
	if len(b) < 8 {
		return "?"
	}
	parts := make([]string, 6)
	for i := range parts {
		parts[i] = strconv.FormatUint(uint64(b[2+i]), 16)
	}
	return fmt.Sprintf("%02x%02x.%s", b[0], b[1], strings.Join(parts, ":"))
}

func timer(v uint64) string { return fmt.Sprintf("%7.2f", float64(v)/100) }

func printBridge(o *outBuf, d attrs) {
	u32s := func(t uint16, name string) {
		if v, ok := d.u32(t); ok {
			o.printf("%s %d ", name, v)
		}
	}
	u8s := func(t uint16, name string) {
		if v, ok := d.u8(t); ok {
			o.printf("%s %d ", name, v)
		}
	}
	u64s := func(t uint16, name string) {
		if v, ok := d.u64(t); ok {
			o.printf("%s %d ", name, v)
		}
	}
	timers := func(t uint16, name string) {
		if v, ok := d.u64(t); ok {
			o.printf("%s %s ", name, timer(v))
		}
	}
	u32s(unix.IFLA_BR_FORWARD_DELAY, "forward_delay")
	u32s(unix.IFLA_BR_HELLO_TIME, "hello_time")
	u32s(unix.IFLA_BR_MAX_AGE, "max_age")
	u32s(unix.IFLA_BR_AGEING_TIME, "ageing_time")
	u32s(unix.IFLA_BR_STP_STATE, "stp_state")
	if v, ok := d.u16(unix.IFLA_BR_PRIORITY); ok {
		o.printf("priority %d ", v)
	}
	if v, ok := d.u8(unix.IFLA_BR_VLAN_FILTERING); ok {
		o.printf("vlan_filtering %d ", v)
	}
	if v, ok := d.be16(unix.IFLA_BR_VLAN_PROTOCOL); ok {
		o.printf("vlan_protocol %s ", vlanProto(v))
	}
	if b, ok := d[unix.IFLA_BR_BRIDGE_ID]; ok {
		o.printf("bridge_id %s ", bridgeID(b))
	}
	if b, ok := d[unix.IFLA_BR_ROOT_ID]; ok {
		o.printf("designated_root %s ", bridgeID(b))
	}
	if v, ok := d.u16(unix.IFLA_BR_ROOT_PORT); ok {
		o.printf("root_port %d ", v)
	}
	u32s(unix.IFLA_BR_ROOT_PATH_COST, "root_path_cost")
	u8s(unix.IFLA_BR_TOPOLOGY_CHANGE, "topology_change")
	u8s(unix.IFLA_BR_TOPOLOGY_CHANGE_DETECTED, "topology_change_detected")
	timers(unix.IFLA_BR_HELLO_TIMER, "hello_timer")
	timers(unix.IFLA_BR_TCN_TIMER, "tcn_timer")
	timers(unix.IFLA_BR_TOPOLOGY_CHANGE_TIMER, "topology_change_timer")
	timers(unix.IFLA_BR_GC_TIMER, "gc_timer")
	if v, ok := d.u16(unix.IFLA_BR_VLAN_DEFAULT_PVID); ok {
		o.printf("vlan_default_pvid %d ", v)
	}
	u8s(unix.IFLA_BR_VLAN_STATS_ENABLED, "vlan_stats_enabled")
	u8s(unix.IFLA_BR_VLAN_STATS_PER_PORT, "vlan_stats_per_port")
	if v, ok := d.u16(unix.IFLA_BR_GROUP_FWD_MASK); ok {
		o.printf("group_fwd_mask %s ", cHex(uint64(v)))
	}
	if b, ok := d[unix.IFLA_BR_GROUP_ADDR]; ok {
		o.printf("group_address %s ", llAddr(b, unix.ARPHRD_ETHER))
	}
	u8s(unix.IFLA_BR_MCAST_SNOOPING, "mcast_snooping")
	if b, ok := d[unix.IFLA_BR_MULTI_BOOLOPT]; ok && len(b) >= 8 {
		val := binary.NativeEndian.Uint32(b)
		mask := binary.NativeEndian.Uint32(b[4:])
		const noLLLearn, mcastVlanSnooping = 1 << 0, 1 << 1
		if mask&noLLLearn != 0 {
			o.printf("no_linklocal_learn %d ", b2i(val&noLLLearn != 0))
		}
		if mask&mcastVlanSnooping != 0 {
			o.printf("mcast_vlan_snooping %d ", b2i(val&mcastVlanSnooping != 0))
		}
	}
	u8s(unix.IFLA_BR_MCAST_ROUTER, "mcast_router")
	u8s(unix.IFLA_BR_MCAST_QUERY_USE_IFADDR, "mcast_query_use_ifaddr")
	u8s(unix.IFLA_BR_MCAST_QUERIER, "mcast_querier")
	u32s(unix.IFLA_BR_MCAST_HASH_ELASTICITY, "mcast_hash_elasticity")
	u32s(unix.IFLA_BR_MCAST_HASH_MAX, "mcast_hash_max")
	u32s(unix.IFLA_BR_MCAST_LAST_MEMBER_CNT, "mcast_last_member_count")
	u32s(unix.IFLA_BR_MCAST_STARTUP_QUERY_CNT, "mcast_startup_query_count")
	u64s(unix.IFLA_BR_MCAST_LAST_MEMBER_INTVL, "mcast_last_member_interval")
	u64s(unix.IFLA_BR_MCAST_MEMBERSHIP_INTVL, "mcast_membership_interval")
	u64s(unix.IFLA_BR_MCAST_QUERIER_INTVL, "mcast_querier_interval")
	u64s(unix.IFLA_BR_MCAST_QUERY_INTVL, "mcast_query_interval")
	u64s(unix.IFLA_BR_MCAST_QUERY_RESPONSE_INTVL, "mcast_query_response_interval")
	u64s(unix.IFLA_BR_MCAST_STARTUP_QUERY_INTVL, "mcast_startup_query_interval")
	u8s(unix.IFLA_BR_MCAST_STATS_ENABLED, "mcast_stats_enabled")
	u8s(unix.IFLA_BR_MCAST_IGMP_VERSION, "mcast_igmp_version")
	u8s(unix.IFLA_BR_MCAST_MLD_VERSION, "mcast_mld_version")
	u8s(unix.IFLA_BR_NF_CALL_IPTABLES, "nf_call_iptables")
	u8s(unix.IFLA_BR_NF_CALL_IP6TABLES, "nf_call_ip6tables")
	u8s(unix.IFLA_BR_NF_CALL_ARPTABLES, "nf_call_arptables")
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func vlanProto(p uint16) string {
	switch p {
	case 0x8100:
		return "802.1Q"
	case 0x88a8:
		return "802.1ad"
	}
	return fmt.Sprintf("%#x", p)
}

var brportStates = []string{"disabled", "listening", "learning", "forwarding", "blocking"}

func printBridgeSlave(o *outBuf, d attrs) {
	onOff := func(t uint16, name string) {
		if v, ok := d.u8(t); ok {
			s := "off"
			if v != 0 {
				s = "on"
			}
			o.printf("%s %s ", name, s)
		}
	}
	if v, ok := d.u8(unix.IFLA_BRPORT_STATE); ok {
		if int(v) < len(brportStates) {
			o.printf("state %s ", brportStates[v])
		} else {
			o.printf("state (%d) ", v)
		}
	}
	if v, ok := d.u16(unix.IFLA_BRPORT_PRIORITY); ok {
		o.printf("priority %d ", v)
	}
	if v, ok := d.u32(unix.IFLA_BRPORT_COST); ok {
		o.printf("cost %d ", v)
	}
	onOff(unix.IFLA_BRPORT_MODE, "hairpin")
	onOff(unix.IFLA_BRPORT_GUARD, "guard")
	onOff(unix.IFLA_BRPORT_PROTECT, "root_block")
	onOff(unix.IFLA_BRPORT_FAST_LEAVE, "fastleave")
	onOff(unix.IFLA_BRPORT_LEARNING, "learning")
	onOff(unix.IFLA_BRPORT_UNICAST_FLOOD, "flood")
	if v, ok := d.u16(unix.IFLA_BRPORT_ID); ok {
		o.printf("port_id %s ", cHex(uint64(v)))
	}
	if v, ok := d.u16(unix.IFLA_BRPORT_NO); ok {
		o.printf("port_no %s ", cHex(uint64(v)))
	}
	if v, ok := d.u16(unix.IFLA_BRPORT_DESIGNATED_PORT); ok {
		o.printf("designated_port %d ", v)
	}
	if v, ok := d.u16(unix.IFLA_BRPORT_DESIGNATED_COST); ok {
		o.printf("designated_cost %d ", v)
	}
	if b, ok := d[unix.IFLA_BRPORT_BRIDGE_ID]; ok {
		o.printf("designated_bridge %s ", bridgeID(b))
	}
	if b, ok := d[unix.IFLA_BRPORT_ROOT_ID]; ok {
		o.printf("designated_root %s ", bridgeID(b))
	}
	for _, t := range []struct {
		t    uint16
		name string
	}{{unix.IFLA_BRPORT_HOLD_TIMER, "hold_timer"}, {unix.IFLA_BRPORT_MESSAGE_AGE_TIMER, "message_age_timer"},
		{unix.IFLA_BRPORT_FORWARD_DELAY_TIMER, "forward_delay_timer"}} {
		if v, ok := d.u64(t.t); ok {
			o.printf("%s %s ", t.name, timer(v))
		}
	}
	if v, ok := d.u8(unix.IFLA_BRPORT_TOPOLOGY_CHANGE_ACK); ok {
		o.printf("topology_change_ack %d ", v)
	}
	if v, ok := d.u8(unix.IFLA_BRPORT_CONFIG_PENDING); ok {
		o.printf("config_pending %d ", v)
	}
	onOff(unix.IFLA_BRPORT_PROXYARP, "proxy_arp")
	onOff(unix.IFLA_BRPORT_PROXYARP_WIFI, "proxy_arp_wifi")
	if v, ok := d.u8(unix.IFLA_BRPORT_MULTICAST_ROUTER); ok {
		o.printf("mcast_router %d ", v)
	}
	onOff(unix.IFLA_BRPORT_FAST_LEAVE, "mcast_fast_leave")
	onOff(unix.IFLA_BRPORT_MCAST_FLOOD, "mcast_flood")
	onOff(unix.IFLA_BRPORT_BCAST_FLOOD, "bcast_flood")
	onOff(unix.IFLA_BRPORT_MCAST_TO_UCAST, "mcast_to_unicast")
	onOff(unix.IFLA_BRPORT_NEIGH_SUPPRESS, "neigh_suppress")
	if v, ok := d.u16(unix.IFLA_BRPORT_GROUP_FWD_MASK); ok {
		o.printf("group_fwd_mask %s ", cHex(uint64(v)))
		o.printf("group_fwd_mask_str %#x ", v)
	}
	onOff(unix.IFLA_BRPORT_VLAN_TUNNEL, "vlan_tunnel")
	onOff(unix.IFLA_BRPORT_ISOLATED, "isolated")
	if v, ok := d.u32(unix.IFLA_BRPORT_BACKUP_PORT); ok {
		o.printf("backup_port if%d ", v)
	}
	onOff(unix.IFLA_BRPORT_LOCKED, "locked")
}

func printVxlan(o *outBuf, d attrs, idx linkIndex) {
	if v, ok := d.u8(unix.IFLA_VXLAN_COLLECT_METADATA); ok && v != 0 {
		o.str("external ")
		return
	}
	vni, ok := d.u32(unix.IFLA_VXLAN_ID)
	if !ok {
		return
	}
	o.printf("id %d ", vni)
	if g, ok := d.addr(unix.IFLA_VXLAN_GROUP); ok && !g.IsUnspecified() {
		if g.IsMulticast() {
			o.printf("group %s ", g)
		} else {
			o.printf("remote %s ", g)
		}
	} else if g, ok := d.addr(unix.IFLA_VXLAN_GROUP6); ok && !g.IsUnspecified() {
		if g.IsMulticast() {
			o.printf("group %s ", fmtAddr(g))
		} else {
			o.printf("remote %s ", fmtAddr(g))
		}
	}
	if l, ok := d.addr(unix.IFLA_VXLAN_LOCAL); ok {
		if !l.IsUnspecified() {
			o.printf("local %s ", l)
		}
	} else if l, ok := d.addr(unix.IFLA_VXLAN_LOCAL6); ok && !l.IsUnspecified() {
		o.printf("local %s ", fmtAddr(l))
	}
	if l, ok := d.u32(unix.IFLA_VXLAN_LINK); ok && l != 0 {
		o.printf("dev %s ", idx.name(int32(l)))
	}
	if b, ok := d[unix.IFLA_VXLAN_PORT_RANGE]; ok && len(b) >= 4 {
		o.printf("srcport %d %d ", binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:]))
	}
	if p, ok := d.be16(unix.IFLA_VXLAN_PORT); ok {
		o.printf("dstport %d ", p)
	}
	if v, ok := d.u8(unix.IFLA_VXLAN_LEARNING); ok && v == 0 {
		o.str("nolearning ")
	}
	for _, f := range []struct {
		t    uint16
		name string
	}{{unix.IFLA_VXLAN_PROXY, "proxy"}, {unix.IFLA_VXLAN_RSC, "rsc"}, {unix.IFLA_VXLAN_L2MISS, "l2miss"}, {unix.IFLA_VXLAN_L3MISS, "l3miss"}} {
		if v, ok := d.u8(f.t); ok && v != 0 {
			o.printf("%s ", f.name)
		}
	}
	if tos, _ := d.u8(unix.IFLA_VXLAN_TOS); tos != 0 {
		if tos == 1 {
			o.str("tos inherit ")
		} else {
			o.printf("tos %#x ", tos)
		}
	}
	ttl, _ := d.u8(unix.IFLA_VXLAN_TTL)
	switch {
	case flagSet(d, unix.IFLA_VXLAN_TTL_INHERIT):
		o.str("ttl inherit ")
	case ttl == 0:
		o.str("ttl auto ")
	default:
		o.printf("ttl %d ", ttl)
	}
	if df, ok := d.u8(unix.IFLA_VXLAN_DF); ok && df != 0 {
		switch df {
		case 1:
			o.str("df set ")
		case 2:
			o.str("df inherit ")
		}
	}
	if lbl, ok := d.u32(unix.IFLA_VXLAN_LABEL); ok && lbl != 0 {
		var be [4]byte
		binary.NativeEndian.PutUint32(be[:], lbl)
		o.printf("flowlabel %#x ", binary.BigEndian.Uint32(be[:]))
	}
	if age, ok := d.u32(unix.IFLA_VXLAN_AGEING); ok {
		if age == 0 {
			o.str("ageing none ")
		} else {
			o.printf("ageing %d ", age)
		}
	}
	if m, ok := d.u32(unix.IFLA_VXLAN_LIMIT); ok && m != 0 {
		o.printf("maxaddr %d ", m)
	}
	for _, f := range []struct {
		t    uint16
		name string
	}{{unix.IFLA_VXLAN_UDP_CSUM, "udpcsum"}, {unix.IFLA_VXLAN_UDP_ZERO_CSUM6_TX, "udp6zerocsumtx"}, {unix.IFLA_VXLAN_UDP_ZERO_CSUM6_RX, "udp6zerocsumrx"}} {
		if v, ok := d.u8(f.t); ok {
			if v == 0 {
				o.str("no")
			}
			o.printf("%s ", f.name)
		}
	}
	if v, ok := d.u8(unix.IFLA_VXLAN_REMCSUM_TX); ok && v != 0 {
		o.str("remcsumtx ")
	}
	if v, ok := d.u8(unix.IFLA_VXLAN_REMCSUM_RX); ok && v != 0 {
		o.str("remcsumrx ")
	}
	if d.has(unix.IFLA_VXLAN_GBP) {
		o.str("gbp ")
	}
	if d.has(unix.IFLA_VXLAN_GPE) {
		o.str("gpe ")
	}
}

// flagSet reads an attribute that older kernels send as an empty flag and
// newer ones as a u8.
func flagSet(d attrs, t uint16) bool {
	v, ok := d[t]
	return ok && (len(v) == 0 || v[0] != 0)
}

// cHex formats like C's "%#x", which prints zero without the 0x.
func cHex(v uint64) string {
	if v == 0 {
		return "0"
	}
	return fmt.Sprintf("%#x", v)
}

func printMacvlan(o *outBuf, d attrs) {
	if m, ok := d.u32(unix.IFLA_MACVLAN_MODE); ok {
		names := map[uint32]string{1: "private", 2: "vepa", 4: "bridge", 8: "passthru", 16: "source"}
		if n, ok := names[m]; ok {
			o.printf("mode %s ", n)
		} else {
			o.str("mode unknown ")
		}
	}
	if f, ok := d.u16(unix.IFLA_MACVLAN_FLAGS); ok {
		if f&1 != 0 {
			o.str("nopromisc ")
		}
		if f&2 != 0 {
			o.str("nodst ")
		}
	}
	if v, ok := d.u32(unix.IFLA_MACVLAN_BC_QUEUE_LEN); ok {
		o.printf("bcqueuelen %d ", v)
	}
	if v, ok := d.u32(unix.IFLA_MACVLAN_BC_QUEUE_LEN_USED); ok {
		o.printf("usedbcqueuelen %d ", v)
	}
}

func printTun(o *outBuf, d attrs) {
	onOff := func(t uint16, name string) {
		if v, ok := d.u8(t); ok {
			s := "off"
			if v != 0 {
				s = "on"
			}
			o.printf("%s %s ", name, s)
		}
	}
	if t, ok := d.u8(unix.IFLA_TUN_TYPE); ok {
		switch t {
		case 1:
			o.str("type tun ")
		case 2:
			o.str("type tap ")
		default:
			o.printf("type %d ", t)
		}
	}
	onOff(unix.IFLA_TUN_PI, "pi")
	onOff(unix.IFLA_TUN_VNET_HDR, "vnet_hdr")
	if v, ok := d.u8(unix.IFLA_TUN_MULTI_QUEUE); ok && v != 0 {
		o.str("multi_queue ")
	}
	onOff(unix.IFLA_TUN_PERSIST, "persist")
	if uid, ok := d.u32(unix.IFLA_TUN_OWNER); ok && uid != 0xffffffff {
		name := strconv.FormatUint(uint64(uid), 10)
		if u, err := user.LookupId(name); err == nil {
			name = u.Username
		}
		o.printf("user %s ", name)
	}
	if gid, ok := d.u32(unix.IFLA_TUN_GROUP); ok && gid != 0xffffffff {
		name := strconv.FormatUint(uint64(gid), 10)
		if g, err := user.LookupGroupId(name); err == nil {
			name = g.Name
		}
		o.printf("group %s ", name)
	}
}

func printVlan(o *outBuf, d attrs) {
	if p, ok := d.be16(unix.IFLA_VLAN_PROTOCOL); ok {
		o.printf("protocol %s ", vlanProto(p))
	}
	if id, ok := d.u16(unix.IFLA_VLAN_ID); ok {
		o.printf("id %d ", id)
	}
	if b, ok := d[unix.IFLA_VLAN_FLAGS]; ok && len(b) >= 4 {
		fl := binary.NativeEndian.Uint32(b)
		var names []string
		for _, f := range []struct {
			bit  uint32
			name string
		}{{1, "REORDER_HDR"}, {2, "GVRP"}, {4, "LOOSE_BINDING"}, {8, "MVRP"}, {16, "BRIDGE_BINDING"}} {
			if fl&f.bit != 0 {
				names = append(names, f.name)
			}
		}
		o.printf("<%s> ", strings.Join(names, ","))
	}
}

// IFLA_IPTUN_* from linux/if_tunnel.h.
const (
	iptunLink     = 1
	iptunLocal    = 2
	iptunRemote   = 3
	iptunTTL      = 4
	iptunTOS      = 5
	iptunProto    = 9
	iptunPMTUDisc = 10
)

// printIPTunnel covers ipip and sit: the endpoints, ttl and pmtudisc,
// which are what tells a tunnel's use; encapsulation details are left out.
func printIPTunnel(o *outBuf, d attrs, idx linkIndex, kind string) {
	remote, local := "any", "any"
	if a, ok := d.addr(iptunRemote); ok && !a.IsUnspecified() {
		remote = a.String()
	}
	if a, ok := d.addr(iptunLocal); ok && !a.IsUnspecified() {
		local = a.String()
	}
	if p, ok := d.u8(iptunProto); ok && kind == "ipip" {
		switch p {
		case unix.IPPROTO_IPIP:
			o.str("ipip ")
		case unix.IPPROTO_MPLS:
			o.str("mplsip ")
		case 0:
			o.str("any ")
		}
	}
	o.printf("remote %s local %s ", remote, local)
	if l, ok := d.u32(iptunLink); ok && l != 0 {
		o.printf("dev %s ", idx.name(int32(l)))
	}
	if ttl, _ := d.u8(iptunTTL); ttl != 0 {
		o.printf("ttl %d ", ttl)
	} else {
		o.str("ttl inherit ")
	}
	if tos, _ := d.u8(iptunTOS); tos != 0 {
		if tos == 1 {
			o.str("tos inherit ")
		} else {
			o.printf("tos 0x%x ", tos)
		}
	}
	if p, ok := d.u8(iptunPMTUDisc); ok && p == 0 {
		o.str("nopmtudisc ")
	}
}

// ifaddr is one RTM_NEWADDR answer.
type ifaddr struct {
	family    uint8
	prefixlen uint8
	flags     uint8
	scope     uint8
	index     int32
	a         attrs
}

func dumpAddrs() ([]ifaddr, error) {
	req := make([]byte, 8)
	req[0] = unix.AF_UNSPEC
	msgs, err := dump(unix.NETLINK_ROUTE, unix.RTM_GETADDR, unix.RTM_NEWADDR, req)
	out := make([]ifaddr, 0, len(msgs))
	for _, m := range msgs {
		if len(m) < 8 {
			continue
		}
		out = append(out, ifaddr{family: m[0], prefixlen: m[1], flags: m[2], scope: m[3],
			index: int32(binary.NativeEndian.Uint32(m[4:])), a: parseAttrs(m[8:])})
	}
	return out, err
}

var ifaFlagNames = []struct {
	bit  uint32
	name string
}{
	{unix.IFA_F_SECONDARY, "secondary"}, {unix.IFA_F_NODAD, "nodad"}, {unix.IFA_F_OPTIMISTIC, "optimistic"},
	{unix.IFA_F_DADFAILED, "dadfailed"}, {unix.IFA_F_HOMEADDRESS, "home"}, {unix.IFA_F_DEPRECATED, "deprecated"},
	{unix.IFA_F_TENTATIVE, "tentative"}, {unix.IFA_F_PERMANENT, "permanent"}, {unix.IFA_F_MANAGETEMPADDR, "mngtmpaddr"},
	{unix.IFA_F_NOPREFIXROUTE, "noprefixroute"}, {unix.IFA_F_MCAUTOJOIN, "autojoin"}, {unix.IFA_F_STABLE_PRIVACY, "stable-privacy"},
}

const infinityLife = 0xffffffff

func printAddr(o *outBuf, x ifaddr) {
	a := x.a
	flags := uint32(x.flags)
	if f, ok := a.u32(unix.IFA_FLAGS); ok {
		flags = f
	}
	deprecated := flags&unix.IFA_F_DEPRECATED != 0
	local, hasLocal := a[unix.IFA_LOCAL]
	address, hasAddress := a[unix.IFA_ADDRESS]
	if !hasLocal {
		local, hasLocal = address, hasAddress
	}
	if !hasAddress {
		address, hasAddress = local, hasLocal
	}
	switch x.family {
	case unix.AF_INET:
		o.str("    inet ")
	case unix.AF_INET6:
		o.str("    inet6 ")
	default:
		o.printf("    family %d ", x.family)
	}
	if hasLocal {
		la, _ := addrFrom(local)
		o.str(fmtAddr(la))
		if hasAddress && string(address) != string(local) {
			pa, _ := addrFrom(address)
			o.printf(" peer %s", fmtAddr(pa))
		}
		o.printf("/%d ", x.prefixlen)
	}
	if b, ok := a.addr(unix.IFA_BROADCAST); ok {
		o.printf("brd %s ", fmtAddr(b))
	}
	if b, ok := a.addr(unix.IFA_ANYCAST); ok {
		o.printf("any %s ", fmtAddr(b))
	}
	o.printf("scope %s ", scopeName(x.scope))
	for _, f := range ifaFlagNames {
		if f.bit == unix.IFA_F_PERMANENT {
			if flags&f.bit == 0 {
				o.str("dynamic ")
			}
		} else if flags&f.bit != 0 {
			if f.bit == unix.IFA_F_SECONDARY && x.family == unix.AF_INET6 {
				o.str("temporary ")
			} else {
				o.printf("%s ", f.name)
			}
		}
		flags &^= f.bit
	}
	if flags != 0 {
		o.printf("flags %02x ", flags)
	}
	if l, ok := a.str(unix.IFA_LABEL); ok {
		o.str(l)
	}
	if ci, ok := a[unix.IFA_CACHEINFO]; ok && len(ci) >= 8 {
		pref := binary.NativeEndian.Uint32(ci)
		valid := binary.NativeEndian.Uint32(ci[4:])
		o.str("\n       valid_lft ")
		if valid == infinityLife {
			o.str("forever")
		} else {
			o.printf("%dsec", valid)
		}
		o.str(" preferred_lft ")
		switch {
		case pref == infinityLife:
			o.str("forever")
		case deprecated:
			o.printf("%dsec", int32(pref))
		default:
			o.printf("%dsec", pref)
		}
	}
	o.str("\n")
}
