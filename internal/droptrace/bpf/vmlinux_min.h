/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel types the droptrace programs touch, and nothing else.
 *
 * Kernel structs carry preserve_access_index, so every access is a CO-RE
 * relocation that cilium/ebpf resolves against the running kernel's BTF
 * (/sys/kernel/btf/vmlinux) at load time: field order, offsets and nesting
 * (anonymous unions, struct_group()) here do not matter, only names and
 * types. This replaces a multi-megabyte `bpftool btf dump format c` header
 * that would tie the tree to one kernel build.
 */
#ifndef __VMLINUX_MIN_H__
#define __VMLINUX_MIN_H__

/* bpf_tracing.h picks the kernel's pt_regs field names (di, si, ...) on x86
 * when it believes it is fed a vmlinux.h; ours declares those names. */
#define __VMLINUX_H__

typedef unsigned char __u8;
typedef signed char __s8;
typedef unsigned short __u16;
typedef short __s16;
typedef unsigned int __u32;
typedef int __s32;
typedef unsigned long long __u64;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef _Bool bool;
#define true 1
#define false 0

enum bpf_map_type {
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_RINGBUF = 27,
};

enum {
	BPF_ANY = 0,
	BPF_RB_NO_WAKEUP = 1,
	BPF_RB_FORCE_WAKEUP = 2,
	BPF_RB_AVAIL_DATA = 0, /* bpf_ringbuf_query() */
};

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct ns_common {
	unsigned int inum;
};

struct net {
	struct ns_common ns;
};

typedef struct {
	struct net *net;
} possible_net_t;

struct net_device {
	char name[16];
	int ifindex;
	possible_net_t nd_net;
};

struct sock_common {
	possible_net_t skc_net;
};

struct sock {
	struct sock_common __sk_common;
};

struct sk_buff {
	struct net_device *dev;
	struct sock *sk;
	unsigned int len;
	__u32 mark;
	int skb_iif;
	__u16 transport_header;
	__u16 network_header;
	__u16 mac_header;
	__be16 protocol;
	unsigned char *head;
	unsigned char *data;
};

struct flowi_common {
	int flowic_oif;
	int flowic_iif;
	__u8 flowic_proto;
};

struct flowi4 {
	struct flowi_common __fl_common;
	__be32 saddr;
	__be32 daddr;
};

struct fib_nh_common {
	struct net_device *nhc_dev;
};

/* Registers of a kprobe context, for bpf_tracing.h's PT_REGS_* macros. */
#if defined(__TARGET_ARCH_x86)
struct pt_regs {
	unsigned long di;
	unsigned long si;
	unsigned long dx;
	unsigned long cx;
	unsigned long r8;
	unsigned long r9;
	unsigned long ax;
	unsigned long sp;
	unsigned long ip;
	unsigned long bp;
};
#elif defined(__TARGET_ARCH_arm64)
struct user_pt_regs {
	__u64 regs[31];
	__u64 sp;
	__u64 pc;
	__u64 pstate;
};
struct pt_regs {
	struct user_pt_regs user_regs;
};
#endif

#pragma clang attribute pop

/* Wire format: fixed layout, never relocated. */
struct iphdr_raw {
	__u8 ver_ihl;
	__u8 tos;
	__be16 tot_len;
	__be16 id;
	__be16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__u16 check;
	__be32 saddr;
	__be32 daddr;
};

#endif /* __VMLINUX_MIN_H__ */
