#!/bin/bash
# Fault director.no-available-realserver: DR cluster whose keepalived.conf
# has both real servers at weight 0 (drained for maintenance, never put
# back). The service exists, but IPVS schedules nothing: the VIP refuses
# every connection, the real servers answer directly.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=director.no-available-realserver
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
KA_EDIT='s/^        weight 1$/        weight 0/'
SYMPTOM="connections to $VIP:80 are refused; the real servers answer directly"

setup() { cluster_up; }

prove() {
    local r
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r"
    check "the VIP refuses" all_err $r
    check "direct access to both real servers works" direct_ok
    check "IPVS has both real servers, at weight 0" _all_weight0
}
_all_weight0() { [ "$(ipvs -Ln | awk '$1 == "->" && $4 == "0"' | wc -l)" = 2 ]; }

lab_main
