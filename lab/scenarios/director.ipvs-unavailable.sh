#!/bin/bash
# Fault director.ipvs-unavailable: DR cluster whose directors run a kernel
# without the IPVS modules (a custom build: here the ipvs module folder is
# hidden under a tmpfs, so the real modprobe fails). keepalived's checker
# logs "IPVS: Can't initialize ipvs" and exits with a permanent error, and
# keepalived then stops altogether, VRRP included: nobody takes the VIP, the
# client cannot reach it, the real servers answer directly.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=director.ipvs-unavailable
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
KA_NO_WAIT=1
SYMPTOM="connections to $VIP:80 fail (no route to host / timeout) since the directors were rebuilt; the real servers answer directly"

setup() {
    # before anything loads ip_vs (a fresh guest has not)
    mount -t tmpfs tmpfs "/lib/modules/$(uname -r)/kernel/net/netfilter/ipvs"
    cluster_up
    local t; t=$(wait_for 30 _ka_stopped); echo "  keepalived gave up on both directors after ${t}s"
}
_ka_ipvs_failed() { ka_journal director | grep -q "IPVS: Can't initialize ipvs"; }
_ka_stopped() {
    ka_journal director | grep -q 'Stopped Keepalived' && ka_journal director2 | grep -q 'Stopped Keepalived'
}

prove() {
    local r
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r"
    check "the VIP fails" all_err $r
    check "direct access to both real servers works" direct_ok
    check "keepalived logged IPVS: Can't initialize ipvs" _ka_ipvs_failed
    check "the director has no /proc/net/ip_vs" [ ! -e /proc/net/ip_vs ]
    check "keepalived stopped, nobody holds the VIP" [ -z "$(vip_owner)" ]
}

lab_main
