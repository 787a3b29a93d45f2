#!/bin/bash
# bench/collect.sh - lvsdoctor collect side by side with what a person would
# otherwise run for the same evidence: on this host, a plain bash script of
# the usual commands (ip, ss, sysctl -a, iptables-save, nft, /proc/net/...)
# into files; over SSH, that script run with OpenSSH's client on every host
# of a list, one after another in a for loop and 16 at a time with xargs -P
# (lvsdoctor's default concurrency). The SSH hosts are inventory entries
# spread over 4 sshd instances this script starts on 127.0.0.1 with
# throw-away keys; every "host" is this machine logging in as root, so each
# login also runs root's shell startup files (the login-only row). Runs of
# the methods alternate, so a load change on a shared machine hits them all;
# times are medians of RUNS (local) and SSH_RUNS (over SSH) runs.
#
# On one machine the "hosts" share its CPU with the client, so the parallel
# rows measure the total CPU each way costs, not a real cluster's wall time.
#
# usage: bench/collect.sh [HOSTS] [RUNS] [SSH_RUNS]   (default "10 50" 5 1)
#   HOSTS: host counts, e.g. "10" (1 minute) or "10 50 100" (10 minutes);
#   the default takes about 4 minutes on 2 busy cores
set -euo pipefail
cd "$(dirname "$0")/.."
HOSTS=${1:-10 50}; HOSTS=${HOSTS//,/ }; R=${2:-5}; RS=${3:-1}
SERVERS=4
for n in $HOSTS $R $RS; do [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [HOSTS] [RUNS] [SSH_RUNS]" >&2; exit 2; }; done
[ "$(id -u)" = 0 ] || { echo "$0: needs root (sshd, logging in as root, the evidence root reads)" >&2; exit 2; }
for t in ssh xargs tar; do
    command -v "$t" >/dev/null || { echo "$0: $t is missing (openssh-server, openssh-client)" >&2; exit 2; }
done

W=$(mktemp -d); PIDS=()
cleanup() {
    # each sshd leads its own process group: its session children go too
    for p in "${PIDS[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
unset SSH_AUTH_SOCK # keys from files only, as lvsdoctor --no-agent

go build -o "$W/lvsdoctor" ./cmd/lvsdoctor

# --- the by-hand script -------------------------------------------------
cat >"$W/byhand.sh" <<'EOF'
#!/bin/bash
# The same evidence by hand, into folder $1; with "-", into a temp folder
# sent back as a tar stream (how it runs over ssh). In a function so that
# bash -s has read all of it before a command could eat stdin.
main() {
export LC_ALL=C PATH="$PATH:/usr/sbin:/sbin"
if [ "$1" = - ]; then d=$(mktemp -d); else d=$1; mkdir -p "$d"; fi
cd "$d" || exit 1
# listing a firewall, IPVS or conntrack must not load its module
loaded() { [ ! -e /proc/modules ] || [ -d "/sys/module/$1" ]; }
loaded nf_tables && nft -j list ruleset >nft-ruleset.json
{ loaded nf_tables || loaded ip_tables; } && iptables-save -c >iptables-save.txt
{ loaded nf_tables || loaded ip6_tables; } && ip6tables-save -c >ip6tables-save.txt
if [ -e /proc/net/ip_vs ]; then
    cat /proc/net/ip_vs >ip_vs.txt; cat /proc/net/ip_vs_conn >ip_vs_conn.txt; cat /proc/net/ip_vs_stats >ip_vs_stats.txt
    ipvsadm -Ln --stats >ipvsadm-stats.txt; ipvsadm -Ln --rate >ipvsadm-rate.txt; ipvsadm -Ln --timeout >ipvsadm-timeout.txt
    sysctl net.ipv4.vs >sysctl-vs.txt
fi
ip -d addr show >ip-addr.txt
ip -d link show >ip-link.txt
ip route show table all >ip-route.txt
ip -6 route show table all >ip6-route.txt
ip rule show >ip-rule.txt
ip -6 rule show >ip6-rule.txt
ip neigh show >ip-neigh.txt
ss -lntup >ss.txt
sysctl -a >sysctl.txt 2>/dev/null
cat /proc/net/snmp >snmp.txt; cat /proc/net/netstat >netstat.txt; cat /proc/net/snmp6 >snmp6.txt
if [ -e /proc/sys/net/netfilter/nf_conntrack_max ]; then
    cat /proc/sys/net/netfilter/nf_conntrack_count /proc/sys/net/netfilter/nf_conntrack_max >conntrack-count-max.txt
    cat /proc/net/stat/nf_conntrack >conntrack-stat.txt
    loaded nf_conntrack_netlink && conntrack -S >conntrack-S.txt
fi
uname -a >uname.txt; cat /etc/os-release >os-release; ls -l /boot >boot.txt
dpkg -l 'linux-image*' >dpkg-kernels.txt 2>/dev/null
cat /sys/class/dmi/id/sys_vendor /sys/class/dmi/id/product_name >dmi.txt 2>/dev/null
dmesg -T | tail -c 4194304 >dmesg.txt
keepalived -v >keepalived-v.txt 2>&1
[ -d /etc/keepalived ] && cp -r /etc/keepalived .
if [ -d /run/systemd/system ]; then journalctl -u keepalived -n 5000 --no-pager >keepalived.log
else grep -ah Keepalived /var/log/messages /var/log/syslog 2>/dev/null | tail -n 5000 >keepalived.log; fi
if [ -e /run/libvirt/libvirt-sock-ro ]; then
    virsh -r list --all >virsh-list.txt
    for v in $(virsh -r list --all --name); do virsh -r dumpxml "$v" >"virsh-$v.xml"; done
    virsh -r nwfilter-list >nwfilter-list.txt
    for f in $(virsh -r nwfilter-list | awk 'NR > 2 && NF >= 2 { print $2 }'); do virsh -r nwfilter-dumpxml "$f" >"nwfilter-$f.xml"; done
fi
for n in /sys/class/net/*/device; do n=${n%/device}; n=${n##*/}; ethtool -S "$n" >"ethtool-S-$n.txt"; done 2>/dev/null
if [ "$1" = - ]; then tar -cf - .; cd /; rm -rf "$d"; fi
}
main "$@" </dev/null
EOF

# --- sshd instances on loopback -------------------------------------------
# shellcheck source=bench/lib/sshd.sh
. bench/lib/sshd.sh
sshd_start "$SERVERS"
# what a person puts in ~/.ssh/config; here with the throw-away files
cat >"$W/ssh_config" <<EOF
Host *
    HostName 127.0.0.1
    User root
    IdentityFile $W/user
    IdentitiesOnly yes
    BatchMode yes
    StrictHostKeyChecking yes
    UserKnownHostsFile $W/known_hosts
    GlobalKnownHostsFile /dev/null
    LogLevel ERROR
    ConnectTimeout 60
EOF
export W

hostlist() { sshd_hosts "$1"; }
inventory() { sshd_inventory "$1"; }

# --- the methods; each writes its evidence under folder $1 ----------------
m_lvsdoctor_local() { "$W/lvsdoctor" collect --dir "$1"; }
m_byhand_local() { bash "$W/byhand.sh" "$1/$(hostname -s)"; }
m_lvsdoctor_ssh() { "$W/lvsdoctor" collect --inventory "$W/inv$N.yaml" --known-hosts "$W/known_hosts" --no-agent --dir "$1"; }
m_for_ssh() {
    local h
    for h in $(hostlist "$N"); do
        mkdir -p "$1/${h%:*}"
        ssh -F "$W/ssh_config" -p "${h#*:}" "${h%:*}" 'bash -s -- -' <"$W/byhand.sh" | tar -x -C "$1/${h%:*}"
    done
}
# shellcheck disable=SC2016 # expanded by the sh that xargs runs
m_xargs_ssh() {
    hostlist "$N" | tr : ' ' | xargs -P 16 -L 1 sh -c \
        'mkdir -p "$0/$1" && ssh -F "$W/ssh_config" -p "$2" "$1" "bash -s -- -" <"$W/byhand.sh" | tar -x -C "$0/$1"' "$1"
}
# shellcheck disable=SC2016
m_login_ssh() { hostlist "$N" | tr : ' ' | xargs -P 16 -L 1 sh -c 'ssh -F "$W/ssh_config" -p "$2" "$1" true' "$1"; }

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
run() { # METHOD EVIDENCE-FILE: time one run into a fresh folder, then check
    local out="$W/out" a b n hosts=${N/local/1}
    rm -rf "$out"; mkdir "$out"
    a=$(date +%s%N)
    "$1" "$out" >"$W/run.log" 2>&1 || { echo "$0: $1 failed:" >&2; tail -5 "$W/run.log" >&2; exit 1; }
    b=$(date +%s%N)
    echo $(((b - a) / 1000000)) >>"$W/t.$1.$N"
    # every host's folder holds the evidence, or the time means nothing
    [ -n "$2" ] || return 0
    n=$(find "$out" -mindepth 2 -maxdepth 2 -name "$2" -size +0 | wc -l)
    [ "$n" = "$hosts" ] || { echo "$0: $1: $n of $hosts hosts have $2" >&2; tail -5 "$W/run.log" >&2; exit 1; }
    if [ ! -e "$W/size.$1.$N" ]; then # evidence per host, from the first run
        find "$out" -type f ! -path '*/.collect/*' -printf '%s\n' |
            awk -v h="$hosts" '{s += $1} END {printf "%d %d\n", NR / h, s / h / 1024}' >"$W/size.$1.$N"
    fi
}
t() { median <"$W/t.$1.$2"; }
sec() { awk -v ms="$1" 'BEGIN {printf "%.2f s", ms / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

load0=$(cut -d' ' -f1-3 /proc/loadavg)
N=local
for _ in $(seq "$R"); do
    run m_lvsdoctor_local ip-d-addr.txt
    run m_byhand_local ip-addr.txt
done
for N in $HOSTS; do
    inventory "$N" >"$W/inv$N.yaml"
    for _ in $(seq "$RS"); do
        run m_lvsdoctor_ssh ip-d-addr.txt
        run m_for_ssh ip-addr.txt
        run m_xargs_ssh ip-addr.txt
        run m_login_ssh ''
    done
done

read -r lf lk <"$W/size.m_lvsdoctor_local.local"
read -r bf bk <"$W/size.m_byhand_local.local"
echo "this host: lvsdoctor $lf files ($lk KiB), by hand $bf files ($bk KiB); median of $R runs; load average $load0 at the start"
printf '%-62s %10s\n' "lvsdoctor collect" "$(sec "$(t m_lvsdoctor_local local)")"
printf '%-62s %10s\n' "bash script by hand (the same commands into files)" "$(sec "$(t m_byhand_local local)")"
printf '%-62s %10s\n' "ratio lvsdoctor / by hand" "$(ratio "$(t m_lvsdoctor_local local)" "$(t m_byhand_local local)")"
echo
echo "over SSH: hosts spread over $SERVERS sshd on 127.0.0.1 (this machine, a root login each); median of $RS runs"
row() { # LABEL FUNC ARGS...: one cell per host count
    local label=$1 n; shift
    printf '%-50s' "$label"
    for n in $HOSTS; do printf ' %12s' "$("$@" "$n")"; done
    echo
}
cell_t() { sec "$(t "$1" "$2")"; }
cell_ratio() { ratio "$(t "$1" "$3")" "$(t "$2" "$3")"; }
cell_rate() { awk -v n="$2" -v ms="$(t "$1" "$2")" 'BEGIN {printf "%.1f", n / (ms / 1000)}'; }
printf '%-50s' "hosts"; for n in $HOSTS; do printf ' %12s' "$n"; done; echo
row "lvsdoctor collect --inventory (16 at once)" cell_t m_lvsdoctor_ssh
row "for h in ...; do ssh \$h bash -s <byhand; done" cell_t m_for_ssh
row "xargs -P 16: ssh \$h bash -s <byhand" cell_t m_xargs_ssh
row "login only, xargs -P 16: ssh \$h true" cell_t m_login_ssh
row "ratio for-loop / lvsdoctor" cell_ratio m_for_ssh m_lvsdoctor_ssh
row "ratio xargs -P 16 / lvsdoctor" cell_ratio m_xargs_ssh m_lvsdoctor_ssh
row "lvsdoctor hosts/s" cell_rate m_lvsdoctor_ssh
first=${HOSTS%% *}
read -r sf sk <"$W/size.m_lvsdoctor_ssh.$first"
read -r xf xk <"$W/size.m_xargs_ssh.$first"
echo "evidence per host over SSH: lvsdoctor $sf files ($sk KiB), by hand $xf files ($xk KiB); load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
