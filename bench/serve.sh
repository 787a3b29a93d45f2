#!/bin/bash
# bench/serve.sh - what `lvsdoctor serve` costs a director, and the
# default interval that follows from it.
#
# 1. BenchmarkRun (internal/serve): one serve run — a real collection of
#    this host with collect's code, then intake, engine, rendering and
#    metrics — on generated directors up to 1,000 real servers and
#    1,000,000 connections (their host folder as collect writes it on the
#    lab's real director, the IPVS files grown to that size; this machine
#    has no IPVS). Per run: CPU time of the process and of the commands
#    it ran, peak resident memory of the runs, memory held between runs.
#    The interval at which the largest costs 1 % of one core is 100 times
#    its CPU per run; the default interval must be at least that.
# 2. The real binary: `lvsdoctor serve` on this host for DURATION seconds
#    at a 5 s interval; CPU per run from /proc/PID/stat (utime + stime of
#    the process and of the commands it waited for), its resident memory.
# 3. With FLEET hosts (root): one `lvsdoctor serve --inventory` polling
#    FLEET hosts over SSH against `lvsdoctor collect --inventory` of the
#    same hosts, FLEET_RUNS times each: wall time of a run and the
#    client's CPU. The hosts are inventory entries spread over 4 sshd on
#    127.0.0.1 (bench/lib/sshd.sh, as bench/collect.sh): every "host" is
#    this machine, so the wall times measure a shared CPU, not a network;
#    the hosts' side (sshd, the collection script) is the same both ways
#    and is not in the CPU columns.
#
# usage: bench/serve.sh [RUNS] [DURATION] [FLEET] [FLEET_RUNS]   (default 5 60 0 3)
#   FLEET=100 adds part 3 for 100 hosts (about 5 minutes on 2 busy cores)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}; DURATION=${2:-60}; FLEET=${3:-0}; FLEET_RUNS=${4:-3}
for n in $RUNS $DURATION $FLEET_RUNS; do [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [RUNS] [DURATION] [FLEET] [FLEET_RUNS]" >&2; exit 2; }; done
[[ $FLEET =~ ^[0-9]+$ ]] || { echo "usage: $0 [RUNS] [DURATION] [FLEET] [FLEET_RUNS]" >&2; exit 2; }
if [ "$FLEET" -gt 0 ] && [ "$(id -u)" != 0 ]; then echo "$0: FLEET needs root (sshd, logging in as root)" >&2; exit 2; fi
W=$(mktemp -d); PID=""; PIDS=()
cleanup() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    # each sshd leads its own process group: its session children go too
    for p in "${PIDS[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
go build -o "$W/lvsdoctor" ./cmd/lvsdoctor
default=$("$W/lvsdoctor" serve --help | sed -n 's/.*--interval duration.*(default \([^)]*\)).*/\1/p')
default_s=$(awk -v d="$default" 'BEGIN {
    s = 0; n = ""
    for (i = 1; i <= length(d); i++) {
        c = substr(d, i, 1)
        if (c ~ /[0-9.]/) { n = n c; continue }
        if (c == "h") s += n * 3600; else if (c == "m") s += n * 60; else if (c == "s") s += n
        n = ""
    }
    print s }')

echo "== BenchmarkRun, $RUNS runs per size; load average $(cut -d' ' -f1-3 /proc/loadavg)"
go test -count=1 -run '^$' -bench '^BenchmarkRun$' -benchtime "${RUNS}x" -benchmem ./internal/serve >"$W/bench.txt"
printf '%-26s %9s %9s %10s %10s %12s\n' "director" "wall s" "CPU s" "peak MiB" "held MiB" "1% core at"
awk '/^BenchmarkRun\// {
    split($1, p, "/"); rs = p[2]; sub(/^rs=/, "", rs); c = p[3]; sub(/^conns=/, "", c); sub(/-[0-9]+$/, "", c)
    for (i = 2; i < NF; i++) v[$(i + 1)] = $i
    printf "%-26s %9.2f %9.3f %10.0f %10.1f %10.0f s\n", rs " RS, " c " conns", v["ns/op"] / 1e9, v["cpu-s/op"], v["peak-MiB"], v["held-MiB"], v["s-interval-1%-core"]
    last = v["cpu-s/op"]
} END {
    printf "default --interval %s: the largest director spends %.2f %% of one core\n", "'"$default"'", 100 * last / '"$default_s"'
}' "$W/bench.txt"

echo
echo "== lvsdoctor serve on this host, --interval 5s, ${DURATION}s"
"$W/lvsdoctor" serve --listen 127.0.0.1:0 --interval 5s 2>"$W/serve.log" &
PID=$!
sleep "$DURATION"
read -r ut st cut cst < <(awk '{print $14, $15, $16, $17}' "/proc/$PID/stat")
hz=$(getconf CLK_TCK)
rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$PID/status")
hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$PID/status")
runs=$(grep -c 'run took' "$W/serve.log" || true)
took=$(sed -n 's/.*run took \([0-9.]*\)\(m\?s\).*/\1 \2/p' "$W/serve.log" | awk '{t = ($2 == "ms") ? $1 / 1000 : $1; print t}' | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
awk -v ut="$ut" -v st="$st" -v cut="$cut" -v cst="$cst" -v hz="$hz" -v runs="$runs" -v rss="$rss" -v hwm="$hwm" -v took="$took" -v d="$default_s" 'BEGIN {
    cpu = (ut + st + cut + cst) / hz
    printf "%d runs, median %.3f s each; CPU %.2f s in all (commands %.2f s): %.3f s per run\n", runs, took, cpu, (cut + cst) / hz, cpu / runs
    printf "resident memory %.1f MiB now, %.1f MiB at most\n", rss / 1024, hwm / 1024
    printf "at the default interval this host costs %.3f %% of one core\n", 100 * cpu / runs / d
}'
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""

[ "$FLEET" -gt 0 ] || exit 0
echo
echo "== $FLEET hosts over SSH (4 sshd on 127.0.0.1), $FLEET_RUNS runs each; load average $(cut -d' ' -f1-3 /proc/loadavg)"
unset SSH_AUTH_SOCK # keys from files only (--no-agent)
# shellcheck source=bench/lib/sshd.sh
. bench/lib/sshd.sh
sshd_start 4
sshd_inventory "$FLEET" >"$W/inv.yaml"
remote=(--inventory "$W/inv.yaml" --known-hosts "$W/known_hosts" --no-agent)
for _ in $(seq "$FLEET_RUNS"); do
    /usr/bin/time -f '%e %U %S' -o "$W/ct" "$W/lvsdoctor" collect "${remote[@]}" --dir "$W/c" >/dev/null 2>"$W/collect.log" ||
        { echo "$0: collect failed:" >&2; tail -5 "$W/collect.log" >&2; exit 1; }
    n=$(find "$W/c" -mindepth 2 -maxdepth 2 -name ip-d-addr.txt -size +0 | wc -l)
    [ "$n" = "$FLEET" ] || { echo "$0: collect: $n of $FLEET hosts have ip-d-addr.txt" >&2; exit 1; }
    tail -n 1 "$W/ct" >>"$W/collect.times"
    rm -rf "$W/c"
done
# serve's runs back to back (a 1 s interval shorter than a run)
"$W/lvsdoctor" serve --listen 127.0.0.1:0 --interval 1s "${remote[@]}" 2>"$W/fleet.log" &
PID=$!
while [ "$(grep -c 'run took' "$W/fleet.log" || true)" -lt "$FLEET_RUNS" ]; do
    kill -0 "$PID" 2>/dev/null || { echo "$0: serve exited:" >&2; tail -5 "$W/fleet.log" >&2; exit 1; }
    grep -q 'run failed' "$W/fleet.log" && { echo "$0: a serve run failed:" >&2; grep 'run failed' "$W/fleet.log" | head -3 >&2; exit 1; }
    sleep 0.2
done
read -r ut st cut cst < <(awk '{print $14, $15, $16, $17}' "/proc/$PID/stat")
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
grep -q "$FLEET hosts" "$W/fleet.log" || { echo "$0: serve did not diagnose $FLEET hosts:" >&2; head -3 "$W/fleet.log" >&2; exit 1; }
if grep -q 'not collected' "$W/fleet.log"; then echo "$0: serve could not collect every host:" >&2; grep 'not collected' "$W/fleet.log" | head -3 >&2; exit 1; fi
runs=$(grep -c 'run took' "$W/fleet.log")
serve_wall=$(sed -n 's/.*run took \([0-9.]*\)\(m\?s\).*/\1 \2/p' "$W/fleet.log" | awk '{print ($2 == "ms") ? $1 / 1000 : $1}' | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
collect_wall=$(awk '{print $1}' "$W/collect.times" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
collect_cpu=$(awk '{print $2 + $3}' "$W/collect.times" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
awk -v sw="$serve_wall" -v cw="$collect_wall" -v cc="$collect_cpu" -v ut="$ut" -v st="$st" -v cut="$cut" -v cst="$cst" \
    -v hz="$(getconf CLK_TCK)" -v runs="$runs" -v n="$FLEET" 'BEGIN {
    sc = (ut + st + cut + cst) / hz / runs
    printf "%-52s %10s %12s\n", "", "wall s", "client CPU s"
    printf "%-52s %10.2f %12.2f\n", "lvsdoctor collect --inventory (median)", cw, cc
    printf "%-52s %10.2f %12.2f\n", "lvsdoctor serve --inventory, one run (median; CPU mean)", sw, sc
    printf "ratio serve run / collect: %.2f wall, %.2f client CPU; %.1f hosts/s\n", sw / cw, sc / cc, n / sw
}'
