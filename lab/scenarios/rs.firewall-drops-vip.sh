#!/bin/bash
# Fault rs.firewall-drops-vip: DR cluster whose real servers' nftables
# firewall (an "allow what we know" input chain) lets traffic to their own
# address in but drops what is addressed to the VIP: the VIP times out, the
# real servers answer directly, the drop rule counts.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=rs.firewall-drops-vip
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
SYMPTOM="connections to $VIP:80 time out; the real servers answer directly"

setup() {
    cluster_up
    baseline
    local h ip
    for h in rs1 rs2; do
        if [ $h = rs1 ]; then ip=$RS1_IP; else ip=$RS2_IP; fi
        ns $h nft -f - <<NFT
table inet filter {
    chain input {
        type filter hook input priority filter; policy accept;
        ct state established,related accept
        iif "lo" accept
        ip daddr $ip tcp dport 80 accept
        tcp dport 80 counter drop
    }
}
NFT
    done
}

prove() {
    local r
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r"
    check "the VIP times out" all_err $r
    check "direct access to both real servers works" direct_ok
}

lab_main
