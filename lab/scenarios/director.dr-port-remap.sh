#!/bin/bash
# Fault director.dr-port-remap: DR cluster whose web servers moved to port
# 8080 and whose keepalived.conf follows them (real_server RIP 8080) while
# the virtual server stays on 80. DR cannot rewrite ports: the packets reach
# the real servers on port 80, where nothing listens, and are refused. The
# health checks (on 8080) pass, the real servers answer on 8080 directly.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=director.dr-port-remap
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
SYMPTOM="connections to $VIP:80 are refused; http://$RS1_IP:8080/ and http://$RS2_IP:8080/ answer"

setup() {
    topo_flat
    PORT=8080 web_start rs1; PORT=8080 web_start rs2
    rs_vip_lo rs1; rs_vip_lo rs2
    mkdir -p $LABRUN/director $LABRUN/director2
    ka_conf director MASTER 150 | sed 's/^\(    real_server [0-9.]*\) 80 {$/\1 8080 {/' >$LABRUN/director/keepalived.conf
    ka_conf director2 BACKUP 100 | sed 's/^\(    real_server [0-9.]*\) 80 {$/\1 8080 {/' >$LABRUN/director2/keepalived.conf
    ka_start director; ka_start director2
    ka_wait_ready
}

prove() {
    local r
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r"
    check "the VIP refuses" all_err $r
    check "both real servers answer directly on 8080" _direct_8080
}
_direct_8080() { [ "$(PORT=8080 get $RS1_IP) $(PORT=8080 get $RS2_IP)" = "rs1 rs2" ]; }

lab_main
