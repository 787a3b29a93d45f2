#!/bin/busybox sh
# shellcheck shell=dash
# shellcheck disable=SC2013  # /proc/cmdline is split into words on purpose
# PID 1 inside the guest, on the overlaid host root. busybox sh on purpose:
# it is static, so every command costs ~10 ms instead of 50-250 ms for a
# dynamically linked binary under TCG.
# Sets up the environment, runs /lvsout/job.sh with bash (or an interactive
# shell on the serial console), writes its exit status to /lvsout/rc and
# reboots, which makes qemu exit because of -no-reboot.
B=/bin/busybox
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
export TERM=dumb
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
$B mkdir -p /dev/pts /dev/shm
$B mount -t devpts devpts /dev/pts
$B mount -t tmpfs tmpfs /dev/shm
$B mount -t tmpfs tmpfs /run
$B mkdir -p /run/lock /run/netns /var/log
KVER=$($B uname -r)
LVSLAB=
CACHE=
SHELLMODE=0
for a in $($B cat /proc/cmdline); do
    case $a in
        lvslab.dir=*) LVSLAB=${a#lvslab.dir=};;
        lvslab.cachedir=*) CACHE=${a#lvslab.cachedir=};;
        lvslab.shell=1) SHELLMODE=1;;
    esac
done
# the extracted Debian kernel's modules, so modprobe and autoloading work
$B mkdir -p /lib/modules/$KVER
$B mount -o bind "${CACHE:-$LVSLAB/.cache}/kernel/current/lib/modules/$KVER" /lib/modules/$KVER
# the guest's root netns plays the hypervisor that holds the bridges
$B hostname hypervisor
# lookups fail fast on 127.0.0.1 instead of timing out towards the host's
# resolver (python's http.server and others do reverse lookups)
$B rm -f /etc/resolv.conf
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >/etc/resolv.conf
$B ip link set lo up
# a syslog daemon, so that daemons that insist on syslog don't block;
# the kernel log stays readable with dmesg
$B syslogd -O /var/log/syslog
echo "LVSLAB-GUEST-UP uptime=$($B cut -d' ' -f1 /proc/uptime)"
rc=1
if [ "$SHELLMODE" = 1 ]; then
    [ -f /lvsout/job.sh ] && /bin/bash /lvsout/job.sh </dev/null
    echo "lvslab: interactive: the scenario is set up first, then a shell opens."
    echo "        'poweroff -f' or Ctrl-A x leaves."
    export TERM=${LV_TERM:-vt100}
    $B setsid -c /bin/bash --rcfile /lvsout/shellrc -i </dev/ttyS0 >/dev/ttyS0 2>&1; rc=$?
elif [ -f /lvsout/job.sh ]; then
    # no pipe here: daemons started by the job would keep it open forever
    /bin/bash /lvsout/job.sh </dev/null; rc=$?
fi
echo "$rc" >/lvsout/rc
echo "LVSLAB-GUEST-DONE rc=$rc uptime=$($B cut -d' ' -f1 /proc/uptime)"
$B sync
$B umount /lvsout 2>/dev/null
echo b >/proc/sysrq-trigger
$B sleep 10
