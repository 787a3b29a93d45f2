#!/bin/bash
# Fault rs.accept-local: a DR cluster tested "VIP to VIP": the check sends
# from the VIP itself (as in the seed's table, source VIP, destination VIP),
# here from the MASTER director, which owns the VIP (a connection to a local
# address takes that address as its source). IPVS schedules it and rewrites
# the MAC only: the real server receives a packet whose source is the VIP,
# an address of its own (on lo), and with accept_local=0 (the default) its
# kernel discards it as a martian: the test hangs. The same request from
# the real client works. Nothing else is changed: accept_local=0 on the real
# servers is what this test trips over (fix: accept_local=1 there, or test
# from a real client). case.yaml names the VIP as the test's client.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=rs.accept-local
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
CASE_CLIENT=$VIP    # the failing test's source address is the VIP
SYMPTOM="a VIP-to-VIP check (source $VIP, destination $VIP:80) hangs; clients work"

setup() { cluster_up; }

prove() {
    local r n
    r=$(HTTP_TMO=1 vip_seq_from director 4); echo "  VIP -> VIP x4 (from the director, source $VIP): $r"
    check "the VIP-sourced test fails" all_err $r
    n=$(_vip_to_vip_seen rs1); echo "  rs1's eth0 saw $n SYNs from $VIP to $VIP"
    check "the real servers receive the VIP-sourced SYNs (and drop them)" [ "$n" -gt 0 ]
    r=$(ns rs1 busybox sysctl -n net.ipv4.conf.all.accept_local net.ipv4.conf.eth0.accept_local | tr '\n' ' ')
    echo "  rs1 accept_local all/eth0: $r"
    r=$(vip_seq 4); echo "  client -> VIP x4: $r"
    check "from a normal client, both real servers answer through the VIP" both_answer $r
    check "direct access to both real servers works" direct_ok
}
vip_seq_from() { local i r=""; for i in $(seq 1 "$2"); do r="$r $(get $VIP "$1")"; done; echo $r; }
_vip_to_vip_seen() {   # SYNs src VIP dst VIP in HOST's running eth0 capture (tcpdump -U)
    tcpdump -n -r $LABRUN/cap/"$1"/eth0.pcap \
        "src host $VIP and dst host $VIP and tcp[tcpflags] & tcp-syn != 0" 2>/dev/null | wc -l
}

lab_main
