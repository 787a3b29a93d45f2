#!/bin/bash
# Builds a throw-away lab: a bridge namespace (sw) with three hosts
# a (client 192.0.2.10), b (192.0.2.11, VIP 192.0.2.100 on lo, a web
# server), c (192.0.2.12, no ipip/gre modules: answers tunnels with ICMP);
# b and c are also joined directly by eth1 (198.51.100.11/.12) so that b has
# two interfaces to capture on at once, and b has a tun device (tun0) whose
# capture is raw IP.
set -e
P=lvsd-cap
for n in sw a b c; do ip netns add $P-$n; ip -n $P-$n link set lo up; done
ip -n $P-sw link add br0 type bridge
ip -n $P-sw link set br0 up
i=10
for h in a b c; do
  ip -n $P-sw link add p$h type veth peer name eth0 netns $P-$h
  ip -n $P-sw link set p$h master br0 up
  ip -n $P-$h link set eth0 address 02:00:00:00:00:$i
  ip -n $P-$h addr add 192.0.2.$i/24 dev eth0
  ip -n $P-$h link set eth0 up
  i=$((i+1))
done
ip -n $P-b link add eth1 type veth peer name eth1 netns $P-c
ip -n $P-b link set eth1 address 02:00:00:00:01:11
ip -n $P-c link set eth1 address 02:00:00:00:01:12
ip -n $P-b addr add 198.51.100.11/24 dev eth1
ip -n $P-c addr add 198.51.100.12/24 dev eth1
ip -n $P-b link set eth1 up
ip -n $P-c link set eth1 up
ip -n $P-b addr add 192.0.2.100/32 dev lo
ip -n $P-a route add 192.0.2.100/32 via 192.0.2.11
ip -n $P-b tuntap add mode tun name tun0
ip -n $P-b addr add 203.0.113.1/24 dev tun0
ip -n $P-b link set tun0 up
