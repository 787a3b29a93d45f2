#!/bin/bash
# Fault rs.arp-not-suppressed: DR cluster where rs1 answers ARP for the VIP
# (arp_ignore/arp_announce back to 0 on all and eth0). Once the client's ARP
# entry expires it may learn rs1's MAC: the director is bypassed and every
# request lands on rs1 (no balancing, no failover).
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=rs.arp-not-suppressed
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
SYMPTOM="all requests to http://$VIP/ are answered by rs1 only; the director's IPVS counters do not move"

setup() {
    cluster_up
    baseline
    sc rs1 net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.eth0.arp_ignore=0 \
           net.ipv4.conf.all.arp_announce=0 net.ipv4.conf.eth0.arp_announce=0
    # the client's entry for the VIP expires (here: now)
    ip -n client neigh flush all
}

prove() {
    local r c0 c1 n a i
    # rs1 and the director both answer ARP for the VIP; which reply the
    # client keeps is a race (the first within locktime wins), as on a real
    # LAN: the bypass is intermittent. The conflict shows in every arping;
    # the bypass is proved once the client has learnt rs1's MAC, flushing
    # and resolving again until it does (at most 8 times).
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
