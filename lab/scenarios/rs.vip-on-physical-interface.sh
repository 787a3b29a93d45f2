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
    local r c0 c1 n
    c0=$(ipvs_conns)
    ns client busybox arping -c 2 -w 2 -I eth0 $VIP | sed 's/^/  /'
    ip -n client neigh flush all
    r=$(vip_seq 4); echo "  client -> VIP x4: $r"
    c1=$(ipvs_conns)
    n=$(client_vip_mac); echo "  client's ARP entry for the VIP: $n (director $(mac_of director), rs1 $(mac_of rs1))"
    check "rs1 answers ARP for the VIP: the client resolved it to rs1's MAC" [ "$n" = "$(mac_of rs1)" ]
    check "every answer comes from rs1, the director saw no new connection" \
        [ "$r" = "rs1 rs1 rs1 rs1" -a "$c0" = "$c1" ]
}

lab_main
