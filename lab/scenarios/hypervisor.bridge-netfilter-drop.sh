#!/bin/bash
# Fault hypervisor.bridge-netfilter-drop: DR cluster (VRRP over unicast
# peers) whose VMs share a bridge on a hypervisor that was prepared for
# Kubernetes (modprobe br_netfilter; net.bridge.bridge-nf-call-iptables=1,
# the kubeadm prerequisite). Its host firewall has FORWARD policy DROP and one
# ACCEPT per VM address, written when the VMs were created; with
# br_netfilter, every frame bridged between the VMs now goes through that
# chain. The VIP belongs to no VM: the client's packets to it die on the
# bridge, while everything addressed to a VM (direct access to the real
# servers, VRRP to the peer, the health checks) still passes.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=hypervisor.bridge-netfilter-drop
LB_KIND=DR CHECK=TCP_CHECK VRRP=unicast
SYMPTOM="connections to $VIP:80 time out since the hypervisor was prepared for Kubernetes; the real servers answer directly"

setup() {
    cluster_up
    baseline
    local ip
    for ip in $CLIENT_IP $DIR_IP $DIR2_IP $RS1_IP $RS2_IP; do
        iptables -A FORWARD -d $ip -j ACCEPT
    done
    iptables -P FORWARD DROP
    modprobe br_netfilter
    sysctl -q -w net.bridge.bridge-nf-call-iptables=1
}

prove() {
    local r d
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r"
    check "the VIP times out" all_err $r
    check "direct access to both real servers works" direct_ok
    check "VRRP still works: director is the only one with the VIP" [ "$(vip_owner)" = director ]
    check "keepalived keeps both real servers (checks pass)" _rs_count 2
    d=$(iptables -L FORWARD -n -v -x | awk '/^Chain FORWARD/ {print $5; exit}')
    echo "  hypervisor FORWARD policy DROP counter: ${d:-?} packets"
    check "the FORWARD policy dropped packets" [ "${d:-0}" -gt 0 ]
}

lab_main
