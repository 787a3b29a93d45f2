#!/bin/bash
# lvsdoctor watch on real IPVS: a DR cluster whose real servers are drained
# to weight 0 (director.no-available-realserver). While the client tries the
# VIP, `lvsdoctor watch` runs on the director: the guest kernel has kprobes
# and ip_vs, so IPVS's own refusal is traced (IPVS_NO_DEST in ip_vs_schedule)
# besides the kernel's drops. Its output goes into the director's folder of
# the case, where it becomes the kernel.drop finding, caused by
# director.no-available-realserver.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=director.no-available-realserver
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
KA_EDIT='s/^        weight 1$/        weight 0/'
SYMPTOM="connections to $VIP:80 are refused; the real servers answer directly"

setup() { cluster_up; }

prove() {
    local r p
    ns director "$LVSDOCTOR" watch --vip $VIP:80 --duration 25s >$LABRUN/watch.txt 2>$LABRUN/watch.err &
    p=$!
    # attached once it says so (loading BPF under TCG takes seconds)
    wait_for 20 grep -q "attached" $LABRUN/watch.err >/dev/null
    sed 's/^/  /' $LABRUN/watch.err
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r"
    check "the VIP refuses" all_err $r
    kill -INT $p; wait $p
    sed 's/^/  /' $LABRUN/watch.txt | head -12
    check "watch: IPVS refused the client's SYNs for want of a real server (IPVS_NO_DEST)" \
        grep -q "ipvs reason=IPVS_NO_DEST.* > $VIP:80 flags=S" $LABRUN/watch.txt
    check "watch: the event names the cause it points to" grep -q "cause=director.no-available-realserver" $LABRUN/watch.txt
    check "watch: nothing was lost" grep -q "lost=0" $LABRUN/watch.txt
}

eval "_lab_gather_case() $(declare -f gather_case | tail -n +2)"
gather_case() {
    _lab_gather_case "$@"
    cp $LABRUN/watch.txt "$1/director/watch.txt"
    printf 'first: %s\nseverity: critical\nalso: [kernel.drop]\n' $EXPECT >"$1/expected.yaml"
}

lab_main
