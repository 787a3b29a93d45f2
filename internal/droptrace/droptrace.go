// Package droptrace watches the running kernel drop packets of one IPv4
// flow and names why: the kernel's own drop reason (skb:kfree_skb,
// enum skb_drop_reason, 5.17+), where in the kernel, in which network
// namespace, on which device, with the packet's tuple (and an IPIP inner
// tuple, as LVS-TUN sends).
//
// Attribution beside the drops, each optional:
//   - FIB lookups (fib:fib_table_lookup) of the VIP: next to an
//     IP_RPFILTER drop, the reverse lookup's result device says where the
//     kernel would route the reply.
//   - nftables trace events (NFNLGRP_NFTRACE), naming table, chain, rule
//     handle and comment of a NETFILTER_DROP. The kernel only traces
//     packets that a rule marks with `meta nftrace set 1` (iptables-nft:
//     -j TRACE); droptrace never adds such a rule (it is read-only), the
//     user does, e.g.
//     nft add rule inet filter prerouting ip daddr VIP meta nftrace set 1
//     in a chain hooked before the dropping one.
//   - IPVS probes (kprobes on ip_vs.ko), where the kernel has kprobes and
//     ip_vs is loaded: events whose Reason starts with "IPVS_" (see
//     IPVSNoService, IPVSNoDest, IPVSDrop) tell a packet IPVS refused apart
//     from one a firewall dropped.
//
// Everything runs on tracepoints (tp_btf, else raw_tp), which work where
// kprobes and fentry do not. The BPF programs are C in bpf/, compiled by
// bpf2go into the committed *_bpfel.o files (scripts/bpf-generate).
//
// Without eBPF, Counters and Snapshot.Delta give the counter deltas around a
// reproduction: coarser (no tuple, several reasons per counter) but
// available everywhere.
//
// Tracing needs root (CAP_BPF and CAP_PERFMON, CAP_SYS_ADMIN to enter a
// namespace), kernel BTF and kfree_skb with a reason; Supported says what is
// missing. It changes nothing on the host: no sysctl, rule, route or module.
package droptrace

import (
	"net/netip"
	"time"
)

// Filter selects the drops to report. It is applied in the kernel, so drops
// of other flows cost about 60 ns each and never reach user space.
type Filter struct {
	// Addr is the IPv4 address (the VIP) to match as source or destination
	// of the outer or the IPIP inner header. Required.
	Addr netip.Addr
	// Port matches the TCP or UDP source or destination port; 0: any.
	Port uint16
	// Proto is "tcp", "udp", "icmp", "ipip" (IPIP-encapsulated, whatever
	// inside) or "" (any).
	Proto string
	// Netns is "" for every namespace, or an `ip netns` name (or the path of
	// a namespace file such as /proc/PID/ns/net); compared in the kernel by
	// namespace inode.
	Netns string
}

// Options tune a Tracer. The zero value is usable.
type Options struct {
	// Mode is "auto" or "" (tp_btf, else raw_tp), "tp_btf" or "raw_tp".
	Mode string
	// FIB also reports fib:fib_table_lookup of Filter.Addr, on FIB().
	FIB bool
	// NFTrace also reads nftables trace events, on NFTrace(); see the
	// package comment for the rule the user must add.
	NFTrace bool
	// ShowBenign also reports the drops that are normal: NOT_SPECIFIED at
	// TCP teardown (tcp_rcv_state_process), TCP_OLD_DATA, TCP_OLD_SEQUENCE.
	ShowBenign bool
	// NoIPVS leaves the IPVS probes out even where they could attach.
	NoIPVS bool
	// BatchBytes wakes the reader only once this much is queued in the ring
	// buffer (default 64 KiB; negative: wake per event, which costs about
	// 2 µs per event in a VM); PollInterval bounds the added latency
	// (default 100 ms).
	BatchBytes   int
	PollInterval time.Duration
	// RingBytes is the ring buffer size: a power of two, at least a page
	// (default 4 MiB). When it is full, events are counted in Stats.Lost.
	RingBytes int
}

// Tuple is what a packet header says.
type Tuple struct {
	Proto              string // "tcp", "udp", "icmp", "ipip", else "proto<N>"
	Src, Dst           netip.Addr
	SPort, DPort       uint16
	TCPFlags           string // tcpdump style: "S", "S.", "R.", "F.", "P."
	ICMPType, ICMPCode uint8
}

// Event is one dropped packet, or one IPVS decision about a packet.
type Event struct {
	Time time.Time
	// Reason is the kernel's enum skb_drop_reason name without its
	// SKB_DROP_REASON_ prefix ("IP_RPFILTER"), read from the running
	// kernel's BTF; or one of the IPVS names (IPVSNoService, ...).
	Reason     string
	ReasonCode uint32 // the enum value; 0 for IPVS events
	// Location is where the kernel freed the packet, from /proc/kallsyms:
	// "ip_rcv_finish_core+0x25b"; for IPVS events the probed function.
	Location   string
	NetnsInode uint32 // 0: unknown (no device and no socket)
	Netns      string // the `ip netns` name; "" when unnamed (the host's own)
	Ifindex    int    // skb->dev (0 for drops at socket level)
	Dev        string // its name
	Iif        int    // the ifindex the packet arrived on (skb->skb_iif)
	Len        int    // skb->len where it was freed: the L2 header may be pulled
	Mark       uint32 // skb->mark
	Packet     Tuple  // the outer header
	Inner      *Tuple // the IPIP inner header, if any
	// SKB is the packet's kernel address: an IPVS_DROP and the
	// NETFILTER_DROP that frees the same packet share it.
	SKB uint64
}

// FIBLookup is one IPv4 FIB lookup involving Filter.Addr.
type FIBLookup struct {
	Time       time.Time
	Table      uint32
	Src, Dst   netip.Addr
	Proto      uint8
	Iif, Oif   int
	Dev        string // the result's device; "" when the lookup failed
	Ifindex    int    // the result's device index
	NetnsInode uint32
	Netns      string
	Err        int // 0 or a negative errno (-101 ENETUNREACH: no route)
}

// NFTraceEvent is one nftables trace event (what `nft monitor trace`
// prints), for packets of Filter.Addr.
type NFTraceEvent struct {
	Time         time.Time
	ID           uint32 // the trace id: one per packet and hook
	Family       string // "ip", "inet", "ip6", "arp", "bridge", "netdev"
	Table, Chain string
	Handle       uint64 // the rule's handle (0 for policy events)
	Type         string // "rule", "policy", "return"
	Verdict      string // "drop", "accept", "continue", "jump CHAIN", ...
	Comment      string // the rule's comment, when it has one
	Iif, Oif     int
	Mark         uint32
	Packet       Tuple
	NetnsInode   uint32
	Netns        string
	// PacketUnknown: no header of this trace id was seen, so Packet is
	// zero. Events are matched by their headers, so this stays false
	// unless the matching is widened.
	PacketUnknown bool
}

// Stats are the tracer's counters so far.
type Stats struct {
	// Calls counts kfree_skb program runs (every drop on the host);
	// Matched the records the filter let through (all programs); Lost those
	// not recorded because the ring buffer was full. Lost is never hidden:
	// a consumer must report it.
	Calls, Matched, Lost uint64
	// Read counts records read from the ring buffer; Undelivered the events
	// Close could not hand over because nobody read the channels.
	Read, Undelivered uint64
	// Mode is the attach mode in use: "tp_btf" or "raw_tp".
	Mode string
}
