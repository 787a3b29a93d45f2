#!/bin/bash
# Real IPVS genetlink answers and the real ipvsadm's listings of the same
# table, for ipvsnl's tests (TestRealDumps). Runs in the lab guest, whose
# kernel has IPVS, from the lab folder:
#
#   go test -c -o lab/.cache/ipvsnl.test ./internal/collect/ipvsnl
#   lab/lib/vm.sh -o /tmp/ipvsnl-cap -- bash ../internal/collect/ipvsnl/testdata/capture.sh \
#       "$PWD/lab/.cache/ipvsnl.test"
#   cp -r /tmp/ipvsnl-cap/genl/* internal/collect/ipvsnl/testdata/genl/
#
# One table per folder: "rich" has every kind of service and real server
# ipvsadm prints differently (DR/TUN/NAT/Local, weight 0, persistence with
# an IPv4 mask and an IPv6 prefix, a persistence engine, ops, sh/mh/plain
# scheduler flags, UDP, SCTP, fwmark v4/v6, IPv6, a real server of another
# family behind a tunnel, GUE tunnel options, thresholds), with traffic so
# that counters and rates are not all zero; "empty" has no service. In each,
# TestLabCapture reads the table in-process and requires it to print what
# the real ipvsadm prints.
. lib/lab.sh
T=$1
rc=0
capture() {   # capture NAME: run the capture test in the director's netns
    mkdir -p "$LAB_OUT/genl/$1"
    ns director env IPVSNL_CAPTURE="$LAB_OUT/genl/$1" "$T" -test.run '^TestLabCapture$' -test.v || rc=1
}

topo_flat
web_start rs1; web_start rs2
rs_vip_lo rs1; rs_vip_lo rs2
modprobe ip_vs
capture empty

sc director net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0
for a in 101 102 103 104 105 106; do ip -n director addr add 192.0.2.$a/32 dev eth0; done
ip -n director addr add $VIP/32 dev eth0
ns director iptables -t mangle -A PREROUTING -d 192.0.2.103/32 -p tcp --dport 80 -j MARK --set-mark 1
rs_vip_tun rs2
a() { ns director ipvsadm "$@" || echo "capture: ipvsadm $* failed (left out)"; }
a -A -t $VIP:80 -s wlc
a -a -t $VIP:80 -r $RS1_IP:80 -g -w 3
a -a -t $VIP:80 -r $RS2_IP:80 -i -w 2
a -a -t $VIP:80 -r $RS1_NIP:8080 -m -w 1
a -a -t $VIP:80 -r 192.0.2.13:80 -g -w 0
a -a -t $VIP:80 -r 127.0.0.1:80 -m -w 1
a -A -t 192.0.2.101:80 -s rr -p 300 -M 255.255.255.0
a -a -t 192.0.2.101:80 -r $RS1_IP:80 -g -w 1 -x 100 -y 10
a -a -t 192.0.2.101:80 -r $RS2_IP:80 -g -w 65535
a -A -t 192.0.2.102:80 -s sh -b sh-fallback,sh-port
a -a -t 192.0.2.102:80 -r $RS1_IP:80 -g -w 1
a -A -t 192.0.2.104:80 -s mh -b mh-port
a -a -t 192.0.2.104:80 -r $RS2_IP:80 -g -w 1
a -A -t 192.0.2.105:80 -s wrr -b flag-2
a -A -u $VIP:53 -s rr -o
a -a -u $VIP:53 -r $RS1_IP:53 -g -w 1
a -a -u $VIP:53 -r $RS2_IP:53 -g -w 1
a -A -u 192.0.2.106:5060 -s rr -p 60 --pe sip
a -a -u 192.0.2.106:5060 -r $RS1_IP:5060 -g -w 1
a -A --sctp-service $VIP:3868 -s rr
a -a --sctp-service $VIP:3868 -r $RS2_IP:3868 -g -w 1
a -A -f 1 -s wrr
a -a -f 1 -r $RS1_IP:0 -g -w 2
a -a -f 1 -r $RS2_IP:0 -g -w 1
a -A -f 2 -6 -s rr
a -a -f 2 -6 -r [2001:db8::11]:0 -g -w 1
a -A -t [2001:db8::100]:80 -s wlc -p 120 -M 64
a -a -t [2001:db8::100]:80 -r [2001:db8::12]:8080 -m -w 2
a -a -t [2001:db8::100]:80 -r [2001:db8::11]:80 -g -w 1
a -a -t [2001:db8::100]:80 -r 192.0.2.12:80 -i -w 1
a -A -t 198.51.100.100:443 -s lc
a -a -t 198.51.100.100:443 -r $RS1_IP:443 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum
a -a -t 198.51.100.100:443 -r $RS2_IP:443 -i -w 1 --tun-type gre --tun-nocsum
a -a -t 198.51.100.100:443 -r [2001:db8::12]:443 -i -w 1
for a in 101 102 103; do ip -n rs1 addr add 192.0.2.$a/32 dev lo; ip -n rs2 addr add 192.0.2.$a/32 dev lo; done
for i in 1 2 3; do
    r=$(vip_seq 3); r2=$(vip_seq 2 192.0.2.101); r3=$(vip_seq 2 192.0.2.102); r4=$(vip_seq 2 192.0.2.103)
    ns client bash -c "echo q1 >/dev/udp/$VIP/53; echo q2 >/dev/udp/$VIP/53"
    sleep 0.5
done
echo "capture: VIP: $r | persistent: $r2 | sh: $r3 | fwmark: $r4"
capture rich
ns director ipvsadm -Ln
exit $rc
