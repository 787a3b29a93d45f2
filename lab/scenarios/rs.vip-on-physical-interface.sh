#!/bin/bash
# Fault rs.vip-on-physical-interface: DR cluster where rs1 has the VIP on
# eth0 (ip addr add VIP/32 dev eth0, from a how-to that skipped "lo") instead
# of lo. arp_ignore=1 does not help: the VIP is now an address of the
# interface the ARP request comes in on, so rs1 answers it. Once the client's
# entry is refreshed it may learn rs1's MAC: the director is bypassed.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=rs.vip-on-physical-interface
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
SYMPTOM="arping $VIP shows two MACs; requests are answered by rs1 only"

setup() {
    cluster_up
    baseline
    ip -n rs1 addr del $VIP/32 dev lo
    ip -n rs1 addr add $VIP/32 dev eth0
    ip -n client neigh flush all
}

prove() { prove_rs1_bypasses_director; }

lab_main
