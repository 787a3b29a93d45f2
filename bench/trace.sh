#!/bin/bash
# bench/trace.sh - lvsdoctor trace side by side with the filter-only passes
# people run on the same capture: `tcpdump -r FILE -w /dev/null 'host VIP'`
# and `tshark -r FILE -Y 'ip.addr==VIP'`, on one generated capture (a
# director's view of a busy network with some connections to the VIP,
# written with gopacket by internal/trace/cmd/tracegen) in a temp dir.
#
# lvsdoctor does more than filter: it keys the VIP's connections, matches
# each forwarded copy to the packet it came from, and writes the timeline
# and findings (as JSON here). It maps the file and decodes it on both
# cores (its max RSS counts the mapped pages in flight). Each tool reads
# the file from the page cache (it is read once first); times are medians
# of R runs, alternating tools, so the ratios hold on a shared machine.
# tshark runs once: it is slow.
#
# usage: bench/trace.sh [SIZE_MB] [RUNS] [VIP_FLOWS]   (default 1024 3 200)
set -euo pipefail
cd "$(dirname "$0")/.."
MB=${1:-1024}; R=${2:-3}; FLOWS=${3:-200}
W=$(mktemp -d /tmp/lvsdoctor-trace-bench.XXXXXX); trap '[ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT
command -v tcpdump >/dev/null || { echo "tcpdump is missing: apt-get install tcpdump" >&2; exit 2; }
have_tshark=1
command -v tshark >/dev/null || { have_tshark=0; echo "tshark is missing (DEBIAN_FRONTEND=noninteractive apt-get install -y tshark): its row is left out" >&2; }
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "/usr/bin/time is missing: apt-get install time" >&2; exit 2; }

go build -o "$W/lvsdoctor" ./cmd/lvsdoctor
go build -o "$W/tracegen" ./internal/trace/cmd/tracegen
gen=$("$W/tracegen" -o "$W/director.pcap" -mb "$MB" -vip-flows "$FLOWS")
# packets=N bytes=N vip_packets=N vip_flows=N vip=A
eval "$gen"
bytes=$(stat -c %s "$W/director.pcap")
cat "$W/director.pcap" >/dev/null

# run NAME CMD...: one timed run; appends "wall user sys maxrss_kb" to
# $W/time.NAME (wall in ms resolution: GNU time's is 10 ms), its output
# in $W/out.NAME.
run() {
    local name=$1 a b; shift
    a=$(date +%s%N)
    "$TIME" -q -o "$W/t" -f '%U %S %M' "$@" >"$W/out.$name" 2>"$W/err.$name" || true
    b=$(date +%s%N)
    echo "$(( (b - a) / 1000000 )) $(cat "$W/t")" | awk '{printf "%.3f %s %s %s\n", $1/1000, $2, $3, $4}' >>"$W/time.$name"
}
for i in $(seq "$R"); do
    run lvsdoctor "$W/lvsdoctor" trace "$W/director.pcap" --vip "$vip:80" -o json
    run tcpdump tcpdump -r "$W/director.pcap" -w /dev/null "host $vip"
done
[ "$have_tshark" = 1 ] && run tshark tshark -r "$W/director.pcap" -n -Y "ip.addr==$vip"

# What each tool found, so that a fast wrong answer does not count.
conns=$(grep -o '"connections": [0-9]*' "$W/out.lvsdoctor" | head -1 | grep -o '[0-9]*$' || echo 0)
mode=$(grep -o '"mode": "[a-z]*"' "$W/out.lvsdoctor" | head -1 | cut -d'"' -f4 || true)
tcpd=$(tcpdump -r "$W/director.pcap" -w - "host $vip" 2>/dev/null | tcpdump -r - 2>/dev/null | wc -l)
tsh=""
[ "$have_tshark" = 1 ] && tsh=$(wc -l <"$W/out.tshark")
if [ "$conns" != "$vip_flows" ]; then
    echo "lvsdoctor followed $conns connections, the capture holds $vip_flows:" >&2
    head -c 2000 "$W/out.lvsdoctor" "$W/err.lvsdoctor" >&2
    exit 1
fi
if [ "$tcpd" != "$vip_packets" ]; then
    echo "tcpdump matched $tcpd packets, the capture holds $vip_packets for the VIP" >&2
    exit 1
fi

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
col() { awk -v c="$2" '{print $c}' "$W/time.$1" | median; }
cpu() { awk '{print $2+$3}' "$W/time.$1" | median; }
printf 'capture: %s packets, %.0f MB (%s connections to %s:80, %s of its packets; %s mode)\n' \
    "$packets" "$(echo "$bytes" | awk '{print $1/1048576}')" "$vip_flows" "$vip" "$vip_packets" "$mode"
printf 'median of %s runs (tshark: 1), file in the page cache, %s cores\n\n' "$R" "$(nproc)"
printf '%-62s %8s %8s %8s %9s\n' "" "wall s" "MB/s" "CPU s" "max RSS"
row() { # row NAME LABEL
    local w c m
    w=$(col "$1" 1); c=$(cpu "$1"); m=$(col "$1" 4)
    printf '%-62s %8.3f %8.0f %8.2f %7.0fMB\n' "$2" "$w" "$(awk -v b="$bytes" -v w="$w" 'BEGIN {print (w > 0 ? b/1048576/w : 0)}')" "$c" "$(awk -v m="$m" 'BEGIN {print m/1024}')"
}
row lvsdoctor "lvsdoctor trace --vip (keying, correlation, timeline, JSON)"
row tcpdump "tcpdump -r FILE -w /dev/null 'host VIP' (filter only)"
[ "$have_tshark" = 1 ] && row tshark "tshark -r FILE -Y 'ip.addr==VIP' (filter, dissect, print)"
l=$(col lvsdoctor 1); t=$(col tcpdump 1)
echo
awk -v l="$l" -v t="$t" 'BEGIN {printf "tcpdump/lvsdoctor wall time: %.2f (above 1: lvsdoctor is faster)\n", t/l}'
awk -v l="$(cpu lvsdoctor)" -v t="$(cpu tcpdump)" 'BEGIN {printf "tcpdump/lvsdoctor CPU time:  %.2f (lvsdoctor maps the file and decodes it on both cores)\n", t/l}'
if [ "$have_tshark" = 1 ]; then
    s=$(col tshark 1)
    awk -v l="$l" -v s="$s" 'BEGIN {printf "tshark/lvsdoctor wall time:  %.1f\n", s/l}'
fi
echo "found: lvsdoctor $conns connections; tcpdump $tcpd packets${tsh:+; tshark $tsh packets}"
