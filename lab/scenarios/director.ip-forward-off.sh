#!/bin/bash
# Fault director.ip-forward-off: NAT cluster whose active director has
# net.ipv4.ip_forward=0 (a sysctl.conf that came back after a reboot). The
# director rewrites the client's packets to the real servers, but their
# replies, routed back through it, are not forwarded: the VIP times out. The
# real servers answer the director directly.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=director.ip-forward-off
LB_KIND=NAT CHECK=TCP_CHECK VRRP=multicast
SYMPTOM="connections to $VIP:80 time out; the real servers answer when tested from the director"

setup() {
    cluster_up
    baseline
    sc director net.ipv4.ip_forward=0
}

prove() {
    local r
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r"
    check "the VIP times out" all_err $r
    check "both real servers answer the director directly" direct_ok_nat
}

lab_main
