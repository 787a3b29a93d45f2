#!/bin/bash
# Fault director.dr-rs-not-on-link: DR cluster where rs2 was moved to another
# subnet (198.51.100.12 on a second bridge br1) behind a router namespace
# (192.0.2.1 on br0, 198.51.100.1 on br1), and keepalived.conf names it at
# its new address. IPVS DR only rewrites the destination MAC: the director
# has no link to 198.51.100.0/24 (only a route via the router), so the
# rewritten frame goes to the router's MAC; the router routes the packet,
# still addressed to the VIP, straight back to the director, and the SYN
# ping-pongs between them (the director's capture shows the same SYN again
# and again) until its TTL runs out. Every connection scheduled to rs2 times
# out, while rs1's work. rs2 itself is
# fine: the client reaches it directly through the router, and keepalived's
# TCP_CHECK (routed through the router too) keeps it in the table.
# The router is gathered like the other hosts, with role "router".
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=director.dr-rs-not-on-link
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
RS2_IP=198.51.100.12     # rs2's new address, behind the router
GW=192.0.2.1 GW2=198.51.100.1
SYMPTOM="since rs2 moved to the 198.51.100.0/24 network, every other request to http://$VIP/ times out; rs2 answers directly"

# cluster_up's steps, with the router in place before keepalived starts
setup() {
    topo_flat
    router_up rs2 vnet4
    web_start rs1; web_start rs2
    rs_vip_lo rs1; rs_vip_lo rs2
    mkdir -p $LABRUN/director $LABRUN/director2
    ka_conf director MASTER 150 >$LABRUN/director/keepalived.conf
    ka_conf director2 BACKUP 100 >$LABRUN/director2/keepalived.conf
    ka_start director; ka_start director2
    ka_wait_ready
}

prove() {
    local r
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r"
    check "requests scheduled to rs1 work, those to rs2 time out" _rs1_or_err "$r"
    check "direct access to both real servers works (rs2 through the router)" direct_ok
    r=$(ns director ip route get $RS2_IP); echo "  director: ip route get $RS2_IP: $r"
    check "the director reaches rs2 only via a gateway" _via_gw
    check "keepalived keeps rs2 in the table (its TCP check is routed)" _rs_count 2
}
_rs1_or_err() {
    local p; p=$(echo "$1" | sed 's/ERR([a-z0-9]*)/ERR/g')
    [ "$p" = "rs1 ERR rs1 ERR" ] || [ "$p" = "ERR rs1 ERR rs1" ]
}
_via_gw() { ns director ip route get $RS2_IP | grep -q " via $GW "; }

# the router is a host of the case like the others; lab.sh does not know its role
eval "_lab_gather_case() $(declare -f gather_case | tail -n +2)"
gather_case() { _lab_gather_case "$@"; echo router >"$1/router/role"; }

lab_main
