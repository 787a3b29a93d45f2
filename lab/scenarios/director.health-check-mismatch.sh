#!/bin/bash
# Fault director.health-check-mismatch: DR cluster whose TCP_CHECKs probe
# connect_port 8080 (the old admin port) while the service is on 80. Nothing
# listens on 8080, so keepalived removes both real servers, which are fine:
# the VIP refuses every connection (IPVS answers ICMP port unreachable), the
# real servers answer directly.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=director.health-check-mismatch
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
KA_EDIT='s/^\(        TCP_CHECK {\)$/\1\n            connect_port 8080/'
KA_NO_WAIT=1
SYMPTOM="connections to $VIP:80 are refused; the real servers answer directly; keepalived logs TCP_CHECK failures"

setup() {
    cluster_up
    local t; t=$(wait_for 40 _vip_and_no_rs); echo "  both real servers removed after ${t}s"
}
_vip_and_no_rs() { [ "$(vip_owner)" = director ] && _rs_count 0; }

prove() {
    local r
    check "keepalived removed both real servers" _rs_count 0
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r"
    check "the VIP refuses" all_err $r
    check "direct access to both real servers works" direct_ok
}

lab_main
