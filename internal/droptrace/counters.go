package droptrace

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The fallback without eBPF: the kernel's drop counters of one namespace
// before and after a reproduction. Coarser than tracing: no tuple, no
// netns-independent view, several reasons behind one counter and some
// drops behind none (TCP SYN to a closed port, nftables drops: see
// counterMeanings).

// Snapshot is one namespace's drop-related counters at one moment.
type Snapshot struct {
	Netns string // as given to Counters
	Time  time.Time
	// SNMP holds /proc/net/snmp and /proc/net/netstat as "Group.Name",
	// e.g. "TcpExt.IPReversePathFilter".
	SNMP map[string]int64
	// Links holds per-device counters from rtnetlink (what `ip -s -s link`
	// shows), by device name.
	Links map[string]LinkCounters
}

// LinkCounters are a device's drop counters (struct rtnl_link_stats64).
type LinkCounters struct {
	RxDropped, TxDropped uint64
	RxNoHandler          uint64 // 4.6+
	RxOtherhost          uint64 // "otherhost" in ip -s -s link, 5.19+
	HasOtherhost         bool   // the kernel reports RxOtherhost
}

// CounterDelta is one counter that changed, with what its change means.
type CounterDelta struct {
	Name  string // "TcpExt.IPReversePathFilter", or "link lb0 otherhost"
	Delta int64
	Means string // what it counts and what it cannot tell; "" if unknown
}

// maxSNMPBytes bounds what is read of one /proc/net file (a few KiB).
const maxSNMPBytes = 1 << 20

// Counters reads the drop counters of a namespace ("" for the current one;
// else an `ip netns` name or a namespace file path).
func Counters(netns string) (Snapshot, error) {
	s := Snapshot{Netns: netns, SNMP: map[string]int64{}}
	label := netns
	if label == "" {
		label = "current netns"
	}
	err := inNetns(netns, func() error {
		// thread-self: /proc/net follows the process's first thread, not
		// the one that entered the namespace.
		for _, f := range []string{"snmp", "netstat"} {
			p := "/proc/thread-self/net/" + f
			fh, err := os.Open(p)
			if err != nil {
				return err
			}
			err = parseSNMP(io.LimitReader(fh, maxSNMPBytes), s.SNMP)
			fh.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
		}
		return nil
	})
	if err != nil {
		return Snapshot{}, fmt.Errorf("counters of %s: %w", label, err)
	}
	links, err := linkCounters(netns)
	if err != nil {
		return Snapshot{}, fmt.Errorf("link counters of %s: %w", label, err)
	}
	s.Links = links
	s.Time = time.Now()
	return s, nil
}

// parseSNMP reads the /proc/net/snmp format: a header line of names and a
// value line, both starting with "Group:".
func parseSNMP(r io.Reader, out map[string]int64) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	var hdr []string
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || !strings.HasSuffix(fields[0], ":") {
			hdr = nil
			continue
		}
		if hdr == nil || hdr[0] != fields[0] {
			hdr = fields
			continue
		}
		group := strings.TrimSuffix(fields[0], ":")
		for i := 1; i < len(fields) && i < len(hdr); i++ {
			if v, err := strconv.ParseInt(fields[i], 10, 64); err == nil {
				out[group+"."+hdr[i]] = v
			}
		}
		hdr = nil
	}
	return sc.Err()
}

// Delta returns the drop-related counters that changed from a to b, by
// name. Counters with a known meaning come with it; other changed ones are
// kept when their name says drop, error, fail, discard or filter.
func (a Snapshot) Delta(b Snapshot) []CounterDelta {
	var out []CounterDelta
	for name, v := range b.SNMP {
		d := v - a.SNMP[name]
		if d == 0 {
			continue
		}
		means, known := counterMeanings[name]
		if !known && !dropLike(name) {
			continue
		}
		out = append(out, CounterDelta{Name: name, Delta: d, Means: means})
	}
	for dev, lb := range b.Links {
		la := a.Links[dev]
		for _, c := range []struct {
			name   string
			va, vb uint64
		}{
			{"rx_dropped", la.RxDropped, lb.RxDropped},
			{"tx_dropped", la.TxDropped, lb.TxDropped},
			{"rx_nohandler", la.RxNoHandler, lb.RxNoHandler},
			{"otherhost", la.RxOtherhost, lb.RxOtherhost},
		} {
			if c.vb == c.va {
				continue
			}
			out = append(out, CounterDelta{
				Name:  "link " + dev + " " + c.name,
				Delta: int64(c.vb - c.va),
				Means: linkMeanings[c.name],
			})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func dropLike(name string) bool {
	l := strings.ToLower(name)
	for _, w := range []string{"drop", "err", "fail", "discard", "filter", "overflow", "noport", "noroute"} {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

// counterMeanings say what a counter's increase means for a packet to the
// VIP, and what it cannot tell.
var counterMeanings = map[string]string{
	"TcpExt.IPReversePathFilter": "reverse-path filter (rp_filter) dropped packets: their source routes back via another interface (kfree_skb IP_RPFILTER); not which source or interface",
	"Udp.NoPorts":                "UDP datagrams to a port without a socket (NO_SOCKET; ICMP port unreachable sent unless rate-limited); not which port",
	"Udp.InErrors":               "UDP datagrams dropped on receive (buffer full, checksum, BPF/socket filter); not which",
	"Udp.RcvbufErrors":           "UDP datagrams dropped because a socket's receive buffer was full",
	"Tcp.OutRsts":                "RSTs sent: a SYN to a port without listener is dropped (NO_SOCKET) with no counter of its own and answered with a RST, but normal aborts count here too",
	"Tcp.InErrs":                 "TCP segments received in error (bad checksum, ...)",
	"Tcp.AttemptFails":           "connection attempts that failed (SYN_SENT/SYN_RECV to CLOSED or LISTEN): this side's own connects",
	"TcpExt.ListenDrops":         "SYNs or ACKs a listener dropped (includes ListenOverflows)",
	"TcpExt.ListenOverflows":     "accept queue full: the application does not accept() fast enough",
	"TcpExt.TCPBacklogDrop":      "segments dropped because the socket backlog was full",
	"TcpExt.TCPMinTTLDrop":       "segments dropped by IP_MINTTL",
	"TcpExt.PAWSEstab":           "segments dropped by PAWS (timestamp older than the connection's): often NAT or LVS reusing tuples",
	"TcpExt.TCPTimeWaitOverflow": "TIME_WAIT sockets not created (tw_buckets limit)",
	"Ip.InAddrErrors":            "packets whose destination is not a local address, with forwarding off, or a martian destination",
	"Ip.InHdrErrors":             "IP header errors (checksum, version, TTL exceeded on forward)",
	"Ip.InUnknownProtos":         "packets of an IP protocol without handler (IP_NOPROTO), e.g. IPIP (LVS-TUN) to a host without the ipip module or tunnel",
	"Ip.InDiscards":              "IP input discards (no memory, ...); not netfilter drops",
	"Ip.OutNoRoutes":             "locally sent packets without a route",
	"IpExt.InNoRoutes":           "received packets without a route (forwarding)",
	"Ip.FragFails":               "packets that needed fragmenting but had DF set (PKT_TOO_BIG; ICMP frag-needed sent): an MTU problem, e.g. IPIP overhead",
	"Ip.ReasmFails":              "fragment reassembly failures",
	"IpExt.InTruncatedPkts":      "packets shorter than their IP header says",
	"IpExt.InCsumErrors":         "packets with bad checksums",
	"Icmp.OutDestUnreachs":       "ICMP destination unreachable sent (port unreachable for closed UDP, IPVS no real server, frag needed, ...)",
	"Icmp.InDestUnreachs":        "ICMP destination unreachable received",
}

// linkMeanings for the per-device counters. Netfilter drops (nftables,
// iptables, IPVS) have no counter but the rules' own counters.
var linkMeanings = map[string]string{
	"rx_dropped":   "received frames the device or the core dropped before the protocols (no handler, backlog full, ...)",
	"tx_dropped":   "frames dropped on transmit (queue full, no carrier, ...)",
	"rx_nohandler": "frames for a protocol nothing handles on this device (e.g. a bond slave)",
	"otherhost":    "frames addressed to another MAC, dropped (OTHERHOST): a stale neighbour entry at the sender, e.g. after a VIP moved without gratuitous ARP",
}
