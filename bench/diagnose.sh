#!/bin/bash
# bench/diagnose.sh - lvsdoctor diagnose on a generated case (1 director,
# N real servers, an `ipvsadm -Lnc` of M lines) side by side with what a
# person would otherwise run on the same files: awk counting connections
# per real server and grep for the VIP in every host's `ip addr`. Times are
# medians of R runs in one session, the three commands taking turns, so
# the ratio holds on a noisy machine. Peak memory is diagnose's maximum
# resident set (GNU time's %M), median of R runs, beside the size of the
# `-Lnc` file and of the whole case.
#
# usage: bench/diagnose.sh [RS] [CONNS] [RUNS]     (default 1000 1000000 5)
set -euo pipefail
cd "$(dirname "$0")/.."
RS=${1:-1000}; CONNS=${2:-1000000}; R=${3:-5}
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
go build -o "$W/lvsdoctor" ./cmd/lvsdoctor
# The same generator as the Go benchmark (e2e.genCase), through a test hook.
LVSDOCTOR_GEN_CASE="$W/case" LVSDOCTOR_GEN_RS=$RS LVSDOCTOR_GEN_CONNS=$CONNS \
    go test -count=1 -run '^TestGenerateBenchCase$' ./e2e >/dev/null
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms() { # ms CMD... : the wall time of one run, in ms
    local a b
    a=$(date +%s%N); "$@" >/dev/null 2>&1 || true; b=$(date +%s%N)
    echo $(( (b - a) / 1000000 ))
}
peak() { # peak CMD... : prints the median peak RSS in KB of R runs
    local i
    for i in $(seq "$R"); do
        /usr/bin/time -f '%M' -o "$W/rss" "$@" >/dev/null 2>&1 || true
        tail -n 1 "$W/rss"
    done | median
}
size=$(du -sh "$W/case" | cut -f1)
lnc=$(stat -c %s "$W/case/ds1/ipvsadm-Lnc.txt")
case_kb=$(du -sk "$W/case" | cut -f1)
for i in $(seq "$R"); do
    ms "$W/lvsdoctor" diagnose "$W/case" -o json >>"$W/d"
    ms awk '$1=="TCP"||$1=="UDP" {c[$NF]++} END {for (k in c) print k, c[k]}' "$W/case/ds1/ipvsadm-Lnc.txt" >>"$W/a"
    ms grep -rl --include=ip-addr.txt 192.0.2.100 "$W/case" >>"$W/g"
done
d=$(median <"$W/d"); a=$(median <"$W/a"); g=$(median <"$W/g")
echo "case: 1 director, $RS real servers, $CONNS connection lines ($size), median of $R runs"
printf '%-58s %8s ms\n' "lvsdoctor diagnose (all files, all rules)" "$d"
printf '%-58s %8s ms\n' "awk: connections per real server (ipvsadm -Lnc only)" "$a"
printf '%-58s %8s ms\n' "grep: hosts holding the VIP (ip addr only)" "$g"
awk -v d="$d" -v a="$a" -v g="$g" 'BEGIN {printf "ratio lvsdoctor/awk: %.2f   lvsdoctor/(awk+grep): %.2f\n", d/a, d/(a+g)}'
if [ -x /usr/bin/time ]; then
    m=$(peak "$W/lvsdoctor" diagnose "$W/case" -o json)
    awk -v m="$m" -v f="$lnc" -v c="$case_kb" 'BEGIN {printf "peak memory: %.1f MB   ipvsadm -Lnc file: %.1f MB (peak/file %.2f)   case on disk: %.1f MB (peak/case %.2f)\n", m/1024, f/1048576, m*1024/f, c/1024, m/c}'
else
    echo "peak memory: not measured (needs GNU time at /usr/bin/time)"
fi
