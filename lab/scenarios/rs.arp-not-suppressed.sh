#!/bin/bash
# Fault rs.arp-not-suppressed: DR cluster where rs1 answers ARP for the VIP
# (arp_ignore/arp_announce back to 0 on all and eth0). Once the client's ARP
# entry expires it may learn rs1's MAC: the director is bypassed and every
# request lands on rs1 (no balancing, no failover).
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=rs.arp-not-suppressed
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
SYMPTOM="all requests to http://$VIP/ are answered by rs1 only; the director's IPVS counters do not move"

setup() {
    cluster_up
    baseline
    sc rs1 net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.eth0.arp_ignore=0 \
           net.ipv4.conf.all.arp_announce=0 net.ipv4.conf.eth0.arp_announce=0
    # the client's entry for the VIP expires (here: now)
    ip -n client neigh flush all
}

prove() { prove_rs1_bypasses_director; }

lab_main
