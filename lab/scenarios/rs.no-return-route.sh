#!/bin/bash
# Fault rs.no-return-route: DR cluster whose client sits in another subnet
# (198.51.100.0/24 on a second bridge br1), reached through a router
# namespace (192.0.2.1 on br0, 198.51.100.1 on br1) that is every server's
# default gateway. rs1 lost its default route (rebuilt without a gateway):
# it still gets the client's SYNs from the director, but has no route back to
# 198.51.100.10, so it never answers: every connection scheduled to rs1
# times out, the ones to rs2 work. rs1 answers hosts on its own subnet (the
# router, the directors: keepalived's TCP_CHECK keeps it in the table).
# The router is gathered like the other hosts, with role "router".
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=rs.no-return-route
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
CLIENT_IP=198.51.100.10     # behind the router; case.yaml names it as the client
GW=192.0.2.1 GW2=198.51.100.1
SYMPTOM="from the office network (198.51.100.0/24) every other request to http://$VIP/ times out; both real servers answer from their own subnet"

setup() {
    cluster_up
    router_up client vnet0
    baseline
    ip -n rs1 route del default via $GW
}

prove() {
    local r
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r"
    check "requests scheduled to rs2 work, those to rs1 time out" rs2_or_err "$r"
    r="$(get $RS1_IP router) $(get $RS2_IP router)"; echo "  router (on the servers' subnet) -> rs1, rs2 directly: $r"
    check "direct access from the servers' own subnet works for both" [ "$r" = "rs1 rs2" ]
    r="$(HTTP_TMO=1 get $RS1_IP) $(get $RS2_IP)"; echo "  client -> rs1, rs2 directly: $r"
    check "from the client, rs1 does not answer directly either, rs2 does" [ "$r" = "ERR(timeout) rs2" ]
    r=$(ns rs1 ip route get $CLIENT_IP 2>&1); echo "  rs1: ip route get $CLIENT_IP: $r"
    check "rs1 has no route to the client" _no_route
    check "keepalived keeps rs1 in the table (its TCP check comes from the DIP, on-link)" _rs_count 2
}
_no_route() { ! ns rs1 ip route get $CLIENT_IP >/dev/null 2>&1; }

# the router is a host of the case like the others; lab.sh does not know its role
eval "_lab_gather_case() $(declare -f gather_case | tail -n +2)"
gather_case() { _lab_gather_case "$@"; echo router >"$1/router/role"; }

lab_main
