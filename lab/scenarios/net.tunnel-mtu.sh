#!/bin/bash
# Fault net.tunnel-mtu: TUN cluster on 1500-byte links, and an ACL on the
# path between the clients and the LB that drops all ICMP (here: ebtables on
# the hypervisor's bridge, `-p IPv4 --ip-proto icmp -j DROP`). Small requests
# work; a request larger than one segment (a GET with a 3000-byte cookie, curl -H)
# sends full-size 1500-byte segments with DF, which the director cannot wrap
# in IPIP (1520 > 1500): it answers with ICMP frag-needed (mtu 1480), the
# ACL eats it, the client retransmits the same segment until it gives up.
# The same request straight to a real server works.
# The client's segmentation offloads are off (ethtool -K eth0 tso off gso
# off), so that it sends what a NIC puts on a wire (1500-byte frames) rather
# than veth's 64 KB GSO packets, which IPVS does not check against the MTU.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=net.tunnel-mtu
LB_KIND=TUN CHECK=HTTP_GET VRRP=unicast
SYMPTOM="http://$VIP/ works for small requests, but requests with a large cookie hang until timeout; the same request to a real server directly works"
COOKIE=$(printf '%03000d' 0 | tr 0 a)

setup() {
    cluster_up
    ns client ethtool -K eth0 tso off gso off
    baseline
    ebtables -A FORWARD -p IPv4 --ip-proto icmp -j DROP
}

# get_big IP : curl with a 3000-byte Cookie header (curl sends the request
# in one write, so in full-size segments); the body or ERR(curl's exit status)
get_big() {
    local out rc
    out=$(ns client curl -sS -m 5 -H "Cookie: s=$COOKIE" "http://$1/" 2>$LABRUN/.curl.err); rc=$?
    if [ $rc = 0 ]; then echo "$out"; else echo "ERR($rc)"; fi
}

prove() {
    local r b d
    r=$(vip_seq 2); echo "  client -> VIP, small requests x2: $r"
    check "small requests through the VIP work" both_answer $r
    b="$(get_big $VIP) $(get_big $VIP)"; echo "  client -> VIP, 3000-byte requests x2: $b"
    check "large requests through the VIP hang" all_err $b
    d="$(get_big $RS1_IP) $(get_big $RS2_IP)"; echo "  client -> RS directly, 3000-byte requests: $d"
    check "large requests straight to both real servers work" [ "$d" = "rs1 rs2" ]
    echo "  director: $(ns director nstat -az IcmpOutDestUnreachs IcmpMsgOutType3 2>/dev/null | awk 'NR>1 {printf "%s=%s ", $1, $2}')"
    echo "  hypervisor ebtables: $(ebtables -L FORWARD --Lc | grep -i icmp)"
}

lab_main
