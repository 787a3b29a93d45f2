#!/bin/bash
# Fault keepalived.vrrp-strict: DR cluster whose keepalived.conf has
# vrrp_strict in global_defs (copied from an RFC-compliance template).
# keepalived then installs its own nftables rules that drop all traffic to
# the VIPs on the MASTER: the VIP times out while VRRP works and the real
# servers answer directly.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=keepalived.vrrp-strict
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
SYMPTOM="connections to $VIP:80 time out (ping to the VIP fails too); the real servers answer directly"

setup() {
    topo_flat
    web_start rs1; web_start rs2
    rs_vip_lo rs1; rs_vip_lo rs2
    local d
    for d in director director2; do
        mkdir -p $LABRUN/$d
        if [ $d = director ]; then ka_conf $d MASTER 150; else ka_conf $d BACKUP 100; fi |
            sed 's/^    router_id \(.*\)$/    router_id \1\n    vrrp_strict/' >$LABRUN/$d/keepalived.conf
        ka_start $d
    done
    ka_wait_ready
}

prove() {
    local r
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r"
    check "the VIP times out" all_err $r
    check "direct access to both real servers works" direct_ok
    check "keepalived put its own rules in nftables on director" ka_nft_rules
}

ka_nft_rules() { ns director nft list ruleset | grep -q keepalived; }

lab_main
