# Test-command outputs for internal/parse/probe/testdata (run after lab.sh).
P=lvsd-sys; A="ip netns exec $P-a"; B="ip netns exec $P-b"
$B python3 -m http.server 80 --bind 0.0.0.0 >/dev/null 2>&1 & H=$!
sleep 1
$A ping -c 3 192.0.2.99 > ping-unreachable.txt 2>&1
$A ping -c 3 -W 1 192.0.2.98 > ping-loss.txt 2>&1
$A ping -c 3 192.0.2.100 > ping-vip.txt 2>&1
$A ping -c 2 198.51.100.7 > ping-no-route.txt 2>&1
$A curl -v http://192.0.2.99/ > curl-no-route.txt 2>&1
$A curl -sv http://198.51.100.7/ > curl-unreachable-route.txt 2>&1
$A curl -v --connect-timeout 2 http://192.0.2.98/ > curl-timeout.txt 2>&1
$A curl -sS http://192.0.2.11:81/ > curl-refused-short.txt 2>&1
$A curl -sv http://192.0.2.100/ -o /dev/null > curl-vip-refused.txt 2>&1
$A curl -sSv -m 2 http://192.0.2.98:8443/ > curl-max-time.txt 2>&1
$A nc -vz 192.0.2.11 80 > nc-ok.txt 2>&1
$A nc -vz 192.0.2.11 81 > nc-refused.txt 2>&1
$A nc -vz -w 2 192.0.2.98 80 > nc-timeout.txt 2>&1
$A nc -vz -w 2 192.0.2.99 80 > nc-no-route.txt 2>&1
(sleep 1; echo) | $A telnet 192.0.2.11 80 > telnet-ok.txt 2>&1
$A telnet 192.0.2.11 81 > telnet-refused.txt 2>&1
$A telnet 192.0.2.99 80 > telnet-no-route.txt 2>&1
$A arping -c 3 -I eth0 192.0.2.100 > arping-dup.txt 2>&1     # iputils-arping
$A arping -c 2 -I eth0 192.0.2.11 > arping-ok.txt 2>&1
$A arping -c 2 -w 3 -I eth0 192.0.2.99 > arping-none.txt 2>&1
$A arping -D -c 2 -I eth0 192.0.2.11 > arping-dad.txt 2>&1
# With the `arping` package (Thomas Habets) instead of iputils-arping:
#   $A arping -c 3 -I eth0 192.0.2.100 > arping-habets-dup.txt
#   $A arping -c 2 -I eth0 192.0.2.99 > arping-habets-none.txt
kill $H
