#!/bin/bash
# Runs the traffic of craft.py and ordinary tools (ping, curl, nc, arping)
# in the lab of lab.sh while real tcpdump and dumpcap capture it, then
# derives the edge-case files. Output in ../ (internal/capture/testdata).
set -u
cd "$(dirname "$0")"
OUT=..
P=lvsd-cap
A="ip netns exec $P-a"; B="ip netns exec $P-b"; C="ip netns exec $P-c"; SW="ip netns exec $P-sw"
T=$(mktemp -d)
$SW tcpdump -i br0 -w $OUT/br0.pcap 2>/dev/null & P1=$!
$B tcpdump -i any -w $OUT/any-sll2.pcap 2>/dev/null & P2=$!
$B tcpdump -y LINUX_SLL -i any -w $OUT/any-sll1.pcap 2>/dev/null & P3=$!
$B tcpdump -i eth0 -s 64 -w $OUT/eth0-snap64.pcap 2>/dev/null & P4=$!
$B tcpdump -i eth0 --time-stamp-precision=nano -w $OUT/eth0-nano.pcap 2>/dev/null & P5=$!
$B tcpdump -i tun0 -w $OUT/tun0.pcap 2>/dev/null & P6=$!
$B dumpcap -q -i eth0 -i eth1 -w $OUT/two-ifaces.pcapng 2>/dev/null & P7=$!
$B dumpcap -q -i any -w $OUT/any.pcapng 2>/dev/null & P8=$!
$B python3 -m http.server 80 --bind 192.0.2.100 >/dev/null 2>&1 & H=$!
sleep 2
$A ping -c 2 192.0.2.11 >/dev/null 2>&1
$A curl -s http://192.0.2.100/ -o /dev/null
$A curl -s http://192.0.2.11:81/ -o /dev/null
$A sh -c 'echo hello | nc -u -w1 192.0.2.11 9999' >/dev/null 2>&1
for w in ipip gre vxlan vrrp fragneeded hostunreach adminprohib vlan tun; do $B python3 craft.py $w; done
$A arping -c 2 -I eth0 192.0.2.100 >/dev/null 2>&1
$B ping -c 2 198.51.100.12 >/dev/null 2>&1
sleep 1
kill $P1 $P2 $P3 $P4 $P5 $P6 $P7 $P8 $H
wait $P1 $P2 $P3 $P4 $P5 $P6 $P7 $P8 2>/dev/null
# Out-of-order timestamps: the second half of the bridge capture before
# the first, as mergecap -a (concatenate) writes them.
n=$(tcpdump -r $OUT/br0.pcap 2>/dev/null | wc -l); h=$((n / 2))
editcap -r $OUT/br0.pcap $T/first.pcap 1-$h
editcap -r $OUT/br0.pcap $T/second.pcap $((h + 1))-$n
mergecap -a -F pcap -w $OUT/out-of-order.pcap $T/second.pcap $T/first.pcap
# A capture cut in the middle of its last packet (a copy taken while
# tcpdump was still writing, a partial download).
python3 - "$OUT/br0.pcap" "$OUT/truncated.pcap" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
off, last = 24, 24
while off + 16 <= len(data):
    incl = struct.unpack('<I', data[off+8:off+12])[0]
    last, off = off, off + 16 + incl
incl = struct.unpack('<I', data[last+8:last+12])[0]
open(sys.argv[2], 'wb').write(data[:last + 16 + incl // 2])
PY
# A capture that saw nothing: header only.
$B timeout 1 tcpdump -i eth1 -w $OUT/empty-capture.pcap 'port 1' 2>/dev/null
: > $OUT/zero-length.pcap
# tcpdump's own reading of each file, as a person would print it, on b
# (the SLL2 captures' interface indexes are b's).
for f in $OUT/*.pcap $OUT/*.pcapng; do
  TZ=UTC $B tcpdump -e -n -vvv -r "$f" > "${f%.*}.vvv.txt" 2>/dev/null
done
rm -rf $T
