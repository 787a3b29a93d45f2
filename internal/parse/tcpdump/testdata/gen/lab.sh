#!/bin/bash
# Builds a throw-away lab: a bridge namespace (sw) with three hosts
# a (client 192.0.2.10), b (192.0.2.11, VIP 192.0.2.100 on lo), c (192.0.2.12, VIP on lo too).
set -e
P=lvsd-sys
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
ip -n $P-b addr add 192.0.2.100/32 dev lo
ip -n $P-c addr add 192.0.2.100/32 dev lo
ip -n $P-a route add unreachable 198.51.100.0/24
ip -n $P-a neigh add 192.0.2.98 lladdr 02:00:00:00:00:98 dev eth0 nud permanent
