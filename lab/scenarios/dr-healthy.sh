#!/bin/bash
# DR (direct routing) cluster, healthy: two keepalived directors (VRRP over
# multicast on the shared bridge, TCP_CHECK health checks), VIP on the real
# servers' lo with ARP suppressed. Both real servers answer through the VIP.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=healthy
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast

setup() { cluster_up; }

prove() {
    local r
    r=$(vip_seq 4); echo "  client -> VIP x4: $r"
    check "DR: both real servers answer through the VIP" both_answer $r
    check "DR: client's ARP entry for the VIP is the director's MAC" \
        [ "$(client_vip_mac)" = "$(mac_of director)" ]
    check "DR: VIP is owned by director only" [ "$(vip_owner)" = director ]
}

lab_main
