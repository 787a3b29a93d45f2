#!/bin/bash
# NAT (masquerading) cluster, healthy: two keepalived directors with a sync
# group moving the VIP (eth0) and the real servers' gateway (eth1, multicast
# VRRP) together, TCP_CHECK health checks; real servers on a private network
# with their default route via the floating gateway. Both answer through the VIP.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=healthy
LB_KIND=NAT CHECK=TCP_CHECK VRRP=multicast

setup() { cluster_up; }

prove() {
    local r
    r=$(vip_seq 4); echo "  client -> VIP x4: $r"
    check "NAT: both real servers answer through the VIP" both_answer $r
    check "NAT: the real servers' gateway $NAT_GW is on director" _gw_on_director
    r=$(HTTP_TMO=1 get $RS1_NIP); echo "  client -> rs1 private address directly: $r"
    check "NAT: the private network is not reachable from the client" all_err $r
}

lab_main
