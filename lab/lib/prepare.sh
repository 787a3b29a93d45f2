#!/bin/bash
# lib/prepare.sh - host-side, idempotent setup of the real-IPVS lab.
#
#  * installs the Debian packages the guest borrows from the host root
#    (the guest has no userland of its own: the host's / is its lower layer);
#  * downloads Debian's own kernel (linux-image-$KVER, which has ip_vs*, ipip,
#    nf_tables, ebtables and bridge as modules; the host kernel has none of
#    them), extracts it and runs depmod on the extracted tree;
#  * extracts an uncompressed vmlinux (booting it skips ~2.5 s of emulated
#    xz decompression under TCG);
#  * builds a tiny busybox initramfs whose only job is to mount the host root
#    over 9p under a tmpfs overlay.
#
# Everything lands in $CACHE (default lab/.cache, git-ignored). A second run
# only checks and takes about a second.
# Env: KVER (default: what linux-image-amd64 depends on), CACHE.
set -euo pipefail
LAB=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${CACHE:-$LAB/.cache}
mkdir -p "$CACHE"
t0=$EPOCHREALTIME
log() { printf '[prepare %5.1fs] %s\n' "$(echo "$EPOCHREALTIME - $t0" | bc)" "$*"; }

# netstat (net-tools) is optional evidence; the rest is needed.
PKGS="qemu-system-x86 busybox-static ipvsadm keepalived iproute2 iptables nftables
      tcpdump ebtables kmod cpio bc xz-utils conntrack net-tools procps python3"

apt_install() {
    # Debian's docker images ship /etc/apt/apt.conf.d/docker-clean, which
    # deletes the .debs after every dpkg run. A concurrent apt-get (another
    # session, a provisioning script) then makes ours fail with "cannot access
    # archive". So: wait for dpkg's lock (Lock::Timeout) and retry.
    local i
    for i in 1 2 3 4 5; do
        if DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            -o DPkg::Lock::Timeout=900 "$@" >"$CACHE/apt.log" 2>&1; then
            return 0
        fi
        log "apt-get install failed (try $i), retrying"; tail -3 "$CACHE/apt.log" || true
        sleep 5
    done
    return 1
}

missing() {
    local p need=""
    for p in $PKGS; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need="$need $p"
    done
    echo "$need"
}
need=$(missing)
if [ -n "$need" ]; then
    log "apt-get update"
    apt-get update -q -o DPkg::Lock::Timeout=900 >"$CACHE/apt-update.log" 2>&1 || true
    log "installing:$need"
    # shellcheck disable=SC2086  # word splitting of the package list is wanted
    apt_install $need
fi
log "packages ok"

# The kernel: once chosen (what linux-image-amd64 depends on), it stays until
# KVER is given or .cache/build/kver is removed; asking apt every run costs
# seconds on a busy machine.
if [ -z "${KVER:-}" ] && [ -f "$CACHE/build/kver" ] && [ -f "$CACHE/kernel/$(cat "$CACHE/build/kver")/.done" ]; then
    KVER=$(cat "$CACHE/build/kver")
fi
if [ -z "${KVER:-}" ]; then
    kver_of_meta() { apt-cache depends linux-image-amd64 2>/dev/null |
                     sed -n 's/.*Depends: linux-image-\(.*\)$/\1/p' | head -1; }
    KVER=$(kver_of_meta)
    if [ -z "$KVER" ]; then
        apt-get update -q -o DPkg::Lock::Timeout=900 >"$CACHE/apt-update.log" 2>&1
        KVER=$(kver_of_meta)
    fi
fi
[ -n "$KVER" ] || { echo "prepare: cannot tell which kernel linux-image-amd64 wants" >&2; exit 1; }
KDIR="$CACHE/kernel/$KVER"
if [ ! -f "$KDIR/.done" ]; then
    log "fetching kernel $KVER"
    mkdir -p "$CACHE/kernel/dl"
    # apt-get download drops privileges to _apt, which must be able to write here
    chmod 777 "$CACHE/kernel/dl" 2>/dev/null || true
    ( cd "$CACHE/kernel/dl"
      ls linux-image-"$KVER"_*.deb >/dev/null 2>&1 ||
          apt-get download "linux-image-$KVER" >"$CACHE/download.log" 2>&1 )
    rm -rf "$KDIR"; mkdir -p "$KDIR"
    dpkg-deb -x "$CACHE/kernel/dl/linux-image-${KVER}"_*.deb "$KDIR"
    depmod -b "$KDIR" "$KVER"
    touch "$KDIR/.done"
    log "kernel extracted to $KDIR"
fi
ln -sfn "$KVER" "$CACHE/kernel/current"
MODDIR="$KDIR/lib/modules/$KVER"
for f in CONFIG_IP_VS CONFIG_NET_IPIP CONFIG_9P_FS CONFIG_NET_9P_VIRTIO CONFIG_BRIDGE_NF_EBTABLES; do
    grep -q "^$f=[ym]" "$KDIR/boot/config-$KVER" || { echo "kernel lacks $f" >&2; exit 1; }
done

# Uncompressed vmlinux (an ELF with a PVH entry point): QEMU boots it directly.
if [ ! -s "$KDIR/vmlinux" ]; then
    log "extracting vmlinux"
    python3 - "$KDIR/boot/vmlinuz-$KVER" "$KDIR/vmlinux" <<'PY'
import sys, subprocess
data = open(sys.argv[1], 'rb').read()
for magic, cmd in ((b'\xfd7zXZ\x00', ['xz', '-dcq']), (b'\x28\xb5\x2f\xfd', ['zstd', '-dcq']),
                   (b'\x1f\x8b\x08', ['gzip', '-dcq'])):
    off = data.find(magic)
    while off != -1:
        out = subprocess.run(cmd, input=data[off:], capture_output=True).stdout
        if out[:4] == b'\x7fELF':
            open(sys.argv[2], 'wb').write(out); sys.exit(0)
        off = data.find(magic, off + 1)
sys.exit("could not extract vmlinux")
PY
fi

# ---- initramfs: rebuilt when guest/init or the kernel changed ---------------
IRD="$CACHE/build/initramfs"
stamp="$KVER $(sha1sum "$LAB/guest/init" | cut -c1-40)"
if [ "$(cat "$CACHE/build/initramfs.stamp" 2>/dev/null)" != "$stamp" ]; then
    log "building initramfs"
    rm -rf "$IRD"; mkdir -p "$IRD"/{bin,dev,proc,sys,mods,newroot,lower,upper}
    cp /bin/busybox "$IRD/bin/busybox"
    # The initramfs has no modprobe: insmod in dependency order.
    MODS="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_mmio
          netfs fscache 9pnet 9pnet_virtio 9p overlay"
    : >"$IRD/mods/order"
    for m in $MODS; do
        f=$(grep -E "(^|/)$m\.ko(\.xz|\.zst)?:" "$MODDIR/modules.dep" | cut -d: -f1)
        if [ -z "$f" ]; then
            grep -qE "/$m\.ko" "$MODDIR/modules.builtin" && continue   # built in
            echo "module $m not found" >&2; exit 1
        fi
        cp "$MODDIR/$f" "$IRD/mods/"
        basename "$f" >>"$IRD/mods/order"
    done
    cp "$LAB/guest/init" "$IRD/init"; chmod 755 "$IRD/init"
    (cd "$IRD" && find . | cpio -o -H newc --quiet | gzip -1) >"$CACHE/build/initramfs.gz"
    echo "$stamp" >"$CACHE/build/initramfs.stamp"
fi
ln -sfn "$KDIR/vmlinux" "$CACHE/build/vmlinux"
echo "$KVER" >"$CACHE/build/kver"
mkdir -p "$CACHE/out"
log "ready: kernel $KVER, initramfs $(du -h "$CACHE/build/initramfs.gz" | cut -f1)"
