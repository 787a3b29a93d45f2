#!/bin/bash
# Fault rs.app-not-listening: DR cluster where rs1's web server was stopped
# (nothing listens on port 80 there any more); rs2 is fine. The virtual
# server has no health checks (real_server blocks without TCP_CHECK, as in a
# hand-written config), so rs1 stays in the table: rr sends every other
# connection to rs1, whose kernel answers the SYN with a reset. rs1 still
# owns the VIP and answers ping; rs2 answers directly.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=rs.app-not-listening
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
# no checker: delete every TCP_CHECK block (keepalived keeps such real servers in)
KA_EDIT='/TCP_CHECK {/,/^        }/d'
SYMPTOM="every other request to http://$VIP/ gets 'connection refused'"

setup() {
    cluster_up
    baseline
    web_stop rs1
}

prove() {
    local r
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r"
    check "requests scheduled to rs1 are refused, those to rs2 work" \
        rs2_or_err "${r//ERR(timeout)/timeout}"   # only refusals count as ERR here
    r=$(get $RS1_IP); echo "  client -> rs1 directly: $r"
    check "rs1 refuses port 80 directly too (nothing listens)" [ "$r" = "ERR(refused)" ]
    check "rs1 is up: it answers ping" _ping_rs1
    r=$(get $RS2_IP); echo "  client -> rs2 directly: $r"
    check "rs2 answers directly" [ "$r" = rs2 ]
    check "rs1 stays in the IPVS table (no health check)" _rs_count 2
}
_ping_rs1() { ns client busybox ping -c 1 -W 2 $RS1_IP >/dev/null; }

lab_main
