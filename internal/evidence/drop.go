package evidence

import "net/netip"

// KindDrops: kernel drop tracing (lvsdoctor watch, eBPF on skb:kfree_skb)
// ran on the host; no Drops with it means it saw none for the flow.
const KindDrops Kind = "kernel-drops"

// Drop is one packet the kernel freed as dropped, with the reason the
// running kernel gave (enum skb_drop_reason, "IP_RPFILTER") and where.
type Drop struct {
	Time     string
	Reason   string // kernel's name without the SKB_DROP_REASON_ prefix
	Location string // kallsyms symbol+offset: "ip_rcv_finish_core+0x25b"
	Netns    string // `ip netns` name, or the inode when unnamed
	Dev      string
	Proto    string
	Src, Dst netip.Addr
	SPort    uint16
	DPort    uint16
	Flags    string // TCP flags, tcpdump style
	// By names what decided a NETFILTER_DROP when it was not a firewall
	// rule: "ipvs" when IPVS's hook returned the drop verdict for the
	// same packet (the watch pairs them by the kernel's skb).
	By    string
	Inner *Drop // IPIP inner header: only addresses, proto and ports set
	// Attribution cites what tells why: the reverse route lookup that
	// failed rp_filter (fib tracepoint), the nftables rule that said drop
	// (nft trace).
	Attribution []Ref
	Ref         Ref
}

// DropStats is what the tracer said of itself: a run that lost events
// (ring buffer full) saw less than happened.
type DropStats struct {
	Events, Calls, Matched, Lost uint64
	Ref                          Ref
}
