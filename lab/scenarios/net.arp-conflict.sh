#!/bin/bash
# Fault net.arp-conflict: DR cluster, and a machine that is none of the
# cluster's ("stray": a new box on which someone tried the VIP by hand, ip
# addr add VIP/24 dev eth0) joins the segment and announces its addresses
# (arping -U, as network scripts do at ifup). Two MACs now answer ARP for the
# VIP; the client sends to the one it learnt last, the stray, which has no
# IPVS and nothing on :80: connections are refused. The stray is not in the
# case (nobody knows it is there): the client's capture and arping, and its
# neighbour table, show a second MAC that belongs to no host of the case.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=net.arp-conflict
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
SYMPTOM="requests to http://$VIP/ are refused since this morning; arping $VIP shows two MACs; both real servers answer directly"
STRAY_IP=192.0.2.99
STRAY_MAC=52:54:00:00:00:63

setup() {
    cluster_up
    baseline
    # keepalived repeats its gratuitous ARPs garp_master_delay (5 s) after
    # becoming MASTER; a stray announcing before that repeat would be
    # overridden by it, and the fault would depend on the host's load
    wait_for 20 _director_garp_repeated >/dev/null
    # the stray: a netns on br0 that is not a case host (not in $LABRUN/hosts:
    # neither gathered nor captured on; the hypervisor's bridge capture sees it)
    ip netns add stray
    ip link add vnet7 type veth peer name eth0 address $STRAY_MAC netns stray
    ip link set vnet7 master br0 up
    printf 'link set lo up\nlink set eth0 up\naddr add %s/24 dev eth0\naddr add %s/24 dev eth0\n' \
        $STRAY_IP $VIP | ip -n stray -b -
    # its ifup announces the addresses: the client's entry for the VIP follows
    busybox nsenter --net=/run/netns/stray busybox arping -U -c 2 -w 2 -I eth0 $VIP >/dev/null
}

prove() {
    local r n
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r"
    check "the VIP refuses connections" _all_refused $r
    n=$(client_vip_mac); echo "  client's ARP entry for the VIP: $n (director $(mac_of director), stray $STRAY_MAC)"
    check "the client maps the VIP to a MAC of no cluster host" [ "$n" = $STRAY_MAC ]
    # what the engineer runs next: two MACs answer
    { echo "\$ arping -c 2 -w 2 -I eth0 $VIP"; ns client busybox arping -c 2 -w 2 -I eth0 $VIP 2>&1; } >$LABRUN/arping.txt
    sed 's/^/  /' $LABRUN/arping.txt
    check "arping: both the director's and the stray's MAC answer for the VIP" _two_macs
    check "direct access to both real servers works" direct_ok
    check "VRRP is fine: director is the only director with the VIP" [ "$(vip_owner)" = director ]
}
_director_garp_repeated() {
    [ "$(ka_journal director | grep -c 'Sending/queueing gratuitous ARPs')" -ge 2 ]
}
_all_refused() { local x; for x in "$@"; do [ "$x" = "ERR(refused)" ] || return 1; done; }
_two_macs() {
    grep -qi "\[$(mac_of director)\]" $LABRUN/arping.txt && grep -qi "\[$STRAY_MAC\]" $LABRUN/arping.txt
}

# the arping output goes into the client's folder, as the engineer pastes it
eval "_lab_gather_case() $(declare -f gather_case | tail -n +2)"
gather_case() {
    _lab_gather_case "$@"
    cp $LABRUN/arping.txt "$1/client/arping.txt"
}

lab_main
