#!/bin/bash
# Format fixtures, not a cluster check: real outputs of ipvsadm's listing
# variants and /proc/net/ip_vs* (services in DR/TUN/NAT, UDP, fwmark,
# persistent, weight 0, IPv6), ipvsadm and keepalived without IPVS in the
# kernel, keepalived -t on a valid and an invalid config, keepalived logs
# (MASTER/BACKUP/FAULT, check failure and recovery) and kernel log lines
# (conntrack table full, martian source). Written to testdata/lab/formats/.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
F=$LAB_OUT/testdata/formats
rm -rf "$F"; mkdir -p "$F"
: >"$F/INDEX"

# out FILE HOST "what it shows" CMD... : "$ CMD" then its stdout+stderr
out() {
    local f=$1 h=$2 what=$3; shift 3
    { echo "\$ $*"; if [ "$h" = hypervisor ]; then "$@" 2>&1; else ns "$h" "$@" 2>&1; fi; } >"$F/$f"
    printf '%-34s %-10s %s\n' "$f" "$h" "$what" >>"$F/INDEX"
}
# outsh FILE HOST "what" 'SHELL COMMAND' : same for a pipeline, run by bash
outsh() {
    local f=$1 h=$2 what=$3 c=$4
    { echo "\$ $c"; if [ "$h" = hypervisor ]; then bash -c "$c" 2>&1; else ns "$h" bash -c "$c" 2>&1; fi; } >"$F/$f"
    printf '%-34s %-10s %s\n' "$f" "$h" "$what" >>"$F/INDEX"
}
has() { grep -q -- "$2" "$F/$1"; }

say "formats: topology"
topo_flat
web_start rs1; web_start rs2
rs_vip_lo rs1; rs_vip_lo rs2

# ---------------------------------------------------------------- no IPVS
# ip_vs is not loaded yet in this fresh guest. Make it impossible to load,
# as on a kernel built without it: hide the ipvs modules (a tmpfs over their
# folder; the real modprobe, which keepalived, ipvsadm and the kernel's
# autoloader all run, then fails on its own).
IPVS_MODDIR=/lib/modules/$(uname -r)/kernel/net/netfilter/ipvs
mount -t tmpfs tmpfs "$IPVS_MODDIR"
out ipvsadm-Ln-no-ipvs.txt director "ipvsadm when ip_vs cannot be loaded" ipvsadm -Ln
out proc-net-ip_vs-no-ipvs.txt director "no /proc/net/ip_vs" cat /proc/net/ip_vs
out lsmod-no-ipvs.txt director "lsmod without ip_vs" lsmod
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
mkdir -p $LABRUN/director
ka_conf director MASTER 150 >$LABRUN/director/keepalived.conf
ka_start director
# it stops by itself: the checker exits FATAL, the parent stops, and the
# VRRP child logs its own "Stopped" last, up to 2 s later; ka_stop only if
# it has not within 15 s
_ka_stopped_all() { [ "$(ka_journal director | grep -c 'Stopped')" -ge 3 ]; }
t=$(wait_for 15 _ka_stopped_all); echo "  keepalived without IPVS stopped by itself after ${t}s"
ka_stop director
cp $LABRUN/director/keepalived.stderr "$F/keepalived-no-ipvs.console.log"
printf '%-34s %-10s %s\n' keepalived-no-ipvs.console.log director "keepalived --log-console when ip_vs cannot be loaded" >>"$F/INDEX"
ka_journal director >"$F/keepalived-no-ipvs.journal.log"
printf '%-34s %-10s %s\n' keepalived-no-ipvs.journal.log director "the same as journalctl -u keepalived shows it" >>"$F/INDEX"
check "ipvsadm says it cannot initialize IPVS" has ipvsadm-Ln-no-ipvs.txt "Can't initialize ipvs"
check "keepalived logs IPVS: Can't initialize ipvs" has keepalived-no-ipvs.journal.log "IPVS: Can't initialize ipvs"
umount "$IPVS_MODDIR"
: >/var/log/syslog   # the next keepalived runs start a clean journal

# ---------------------------------------------------------------- ipvsadm variants
say "formats: IPVS services"
modprobe ip_vs
ip -n director addr add $VIP/32 dev eth0
ip -n director addr add 192.0.2.101/32 dev eth0
ip -n director addr add 192.0.2.102/32 dev eth0
ip -n director addr add 192.0.2.103/32 dev eth0
ns director iptables -t mangle -A PREROUTING -d 192.0.2.103/32 -p tcp --dport 80 -j MARK --set-mark 1
rs_vip_tun rs2       # rs2 takes the tunnelled share of the mixed service
sc director net.ipv4.vs.expire_nodest_conn=1
ns director ipvsadm -R <<IPVS
-A -t $VIP:80 -s wlc
-a -t $VIP:80 -r $RS1_IP:80 -g -w 3
-a -t $VIP:80 -r $RS2_IP:80 -i -w 2
-a -t $VIP:80 -r $RS1_NIP:8080 -m -w 1
-a -t $VIP:80 -r 192.0.2.13:80 -g -w 0
-A -t 192.0.2.101:80 -s rr -p 300 -M 255.255.255.255
-a -t 192.0.2.101:80 -r $RS1_IP:80 -g -w 1
-a -t 192.0.2.101:80 -r $RS2_IP:80 -g -w 1
-A -t 192.0.2.102:80 -s sh -b sh-fallback,sh-port
-a -t 192.0.2.102:80 -r $RS1_IP:80 -g -w 1
-a -t 192.0.2.102:80 -r $RS2_IP:80 -g -w 0
-A -u $VIP:53 -s rr
-a -u $VIP:53 -r $RS1_IP:53 -g -w 1
-a -u $VIP:53 -r $RS2_IP:53 -g -w 1
-A -f 1 -s wrr
-a -f 1 -r $RS1_IP:0 -g -w 2
-a -f 1 -r $RS2_IP:0 -g -w 1
IPVS
for a in 192.0.2.101 192.0.2.102 192.0.2.103; do
    ip -n rs1 addr add $a/32 dev lo; ip -n rs2 addr add $a/32 dev lo
done
ip -n rs2 addr add 192.0.2.101/32 dev tunl0 2>/dev/null
# traffic over a few seconds, so that the rate estimator (2 s period) has
# something to show; a few connections are kept open (ESTABLISHED entries)
for i in 1 2 3; do
    r=$(vip_seq 3); r2=$(vip_seq 2 192.0.2.101); r3=$(vip_seq 2 192.0.2.102); r4=$(vip_seq 2 192.0.2.103)
    ns client bash -c "echo q1 >/dev/udp/$VIP/53; echo q2 >/dev/udp/$VIP/53"
    sleep 0.7
done
echo "  VIP: $r | persistent: $r2 | sh: $r3 | fwmark: $r4"
for i in 1 2; do
    (sleep 60 | ns client busybox nc $VIP 80 >/dev/null 2>&1 &)
done
# until the estimator (2 s period) shows a rate and both held connections are in
_rate_and_held() {
    ns director ipvsadm -Ln --rate | awk '$1 ~ /TCP|UDP|FWM/ && $3+$4+$5+$6+$7 > 0 {f=1} END {exit !f}' &&
        [ "$(ns director ipvsadm -Lnc | grep -c ESTABLISHED)" -ge 2 ]
}
t=$(wait_for 10 _rate_and_held); echo "  rates and the 2 held connections after ${t}s"
out ipvsadm-Ln.txt director "services: DR/TUN/NAT/weight-0 RS, persistent, sh flags, UDP, fwmark" ipvsadm -Ln
out ipvsadm-Ln-stats.txt director "--stats" ipvsadm -Ln --stats
out ipvsadm-Ln-rate.txt director "--rate" ipvsadm -Ln --rate
out ipvsadm-Ln-sort.txt director "--sort" ipvsadm -Ln --sort
out ipvsadm-Ln-exact.txt director "--exact" ipvsadm -Ln --exact
out ipvsadm-Ln-stats-exact.txt director "--stats --exact" ipvsadm -Ln --stats --exact
out ipvsadm-Ln-persistent-conn.txt director "--persistent-conn" ipvsadm -Ln --persistent-conn
out ipvsadm-Ln-thresholds.txt director "--thresholds" ipvsadm -Ln --thresholds
out ipvsadm-Ln-service.txt director "one service (-t)" ipvsadm -Ln -t $VIP:80
out ipvsadm-Lnc.txt director "connections incl. persistence templates" ipvsadm -Lnc
out ipvsadm-Lnc-exact.txt director "connections, --exact" ipvsadm -Lnc --exact
out ipvsadm-Sn.txt director "save format" ipvsadm -Sn
out ipvsadm-Ln-timeout.txt director "--timeout" ipvsadm -Ln --timeout
out ipvsadm-Ln-daemon.txt director "--daemon (no sync daemon)" ipvsadm -Ln --daemon
out proc-net-ip_vs.txt director "/proc/net/ip_vs (hex)" cat /proc/net/ip_vs
out proc-net-ip_vs_conn.txt director "/proc/net/ip_vs_conn (hex)" cat /proc/net/ip_vs_conn
out proc-net-ip_vs_stats.txt director "/proc/net/ip_vs_stats" cat /proc/net/ip_vs_stats
out proc-net-ip_vs_stats_percpu.txt director "/proc/net/ip_vs_stats_percpu" cat /proc/net/ip_vs_stats_percpu
outsh sysctl-ar-vs.txt director "IPVS sysctls" "sysctl -ar '^net\.ipv4\.vs\.'"
out iptables-t-mangle-L-fwmark.txt director "the MARK rule of the fwmark service" iptables -t mangle -L -n -v --line-numbers
check "ipvsadm -Ln shows Route, Tunnel and Masq" bash -c "grep -q Route '$F/ipvsadm-Ln.txt' && grep -q Tunnel '$F/ipvsadm-Ln.txt' && grep -q Masq '$F/ipvsadm-Ln.txt'"
check "ipvsadm -Ln shows the UDP, fwmark and persistent services" bash -c "grep -q '^UDP' '$F/ipvsadm-Ln.txt' && grep -q '^FWM' '$F/ipvsadm-Ln.txt' && grep -q persistent '$F/ipvsadm-Ln.txt'"
check "ipvsadm -Lnc has persistence templates and ESTABLISHED entries" bash -c "grep -q ':0 ' '$F/ipvsadm-Lnc.txt' && grep -q ESTABLISHED '$F/ipvsadm-Lnc.txt'"
check "ipvsadm -Ln --rate shows a non-zero rate" bash -c "awk '\$1 ~ /TCP|UDP|FWM/ && \$3+\$4+\$5+\$6+\$7 > 0 {f=1} END {exit !f}' '$F/ipvsadm-Ln-rate.txt'"
ns director ipvsadm -C
ns director iptables -t mangle -F
for a in $VIP 192.0.2.101 192.0.2.102 192.0.2.103; do ip -n director addr del $a/32 dev eth0; done
pkill_ns() { local p; for p in $(ip netns pids "$1"); do [ "$(cat /proc/"$p"/comm)" = "$2" ] && kill "$p"; done; }
pkill_ns client nc

# ---------------------------------------------------------------- kernel log: martians
say "formats: kernel log: martian source"
dmesg -C
# TUN to rs1 with strict rp_filter and log_martians: the decapsulated
# packet from the client arrives on tunl0, but the route back to the client
# is via eth0
ip -n director addr add $VIP/32 dev eth0
printf -- '-A -t %s:80 -s rr\n-a -t %s:80 -r %s:80 -i\n' $VIP $VIP $RS1_IP | ns director ipvsadm -R
ip -n rs1 addr del $VIP/32 dev lo
rs_vip_tun rs1
sc rs1 net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.tunl0.rp_filter=1 \
       net.ipv4.conf.all.log_martians=1 net.ipv4.conf.tunl0.log_martians=1
r=$(HTTP_TMO=1 vip_seq 2); echo "  TUN with rp_filter=1 on rs1: $r (rs1 tunl0 rx $(tunl0_rx rs1))"
out dmesg-martian.txt hypervisor "kernel log: martian source on tunl0 (rp_filter)" dmesg
outsh sysctl-rp_filter-martian.txt rs1 "the rp_filter/log_martians sysctls behind it" "sysctl -a 2>/dev/null | grep -E 'rp_filter|log_martians'"
out nstat-martian.txt rs1 "nstat with IPReversePathFilter" nstat -az TcpExtIPReversePathFilter
check "kernel logs a martian source" has dmesg-martian.txt "martian source"
check "VIP fails while rp_filter drops" all_err $r
ip -n director addr del $VIP/32 dev eth0
ns director ipvsadm -C
sc rs1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.tunl0.rp_filter=0

# ---------------------------------------------------------------- keepalived -t
say "formats: keepalived config checks"
ka_conf director MASTER 150 >"$F/keepalived-valid.conf"
cat >"$F/keepalived-invalid.conf" <<KA
! an invalid configuration: an unknown keyword, a misspelt lb_kind, a
! virtual_server whose address no vrrp_instance holds, a real_server without
! a port, and an unknown checker
global_defs {
    router_id director
    notification_emial root@localhost
}

vrrp_instance VI_VIP {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass $AUTH_PASS
    }
    virtual_ipaddress {
        $VIP
    }
}

virtual_server 192.0.2.200 80 {
    delay_loop 6
    lb_algo rr
    lb_kind DRR
    protocol TCP
    real_server $RS1_IP {
        weight 1
        TCP_CHECK {
            connect_timeout 2
        }
    }
    real_server $RS2_IP 80 {
        weight 1
        TCPCHECK {
            connect_timeout 2
        }
    }
}
KA
# keepalived -t prints to stderr and sets the exit status (0 = fine). Run it
# on the usual path (the guest's /etc is an overlay; the host's is untouched).
mkdir -p /etc/keepalived
cp "$F/keepalived-valid.conf" /etc/keepalived/keepalived.conf
outsh keepalived-t-valid.txt director "keepalived -t, valid config (keepalived-valid.conf)" "keepalived -t"
ns director keepalived -t >/dev/null 2>&1; rcv=$?
cp "$F/keepalived-invalid.conf" /etc/keepalived/keepalived.conf
outsh keepalived-t-invalid.txt director "keepalived -t, invalid config (keepalived-invalid.conf)" "keepalived -t"
ns director keepalived -t >/dev/null 2>&1; rci=$?
rm /etc/keepalived/keepalived.conf
echo "  keepalived -t exit status: valid $rcv, invalid $rci"
sed -i "s/^\(keepalived-t-valid.txt .*\))\$/\1, exit $rcv)/; s/^\(keepalived-t-invalid.txt .*\))\$/\1, exit $rci)/" "$F/INDEX"
check "keepalived -t accepts the valid config" [ $rcv = 0 ]
check "keepalived -t rejects the invalid config" [ $rci != 0 ]

# ---------------------------------------------------------------- keepalived logs
say "formats: keepalived state changes and check failures"
rm -rf $LABRUN/director; mkdir -p $LABRUN/director $LABRUN/director2
ka_conf director MASTER 150 >$LABRUN/director/keepalived.conf
ka_conf director2 BACKUP 100 >$LABRUN/director2/keepalived.conf
ka_start director; ka_start director2
wait_for 30 _ka_ready 2 >/dev/null
web_stop rs1
t=$(wait_for 30 _rs_count 1); echo "  rs1 removed ${t}s after its httpd stopped"
web_start rs1
t=$(wait_for 30 _rs_count 2); echo "  rs1 re-added ${t}s after its httpd started"
ip -n director link set eth0 down
t=$(wait_for 15 _vip_on director2); echo "  director eth0 down: VIP on director2 after ${t}s"
ip -n director link set eth0 up
t=$(wait_for 15 _vip_on director); echo "  director eth0 up: VIP back on director after ${t}s"
sleep 1
ka_stop director; ka_stop director2
for d in director director2; do
    ka_journal $d >"$F/keepalived-$d.journal.log"
    cp $LABRUN/$d/keepalived.stderr "$F/keepalived-$d.console.log"
    printf '%-34s %-10s %s\n' "keepalived-$d.journal.log" $d "journalctl -u keepalived: MASTER/BACKUP/FAULT, check down/up, stop" >>"$F/INDEX"
    printf '%-34s %-10s %s\n' "keepalived-$d.console.log" $d "the same, keepalived --log-console format" >>"$F/INDEX"
done
cp $LABRUN/director/keepalived.conf "$F/keepalived-director.conf"
printf '%-34s %-10s %s\n' keepalived-director.conf director "the config behind those logs" >>"$F/INDEX"
for s in "Entering MASTER STATE" "Entering BACKUP STATE" "Entering FAULT STATE" "Removing service" "Adding service"; do
    check "keepalived log has '$s'" bash -c "cat '$F'/keepalived-director*.journal.log | grep -q '$s'"
done

# ---------------------------------------------------------------- kernel log: conntrack full (last: it leaves entries)
say "formats: kernel log: conntrack table full"
dmesg -C
# conntrack runs in a netns only once a rule there needs it
ns client iptables -A OUTPUT -m conntrack --ctstate NEW,ESTABLISHED -j ACCEPT
old_max=$(cat /proc/sys/net/netfilter/nf_conntrack_max)
echo 4 >/proc/sys/net/netfilter/nf_conntrack_max
# one bash, a new socket (so a new flow) per datagram
ns client bash -c "for p in \$(seq 1000 1012); do echo x >/dev/udp/$RS1_IP/\$p; done" 2>/dev/null
out dmesg-conntrack-full.txt hypervisor "kernel log: nf_conntrack table full" dmesg
outsh nf_conntrack-full.txt client "count vs max when full" "cat /proc/sys/net/netfilter/nf_conntrack_count /proc/sys/net/netfilter/nf_conntrack_max"
out conntrack-S-full.txt client "conntrack -S with drops" conntrack -S
echo "$old_max" >/proc/sys/net/netfilter/nf_conntrack_max
ns client iptables -F OUTPUT
check "kernel logs 'table full, dropping packet'" has dmesg-conntrack-full.txt "table full, dropping packet"

say "formats: done ($(du -sh "$F" | cut -f1))"
summary
