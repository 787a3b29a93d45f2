#!/bin/bash
# Fault rs.vip-on-physical-interface: DR cluster where rs1 has the VIP on
# eth0 (ip addr add VIP/32 dev eth0, from a how-to that skipped "lo") instead
# of lo. arp_ignore=1 does not help: the VIP is now an address of the
# interface the ARP request comes in on, so rs1 answers it. Once the client's
# entry is refreshed it may learn rs1's MAC: the director is bypassed.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=rs.vip-on-physical-interface
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
SYMPTOM="arping $VIP shows two MACs; requests are answered by rs1 only"

setup() {
    cluster_up
    baseline
    ip -n rs1 addr del $VIP/32 dev lo
    ip -n rs1 addr add $VIP/32 dev eth0
    ip -n client neigh flush all
}

prove() {
    local r c0 c1 n a i
    # Both rs1 and the director answer ARP for the VIP now; which reply the
    # client keeps is a race (the first within locktime wins), as it is on
    # a real LAN: the bypass is intermittent. The conflict itself shows in
    # every arping; the bypass is proved once the client has learnt rs1's
    # MAC, flushing and resolving again until it does (at most 8 times).
    a=$(ns client busybox arping -c 2 -w 2 -I eth0 $VIP); echo "$a" | sed 's/^/  /'
    check "rs1 answers ARP for the VIP: the client's arping gets rs1's MAC" \
        grep -qi "\[$(mac_of rs1)\]" <<<"$a"
    for i in 1 2 3 4 5 6 7 8; do
        ip -n client neigh flush all
        ns client busybox ping -c 1 -W 2 $VIP >/dev/null
        n=$(client_vip_mac)
        [ "$n" = "$(mac_of rs1)" ] && break
    done
    echo "  client's ARP entry for the VIP after $i resolution(s): $n (director $(mac_of director), rs1 $(mac_of rs1))"
    c0=$(ipvs_conns)
    r=$(vip_seq 4); echo "  client -> VIP x4: $r"
    c1=$(ipvs_conns)
    check "with rs1's MAC learnt, every answer comes from rs1, the director saw no new connection" \
        [ "$n" = "$(mac_of rs1)" -a "$r" = "rs1 rs1 rs1 rs1" -a "$c0" = "$c1" ]
}

lab_main
