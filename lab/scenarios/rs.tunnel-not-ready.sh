#!/bin/bash
# Fault rs.tunnel-not-ready: TUN cluster where rs1's tunl0 is down (the
# network config brought it up only once by hand). The IPIP packets reach
# rs1, which cannot take them in: connections scheduled to rs1 time out,
# those to rs2 work, both answer directly.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=rs.tunnel-not-ready
LB_KIND=TUN CHECK=HTTP_GET VRRP=unicast
SYMPTOM="every other request to http://$VIP/ times out; both real servers answer directly"

setup() {
    cluster_up
    baseline
    ip -n rs1 link set tunl0 down
}

prove() {
    local r
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r"
    check "requests scheduled to rs1 fail, those to rs2 work" rs2_or_err "$r"
    check "direct access to both real servers works" direct_ok
}

lab_main
