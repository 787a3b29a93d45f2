#!/bin/bash
# Fault director.conntrack-table-full: NAT cluster whose active director
# tracks the IPVS flows (net.ipv4.vs.conntrack=1, so that its stateful
# firewall, `INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
# sees them; kube-proxy's IPVS mode sets the same) with a conntrack table far
# too small for its traffic (nf_conntrack_max=128). A burst of client
# requests fills it: in NAT the director sees both directions, so every
# finished connection stays as an assured TIME_WAIT entry for 120 s, which
# early drop may not evict. From then on the director drops every new flow
# ("nf_conntrack: table full, dropping packet"): the VIP times out, while the
# real servers answer director2 (whose table is not full) directly.
# Besides the usual gathering, the director's folder gets
# `dmesg | grep -i conntrack` (the guest's one kernel log: only the
# director's netns tracks with a full table, so these lines are its own).
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=director.conntrack-table-full
LB_KIND=NAT CHECK=TCP_CHECK VRRP=multicast
SYMPTOM="after a traffic peak, new connections to http://$VIP/ time out; the real servers answer when tested from the backup director"
CT_MAX=128

setup() {
    cluster_up
    ns director iptables -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
    sc director net.ipv4.vs.conntrack=1
    echo $CT_MAX >/proc/sys/net/netfilter/nf_conntrack_max
    dmesg -C
    baseline
}

prove() {
    local n c r
    # the peak: requests until one fails (at most 400)
    n=$(ns client busybox sh -c "n=0; while [ \$n -lt 400 ]; do
            printf 'GET / HTTP/1.0\r\n\r\n' | busybox timeout 3 busybox nc -w 2 $VIP $PORT 2>/dev/null |
                grep -q ' 200 ' || break; n=\$((n+1)); done; echo \$n")
    c=$(ns director cat /proc/sys/net/netfilter/nf_conntrack_count)
    echo "  traffic peak: $n requests served, then one failed; director's conntrack: $c of $CT_MAX entries"
    echo "  IPVS on director right now: $(ipvs_rs_list)"
    check "the director's conntrack table is full" [ "$c" -ge $CT_MAX ]
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r"
    check "the VIP times out" all_err $r
    r="$(get $RS1_NIP director2) $(get $RS2_NIP director2)"; echo "  director2 -> real servers: $r"
    check "direct access to both real servers (from director2) works" [ "$r" = "rs1 rs2" ]
    dmesg | grep -i conntrack | tail -3 | sed 's/^/  /'
    check "the kernel logs 'nf_conntrack: table full, dropping packet'" _ct_full_logged
}
_ct_full_logged() { dmesg | grep -q "nf_conntrack: table full, dropping packet"; }

# the director's kernel log goes into its folder, as the engineer pastes it
eval "_lab_gather_case() $(declare -f gather_case | tail -n +2)"
gather_case() {
    _lab_gather_case "$@"
    { echo '$ dmesg | grep -i conntrack'; dmesg | grep -i conntrack; } >"$1/director/dmesg-conntrack.txt"
}

lab_main
