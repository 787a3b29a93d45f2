/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every droptrace program shares: the event record, the filter, the
 * ring buffer and counters, and the IPv4 parser. drops.bpf.c and
 * ipvs_probes.bpf.c both include it; user space loads the IPVS object with
 * the drops object's maps, so both write one ring buffer and one set of
 * counters.
 */
#ifndef __DROPTRACE_COMMON_H__
#define __DROPTRACE_COMMON_H__

#include "vmlinux_min.h"
#include "bpf/bpf_helpers.h"
#include "bpf/bpf_core_read.h"
#include "bpf/bpf_tracing.h"
#include "bpf/bpf_endian.h"

#define ETH_P_IP 0x0800
#define IPPROTO_ICMP 1
#define IPPROTO_IPIP 4
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

enum event_kind {
	KIND_KFREE_SKB = 0, /* skb:kfree_skb; reason = enum skb_drop_reason */
	KIND_FIB_LOOKUP = 1, /* fib:fib_table_lookup; reason = table id, ret = err */
	KIND_IPVS = 2,       /* IPVS kprobes; reason = enum ipvs_event */
};

/* Kept in sync with ipvsNames in ipvs.go. */
enum ipvs_event {
	IPVS_NO_SERVICE = 1, /* ip_vs_service_find() returned NULL */
	IPVS_NO_DEST = 2,    /* ip_vs_leave(): the service has no usable real server */
	IPVS_DROP = 3,       /* the IPVS hook returned NF_DROP */
};

/* One ring buffer record. Decoded field by field in event.go; the layout
 * test there checks the offsets against the bpf2go-generated struct. */
struct event {
	__u64 ts;          /* bpf_ktime_get_ns (CLOCK_MONOTONIC) */
	__u64 location;    /* kfree_skb: caller address */
	__u64 skbaddr;     /* correlates an IPVS_DROP with its NETFILTER_DROP */
	__u32 reason;
	__s32 ret;
	__u32 netns;       /* netns inode, as in /proc/PID/ns/net; 0 = unknown */
	__u32 ifindex;     /* skb->dev, or the FIB result's device */
	__u32 iif;         /* skb->skb_iif, or the FIB lookup's input ifindex */
	__u32 len;         /* skb->len where it was freed (L2 may be pulled) */
	__u32 mark;
	__u32 oif;         /* FIB lookup: flowi4_oif */
	__be32 saddr;      /* innermost IPv4 header */
	__be32 daddr;
	__be32 outer_saddr; /* outer header when encap = 1 (IPIP) */
	__be32 outer_daddr;
	__be16 sport;      /* TCP/UDP ports; ICMP: type, code */
	__be16 dport;
	__be16 l3proto;    /* skb->protocol */
	__u8 l4proto;
	__u8 tcpflags;
	__u8 kind;
	__u8 encap;
	__u8 ipv4;         /* an IPv4 header was parsed */
	__u8 pad;
	char ifname[16];
};

/* Makes clang emit BTF for struct event so bpf2go -type can generate the Go
 * twin that the layout test compares against. */
const struct event *unused_event __attribute__((unused));

/* The filter and tuning, set from user space before load. They live in
 * .rodata, so the verifier sees constants and prunes what a filter does not
 * use: a wildcard costs nothing per drop. 0 means "any" or "off". */
volatile const __be32 cfg_addr = 0;
volatile const __be16 cfg_port = 0;
volatile const __u8 cfg_l4proto = 0;
volatile const __u32 cfg_netns = 0;
/* Wake the reader only once this many bytes are queued (0: per record, the
 * kernel default). A wakeup is an irq_work self-IPI: per record it made the
 * program 8x slower in a VM; user space polls for the rest. */
volatile const __u32 cfg_wakeup_bytes = 0;
/* Reasons (< 128) never reported, as a bitmap: the benign ones. */
volatile const __u64 cfg_skip_lo = 0;
volatile const __u64 cfg_skip_hi = 0;
/* NOT_SPECIFIED is benign only where TCP frees ACKs during teardown: its
 * value and the text range [lo, hi) of tcp_rcv_state_process. */
volatile const __u32 cfg_benign_reason = 0;
volatile const __u64 cfg_benign_lo = 0;
volatile const __u64 cfg_benign_hi = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} events SEC(".maps");

enum {
	STAT_CALLS = 0, /* kfree_skb program runs */
	STAT_MATCHED,   /* records the filter let through (all programs) */
	STAT_LOST,      /* of those, not written: ring buffer full */
	STAT_MAX,
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);
	if (v)
		*v += 1;
}

static __always_inline __u64 submit_flags(void)
{
	if (!cfg_wakeup_bytes)
		return 0;
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= cfg_wakeup_bytes ?
		BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* RD(direct, ptr, field): through a BTF-typed pointer (tp_btf) a plain,
 * CO-RE relocated load, which the verifier makes fault-safe (PROBE_MEM);
 * otherwise (raw_tp, kprobe) bpf_probe_read_kernel. `direct` is a constant
 * after inlining, so the other branch never reaches the verifier. */
#define RD(direct, p, f) ((direct) ? __builtin_preserve_access_index((p)->f) : BPF_CORE_READ(p, f))

enum {
	PARSE_NOT_IP = 0, /* no IPv4 header */
	PARSE_IP = 1,
	PARSE_OTHER = 2,  /* IPv4, but not of cfg_addr: not parsed further */
};

/* Parses IPv4 (and an IPIP inner header) from skb->head + network_header:
 * skb->data moves as layers are pulled, network_header does not. */
static __always_inline int parse_skb(struct sk_buff *skb, struct event *e, const int direct)
{
	struct iphdr_raw iph;
	unsigned char *head, *l4;
	__u16 nh;
	__u32 ihl;

	e->l3proto = RD(direct, skb, protocol);
	/* protocol is still 0 on some early transmit paths: the version nibble
	 * decides then. */
	if (e->l3proto != bpf_htons(ETH_P_IP) && e->l3proto != 0)
		return PARSE_NOT_IP;
	nh = RD(direct, skb, network_header);
	if (nh == (__u16)~0U) /* not set yet */
		return PARSE_NOT_IP;
	head = RD(direct, skb, head);
	if (bpf_probe_read_kernel(&iph, sizeof(iph), head + nh))
		return PARSE_NOT_IP;
	if ((iph.ver_ihl >> 4) != 4)
		return PARSE_NOT_IP;
	ihl = (iph.ver_ihl & 0xf) * 4;
	if (ihl < 20)
		return PARSE_NOT_IP;
	/* Most drops on a host are of other flows: reject them before reading
	 * more of the packet (an IPIP packet may carry the VIP inside). */
	if (cfg_addr && iph.saddr != cfg_addr && iph.daddr != cfg_addr &&
	    iph.protocol != IPPROTO_IPIP)
		return PARSE_OTHER;
	e->ipv4 = 1;
	e->saddr = iph.saddr;
	e->daddr = iph.daddr;
	e->l4proto = iph.protocol;
	l4 = head + nh + ihl;

	/* LVS-TUN sends IPIP: the client's tuple is the inner header. */
	if (iph.protocol == IPPROTO_IPIP && !(iph.frag_off & bpf_htons(0x1fff))) {
		struct iphdr_raw in;
		if (!bpf_probe_read_kernel(&in, sizeof(in), l4) &&
		    (in.ver_ihl >> 4) == 4 && (in.ver_ihl & 0xf) >= 5) {
			e->encap = 1;
			e->outer_saddr = iph.saddr;
			e->outer_daddr = iph.daddr;
			e->saddr = in.saddr;
			e->daddr = in.daddr;
			e->l4proto = in.protocol;
			iph.frag_off = in.frag_off;
			l4 += (in.ver_ihl & 0xf) * 4;
		}
	}
	if (iph.frag_off & bpf_htons(0x1fff)) /* non-first fragment: no L4 header */
		return PARSE_IP;

	switch (e->l4proto) {
	case IPPROTO_TCP: {
		__u8 th[14];
		if (!bpf_probe_read_kernel(th, sizeof(th), l4)) {
			__builtin_memcpy(&e->sport, &th[0], 2);
			__builtin_memcpy(&e->dport, &th[2], 2);
			e->tcpflags = th[13];
		}
		break;
	}
	case IPPROTO_UDP: {
		__be16 ports[2];
		if (!bpf_probe_read_kernel(ports, sizeof(ports), l4)) {
			e->sport = ports[0];
			e->dport = ports[1];
		}
		break;
	}
	case IPPROTO_ICMP: {
		__u8 tc[2];
		if (!bpf_probe_read_kernel(tc, sizeof(tc), l4)) {
			e->sport = tc[0];
			e->dport = tc[1];
		}
		break;
	}
	}
	return PARSE_IP;
}

/* The address/protocol/port part of the filter. The netns part needs more
 * loads and runs only after this one passed. */
static __always_inline bool match_tuple(struct event *e, int parsed)
{
	if (parsed == PARSE_OTHER)
		return false;
	if (parsed == PARSE_NOT_IP)
		return !(cfg_addr || cfg_port || cfg_l4proto);
	if (cfg_addr && e->saddr != cfg_addr && e->daddr != cfg_addr &&
	    !(e->encap && (e->outer_saddr == cfg_addr || e->outer_daddr == cfg_addr)))
		return false;
	if (cfg_l4proto == IPPROTO_IPIP) {
		if (!e->encap && e->l4proto != IPPROTO_IPIP)
			return false;
	} else if (cfg_l4proto && e->l4proto != cfg_l4proto) {
		return false;
	}
	if (cfg_port) {
		if (e->l4proto != IPPROTO_TCP && e->l4proto != IPPROTO_UDP)
			return false;
		if (e->sport != cfg_port && e->dport != cfg_port)
			return false;
	}
	return true;
}

/* The namespace of a drop. A drop at socket level (rx_sk, a tracepoint
 * argument since 6.11) names it by the socket: TCP reuses the skb's
 * next/prev/dev words as an rbtree node once the skb is queued, so skb->dev
 * is not a device there. Otherwise the device's namespace, else skb->sk's. */
static __always_inline struct net *skb_net(struct sk_buff *skb, struct sock *rx_sk, const int direct)
{
	struct net_device *dev;
	struct net *net = 0;
	struct sock *sk;

	if (rx_sk)
		return RD(direct, rx_sk, __sk_common.skc_net.net);
	dev = RD(direct, skb, dev);
	if (dev)
		net = RD(direct, dev, nd_net.net);
	if (!net) {
		sk = RD(direct, skb, sk);
		if (sk)
			net = RD(direct, sk, __sk_common.skc_net.net);
	}
	return net;
}

/* Fills the fields only worth reading for a record that will be sent. */
static __always_inline void fill_skb_meta(struct sk_buff *skb, struct sock *rx_sk, struct event *e,
					  const int direct)
{
	struct net_device *dev = rx_sk ? 0 : RD(direct, skb, dev);

	if (dev) {
		e->ifindex = RD(direct, dev, ifindex);
		bpf_core_read_str(e->ifname, sizeof(e->ifname), &dev->name);
	}
	e->iif = RD(direct, skb, skb_iif);
	e->len = RD(direct, skb, len);
	e->mark = RD(direct, skb, mark);
	e->skbaddr = (__u64)skb;
	e->ts = bpf_ktime_get_ns();
}

/* Parses, filters and sends one skb-based record. */
static __always_inline int emit_skb(struct sk_buff *skb, struct sock *rx_sk, __u8 kind,
				    __u64 location, __u32 reason, const int direct)
{
	struct event e = {};
	struct event *out;
	struct net *net;
	__u32 ns = 0;
	int parsed;

	parsed = parse_skb(skb, &e, direct);
	if (!match_tuple(&e, parsed))
		return 0;
	net = skb_net(skb, rx_sk, direct);
	if (net)
		ns = RD(direct, net, ns.inum);
	if (cfg_netns && ns != cfg_netns)
		return 0;
	stat_inc(STAT_MATCHED);

	out = bpf_ringbuf_reserve(&events, sizeof(*out), 0);
	if (!out) {
		stat_inc(STAT_LOST);
		return 0;
	}
	e.kind = kind;
	e.location = location;
	e.reason = reason;
	e.netns = ns;
	fill_skb_meta(skb, rx_sk, &e, direct);
	__builtin_memcpy(out, &e, sizeof(e));
	bpf_ringbuf_submit(out, submit_flags());
	return 0;
}

#endif /* __DROPTRACE_COMMON_H__ */
