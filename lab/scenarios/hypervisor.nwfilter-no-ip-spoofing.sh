#!/bin/bash
# Fault hypervisor.nwfilter-no-ip-spoofing: DR cluster whose active director
# is a VM behind libvirt's no-ip-spoofing nwfilter: ebtables chains on its
# tap port (vnet1) drop every IPv4 frame whose source is not the VM's own
# address. DR forwards the client's packets with the client's source IP, so
# they die on the hypervisor's bridge: the VIP times out, the real servers
# answer directly, VRRP and health checks (sourced from the DIP) still work.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=hypervisor.nwfilter-no-ip-spoofing
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
SYMPTOM="connections to $VIP:80 time out; the real servers answer directly; the director's tcpdump shows the forwarded SYNs leave"

setup() {
    cluster_up
    baseline
    # the chains libvirt builds for <filterref filter='no-ip-spoofing'> on vnet1
    ebtables -t nat -N libvirt-I-vnet1 -P RETURN
    ebtables -t nat -A PREROUTING -i vnet1 -j libvirt-I-vnet1
    ebtables -t nat -N I-vnet1-ipv4-ip -P RETURN
    ebtables -t nat -A libvirt-I-vnet1 -p IPv4 -j I-vnet1-ipv4-ip
    ebtables -t nat -A I-vnet1-ipv4-ip -p IPv4 --ip-src 0.0.0.0 --ip-proto udp -j RETURN
    ebtables -t nat -A I-vnet1-ipv4-ip -p IPv4 --ip-src $DIR_IP -j RETURN
    ebtables -t nat -A I-vnet1-ipv4-ip -j DROP
}

prove() {
    local r
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r"
    check "the VIP times out" all_err $r
    check "direct access to both real servers works" direct_ok
    check "VRRP still works: director stays MASTER, director2 BACKUP" [ "$(vip_owner)" = director ]
}

lab_main
