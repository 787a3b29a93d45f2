#!/bin/bash
# Fault director.firewall-drops-vip: DR cluster where a raw-table DROP for
# the VIP (left behind on the active director, e.g. by a failover script)
# eats the client's packets before IPVS sees them: the VIP times out, the
# real servers answer directly, the rule's counters climb.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=director.firewall-drops-vip
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
SYMPTOM="connections to $VIP:80 time out; the real servers answer directly"

setup() {
    cluster_up
    baseline
    ns director iptables -t raw -I PREROUTING -d $VIP/32 -p tcp --dport $PORT -j DROP
}

prove() {
    local r c
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r"
    check "the VIP times out" all_err $r
    check "direct access to both real servers works" direct_ok
    c=$(ns director iptables -t raw -L PREROUTING -n -v -x | awk '/DROP/ {print $1; exit}')
    echo "  raw PREROUTING DROP counter: $c packets"
    check "the DROP rule counted the client's packets" [ "${c:-0}" -gt 0 ]
}

lab_main
