P=lvsd-sys
A="ip netns exec $P-a"; B="ip netns exec $P-b"; SW="ip netns exec $P-sw"
for n in a b c sw; do ip netns exec $P-$n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1; done
mkdir -p out2
$B tcpdump -i any -n -l > out2/tcpdump-any-n.txt 2>&1 & T1=$!
$B tcpdump -i any -nn -e -l > out2/tcpdump-any-nn-e.txt 2>&1 & T2=$!
$B tcpdump -i any -y LINUX_SLL -nn -e -l > out2/tcpdump-any-sll1-e.txt 2>&1 & T3=$!
$B tcpdump -i eth0 -vvv -nnn -e -l > out2/tcpdump-eth0-vvv-e.txt 2>&1 & T4=$!
$B tcpdump -i eth0 -v -n -l > out2/tcpdump-eth0-v.txt 2>&1 & T5=$!
$SW tcpdump -i br0 -nn -e -l > out2/br0.txt 2>&1 & T6=$!
$B python3 -m http.server 80 --bind 192.0.2.11 >/dev/null 2>&1 & H=$!
sleep 2
$A ping -c 2 192.0.2.11 > /dev/null 2>&1
$A curl -s http://192.0.2.11/ -o /dev/null
$A curl -s http://192.0.2.11:81/ > /dev/null 2>&1
$A sh -c 'echo hello | nc -u -w1 192.0.2.11 9999' > /dev/null 2>&1
$B python3 craft.py ipip
$B python3 craft.py vrrp
$B python3 craft.py fragneeded
$B python3 craft.py vlan
$A arping -c 2 -I eth0 192.0.2.100 > /dev/null 2>&1
sleep 1
kill -INT $T1 $T2 $T3 $T4 $T5 $T6; kill $H
wait $T1 $T2 $T3 $T4 $T5 $T6 2>/dev/null
