#!/bin/bash
# Fault net.vrrp-blocked: DR cluster where director2's firewall drops VRRP
# (IP protocol 112), so it never hears director's advertisements and
# promotes itself: both directors are MASTER and own the VIP (split brain),
# and the client's ARP entry for the VIP goes to whichever answered last.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=net.vrrp-blocked
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
SYMPTOM="both directors show the VIP; clients see resets and stalls after failover tests"

setup() {
    cluster_up
    baseline
    ns director2 iptables -I INPUT -p vrrp -j DROP
    local t; t=$(wait_for 20 _vip_twice); echo "  director2 took the VIP too after ${t}s"
}
both_logged_master() {
    ka_journal director | grep -q "Entering MASTER" && ka_journal director2 | grep -q "Entering MASTER"
}
_vip_twice() { [ "$(vip_owner | wc -l)" = 2 ]; }

prove() {
    local r
    check "both directors own the VIP" _vip_twice
    ip -n client neigh flush all
    ns client busybox arping -c 2 -w 2 -I eth0 $VIP | sed 's/^/  /'
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r (via $(client_vip_mac))"
    check "both directors' keepalived logged Entering MASTER STATE" both_logged_master
}

lab_main
