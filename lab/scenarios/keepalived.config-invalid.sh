#!/bin/bash
# Fault keepalived.config-invalid: DR cluster whose keepalived.conf has a
# typo: the vrrp_instance carries 192.0.2.101 while the virtual_server is
# 192.0.2.100. keepalived starts without complaint and programs IPVS for
# .100, but no director ever holds .100: the client cannot reach the VIP,
# the real servers answer directly.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=keepalived.config-invalid
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
KA_EDIT='/virtual_ipaddress {/,/}/s/^        192\.0\.2\.100$/        192.0.2.101/'
KA_NO_WAIT=1
SYMPTOM="connections to $VIP:80 fail (no route to host / timeout); the real servers answer directly"

setup() {
    cluster_up
    local t; t=$(wait_for 30 _typo_vip_up); echo "  director holds 192.0.2.101 and 2 real servers after ${t}s"
}
_typo_vip_up() { ip -n director -4 -o addr show dev eth0 | grep -q ' 192.0.2.101/' && _rs_count 2; }

prove() {
    local r
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r"
    check "the VIP fails" all_err $r
    check "direct access to both real servers works" direct_ok
    check "IPVS has the service for $VIP with both real servers" _rs_count 2
    check "no director has $VIP" [ -z "$(vip_owner)" ]
}

lab_main
