# shellcheck shell=bash
# lib/lab.sh - builds an LVS cluster out of network namespaces INSIDE the lab
# guest, drives real client traffic through it and gathers evidence the way
# an engineer would. Sourced by the scenarios (which run as root in the guest).
#
# Hosts (each a network namespace plus a UTS namespace, so that `uname -a`,
# keepalived and the prompts show the host's own name):
#
#   flat (DR, TUN)  br0: client 192.0.2.10  director 192.0.2.2  director2 192.0.2.3
#                        rs1 192.0.2.11  rs2 192.0.2.12         VIP 192.0.2.100:80
#   nat             br0: client 192.0.2.10  director/director2 eth0 192.0.2.2/.3 (+VIP)
#                   br1: director/director2 eth1 198.51.100.2/.3 (+ floating gateway .1)
#                        rs1 198.51.100.11  rs2 198.51.100.12 (default via .1)
#
# The guest's root netns is the "hypervisor": it holds the bridges, whose
# ports are named like libvirt's tap devices (vnet0 = client, vnet1 = director,
# vnet2 = director2, vnet3 = rs1, vnet4 = rs2; NAT: vnet5/vnet6 = the
# directors' eth1). MACs are fixed (52:54:00:00:00:NN, libvirt's prefix) so
# the gathered cases are stable from run to run.
#
# Addresses are documentation ranges (RFC 5737) and exist only inside the
# guest, which has no network device at all.
#
# Speed: under TCG every exec of a dynamically linked binary costs 30-60 ms
# (250 ms before the guest lost ASLR, see vm.sh), static busybox ~10 ms, a
# bash builtin nothing. Hence busybox nsenter instead of "ip netns exec",
# "ip -n NS -b -" batches, one busybox sysctl per netns, busybox nc as the
# HTTP client (busybox-static's wget segfaults on Debian 12), one shell per
# host when gathering evidence, and helpers that parse with bash rather than
# awk/grep/cat/wc, time with $EPOCHREALTIME and wait with `nap` (the lab's
# own helpers were a fifth of a scenario's CPU time).

VIP=192.0.2.100
PORT=80
CLIENT_IP=192.0.2.10
DIR_IP=192.0.2.2
DIR2_IP=192.0.2.3
RS1_IP=192.0.2.11
RS2_IP=192.0.2.12
NAT_GW=198.51.100.1      # floating (VRRP) gateway of the real servers in NAT mode
DIR_NIP=198.51.100.2
DIR2_NIP=198.51.100.3
RS1_NIP=198.51.100.11
RS2_NIP=198.51.100.12
HOSTS="client director director2 rs1 rs2"
DIRECTORS="director director2"
REALSERVERS="rs1 rs2"
AUTH_PASS=Lv5-s3cr  # VRRP PASS auth (8 chars max); lvsdoctor must redact it from reports
LABRUN=/run/lvslab
LAB_OUT=${LAB_OUT:-/lvsout}
HTTP_TMO=${HTTP_TMO:-2}
# the keys procps' sysctl -a leaves out (its DEPRECATED list), as busybox prints them
SYSCTL_DEPRECATED='^net\.ipv[46]\.neigh\.[^ ]*\.(base_reachable_time|retrans_time) = '
export SYSCTL_DEPRECATED
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LAB=${LAB:-$(cd "${BASH_SOURCE[0]%/*}/.." && pwd)}
_me=${BASH_SOURCE[1]:-$0}; _me=${_me##*/}
SCENARIO=${SCENARIO:-${_me%.sh}}
mkdir -p $LABRUN/uts $LABRUN/www/rs1 $LABRUN/www/rs2 $LABRUN/director $LABRUN/director2 $LABRUN/cap

# text : prints its standard input (a here-document) with builtins only,
# where `cat <<EOF` would cost an exec
text() { local l; while IFS= read -r l; do printf '%s\n' "$l"; done; }
# nap SECONDS : sleeps without an exec (a read that times out on a FIFO
# nobody writes to; /dev/fd, which <(...) needs, does not exist in the guest)
[ -p $LABRUN/.nap ] || busybox mkfifo $LABRUN/.nap
exec {_NAP_FD}<>$LABRUN/.nap
nap() { read -r -t "$1" -u "$_NAP_FD" _ || :; }
# _usecs_since START : microseconds from START (an $EPOCHREALTIME) to now
_usecs_since() {
    local a=$1 e=$EPOCHREALTIME
    echo $(( (${e%.*} - ${a%.*}) * 1000000 + 10#${e#*.} - 10#${a#*.} ))
}

# ---------------------------------------------------------------- reporting
PASS=0; FAIL=0; SKIP=0
_t0=$EPOCHREALTIME
elapsed() { local d; d=$(_usecs_since "${1:-$_t0}"); printf '%d.%02d' $((d / 1000000)) $((d % 1000000 / 10000)); }
say() { echo "[$(elapsed)s] $*"; }
pass() { PASS=$((PASS+1)); echo "PASS: $SCENARIO: $*"; }
fail() { FAIL=$((FAIL+1)); echo "FAIL: $SCENARIO: $*"; }
skip() { SKIP=$((SKIP+1)); echo "SKIP: $SCENARIO: $*"; }
check() { local d=$1; shift; if "$@"; then pass "$d"; else fail "$d"; fi; }
summary() { echo "$PASS passed, $FAIL failed"; [ "$FAIL" = 0 ]; }

# ---------------------------------------------------------------- namespaces
# ns HOST CMD... : run CMD on HOST (its netns and UTS ns)
ns() { local n=$1; shift; busybox nsenter --net=/run/netns/"$n" --uts=$LABRUN/uts/"$n" "$@"; }
# ns_bg HOST PIDFILE CMD... : start CMD on HOST in the background and record
# the daemon's own PID ($! after "func &" would be a subshell's)
ns_bg() {
    local n=$1 p=$2; shift 2
    (exec busybox nsenter --net=/run/netns/"$n" --uts=$LABRUN/uts/"$n" "$@") &
    echo $! >"$p"
}
sc() { local n=$1; shift; ns "$n" busybox sysctl -q -w "$@" >/dev/null; }   # sc HOST k=v...
ipvs() { ns "${IPVS_HOST:-director}" ipvsadm "$@"; }
# wait_for TIMEOUT_S CMD... : poll CMD every 0.2 s; prints the seconds waited
# (TIMEOUT_S: whole seconds)
wait_for() {
    local a=$EPOCHREALTIME tmo=$1; shift
    while :; do
        "$@" && { elapsed "$a"; return 0; }
        [ "$(_usecs_since "$a")" -gt $((tmo * 1000000)) ] && { elapsed "$a"; return 1; }
        nap 0.2
    done
}

# mkhost NAME... : a netns and a persistent UTS namespace whose hostname is NAME
# (the netns in one ip batch; busybox's unshare and hostname are static)
mkhost() {
    local n
    printf 'netns add %s\n' "$@" | ip -b -
    for n in "$@"; do
        : >$LABRUN/uts/"$n"
        busybox unshare --uts=$LABRUN/uts/"$n" busybox hostname "$n"
        echo "$n" >>$LABRUN/hosts
    done
}

# mac HOST-INDEX IFACE-INDEX : fixed, libvirt-style MACs
mac() { printf '52:54:00:00:%02x:%02x' "$2" "$1"; }

# topo_flat : one L2 segment for everybody (DR and TUN)
topo_flat() {
    TOPO=flat
    mkhost $HOSTS
    ip -b - <<EOF
link add br0 type bridge stp_state 0 forward_delay 0
link set br0 up
link add vnet0 type veth peer name eth0 address $(mac 10 0) netns client
link add vnet1 type veth peer name eth0 address $(mac 2 0) netns director
link add vnet2 type veth peer name eth0 address $(mac 3 0) netns director2
link add vnet3 type veth peer name eth0 address $(mac 11 0) netns rs1
link add vnet4 type veth peer name eth0 address $(mac 12 0) netns rs2
link set vnet0 master br0 up
link set vnet1 master br0 up
link set vnet2 master br0 up
link set vnet3 master br0 up
link set vnet4 master br0 up
EOF
    _addr client $CLIENT_IP; _addr director $DIR_IP; _addr director2 $DIR2_IP
    _addr rs1 $RS1_IP; _addr rs2 $RS2_IP
}

# topo_nat : client and VIP on br0, real servers on a private br1 behind the
# directors, default route via the floating gateway address
topo_nat() {
    TOPO=nat
    mkhost $HOSTS
    ip -b - <<EOF
link add br0 type bridge stp_state 0 forward_delay 0
link add br1 type bridge stp_state 0 forward_delay 0
link set br0 up
link set br1 up
link add vnet0 type veth peer name eth0 address $(mac 10 0) netns client
link add vnet1 type veth peer name eth0 address $(mac 2 0) netns director
link add vnet2 type veth peer name eth0 address $(mac 3 0) netns director2
link add vnet3 type veth peer name eth0 address $(mac 11 1) netns rs1
link add vnet4 type veth peer name eth0 address $(mac 12 1) netns rs2
link add vnet5 type veth peer name eth1 address $(mac 2 1) netns director
link add vnet6 type veth peer name eth1 address $(mac 3 1) netns director2
link set vnet0 master br0 up
link set vnet1 master br0 up
link set vnet2 master br0 up
link set vnet3 master br1 up
link set vnet4 master br1 up
link set vnet5 master br1 up
link set vnet6 master br1 up
EOF
    _addr client $CLIENT_IP
    _addr director $DIR_IP "link set eth1 up
addr add $DIR_NIP/24 dev eth1"
    _addr director2 $DIR2_IP "link set eth1 up
addr add $DIR2_NIP/24 dev eth1"
    _addr rs1 $RS1_NIP "route add default via $NAT_GW"
    _addr rs2 $RS2_NIP "route add default via $NAT_GW"
    sc director net.ipv4.ip_forward=1
    sc director2 net.ipv4.ip_forward=1
}

_addr() {   # _addr HOST IP [MORE ip -b LINES]
    printf 'link set lo up\nlink set eth0 up\naddr add %s/24 dev eth0\n%s\n' "$2" "${3:-}" |
        ip -n "$1" -b -
}
mac_of() { local l; l=$(ip -n "$1" -br link show "${2:-eth0}"); set -- $l; echo "$3"; }

# ---------------------------------------------------------------- real servers
# web_start RS : busybox httpd on :80 answering its own name; /healthz for
# keepalived's HTTP_GET
web_start() {
    [ -d $LABRUN/www/"$1" ] || mkdir -p $LABRUN/www/"$1"
    echo "$1" >$LABRUN/www/"$1"/index.html
    echo ok >$LABRUN/www/"$1"/healthz
    ns_bg "$1" $LABRUN/web-"$1".pid busybox httpd -f -p $PORT -h $LABRUN/www/"$1" </dev/null >/dev/null 2>&1
}
web_stop() {
    local p; [ -f $LABRUN/web-"$1".pid ] || return 0
    p=$(<$LABRUN/web-"$1".pid); kill "$p" 2>/dev/null
    while kill -0 "$p" 2>/dev/null; do nap 0.05; done; rm -f $LABRUN/web-"$1".pid
}
rs_vip_lo() {     # DR real server: VIP/32 on lo, and no ARP for it on eth0
    ip -n "$1" addr add $VIP/32 dev lo
    sc "$1" net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.eth0.arp_ignore=1 \
            net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.eth0.arp_announce=2
}
rs_vip_tun() {    # TUN real server: VIP on tunl0 (ipip), rp_filter off, no ARP for the VIP
    [ -d /sys/module/ipip ] || modprobe ipip      # creates tunl0 in every netns
    printf 'link set tunl0 up\naddr add %s/32 dev tunl0\n' $VIP | ip -n "$1" -b -
    sc "$1" net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
            net.ipv4.conf.tunl0.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0 \
            net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.eth0.arp_ignore=1 \
            net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.eth0.arp_announce=2
}
wait_tcp() {  # wait_tcp HOST IP PORT [TRIES of 0.1 s]
    local i
    for ((i = 0; i < ${4:-50}; i++)); do
        ns "$1" busybox nc -w 1 "$2" "$3" </dev/null >/dev/null 2>&1 && return 0; nap 0.1
    done
    return 1
}

# ---------------------------------------------------------------- keepalived
# ka_conf HOST STATE PRIORITY : prints a keepalived.conf for a director.
# Knobs (set by the scenario): LB_KIND=DR|TUN|NAT, CHECK=TCP_CHECK|HTTP_GET,
# VRRP=multicast|unicast.
ka_conf() {
    local h=$1 state=$2 prio=$3 me peer rip1=$RS1_IP rip2=$RS2_IP
    if [ "$h" = director ]; then me=$DIR_IP; peer=$DIR2_IP; else me=$DIR2_IP; peer=$DIR_IP; fi
    [ "$LB_KIND" = NAT ] && { rip1=$RS1_NIP; rip2=$RS2_NIP; }
    text <<EOF
! keepalived.conf of $h (lvslab scenario $SCENARIO)
global_defs {
    router_id $h
}

EOF
    if [ "$LB_KIND" = NAT ]; then
        text <<EOF
# the VIP and the real servers' gateway must move together
vrrp_sync_group VG_LVS {
    group {
        VI_VIP
        VI_GW
    }
}

EOF
    fi
    text <<EOF
vrrp_instance VI_VIP {
    state $state
    interface eth0
    virtual_router_id 51
    priority $prio
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass $AUTH_PASS
    }
EOF
    if [ "${VRRP:-multicast}" = unicast ]; then
        printf '    unicast_src_ip %s\n    unicast_peer {\n        %s\n    }\n' "$me" "$peer"
    fi
    text <<EOF
    virtual_ipaddress {
        $VIP
    }
}
EOF
    if [ "$LB_KIND" = NAT ]; then
        text <<EOF

vrrp_instance VI_GW {
    state $state
    interface eth1
    virtual_router_id 52
    priority $prio
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass $AUTH_PASS
    }
    virtual_ipaddress {
        $NAT_GW/24
    }
}
EOF
    fi
    text <<EOF

virtual_server $VIP $PORT {
    delay_loop 6
    lb_algo rr
    lb_kind $LB_KIND
    protocol TCP

EOF
    local rip
    for rip in $rip1 $rip2; do
        echo "    real_server $rip $PORT {"
        echo "        weight 1"
        if [ "${CHECK:-TCP_CHECK}" = HTTP_GET ]; then
            text <<EOF
        HTTP_GET {
            url {
                path /healthz
                status_code 200
            }
            connect_timeout 2
            retry 2
            delay_before_retry 1
        }
EOF
        else
            text <<EOF
        TCP_CHECK {
            connect_timeout 2
            retry 2
            delay_before_retry 1
        }
EOF
        fi
        echo "    }"
    done
    echo "}"
}

# ka_start HOST [CONF] : keepalived in HOST's namespaces, config under /run.
# It logs to syslog with its own facility (local1 = director, local2 =
# director2), which ka_journal turns into that host's journal, and to the
# console (stderr, keepalived's own "Day Mon DD HH:MM:SS YYYY: msg" format)
# into $LABRUN/HOST/keepalived.stderr.
ka_start() {
    local h=$1 conf=${2:-$LABRUN/$1/keepalived.conf} fac=1
    [ "$h" = director2 ] && fac=2
    [ -d $LABRUN/"$h" ] || mkdir -p $LABRUN/"$h"
    ns_bg "$h" $LABRUN/"$h"/keepalived.pid keepalived --dont-fork --log-console --log-detail -S "$fac" \
        -f "$conf" -p $LABRUN/"$h"/ka.pid -r $LABRUN/"$h"/ka-vrrp.pid -c $LABRUN/"$h"/ka-check.pid \
        </dev/null >$LABRUN/"$h"/keepalived.stderr 2>&1
}
ka_stop() {
    local p; [ -f $LABRUN/"$1"/keepalived.pid ] || return 0; p=$(<$LABRUN/"$1"/keepalived.pid)
    kill "$p" 2>/dev/null; while kill -0 "$p" 2>/dev/null; do nap 0.1; done
}
# ka_journal HOST : HOST's keepalived lines from the guest's shared syslog,
# as `journalctl -u keepalived` on that host would print them. busybox
# syslogd runs in the root UTS ns, so it writes "hypervisor local1.info"
# where the host's own journal has the host name: that field is replaced.
ka_journal() {
    local fac=local1; [ "$1" = director2 ] && fac=local2
    awk -v f="$fac." -v h="$1" 'index($5, f) == 1 {
        msg = $0; sub(/^[A-Z][a-z]+ +[0-9]+ [0-9:]+ [^ ]+ [^ ]+ /, "", msg)
        print substr($0, 1, 16) h " " msg }' /var/log/syslog
}
# vip_owner : which director has the VIP on eth0 right now
vip_owner() {
    local d a
    for d in $DIRECTORS; do
        a=$(ip -n "$d" -4 -o addr show dev eth0)
        [[ $a == *" $VIP/"* ]] && echo "$d"
    done
}
# the real servers of the VIP's service(s): the ip:port of every "->" line
ipvs_rs_list() {
    local l w out=""
    while read -r l; do
        # shellcheck disable=SC2206  # the line's words
        w=($l)
        [[ $l == *"->"* && ${w[2]:-} =~ ^(Route|Tunnel|Masq|Local)$ ]] && out+="${w[1]} "
    done <<<"$(ipvs -Ln)"
    printf '%s' "$out"
}
# ipvs_rs_count : how many real servers ipvs_rs_list finds
ipvs_rs_count() { local l; read -r -a l <<<"$(ipvs_rs_list)"; echo ${#l[@]}; }

# ---------------------------------------------------------------- client traffic
# get IP [HOST] : HTTP GET / from the client; prints the body ("rs1") or
# ERR(timeout|refused|unreach|reset|rc)
get() {
    local out rc
    # Debian's busybox nc: -w is the connect timeout only, so wrap it in timeout
    out=$(printf 'GET / HTTP/1.0\r\n\r\n' | ns "${2:-client}" busybox timeout $((HTTP_TMO+1)) \
          busybox nc -w "$HTTP_TMO" "$1" $PORT 2>$LABRUN/.nc.err); rc=$?
    case $out in "HTTP/1."?" 200"*) out=${out##*$'\n'};; *) [ $rc = 0 ] && rc=99;; esac
    if [ $rc != 0 ]; then
        case $(<$LABRUN/.nc.err) in
            *imed\ out*|*imeout*) rc=timeout;; *efused*) rc=refused;;
            *nreachable*) rc=unreach;; *eset*) rc=reset;; *) [ $rc = 143 ] && rc=timeout;;
        esac
    fi
    if [ $rc = 0 ]; then echo "$out"; else echo "ERR($rc)"; fi
}
vip_seq() { local i r=""; for ((i = 0; i < $1; i++)); do r="$r $(get "${2:-$VIP}")"; done; echo $r; }
both_answer() {   # no error, and both rs1 and rs2 answered
    local s=" $* "
    [[ $s != *ERR* && $s == *" rs1 "* && $s == *" rs2 "* ]]
}
all_err() { local x; for x in "$@"; do [[ $x == ERR* ]] || return 1; done; return 0; }

# ---------------------------------------------------------------- captures
# cap_start : tcpdump on every host's ethN and on the hypervisor's bridges,
# into $LABRUN/cap/HOST/IFACE.pcap; returns once all of them listen.
# Small snaplen and the short traffic window keep each pcap at a few KB.
# --immediate-mode: otherwise libpcap hands packets over in blocks retired
# every second, and the block still open when cap_stop interrupts tcpdump
# is lost: the last second of traffic, or all of it in a quick scenario.
cap_start() {
    local h i n=0
    : >$LABRUN/cap/list
    for h in $(<$LABRUN/hosts) hypervisor; do
        [ -d $LABRUN/cap/"$h" ] || mkdir -p $LABRUN/cap/"$h"
        for i in $(cap_ifaces "$h"); do
            if [ "$h" = hypervisor ]; then
                (exec tcpdump -i "$i" --immediate-mode -U -s 128 -w $LABRUN/cap/"$h"/"$i".pcap \
                    2>$LABRUN/cap/"$h"/"$i".err) &
                echo $! >$LABRUN/cap/"$h"/"$i".pid
            else
                ns_bg "$h" $LABRUN/cap/"$h"/"$i".pid tcpdump -i "$i" --immediate-mode -U -s 128 \
                    -w $LABRUN/cap/"$h"/"$i".pcap 2>$LABRUN/cap/"$h"/"$i".err
            fi
            echo "$h $i" >>$LABRUN/cap/list; n=$((n+1))
        done
    done
    wait_for 30 _caps_listening "$n" >/dev/null
}
_caps_listening() {   # tcpdump says "listening on" once
    local f n=0
    for f in "$LABRUN"/cap/*/*.err; do [[ -f $f && $(<"$f") == *"listening on"* ]] && n=$((n + 1)); done
    [ "$n" -ge "$1" ]
}
cap_ifaces() {
    local i l
    if [ "$1" = hypervisor ]; then for i in /sys/class/net/br*; do echo "${i##*/}"; done; return; fi
    while read -r l; do   # "2: eth0@if3: <BROADCAST,..."
        l=${l#*: }; l=${l%%: *}; l=${l%%@*}
        [[ $l == eth[0-9]* ]] && echo "$l"
    done <<<"$(ip -n "$1" -o link show)"
}
cap_stop() {
    local f p
    nap 0.3    # let the last replies land
    for f in "$LABRUN"/cap/*/*.pid; do kill -INT "$(<"$f")" 2>/dev/null; done
    for f in "$LABRUN"/cap/*/*.pid; do
        p=$(<"$f"); while kill -0 "$p" 2>/dev/null; do nap 0.05; done
    done
}

# ---------------------------------------------------------------- evidence
# host_role HOST
host_role() {
    case $1 in
        director*) echo director;; rs*) echo realserver;; client) echo client;;
        hypervisor) echo hypervisor;; *) echo unknown;;
    esac
}

# gather_case CASEDIR : what an engineer would paste from every host: one
# file per command, its first line "$ <command line>", then the raw output
# (stdout and stderr). One bash per host runs them all, because every exec
# costs under TCG. Not busybox sh: Debian's busybox prefers its own applets,
# so "ip" or "ss" in it would be busybox's, not the real tools. busybox is
# used on purpose only where its output is byte for byte the real tool's:
# cat, uname -a, and sysctl -a less the two deprecated neigh keys procps
# hides (dr-healthy checks both against procps and coreutils). procps'
# sysctl -a makes ~16000 syscalls (a failing readlink per path component),
# ~0.6 s a host under TCG; busybox's ~4000.
# The captures' tcpdump -e -n -r texts are written by the host once the
# guest has ended (lab/run, from LAB_OUT/tcpdump.want): the same tcpdump
# on the same pcap, natively instead of ~0.25 s a pcap under TCG.
gather_case() {
    local dir=$1 h role script hosts dirs=()
    hosts="$(<$LABRUN/hosts) hypervisor"
    for h in $hosts; do dirs+=("$dir/$h"); done
    mkdir -p "${dirs[@]}"   # one exec for all
    for h in $hosts; do
        role=$(host_role "$h")
        echo "$role" >"$dir/$h/role"
        script=$(_gather_script "$role")
        if [ "$h" = hypervisor ]; then
            (cd "$dir/$h" && NSTAT_HISTORY=$LABRUN/nstat.$h bash -c "$script")
        else
            (cd "$dir/$h" && NSTAT_HISTORY=$LABRUN/nstat.$h ns "$h" bash -c "$script")
        fi
        if [ "$role" = director ] && [ -f $LABRUN/"$h"/keepalived.conf ]; then
            cp $LABRUN/"$h"/keepalived.conf "$dir/$h/keepalived.conf"
            ka_journal "$h" >"$dir/$h/keepalived.log"
        fi
        _gather_captures "$dir" "$h"
        say "  gathered $h"
    done
    _case_yaml >"$dir/case.yaml"
}

# _gather_script ROLE : the shell script that captures one host.
# Order matters: nft/iptables-save before "iptables -t X -L", because
# listing a table with iptables-nft creates it.
_gather_script() {
    local role=$1
    text <<'EOF'
run() { f=$1; shift; { echo "\$ $*"; "$@" 2>&1; } >"$f"; }
bb() { f=$1; shift; { echo "\$ $*"; busybox "$@" 2>&1; } >"$f"; }
EOF
    if [ "$role" = director ]; then
        text <<'EOF'
run ipvsadm-Ln.txt ipvsadm -Ln
run ipvsadm-Ln-stats.txt ipvsadm -Ln --stats
run ipvsadm-Ln-rate.txt ipvsadm -Ln --rate
run ipvsadm-Lnc.txt ipvsadm -Lnc
run ipvsadm-Sn.txt ipvsadm -Sn
bb proc-net-ip_vs.txt cat /proc/net/ip_vs
bb proc-net-ip_vs_conn.txt cat /proc/net/ip_vs_conn
EOF
    fi
    text <<'EOF'
run ip-addr.txt ip addr
run ip-d-link.txt ip -d link
run ip-route.txt ip route
run ip-route-table-local.txt ip route show table local
run ip-rule.txt ip rule
run ip-neigh.txt ip neigh
{ echo '$ sysctl -a'; busybox sysctl -a 2>/dev/null | busybox grep -Ev "$SYSCTL_DEPRECATED"; } >sysctl-a.txt
run nft-list-ruleset.txt nft list ruleset
run iptables-save-c.txt iptables-save -c
for t in raw mangle nat filter; do
    run iptables-t-$t-L.txt iptables -t $t -L -n -v --line-numbers
done
run ss-lntup.txt ss -lntup
command -v netstat >/dev/null && run netstat-lntup.txt netstat -lntup
bb uname-a.txt uname -a
run lsmod.txt lsmod
run nstat-az.txt nstat -az
if [ -e /proc/sys/net/netfilter/nf_conntrack_count ]; then
    run conntrack-S.txt conntrack -S
    bb nf_conntrack_count.txt cat /proc/sys/net/netfilter/nf_conntrack_count
    bb nf_conntrack_max.txt cat /proc/sys/net/netfilter/nf_conntrack_max
fi
EOF
    if [ "$role" = hypervisor ]; then
        text <<'EOF'
run ebtables-t-nat-L.txt ebtables -t nat -L
run ebtables-t-nat-L-Lc.txt ebtables -t nat -L --Lc
run ebtables-t-filter-L.txt ebtables -t filter -L
run bridge-link.txt bridge link
EOF
    fi
}

_gather_captures() {   # _gather_captures CASEDIR HOST
    local dir=$1 h=$2 p i pcaps=()
    for p in "$LABRUN"/cap/"$h"/*.pcap; do [ -f "$p" ] && pcaps+=("$p"); done
    [ ${#pcaps[@]} -gt 0 ] || return 0
    cp "${pcaps[@]}" "$dir/$h/"
    for p in "${pcaps[@]}"; do
        i=${p##*/}; i=${i%.pcap}
        case $dir in
            "$LAB_OUT"/*) [ "${LAB_SHELL:-0}" = 1 ] || {
                echo "${dir#"$LAB_OUT"/}/$h $i" >>"$LAB_OUT/tcpdump.want"; continue; };;
        esac
        pcap_text "$dir/$h" "$i"
    done
}
# pcap_text DIR IFACE : DIR/tcpdump-IFACE.txt from DIR/IFACE.pcap; from inside
# the folder, so that tcpdump names the file as the case does (lab/run's
# pcap_texts does the same on the host)
pcap_text() {
    (cd "$1" && { echo "\$ tcpdump -e -n -r $2.pcap"; tcpdump -e -n -r "$2.pcap" 2>&1; } >"tcpdump-$2.txt")
}

_case_yaml() {
    text <<EOF
# lvslab scenario $SCENARIO: gathered by lab/lib/lab.sh gather_case
vip: $VIP
port: $PORT
proto: tcp
client: ${CASE_CLIENT:-$CLIENT_IP}
mode: ${LB_KIND:-}
symptom: ${SYMPTOM:-none, the cluster is healthy}
EOF
}

# ---------------------------------------------------------------- diagnosis
# diagnose CASEDIR EXPECT : lvsdoctor's diagnosis of the gathered case is
# checked on the host once the guest has ended (lib/diagnose.sh, called by
# lab/run): diagnose reads nothing but the case folder, which is on the
# host already, and a Go binary plus a python under TCG cost 5-7 s a
# scenario. Here: the request, one "CASEDIR-UNDER-LAB_OUT EXPECT" line.
# EXPECT=healthy: no finding with severity critical (exit status 0);
# EXPECT=<cause id>: findings[0].id is that cause and cites evidence.
diagnose() {
    local dir=$1 want=$2
    case $dir in
        "$LAB_OUT"/*) echo "${dir#"$LAB_OUT"/} $want" >>"$LAB_OUT/diagnose.want"
                      echo "  lvsdoctor: the host diagnoses ${dir#"$LAB_OUT"/} when the guest ends";;
        *) fail "lvsdoctor diagnosis is $want ($dir is not under $LAB_OUT, the host cannot see it)";;
    esac
}

# ---------------------------------------------------------------- scenario driver
# A scenario defines setup (build the cluster) and prove (real traffic through
# the VIP, with PASS/FAIL checks); EXPECT is "healthy" or the injected cause
# ID. lab_main runs setup, then prove under captures, then gathers the case
# and checks the diagnosis. With LAB_SHELL=1 it stops after setup so a person
# can poke at the cluster.
lab_main() {
    say "$SCENARIO: setup"
    setup
    say "$SCENARIO: ready"
    [ "${LAB_SHELL:-0}" = 1 ] && return 0
    cap_start
    say "$SCENARIO: captures running"
    prove
    cap_stop
    say "$SCENARIO: gathering evidence"
    local casedir=$LAB_OUT/testdata/$SCENARIO
    rm -rf "$casedir"
    gather_case "$casedir"
    local kb; kb=$(du -sk "$casedir"); kb=${kb%%[[:space:]]*}
    say "$SCENARIO: case gathered ($kb KB)"
    diagnose "$casedir" "$EXPECT"
    say "$SCENARIO: done"
    summary
}

# ---------------------------------------------------------------- the cluster
# cluster_up : the healthy cluster for LB_KIND (DR, TUN or NAT): topology, web
# servers, the VIP on the real servers, two keepalived directors (director
# MASTER, director2 BACKUP); returns once director owns the VIP and IPVS
# holds both real servers. CHECK and VRRP pick the checker and VRRP transport;
# KA_EDIT (a sed script) changes both keepalived.conf files; KA_NO_WAIT=1
# skips the wait for a scenario whose fault keeps the cluster from getting there.
cluster_up() {
    if [ "$LB_KIND" = NAT ]; then topo_nat; else topo_flat; fi
    web_start rs1; web_start rs2
    case $LB_KIND in
        DR) rs_vip_lo rs1; rs_vip_lo rs2;;
        TUN) rs_vip_tun rs1; rs_vip_tun rs2;;
    esac
    # KA_EDIT: a sed script a scenario applies to both keepalived.conf files
    ka_conf director MASTER 150 | sed -e "${KA_EDIT:-}" >$LABRUN/director/keepalived.conf
    ka_conf director2 BACKUP 100 | sed -e "${KA_EDIT:-}" >$LABRUN/director2/keepalived.conf
    ka_start director; ka_start director2
    [ "${KA_NO_WAIT:-0}" = 1 ] || ka_wait_ready
    [ "$LB_KIND" = NAT ] && wait_for 10 _gw_on_director >/dev/null
    return 0
}
_gw_on_director() { local a; a=$(ip -n director -4 -o addr show dev eth1); [[ $a == *" $NAT_GW/"* ]]; }

# baseline : before a fault is injected, the VIP works (so the fault is what breaks it)
baseline() {
    local r; r=$(vip_seq 2); echo "  baseline, client -> VIP x2: $r"
    check "baseline: the VIP works before the fault" both_answer $r
}
# direct_ok : both real servers answer the client directly (DR/TUN)
direct_ok() { [ "$(get $RS1_IP) $(get $RS2_IP)" = "rs1 rs2" ]; }

# ---------------------------------------------------------------- common checks
# ka_wait_ready : director is VRRP MASTER (owns the VIP) and keepalived's
# checkers put both real servers into its IPVS table.
ka_wait_ready() {
    local t n=2
    t=$(wait_for 30 _ka_ready "$n"); local rc=$?
    say "keepalived ready after ${t}s: VIP on $(vip_owner | tr '\n' ' ')"
    check "keepalived: director is MASTER and programs $n real servers" [ $rc = 0 ]
}
_ka_ready() { [ "$(vip_owner)" = director ] && [ "$(ipvs_rs_count)" = "$1" ]; }
client_vip_mac() {   # "192.0.2.100 dev eth0 lladdr 52:54:00:00:00:02 REACHABLE"
    local l w i
    while read -r l; do
        # shellcheck disable=SC2206  # the line's words
        w=($l)
        for ((i = 0; i < ${#w[@]} - 1; i++)); do [ "${w[i]}" = lladdr ] && echo "${w[i+1]}"; done
    done <<<"$(ip -n client neigh show $VIP)"
}
# prove_rs1_bypasses_director : the checks of a DR fault where rs1 answers ARP
# for the VIP beside the director (rs.arp-not-suppressed,
# rs.vip-on-physical-interface).
prove_rs1_bypasses_director() {
    local r c0 c1 n a i
    # rs1 and the director both answer ARP for the VIP; which reply the
    # client keeps is a race (the first within locktime wins), as on a real
    # LAN: the bypass is intermittent. The conflict shows in every arping;
    # the bypass is proved once the client has learnt rs1's MAC, flushing
    # and resolving again until it does (at most 8 times).
    a=$(ns client busybox arping -c 2 -w 2 -I eth0 $VIP); echo "$a" | sed 's/^/  /'
    check "rs1 answers ARP for the VIP: the client's arping gets rs1's MAC" \
        grep -qi "\[$(mac_of rs1)\]" <<<"$a"
    for i in 1 2 3 4 5 6 7 8; do
        ip -n client neigh flush all
        ns client busybox ping -c 1 -W 2 $VIP >/dev/null
        n=$(client_vip_mac)
        [ "$n" = "$(mac_of rs1)" ] && break
    done
    echo "  client's ARP entry for the VIP after $i resolution(s): $n (director $(mac_of director), rs1 $(mac_of rs1))"
    c0=$(ipvs_conns)
    r=$(vip_seq 4); echo "  client -> VIP x4: $r"
    c1=$(ipvs_conns)
    check "with rs1's MAC learnt, every answer comes from rs1, the director saw no new connection" \
        [ "$n" = "$(mac_of rs1)" -a "$r" = "rs1 rs1 rs1 rs1" -a "$c0" = "$c1" ]
}
tunl0_rx() {   # the packets column of the line after "RX:"
    local l rx=0
    while read -r l; do
        if [ "$rx" = 1 ]; then set -- $l; echo "$2"; return; fi
        [[ $l == RX:* ]] && rx=1
    done <<<"$(ip -n "$1" -s link show tunl0)"
}

# lab_help : printed by `lab/run --shell`
lab_help() {
    text <<EOF

lvslab: scenario $SCENARIO is set up. Hosts: $(tr '\n' ' ' <$LABRUN/hosts)+ hypervisor (the root netns).
  ns HOST CMD...            run CMD on HOST          e.g.  ns director ipvsadm -Ln
  get IP, vip_seq N         HTTP GET(s) from client  e.g.  vip_seq 4
  prove                     this scenario's traffic checks
  gather_case DIR           gather the evidence      e.g.  gather_case /lvsout/case
  \$LVSDOCTOR diagnose DIR   lvsdoctor (/lvsout is the host's ${LAB_OUT_HOST:-run folder})
  poweroff -f               leave (or Ctrl-A x)
EOF
}
_rs_count() { [ "$(ipvs_rs_count)" = "$1" ]; }
_vip_on() { [ "$(vip_owner)" = "$1" ]; }
ipvs_conns() { local l; mapfile -t l <<<"$(ns director busybox cat /proc/net/ip_vs_conn)"; echo $((${#l[@]} - 1)); }
# direct_ok_nat : in NAT the client cannot reach the real servers; the director can
direct_ok_nat() { [ "$(get $RS1_NIP director) $(get $RS2_NIP director)" = "rs1 rs2" ]; }
# rs2_or_err "ANSWERS" : the ones scheduled to rs1 fail, rs2's work; rr
# alternates, so: "rs2 ERR rs2 ERR" (or "ERR rs2 ERR rs2"), whatever the error
rs2_or_err() {
    local p
    # shellcheck disable=SC2001  # a regex, not a glob
    p=$(echo "$1" | sed 's/ERR([a-z0-9]*)/ERR/g')
    [ "$p" = "rs2 ERR rs2 ERR" ] || [ "$p" = "ERR rs2 ERR rs2" ]
}

# router_up HOST PORT : a router namespace between br0 (192.0.2.1) and a
# new bridge br1 (198.51.100.1); HOST, on bridge port PORT, moves to br1
# behind it, and the hosts left on br0 route everything else through it.
# Scenarios about subnets (dr-rs-not-on-link, no-return-route) use it.
GW=${GW:-192.0.2.1} GW2=${GW2:-198.51.100.1}
router_up() {
    local moved=$1 port=$2 h
    mkhost router
    ip -b - <<IPB
link add br1 type bridge stp_state 0 forward_delay 0
link set br1 up
link add vnet7 type veth peer name eth0 address $(mac 1 0) netns router
link add vnet8 type veth peer name eth1 address $(mac 1 1) netns router
link set vnet7 master br0 up
link set vnet8 master br1 up
link set $port nomaster
link set $port master br1 up
IPB
    _addr router "$GW" "link set eth1 up
addr add $GW2/24 dev eth1"
    sc router net.ipv4.ip_forward=1
    ip -n "$moved" route add default via "$GW2"
    for h in client director director2 rs1 rs2; do
        [ "$h" = "$moved" ] || ip -n "$h" route add default via "$GW"
    done
}
