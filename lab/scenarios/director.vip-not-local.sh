#!/bin/bash
# Fault director.vip-not-local: DR cluster whose keepalived.conf (copied
# from an haproxy setup) tracks a vrrp_script that checks for an haproxy
# process. There is none on these directors, so both VRRP instances go to
# FAULT and nobody holds the VIP: nobody answers ARP for it, the client
# cannot reach it, while IPVS is programmed and the real servers answer
# directly. (Deleting the VIP by hand does not do it: keepalived 2.2.7 sees
# the address go and puts it back within a second.)
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=director.vip-not-local
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
KA_EDIT='/^vrrp_instance VI_VIP {$/i vrrp_script chk_haproxy {\n    script "/usr/bin/pgrep -x haproxy"\n    interval 2\n    fall 2\n    rise 2\n}\n
/^    virtual_router_id 51$/a\    track_script {\n        chk_haproxy\n    }'
KA_NO_WAIT=1
SYMPTOM="connections to $VIP:80 fail (no route to host / timeout); the real servers answer directly"

setup() {
    cluster_up
    local t; t=$(wait_for 30 _both_fault); echo "  both directors in FAULT after ${t}s"
}
# the instances start in FAULT (no "Entering FAULT STATE" line): wait for
# the script's verdict on both
_both_fault() {
    ka_journal director | grep -q 'chk_haproxy. now returning 1' &&
        ka_journal director2 | grep -q 'chk_haproxy. now returning 1' && _rs_count 2
}

prove() {
    local r
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r"
    check "the VIP fails" all_err $r
    check "direct access to both real servers works" direct_ok
    check "no director has the VIP" [ -z "$(vip_owner)" ]
    check "IPVS on director has the service with both real servers" _rs_count 2
}

lab_main
