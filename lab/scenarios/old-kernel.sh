#!/bin/bash
# lvsdoctor collect and watch on a kernel without what old and custom
# kernels lack: IPVS (a custom build), BTF (CentOS 7's 3.10, RHEL 8.0),
# kprobes, sock_diag with module loading disabled (a hardened host). The
# 6.1 guest plays each by hiding it: the ipvs module folder under a tmpfs
# (the real modprobe then fails, as where IPVS was never built),
# /sys/kernel/btf likewise (no CONFIG_DEBUG_INFO_BTF), the kprobe PMU's
# sysfs folder (no CONFIG_KPROBES; tracefs is not mounted), and last
# kernel.modules_disabled=1 while sock_diag's modules are not loaded.
# Each command must say what is missing and carry on as documented
# (collect writes what it can and exits 0; watch falls back to counter
# deltas without BTF, or traces without the IPVS events), never panic,
# and load no module. No case is gathered: nothing to diagnose.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
OUT=$LAB_OUT/old-kernel
rm -rf "$OUT"; mkdir -p "$OUT"
IPVS_MODDIR=/lib/modules/$(uname -r)/kernel/net/netfilter/ipvs
KPROBE_PMU=/sys/bus/event_source/devices/kprobe

mods() { local m _; while read -r m _; do echo "$m"; done </proc/modules; }
# run NAME CMD... : lvsdoctor's output into $OUT/NAME.out and .err, its
# exit status into RC; the module list before and after into MODS_BEFORE/AFTER
run() {
    local n=$1; shift
    MODS_BEFORE=$(mods)
    "$LVSDOCTOR" "$@" >"$OUT/$n.out" 2>"$OUT/$n.err"; RC=$?
    MODS_AFTER=$(mods)
    echo "  lvsdoctor $*: exit $RC"; sed 's/^/    /' "$OUT/$n.err" | head -8
}
# watch_run NAME ARGS... : lvsdoctor watch in the background until it has
# attached (or given up on eBPF) and a few GETs went by, then Ctrl-C
watch_run() {
    local n=$1 p; shift
    MODS_BEFORE=$(mods)
    "$LVSDOCTOR" watch --vip $VIP:80 --duration 60s "$@" >"$OUT/$n.out" 2>"$OUT/$n.err" &
    p=$!
    wait_for 30 grep -qE "attached|reproduce the failure now" "$OUT/$n.err" >/dev/null
    busybox timeout 2 busybox nc -w 1 $VIP 80 </dev/null >/dev/null 2>&1
    kill -INT $p; wait $p; RC=$?
    MODS_AFTER=$(mods)
    echo "  lvsdoctor watch $*: exit $RC"; sed 's/^/    /' "$OUT/$n.err" | head -8
}
calm() {   # no Go panic, no module loaded
    ! grep -qE '^panic:|^goroutine [0-9]+ \[|^fatal error:' "$OUT"/*.err "$OUT"/*.out &&
        [ "$MODS_BEFORE" = "$MODS_AFTER" ]
}
has() { grep -q -- "$2" "$OUT/$1"; }
exit0_calm() { [ "$RC" = 0 ] && calm; }
# exit0_says FILE TEXT... : exit status 0 and each TEXT in $OUT/FILE
exit0_says() { local f=$1 t; shift; [ "$RC" = 0 ] || return 1; for t in "$@"; do has "$f" "$t" || return 1; done; }

# a listener for collect's ss-lntup.txt to find
(exec busybox httpd -f -p 8080 -h $LABRUN/www/rs1) </dev/null >/dev/null 2>&1 &
echo $! >$LABRUN/web-old-kernel.pid

say "old-kernel: no IPVS, no BTF"
mount -t tmpfs tmpfs "$IPVS_MODDIR"
mount -t tmpfs tmpfs /sys/kernel/btf
run collect-no-ipvs collect --dir "$OUT/no-ipvs" --host oldk
M=$OUT/no-ipvs/oldk/.collect/manifest.yaml
check "collect without IPVS or BTF: exit 0, nothing loaded, no panic" exit0_calm
check "collect: the manifest says IPVS was not read, and why" grep -q "ip_vs is not loaded: no IPVS on this host" "$M"
check "collect: the listening sockets are there all the same (ss-lntup.txt has :8080)" \
    grep -q ':8080 ' "$OUT/no-ipvs/oldk/ss-lntup.txt"
watch_run watch-no-btf
check "watch without BTF: says the kernel has no BTF, falls back to counter deltas, exit 0" \
    eval "exit0_says watch-no-btf.err 'no eBPF here (kernel has no BTF' && has watch-no-btf.out 'counter deltas'"
check "watch without BTF: nothing loaded, no panic" calm

say "old-kernel: BTF, no IPVS"
umount /sys/kernel/btf
watch_run watch-no-ipvs
check "watch without IPVS: traces drops with eBPF and says IPVS_* events are off, exit 0" \
    exit0_says watch-no-ipvs.err "attached" "ip_vs is not loaded, so there is no IPVS to probe"
check "watch without IPVS: nothing loaded, no panic" calm

say "old-kernel: IPVS, no kprobes"
umount "$IPVS_MODDIR"
modprobe ip_vs
mount -t tmpfs tmpfs "$KPROBE_PMU"
watch_run watch-no-kprobes
check "watch without kprobes: traces drops and says IPVS_* events are off (no CONFIG_KPROBES), exit 0" \
    exit0_says watch-no-kprobes.err "attached" "this kernel has no kprobes"
check "watch without kprobes: nothing loaded, no panic" calm
umount "$KPROBE_PMU"

say "old-kernel: module loading disabled, sock_diag not loaded"
check "sock_diag's modules are not loaded" [ ! -d /sys/module/inet_diag ]
echo 1 >/proc/sys/kernel/modules_disabled
run collect-no-diag collect --dir "$OUT/no-diag" --host oldk
M=$OUT/no-diag/oldk/.collect/manifest.yaml
check "collect without sock_diag, unable to load it: exit 0, no panic" exit0_calm
# FILE's entry in the manifest, up to the next one
_entry() { awk -v f="- file: $1" '$0 ~ /- file: / {on = index($0, f) > 0} on' "$M"; }
_listeners_no_error() { grep -q ":8080 " "$OUT/no-diag/oldk/ss-lntup.txt" && ! _entry ss-lntup.txt | grep -q "error:"; }
check "collect: ss-lntup.txt from /proc/net (has :8080), no error for it" _listeners_no_error
check "collect: IPVS read through genetlink (ipvsadm-Ln.txt)" grep -q "^IP Virtual Server" "$OUT/no-diag/oldk/ipvsadm-Ln.txt"

kill "$(<$LABRUN/web-old-kernel.pid)" 2>/dev/null
summary
