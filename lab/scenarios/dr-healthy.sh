#!/bin/bash
# DR (direct routing) cluster, healthy: two keepalived directors (VRRP over
# multicast on the shared bridge, TCP_CHECK health checks), VIP on the real
# servers' lo with ARP suppressed. Both real servers answer through the VIP.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=healthy
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast

setup() {
    topo_flat
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
    r=$(vip_seq 4); echo "  client -> VIP x4: $r"
    check "DR: both real servers answer through the VIP" both_answer $r
    check "DR: client's ARP entry for the VIP is the director's MAC" \
        [ "$(client_vip_mac)" = "$(mac_of director)" ]
    check "DR: VIP is owned by director only" [ "$(vip_owner)" = director ]
}

lab_main
