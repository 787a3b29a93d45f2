#!/bin/bash
# Fault rs.nat-gateway-wrong: NAT cluster where rs1's default route points at
# director2's own address (198.51.100.3, the BACKUP) instead of the floating
# gateway 198.51.100.1 that follows the MASTER. rs1's replies go to a director
# that never saw the connection, which forwards them un-NATed: connections
# scheduled to rs1 never complete, those to rs2 do.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=rs.nat-gateway-wrong
LB_KIND=NAT CHECK=TCP_CHECK VRRP=multicast
SYMPTOM="every other request to http://$VIP/ times out; the real servers answer when tested from the director"

setup() {
    cluster_up
    baseline
    ip -n rs1 route replace default via $DIR2_NIP
}

prove() {
    local r
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r"
    check "requests scheduled to rs1 fail, those to rs2 work" rs2_or_err "$r"
    check "both real servers answer the director directly" direct_ok_nat
}

lab_main
