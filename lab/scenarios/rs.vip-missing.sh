#!/bin/bash
# Fault rs.vip-missing: DR cluster where rs1 lost the VIP from lo (a reboot
# without the persistent config). The director still schedules to rs1, whose
# kernel discards frames for an address it does not have: every connection
# scheduled to rs1 times out, the ones to rs2 work.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=rs.vip-missing
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
SYMPTOM="every other request to http://$VIP/ times out; both real servers answer directly"

setup() {
    cluster_up
    baseline
    ip -n rs1 addr del $VIP/32 dev lo
}

prove() {
    local r
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r"
    check "requests scheduled to rs2 work, those to rs1 time out" rs2_or_err "$r"
    check "direct access to both real servers works" direct_ok
    check "keepalived keeps rs1 in the table (its TCP check to the RIP passes)" _rs_count 2
}

lab_main
