#!/bin/bash
# TUN (IPIP) cluster, healthy: two keepalived directors (VRRP over unicast
# peers, HTTP_GET health checks), VIP on the real servers' tunl0 with
# rp_filter off and ARP suppressed. Both real servers answer through the VIP.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=healthy
LB_KIND=TUN CHECK=HTTP_GET VRRP=unicast

setup() { cluster_up; }

prove() {
    local r rx
    r=$(vip_seq 4); echo "  client -> VIP x4: $r"
    check "TUN: both real servers answer through the VIP" both_answer $r
    rx=$(tunl0_rx rs1)
    echo "  rs1 tunl0 rx_packets=$rx"
    check "TUN: rs1 received the traffic through tunl0 (IPIP)" [ "${rx:-0}" -gt 0 ]
    check "TUN: VIP is owned by director only" [ "$(vip_owner)" = director ]
}

lab_main
