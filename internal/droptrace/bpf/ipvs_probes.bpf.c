// SPDX-License-Identifier: GPL-2.0
/*
 * IPVS probes: tell a packet IPVS refused apart from one a firewall dropped.
 * An NF_DROP from the IPVS hook is freed in nf_hook_slow() as
 * NETFILTER_DROP, exactly like an nftables drop on kernels where
 * nft_do_chain() does not free the packet itself (6.1: both are at
 * nf_hook_slow), so kfree_skb alone cannot say who decided.
 *
 * kprobes on ip_vs.ko functions: loaded only where ip_vs is loaded and the
 * kernel has kprobes. Only sk_buff (a vmlinux type) is read; IPVS's own
 * structures live in the module's BTF and are left alone.
 */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

#define NF_VERDICT_MASK 0xff
#define NF_DROP 0

/* The skbs the IPVS hook is working on, so that probes deeper in the call
 * (ip_vs_service_find has no skb argument) and the hook's return probe can
 * name the packet. A stack, because the hook nests: ip_vs_leave's ICMP
 * error passes the LOCAL_OUT hook inside the LOCAL_IN one, and a softirq
 * can run the hook inside a process's. Per CPU, each level tagged with the
 * task: nesting keeps `current` (softirqs run on the interrupted task), so
 * a level of another task is stale (its hook was preempted and returned on
 * another CPU) and is dropped. At worst a record is missed, never given
 * the wrong packet. */
#define HOOK_DEPTH 4

struct hook_stack {
	__u32 depth;
	__u64 task[HOOK_DEPTH];
	__u64 skb[HOOK_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hook_stack);
} ipvs_hook SEC(".maps");

static __always_inline struct hook_stack *hook_stack(__u64 task)
{
	__u32 k = 0;
	struct hook_stack *s = bpf_map_lookup_elem(&ipvs_hook, &k);

	if (!s)
		return 0;
#pragma unroll
	for (int i = 0; i < HOOK_DEPTH; i++) {
		__u32 top = s->depth;
		if (top == 0 || top > HOOK_DEPTH)
			break;
		if (s->task[(top - 1) & (HOOK_DEPTH - 1)] == task)
			break;
		s->depth = top - 1; /* stale level */
	}
	if (s->depth > HOOK_DEPTH)
		s->depth = 0;
	return s;
}

static __always_inline int hook_enter(struct sk_buff *skb)
{
	__u64 task = bpf_get_current_task();
	struct hook_stack *s = hook_stack(task);
	__u32 top;

	if (!s)
		return 0;
	top = s->depth;
	if (top < HOOK_DEPTH) {
		s->task[top & (HOOK_DEPTH - 1)] = task;
		s->skb[top & (HOOK_DEPTH - 1)] = (__u64)skb;
		s->depth = top + 1;
	}
	return 0;
}

/* The innermost hook's skb; leave pops it. */
static __always_inline struct sk_buff *hook_skb(bool leave)
{
	__u64 task = bpf_get_current_task();
	struct hook_stack *s = hook_stack(task);
	struct sk_buff *skb;
	__u32 top;

	if (!s)
		return 0;
	top = s->depth;
	if (top == 0 || top > HOOK_DEPTH)
		return 0;
	if (s->task[(top - 1) & (HOOK_DEPTH - 1)] != task)
		return 0;
	skb = (struct sk_buff *)s->skb[(top - 1) & (HOOK_DEPTH - 1)];
	if (leave)
		s->depth = top - 1;
	return skb;
}

static __always_inline int hook_return(unsigned int verdict)
{
	struct sk_buff *skb = hook_skb(true);

	if (skb && (verdict & NF_VERDICT_MASK) == NF_DROP)
		emit_skb(skb, 0, KIND_IPVS, 0, IPVS_DROP, 0);
	return 0;
}

/* 5.19+: unsigned int ip_vs_in_hook(void *priv, struct sk_buff *skb,
 * const struct nf_hook_state *state). */
SEC("kprobe/ip_vs_in_hook")
int BPF_KPROBE(kprobe_ip_vs_in_hook, void *priv, struct sk_buff *skb)
{
	return hook_enter(skb);
}

SEC("kretprobe/ip_vs_in_hook")
int BPF_KRETPROBE(kretprobe_ip_vs_in_hook, unsigned int verdict)
{
	return hook_return(verdict);
}

/* Before: unsigned int ip_vs_in(struct netns_ipvs *ipvs, unsigned int
 * hooknum, struct sk_buff *skb, int af), when not inlined. */
SEC("kprobe/ip_vs_in")
int BPF_KPROBE(kprobe_ip_vs_in, void *ipvs, unsigned int hooknum, struct sk_buff *skb)
{
	return hook_enter(skb);
}

SEC("kretprobe/ip_vs_in")
int BPF_KRETPROBE(kretprobe_ip_vs_in, unsigned int verdict)
{
	return hook_return(verdict);
}

/* A new connection's first packet (TCP SYN, any UDP) to a local address
 * with no virtual service for its protocol and port: IPVS lets it through
 * to the local stack, which usually drops it as NO_SOCKET next. */
SEC("kretprobe/ip_vs_service_find")
int BPF_KRETPROBE(kretprobe_ip_vs_service_find, void *svc)
{
	struct sk_buff *skb;

	if (svc)
		return 0;
	skb = hook_skb(false);
	if (skb)
		emit_skb(skb, 0, KIND_IPVS, 0, IPVS_NO_SERVICE, 0);
	return 0;
}

/* int ip_vs_leave(struct ip_vs_service *svc, struct sk_buff *skb, ...):
 * called when the scheduler found no real server (none configured, all
 * weight 0, or all over their thresholds). It answers ICMP port
 * unreachable and returns NF_DROP, unless cache_bypass forwards it. */
SEC("kprobe/ip_vs_leave")
int BPF_KPROBE(kprobe_ip_vs_leave, void *svc, struct sk_buff *skb)
{
	return emit_skb(skb, 0, KIND_IPVS, 0, IPVS_NO_DEST, 0);
}
