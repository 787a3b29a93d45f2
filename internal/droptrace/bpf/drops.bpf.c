// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel packet drops (skb:kfree_skb, with the drop reason) for one IPv4
 * flow, and the FIB lookups (fib:fib_table_lookup) that explain rp_filter
 * drops. Tracepoints only: they work where kprobes and fentry do not
 * (CONFIG_KPROBES off, lockdown), and kfree_skb fires only on drops, so
 * normal traffic costs nothing.
 */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

static __always_inline bool skip_reason(__u32 reason, __u64 location)
{
	if (reason < 64 && ((cfg_skip_lo >> reason) & 1))
		return true;
	if (reason >= 64 && reason < 128 && ((cfg_skip_hi >> (reason - 64)) & 1))
		return true;
	return cfg_benign_hi && reason == cfg_benign_reason &&
	       location >= cfg_benign_lo && location < cfg_benign_hi;
}

static __always_inline int on_kfree_skb(struct sk_buff *skb, void *location, __u32 reason,
					struct sock *rx_sk, const int direct)
{
	stat_inc(STAT_CALLS);
	if (skip_reason(reason, (__u64)location))
		return 0;
	return emit_skb(skb, rx_sk, KIND_KFREE_SKB, (__u64)location, reason, direct);
}

/* Best first; user space loads the first that the kernel accepts. The
 * arguments follow TP_PROTO(skb, location, reason[, rx_sk]): rx_sk exists
 * since 6.11, and an *_rxsk variant fails to load (tp_btf) or to attach
 * (raw_tp) before; reason exists since 5.17. tp_btf reads skb fields with
 * direct loads, raw_tp with bpf_probe_read_kernel. */
SEC("tp_btf/kfree_skb")
int BPF_PROG(tp_btf_kfree_skb_rxsk, struct sk_buff *skb, void *location, __u32 reason,
	     struct sock *rx_sk)
{
	return on_kfree_skb(skb, location, reason, rx_sk, 1);
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(tp_btf_kfree_skb, struct sk_buff *skb, void *location, __u32 reason)
{
	return on_kfree_skb(skb, location, reason, 0, 1);
}

SEC("raw_tp/kfree_skb")
int BPF_PROG(raw_tp_kfree_skb_rxsk, struct sk_buff *skb, void *location, __u32 reason,
	     struct sock *rx_sk)
{
	return on_kfree_skb(skb, location, reason, rx_sk, 0);
}

SEC("raw_tp/kfree_skb")
int BPF_PROG(raw_tp_kfree_skb, struct sk_buff *skb, void *location, __u32 reason)
{
	return on_kfree_skb(skb, location, reason, 0, 0);
}

/* Every IPv4 FIB lookup of the VIP, including the reverse lookup that
 * fib_validate_source() does for rp_filter: its result device, next to an
 * IP_RPFILTER drop, says where the kernel would have routed the reply.
 * TP_PROTO(u32 tb_id, const struct flowi4 *flp, const struct fib_nh_common
 * *nhc, int err). Ports in flowi4 are usually unset, so only the address
 * and netns filters apply. A failed lookup has no device and so no netns:
 * it is kept, with netns 0. */
static __always_inline int on_fib_lookup(__u32 tb_id, const struct flowi4 *flp,
					 const struct fib_nh_common *nhc, int err)
{
	struct event e = {};
	struct event *out;
	struct net_device *dev = 0;
	struct net *net = 0;

	e.saddr = BPF_CORE_READ(flp, saddr);
	e.daddr = BPF_CORE_READ(flp, daddr);
	if (cfg_addr && e.saddr != cfg_addr && e.daddr != cfg_addr)
		return 0;
	if (nhc)
		dev = BPF_CORE_READ(nhc, nhc_dev);
	if (dev) {
		net = BPF_CORE_READ(dev, nd_net.net);
		if (net)
			e.netns = BPF_CORE_READ(net, ns.inum);
	}
	if (cfg_netns && e.netns && e.netns != cfg_netns)
		return 0;
	stat_inc(STAT_MATCHED);
	out = bpf_ringbuf_reserve(&events, sizeof(*out), 0);
	if (!out) {
		stat_inc(STAT_LOST);
		return 0;
	}
	e.kind = KIND_FIB_LOOKUP;
	e.ipv4 = 1;
	e.reason = tb_id;
	e.ret = err;
	e.iif = BPF_CORE_READ(flp, __fl_common.flowic_iif);
	e.oif = BPF_CORE_READ(flp, __fl_common.flowic_oif);
	e.l4proto = BPF_CORE_READ(flp, __fl_common.flowic_proto);
	if (dev) {
		e.ifindex = BPF_CORE_READ(dev, ifindex);
		bpf_core_read_str(e.ifname, sizeof(e.ifname), &dev->name);
	}
	e.ts = bpf_ktime_get_ns();
	__builtin_memcpy(out, &e, sizeof(e));
	bpf_ringbuf_submit(out, submit_flags());
	return 0;
}

SEC("tp_btf/fib_table_lookup")
int BPF_PROG(tp_btf_fib_table_lookup, __u32 tb_id, const struct flowi4 *flp,
	     const struct fib_nh_common *nhc, int err)
{
	return on_fib_lookup(tb_id, flp, nhc, err);
}

SEC("raw_tp/fib_table_lookup")
int BPF_PROG(raw_tp_fib_table_lookup, __u32 tb_id, const struct flowi4 *flp,
	     const struct fib_nh_common *nhc, int err)
{
	return on_fib_lookup(tb_id, flp, nhc, err);
}
