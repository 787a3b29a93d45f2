#!/bin/bash
# Fault net.stale-arp: DR cluster after a planned failover (keepalived
# stopped on director for maintenance: it hands the VIP to director2, which
# becomes MASTER and sends its gratuitous ARPs). The client here stands for
# the clients' gateway, a router that keeps ARP entries for 4 hours and
# ignores gratuitous ARP (net.ipv4.conf.eth0.drop_gratuitous_arp=1,
# neigh.eth0.base_reachable_time_ms=14400000, set before the cluster was
# used). It keeps sending the VIP's traffic to director's MAC; director no
# longer owns the VIP and does not forward: every request times out, while
# director2 holds the VIP with both real servers and they answer directly.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=net.stale-arp
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
SYMPTOM="since the failover to director2 (maintenance on director) every request to http://$VIP/ times out; director2 has the VIP; the real servers answer directly"

setup() {
    cluster_up
    sc client net.ipv4.conf.eth0.drop_gratuitous_arp=1 net.ipv4.neigh.eth0.base_reachable_time_ms=14400000
    baseline
    echo "  client's ARP entry for the VIP: $(client_vip_mac) (director $(mac_of director))"
    ka_stop director     # maintenance: keepalived hands over (priority 0 advert)
    local t; t=$(wait_for 20 _vip_on director2); echo "  director2 took the VIP after ${t}s"
    wait_for 15 _ds2_garp >/dev/null
}
_ds2_garp() { ka_journal director2 | grep -q "Sending gratuitous ARP"; }

prove() {
    local r n
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r"
    check "the VIP times out" all_err $r
    n=$(client_vip_mac); echo "  client's ARP entry for the VIP: $n (director $(mac_of director), director2 $(mac_of director2))"
    check "the client still maps the VIP to director's MAC" [ "$n" = "$(mac_of director)" ]
    check "director2 owns the VIP and programs both real servers" _ds2_ready
    check "director2 announced the VIP (gratuitous ARP in its log)" _ds2_garp
    check "direct access to both real servers works" direct_ok
}
_ds2_ready() { [ "$(vip_owner)" = director2 ] && [ "$(IPVS_HOST=director2 ipvs_rs_list | wc -w)" = 2 ]; }

lab_main
