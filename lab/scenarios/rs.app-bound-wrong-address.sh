#!/bin/bash
# Fault rs.app-bound-wrong-address: DR cluster where rs1's web server was
# restarted listening on its RIP only (192.0.2.11:80), not on the wildcard.
# Packets for VIP:80 reach rs1, nothing listens there: the client gets a
# reset for every connection scheduled to rs1. Direct access to the RIP and
# keepalived's TCP_CHECK (which dials the RIP) still work.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=rs.app-bound-wrong-address
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
SYMPTOM="every other request to http://$VIP/ gets 'connection refused'; both real servers answer directly"

setup() {
    cluster_up
    baseline
    web_stop rs1
    ns_bg rs1 $LABRUN/web-rs1.pid busybox httpd -f -p $RS1_IP:$PORT -h $LABRUN/www/rs1 </dev/null >/dev/null 2>&1
    wait_tcp client $RS1_IP $PORT
}

prove() {
    local r
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r"
    check "requests scheduled to rs1 are refused, those to rs2 work" \
        rs2_or_err "${r//ERR(timeout)/timeout}"   # only refusals count as ERR here
    check "direct access to both real servers works" direct_ok
    check "keepalived keeps rs1 in the table (its TCP check dials the RIP)" _rs_count 2
}

lab_main
