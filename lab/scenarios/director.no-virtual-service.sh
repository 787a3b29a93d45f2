#!/bin/bash
# Fault director.no-virtual-service: DR cluster whose keepalived.conf says
# "protocol UDP" in the virtual_server (copied from the DNS cluster's
# config). IPVS gets a UDP service on VIP:80 and no TCP one; the health
# checks (TCP_CHECK) pass, VRRP works, but TCP to the VIP reaches the
# director's own stack, where nothing listens: refused. The real servers
# answer directly.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=director.no-virtual-service
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
KA_EDIT='s/^    protocol TCP$/    protocol UDP/'
SYMPTOM="connections to $VIP:80 are refused; the real servers answer directly"

setup() { cluster_up; }

prove() {
    local r
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r"
    check "the VIP refuses" all_err $r
    check "direct access to both real servers works" direct_ok
    check "IPVS has a UDP service on the VIP and no TCP one" _udp_only
}
_udp_only() { ipvs -Ln | grep -q "^UDP  $VIP:$PORT" && ! ipvs -Ln | grep -q "^TCP  $VIP:$PORT"; }

lab_main
