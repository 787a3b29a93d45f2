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
# The guest's output streams to our stdout and is kept in OUTDIR/console.log.
set -uo pipefail
LAB=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${CACHE:-$LAB/.cache}
MEM=${LAB_MEM:-1024}; SMP=${LAB_SMP:-1}; TMO=${LAB_TIMEOUT:-600}
OUT=""; INTER=0
while [ $# -gt 0 ]; do
    case $1 in
        -m) MEM=$2; shift 2;; -s) SMP=$2; shift 2;; -t) TMO=$2; shift 2;;
        -o) OUT=$2; shift 2;; -i) INTER=1; shift;;
        --) shift; break;; *) break;;
    esac
done
[ $INTER = 1 ] || [ $# -gt 0 ] || { sed -n '2,15p' "$0"; exit 2; }
[ -f "$CACHE/build/initramfs.gz" ] || { echo "vm.sh: run lab/lib/prepare.sh first" >&2; exit 2; }
[ -n "$OUT" ] || OUT=$(mktemp -d "$CACHE/out/run.XXXXXX")
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
t0=$EPOCHREALTIME
timeout -k 5 "$TMO" "${QEMU[@]}" -serial stdio </dev/null 2>"$OUT/qemu.err" | tee "$OUT/console.log" |
    awk '{sub(/\r$/,""); if (/sysrq: Resetting/) next
          if (/LVSLAB-GUEST-(UP|DONE)/) {sub(/LVSLAB-GUEST-.*$/,""); if ($0=="") next}
          print; fflush()}'
qrc=${PIPESTATUS[0]}
t1=$EPOCHREALTIME
up=$(sed -n 's/.*LVSLAB-GUEST-UP uptime=\([0-9.]*\).*/\1/p' "$OUT/console.log" | tr -d '\r')
if [ -f "$OUT/rc" ]; then rc=$(cat "$OUT/rc")
elif [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then rc=124; echo "vm: TIMEOUT after ${TMO}s" >&2
else rc=125; echo "vm: guest did not report (qemu rc=$qrc)" >&2; cat "$OUT/qemu.err" >&2; fi
# cpu: the host CPU time qemu used (our children's, from `times`): unlike
# the wall time it hardly depends on what else the host runs
# (into a file: in a pipe or $(...) `times` would be a subshell's)
times >"$OUT/times"
cpu=$(awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.1f", u[1]*60 + u[2] + s[1]*60 + s[2] }' "$OUT/times")
printf 'vm: rc=%s wall=%.1fs boot=%ss cpu=%ss out=%s\n' "$rc" "$(echo "$t1-$t0" | bc)" "${up:-?}" "$cpu" "$OUT" >&2
exit "$rc"
