#!/bin/bash
# Fault director.vip-owned-twice: DR cluster whose two directors stop hearing
# each other's VRRP adverts because of something outside them: an ebtables
# rule on the hypervisor's bridge (`ebtables -A FORWARD -p IPv4 --ip-proto
# 112 -j DROP`, a switch/hypervisor ACL) drops IP protocol 112 between the
# ports. Nothing in the directors' own firewalls blocks VRRP. director2
# stops hearing director's adverts and becomes MASTER too: both own the VIP
# (split brain) and both answer ARP for it, so the client's neighbour entry
# for the VIP flips between their MACs. The case is what the directors'
# admins can gather: the hypervisor belongs to the platform team, so its
# folder is left out.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=director.vip-owned-twice
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
SYMPTOM="both directors show the VIP in ip addr; the client's ARP entry for $VIP changes MAC; connections reset after a while"

setup() {
    cluster_up
    baseline
    ebtables -A FORWARD -p IPv4 --ip-proto 112 -j DROP
    local t; t=$(wait_for 20 _vip_twice); echo "  director2 took the VIP too after ${t}s"
}
_vip_twice() { [ "$(vip_owner | wc -l)" = 2 ]; }
both_logged_master() {
    ka_journal director | grep -q "Entering MASTER" && ka_journal director2 | grep -q "Entering MASTER"
}
no_vrrp_rule_on_directors() {
    local d
    for d in $DIRECTORS; do
        ns $d nft list ruleset | grep -qiE 'vrrp|112' && return 1
    done
    return 0
}

prove() {
    local r macs
    check "both directors own the VIP" _vip_twice
    check "neither director's own firewall mentions VRRP" no_vrrp_rule_on_directors
    ip -n client neigh flush all
    r=$(ns client busybox arping -c 3 -w 3 -I eth0 $VIP); echo "$r" | sed 's/^/  /'
    macs=$(echo "$r" | grep -oiE '\[[0-9a-f:]{17}\]' | sort -u | wc -l)
    check "two MACs answer ARP for the VIP" [ "$macs" = 2 ]
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r (client's entry for the VIP now: $(client_vip_mac))"
    check "both directors' keepalived logged Entering MASTER STATE" both_logged_master
}

# the case is the directors' admins': the hypervisor's folder is not theirs
eval "_lab_gather_case() $(declare -f gather_case | tail -n +2)"
gather_case() { _lab_gather_case "$@"; rm -rf "$1/hypervisor"; }

lab_main
