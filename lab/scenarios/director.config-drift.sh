#!/bin/bash
# Fault director.config-drift: DR cluster where someone added a real server
# by hand with ipvsadm (192.0.2.13, a host since decommissioned) that
# keepalived.conf does not know: keepalived neither checks nor removes it, so
# every third connection is scheduled to a dead address and times out.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=director.config-drift
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
SYMPTOM="about one request in three to http://$VIP/ times out; both real servers answer directly"

setup() {
    cluster_up
    baseline
    ipvs -a -t $VIP:$PORT -r 192.0.2.13:$PORT -g -w 1
}

prove() {
    local r
    r=$(HTTP_TMO=1 vip_seq 6); echo "  client -> VIP x6: $r"
    check "rs1 and rs2 answer, one request in three times out" _one_in_three "$r"
    check "direct access to both real servers works" direct_ok
    check "IPVS has 3 real servers, keepalived.conf 2" _rs_count 3
}
_one_in_three() {
    local s=" $1 "
    [ "$(echo "$1" | grep -o 'ERR' | wc -l)" = 2 ] && [[ $s == *" rs1 "* && $s == *" rs2 "* ]]
}

lab_main
