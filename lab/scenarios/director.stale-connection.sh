#!/bin/bash
# Fault director.stale-connection: DR cluster with a persistent service
# (persistence_timeout 300) and inhibit_on_failure on the real servers, so a
# failed check sets a real server's weight to 0 instead of removing it. The
# web server of the real server this client is pinned to crashes; keepalived
# zeroes its weight, but with net.ipv4.vs.expire_quiescent_template=0 (the
# default) the client's persistence template stays valid: every new
# connection of that client still goes to the dead server and is refused,
# for as long as it keeps retrying, while the other real server is healthy
# and a new client (a second address on the client host, 192.0.2.20) is
# served by it through the VIP.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=director.stale-connection
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
KA_EDIT='s/^    lb_kind DR$/    lb_kind DR\n    persistence_timeout 300/; s/^        weight 1$/        weight 1\n        inhibit_on_failure/'
SYMPTOM="since one web server crashed, our requests to http://$VIP/ are refused although the other server is up; other users are fine"
CLIENT2_IP=192.0.2.20

setup() {
    cluster_up
    ip -n client addr add $CLIENT2_IP/24 dev eth0
    local r; r=$(vip_seq 2); echo "  baseline, client -> VIP x2: $r"
    PINNED=${r%% *}
    check "baseline: the VIP works and the client sticks to one real server" \
        [ "$r" = "rs1 rs1" -o "$r" = "rs2 rs2" ]
    if [ "$PINNED" = rs1 ]; then PIN_IP=$RS1_IP; OTHER=rs2; OTHER_IP=$RS2_IP
    else PIN_IP=$RS2_IP; OTHER=rs1; OTHER_IP=$RS1_IP; fi
    echo "  the client is pinned to $PINNED ($PIN_IP); its web server crashes"
    web_stop "$PINNED"
    local t; t=$(wait_for 40 _weight0 $PIN_IP); echo "  keepalived set $PIN_IP to weight 0 after ${t}s"
}
_weight0() { ipvs -Ln | awk -v r="$1:$PORT" '$2 == r && $4 == 0 {f = 1} END {exit !f}'; }
_template_to() { ipvs -Lnc | awk -v r="$1:$PORT" '$4 ~ /:0$/ && $6 == r {f = 1} END {exit !f}'; }  # a template: source port 0
get2() { ns client curl -sS -m 3 --interface $CLIENT2_IP "http://$VIP/" 2>/dev/null || echo "ERR"; }

prove() {
    local r n
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r"
    check "every request of the pinned client is refused" _all_refused $r
    n="$(get2) $(get2)"; echo "  new client $CLIENT2_IP -> VIP x2: $n"
    check "a new client is served by $OTHER through the VIP" [ "$n" = "$OTHER $OTHER" ]
    check "direct access to the healthy real server works" [ "$(get $OTHER_IP)" = "$OTHER" ]
    check "IPVS: $PIN_IP has weight 0, the client's template still points to it" \
        eval "_weight0 $PIN_IP && _template_to $PIN_IP"
    ipvs -Lnc | sed 's/^/  /'
}
_all_refused() { local x; for x in "$@"; do [ "$x" = "ERR(refused)" ] || return 1; done; }

lab_main
