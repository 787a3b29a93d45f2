#!/bin/bash
# lib/vm.sh - run one command in a throw-away QEMU guest that boots Debian's
# kernel (real IPVS) with the host root shared read-only over 9p under a tmpfs
# overlay. The guest has NO network device (-nic none): every lab address
# lives in network namespaces inside the guest.
#
# usage: lib/vm.sh [-m MB] [-s SMP] [-t TIMEOUT_S] [-o OUTDIR] [-i] [--] CMD [ARGS...]
#   CMD runs in the guest as root, cwd = the lab folder; its exit status is
#   ours (124 = timeout, 125 = the guest never reported).
#   -o OUTDIR  host folder shared read-write as /lvsout in the guest
#              (default: a new .cache/out/run.XXXXXX)
#   -i         interactive: run CMD first (if any), then a bash on the serial
#              console (Ctrl-A x quits qemu)
#        lib/vm.sh --snapshot
#   boots a guest up to its initramfs' mounts and saves it into
#   .cache/build/snapshot (lab/run does this once, ~10 s); a non-interactive
#   guest is then restored from it instead of booting, when it was saved
#   with the same qemu, kernel, initramfs, memory and command line
#   (LAB_SNAPSHOT=0: always boot).
# The guest's output streams to our stdout and is kept in OUTDIR/console.log.
set -uo pipefail
LAB=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${CACHE:-$LAB/.cache}
MEM=${LAB_MEM:-1024}; SMP=${LAB_SMP:-1}; TMO=${LAB_TIMEOUT:-600}
OUT=""; INTER=0; MAKESNAP=0
while [ $# -gt 0 ]; do
    case $1 in
        -m) MEM=$2; shift 2;; -s) SMP=$2; shift 2;; -t) TMO=$2; shift 2;;
        -o) OUT=$2; shift 2;; -i) INTER=1; shift;; --snapshot) MAKESNAP=1; shift;;
        --) shift; break;; *) break;;
    esac
done
[ $INTER = 1 ] || [ $MAKESNAP = 1 ] || [ $# -gt 0 ] || { sed -n '2,21p' "$0"; exit 2; }
[ -f "$CACHE/build/initramfs.gz" ] || { echo "vm.sh: run lab/lib/prepare.sh first" >&2; exit 2; }
if [ $MAKESNAP = 1 ]; then OUT=$(mktemp -d "$CACHE/build/snap.XXXXXX")   # an empty lvsout
elif [ -z "$OUT" ]; then OUT=$(mktemp -d "$CACHE/out/run.XXXXXX"); fi
mkdir -p "$OUT"; rm -f "$OUT/rc" "$OUT/job.sh" "$OUT/times"
if [ $# -gt 0 ]; then
    { echo "cd '$LAB' || exit 1"; printf 'exec'; printf ' %q' "$@"; echo; } >"$OUT/job.sh"
fi

# KVM does not work on this kind of host (kvm_pvm, no VT-x; see README), so
# TCG. thread=multi only matters with -s 2+; a big translation cache saves
# re-translating the same binaries (ip, ipvsadm, ...) over and over.
# shellcheck disable=SC2054  # commas are qemu option syntax
case ${LAB_ACCEL:-tcg} in
  kvm) ACC=(-accel kvm -cpu max);;
  *)   ACC=(-accel tcg,thread=multi,tb-size=512 -cpu max);;
esac
Q="quiet loglevel=3"; [ "${LAB_DEBUG:-0}" = 1 ] && Q="loglevel=7"
# norandmaps: TCG finds a translated block by its virtual address, so with
# ASLR every new process, mapping ld.so and libc elsewhere, has them all
# translated again. Without it an `ip` costs ~30 ms instead of ~200 ms and
# ipvsadm ~20 ms instead of ~150 ms (nokaslr does the same for the kernel).
# no_timer_check: on a loaded host the kernel's check that the timer
# interrupt arrives through the IO-APIC can time out under TCG, and then it
# panics ("IO-APIC + timer doesn't work!") 0.07 s into the boot.
APPEND="console=ttyS0 $Q panic=-1 mitigations=off nokaslr norandmaps tsc=reliable no_timer_check
  lvslab.dir=$LAB lvslab.cachedir=$CACHE lvslab.stage2=$LAB/guest/stage2.sh ${LAB_APPEND:-}"
[ $INTER = 1 ] && APPEND="$APPEND lvslab.shell=1"
# a snapshot is of one command line: not with the knobs that change it
SNAP=$CACHE/build/snapshot
SNAPOK=0
if [ "${LAB_SNAPSHOT:-1}" = 1 ] && [ $INTER = 0 ] && [ "${LAB_DEBUG:-0}" != 1 ] && [ -z "${LAB_APPEND:-}" ]; then
    SNAPOK=1; APPEND="$APPEND lvslab.snap=1"
fi

# -M pc (not microvm): microvm hangs now and then at boot under TCG
# ("tsc: Unable to calibrate against PIT"); pc costs ~0.4 s more and never hung.
# shellcheck disable=SC2086,SC2116,SC2054  # $APPEND is joined into one line on purpose; qemu options have commas
QEMU=(qemu-system-x86_64 -M pc "${ACC[@]}" -m "$MEM" -smp "$SMP"
  -nodefaults -no-user-config -display none -no-reboot -nic none
  -kernel "$CACHE/build/vmlinux" -initrd "$CACHE/build/initramfs.gz"
  -append "$(echo $APPEND)"
  -fsdev local,id=hr,path=/,security_model=none,readonly=on,multidevs=remap
  -device virtio-9p-pci,fsdev=hr,mount_tag=hostroot
  -fsdev local,id=lo,path="$OUT",security_model=none
  -device virtio-9p-pci,fsdev=lo,mount_tag=lvsout)

if [ $INTER = 1 ]; then
    exec "${QEMU[@]}" -serial mon:stdio
fi

# what the snapshot was saved with: a restore needs the same
snap_key() {
    qemu-system-x86_64 --version | head -1
    stat -L -c '%n %s %Y' "$CACHE/build/vmlinux" "$CACHE/build/initramfs.gz"
    echo "$MEM $SMP ${ACC[*]}"
    echo "$APPEND"
}
# Snapshot: QEMU saves no guest that has a 9p export mounted ("Migration is
# disabled when VirtFS export path ... is mounted"), so the guest is saved
# in its initramfs, before the mounts, booted with lvslab.snap=1: guest/init
# waits there for a "LVSLAB-GO" line on the console. The monitor is on
# stdin (a FIFO), the console in a file; HMP's migrate returns once the
# state is written.
if [ $MAKESNAP = 1 ]; then
    [ $SNAPOK = 1 ] || { echo "vm.sh: no snapshot with LAB_SNAPSHOT=0, LAB_DEBUG or LAB_APPEND" >&2; exit 2; }
    if [ -s "$SNAP" ] && [ "$(cat "$SNAP.key" 2>/dev/null)" = "$(snap_key)" ]; then
        rm -rf "$OUT"; echo "vm: snapshot up to date"; exit 0
    fi
    mkfifo "$OUT/monitor.in"
    timeout -k 5 120 "${QEMU[@]}" -serial file:"$OUT/console.log" -monitor stdio \
        <"$OUT/monitor.in" >"$OUT/monitor.log" 2>&1 &
    qpid=$!
    exec {mon}>"$OUT/monitor.in"
    t0=$EPOCHREALTIME
    until grep -q LVSLAB-SNAP-POINT "$OUT/console.log" 2>/dev/null; do
        kill -0 $qpid 2>/dev/null || break
        sleep 0.1
    done
    printf 'migrate "exec:cat > %s"\nquit\n' "$OUT/state" >&$mon
    wait $qpid; qrc=$?
    exec {mon}>&-
    if [ $qrc = 0 ] && [ -s "$OUT/state" ] && ! grep -qi 'error\|fail' "$OUT/monitor.log"; then
        mv "$OUT/state" "$SNAP"; snap_key >"$SNAP.key"
        printf 'vm: snapshot saved in %.1fs (%s MB)\n' "$(echo "$EPOCHREALTIME-$t0" | bc)" $(( $(stat -c %s "$SNAP") >> 20 ))
        rm -rf "$OUT"; exit 0
    fi
    echo "vm: snapshot failed (qemu rc=$qrc), guests will boot; see $OUT" >&2
    rm -f "$SNAP" "$SNAP.key"; exit 1
fi

# Restore from the snapshot if it is of this command line, else boot
# (without lvslab.snap=1: a booted guest must not wait for LVSLAB-GO). The
# restored guest is told the time and a random seed (lines before it are
# read and dropped: the first character after a restore can be lost).
RESTORE=()
if [ $SNAPOK = 1 ] && [ -s "$SNAP" ] && [ "$(cat "$SNAP.key" 2>/dev/null)" = "$(snap_key)" ]; then
    RESTORE=(-incoming "exec:cat $(printf %q "$SNAP")")
    printf '\n\nLVSLAB-GO %s %s\n' "$(date +%s)" "$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')" >"$OUT/console.in"
else
    QEMU=("${QEMU[@]/lvslab.snap=1/}")
    : >"$OUT/console.in"
fi
t0=$EPOCHREALTIME
timeout -k 5 "$TMO" "${QEMU[@]}" "${RESTORE[@]}" -serial stdio <"$OUT/console.in" 2>"$OUT/qemu.err" | tee "$OUT/console.log" |
    awk '{sub(/\r$/,""); if (/sysrq: Resetting/) next
          if (/LVSLAB-(GUEST-(UP|DONE)|RESTORED)/) {sub(/LVSLAB-(GUEST-|RESTORED).*$/,""); if ($0=="") next}
          print; fflush()}'
qrc=${PIPESTATUS[0]}
t1=$EPOCHREALTIME
up=$(sed -n 's/.*LVSLAB-GUEST-UP uptime=\([0-9.]*\).*/\1/p' "$OUT/console.log" | tr -d '\r')
# restored: the uptime counts the snapshot's boot too
rs=$(sed -n 's/.*LVSLAB-RESTORED uptime=\([0-9.]*\).*/\1/p' "$OUT/console.log" | tr -d '\r')
how=booted
[ -z "$up" ] || [ -z "$rs" ] || { up=$(echo "$up - $rs" | bc | sed 's/^\./0./'); how=restored; }
if [ -f "$OUT/rc" ]; then rc=$(cat "$OUT/rc")
elif [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then rc=124; echo "vm: TIMEOUT after ${TMO}s" >&2
else rc=125; echo "vm: guest did not report (qemu rc=$qrc)" >&2; cat "$OUT/qemu.err" >&2; fi
# cpu: the host CPU time qemu used (our children's, from `times`): unlike
# the wall time it hardly depends on what else the host runs
# (into a file: in a pipe or $(...) `times` would be a subshell's)
times >"$OUT/times"
cpu=$(awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.1f", u[1]*60 + u[2] + s[1]*60 + s[2] }' "$OUT/times")
printf 'vm: rc=%s wall=%.1fs boot=%ss (%s) cpu=%ss out=%s\n' "$rc" "$(echo "$t1-$t0" | bc)" "${up:-?}" "$how" "$cpu" "$OUT" >&2
exit "$rc"
