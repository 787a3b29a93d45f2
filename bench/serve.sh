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
#
# usage: bench/serve.sh [RUNS] [DURATION]   (default 5 60)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}; DURATION=${2:-60}
for n in $RUNS $DURATION; do [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [RUNS] [DURATION]" >&2; exit 2; }; done
W=$(mktemp -d); PID=""
cleanup() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    rm -rf "$W"
}
trap cleanup EXIT
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
