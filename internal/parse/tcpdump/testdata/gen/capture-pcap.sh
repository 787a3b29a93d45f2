P=lvsd-sys
A="ip netns exec $P-a"; B="ip netns exec $P-b"; SW="ip netns exec $P-sw"
$SW tcpdump -i br0 -w out/br0.pcap 2>/dev/null & T1=$!
$B tcpdump -i any -w out/b-any.pcap 2>/dev/null & T2=$!
$B tcpdump -i eth0 -w out/b-eth0.pcap 2>/dev/null & T3=$!
$B python3 -m http.server 80 --bind 192.0.2.11 >/dev/null 2>&1 & H=$!
sleep 1.5
$A ping -c 2 192.0.2.11 > out/ping-ok.txt 2>&1
$A curl -v http://192.0.2.11/ -o /dev/null > out/curl-ok.txt 2>&1
$A curl -v http://192.0.2.11:81/ > out/curl-refused.txt 2>&1
$A sh -c 'echo hello | nc -u -w1 192.0.2.11 9999' > /dev/null 2>&1
$B python3 craft.py ipip
$B python3 craft.py vrrp
$B python3 craft.py fragneeded
$B python3 craft.py vlan
$A arping -c 2 -I eth0 192.0.2.100 > out/arping-dup.txt 2>&1
sleep 1
kill $T1 $T2 $T3 $H
wait $T1 $T2 $T3 2>/dev/null
