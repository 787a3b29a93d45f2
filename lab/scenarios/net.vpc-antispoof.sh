#!/bin/bash
# Fault net.vpc-antispoof: DR cluster on a cloud network (OpenStack-like
# port security). The cloud lets each VM port send only its own addresses
# (plus the VIP on the directors' ports, as an allowed address pair, so that
# the VIP can move): here an nftables bridge table on the hypervisor's br0,
# `iifname "vnetN" ip saddr != { own addresses } counter drop` for every
# port. DR frames leave the director with the client's source IP: the
# network drops them between the VMs. The VIP times out; direct access,
# ARP, VRRP and the health checks (all from the VMs' own addresses) work.
# The case looks like a tenant's: the hypervisor is the cloud's, so its
# folder is left out of the case, and every VM's folder gets
#   dmidecode -s system-manufacturer  -> OpenStack Foundation
#   dmidecode -s system-product-name  -> OpenStack Nova
# SIMULATED: those two files are written by this scenario (the lab's VMs
# are network namespaces, with no DMI of their own); everything else is
# gathered as usual.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=net.vpc-antispoof
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
SYMPTOM="on our OpenStack tenant, connections to $VIP:80 time out; the real servers answer directly; ping between the VMs works"

setup() {
    cluster_up
    baseline
    nft -f - <<NFT
table bridge portsec {
    chain forward {
        type filter hook forward priority 0; policy accept;
        iifname "vnet0" ip saddr != { 0.0.0.0, $CLIENT_IP } counter drop
        iifname "vnet1" ip saddr != { 0.0.0.0, $DIR_IP, $VIP } counter drop
        iifname "vnet2" ip saddr != { 0.0.0.0, $DIR2_IP, $VIP } counter drop
        iifname "vnet3" ip saddr != { 0.0.0.0, $RS1_IP } counter drop
        iifname "vnet4" ip saddr != { 0.0.0.0, $RS2_IP } counter drop
    }
}
NFT
}

prove() {
    local r n
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r"
    check "the VIP times out" all_err $r
    check "direct access to both real servers works" direct_ok
    check "ping from the director to rs1 works" _ping_rs1
    check "VRRP still works: director is the only one with the VIP" [ "$(vip_owner)" = director ]
    n=$(nft list table bridge portsec | awk '/"vnet1"/ {for (i = 1; i < NF; i++) if ($i == "packets") print $(i+1)}')
    echo "  the network dropped ${n:-?} frames the director sent with a foreign source"
    check "the anti-spoofing filter dropped the director's DR frames" [ "${n:-0}" -gt 0 ]
}
_ping_rs1() { ns director busybox ping -c 1 -W 2 $RS1_IP >/dev/null; }

# a tenant's case: DMI says OpenStack; the cloud's hypervisor is not in it
eval "_lab_gather_case() $(declare -f gather_case | tail -n +2)"
gather_case() {
    local dir=$1 h
    _lab_gather_case "$@"
    rm -rf "$dir/hypervisor"
    for h in $(cat $LABRUN/hosts); do
        printf '$ dmidecode -s system-manufacturer\nOpenStack Foundation\n' >"$dir/$h/dmidecode-s-system-manufacturer.txt"
        printf '$ dmidecode -s system-product-name\nOpenStack Nova\n' >"$dir/$h/dmidecode-s-system-product-name.txt"
    done
}

lab_main
