#!/bin/bash
# Fault rs.rp-filter-strict: TUN cluster whose real servers have strict
# reverse-path filtering (rp_filter=1 on all and tunl0). The decapsulated
# packets arrive on tunl0 from the client, whose route is via eth0, so the
# kernel drops them as martians: the VIP times out, the real servers answer
# when hit directly.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=rs.rp-filter-strict
LB_KIND=TUN CHECK=HTTP_GET VRRP=unicast
SYMPTOM="curl http://$VIP/ times out from the client; http://$RS1_IP/ and http://$RS2_IP/ answer directly"

setup() {
    cluster_up
    baseline
    # the fault: an RS hardening baseline that turned strict rp_filter on
    local h
    for h in rs1 rs2; do
        sc $h net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.tunl0.rp_filter=1 net.ipv4.conf.eth0.rp_filter=1
    done
}

prove() {
    local r rx0 rx1
    rx0=$(tunl0_rx rs1)
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r"
    rx1=$(tunl0_rx rs1)
    check "the VIP times out" all_err $r
    check "direct access to both real servers works" direct_ok
    echo "  rs1 tunl0 rx_packets $rx0 -> $rx1 (IPIP arrives, then is dropped)"
    check "the tunnelled packets do reach rs1's tunl0" [ "$rx1" -gt "$rx0" ]
}

lab_main
