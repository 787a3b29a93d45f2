#!/bin/bash
# Fault director.conntrack-invalid-drop: DR cluster whose active director
# got a "hardening" set: iptables INPUT -m conntrack --ctstate INVALID -j
# DROP and net.netfilter.nf_conntrack_tcp_loose=0. In DR the director only
# sees the client's half of each connection, and IPVS takes the SYN before
# conntrack confirms it, so the client's ACK and request arrive with no
# conntrack entry; without tcp_loose they are INVALID and the rule drops them.
# The client's connect() succeeds (the real server's SYN-ACK reaches it
# directly), then the request hangs.
# (With the default tcp_loose=1 the same rule breaks nothing on kernel 6.1:
# conntrack picks the ACK up as ESTABLISHED; the lab tried.)
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=director.conntrack-invalid-drop
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
SYMPTOM="connections to $VIP:80 open, then the HTTP request hangs until timeout; the real servers answer directly"

setup() {
    cluster_up
    baseline
    ns director iptables -A INPUT -m conntrack --ctstate INVALID -j DROP
    sc director net.netfilter.nf_conntrack_tcp_loose=0
}

prove() {
    local r c
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r"
    check "the VIP hangs" all_err $r
    check "direct access to both real servers works" direct_ok
    c=$(ns director iptables -L INPUT -n -v -x | awk '/INVALID/ {print $1; exit}')
    echo "  INVALID DROP counter: $c packets"
    check "the INVALID rule dropped the client's packets" [ "${c:-0}" -gt 0 ]
}

lab_main
