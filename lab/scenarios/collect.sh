#!/bin/bash
# lvsdoctor collect on real IPVS and keepalived: the evidence of this case is
# not gathered by the lab's script but by `lvsdoctor collect`, run on every
# host (each netns) as an engineer would run it, then diagnosed. The fault is
# director.no-available-realserver (both real servers drained to weight 0 in
# keepalived.conf), which only the director's IPVS table and keepalived.conf
# show. Collection must be read-only: run on the bare guest first, it must
# not load ip_vs (or any module), and on the cluster it must not change the
# loaded modules, the directors' addresses or their IPVS table.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=director.no-available-realserver
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
KA_EDIT='s/^        weight 1$/        weight 0/'
SYMPTOM="connections to $VIP:80 are refused; the real servers answer directly"

mods() { cut -d' ' -f1 /proc/modules | sort; }

setup() {
    # the bare guest: nothing of IPVS or nftables loaded yet
    mods >$LABRUN/mods.bare
    "$LVSDOCTOR" collect --dir $LABRUN/bare --host bare >$LABRUN/bare.log 2>&1
    check "collect on a bare host succeeds" [ -s $LABRUN/bare/bare/ip-d-addr.txt ]
    mods | diff $LABRUN/mods.bare - | sed -n 's/^[<>]/  module &/p'
    check "collect on a bare host loads no module (ip_vs stays unloaded)" _same_mods_bare
    check "collect on a bare host says why IPVS was not read" \
        grep -q "ip_vs is not loaded" $LABRUN/bare/bare/.collect/manifest.yaml
    cluster_up
}
_same_mods_bare() { mods | cmp -s - $LABRUN/mods.bare && [ ! -e /proc/net/ip_vs ]; }

prove() {
    local r
    r=$(HTTP_TMO=1 vip_seq 4); echo "  client -> VIP x4: $r"
    check "the VIP refuses" all_err $r
    check "direct access to both real servers works" direct_ok
}

# the case is what `lvsdoctor collect` wrote on each host
gather_case() {
    local dir=$1 h before after
    mkdir -p "$dir"
    # iproute2's ip with -n: `ns director ip` would be busybox's applet
    # (Debian's busybox prefers them), which has no -d and prints its usage
    before="$(mods; ip -n director -d addr; ns director cat /proc/net/ip_vs)"
    for h in $(cat $LABRUN/hosts) hypervisor; do
        if [ "$h" = hypervisor ]; then
            "$LVSDOCTOR" collect --dir "$dir" --host "$h" --role hypervisor
        else
            ns "$h" "$LVSDOCTOR" collect --dir "$dir" --host "$h" --role "$(host_role "$h")"
        fi >>$LABRUN/collect.log 2>&1
        say "  collected $h"
    done
    sed 's/^/  /' $LABRUN/collect.log
    after="$(mods; ip -n director -d addr; ns director cat /proc/net/ip_vs)"
    check "collect left modules, addresses and IPVS as they were" [ "$before" = "$after" ]
    check "director: IPVS read from /proc/net/ip_vs" grep -q "192.0.2.100\|C0000264" "$dir/director/proc-net-ip_vs.txt"
    local f
    for f in "" -stats -rate -timeout; do
        check "director: ipvsadm-Ln$f.txt from genetlink is what ipvsadm prints" _as_ipvsadm "$dir/director/ipvsadm-Ln$f.txt" $f
    done
    check "director: keepalived.conf found from the running keepalived's -f" \
        [ -f "$dir/director${LABRUN}/director/keepalived.conf" ]
    check "director: auth_pass redacted" _no_auth_pass "$dir"
    check "director: keepalived's log holds only its own lines" _own_log "$dir"
    _case_yaml >"$dir/case.yaml"
    # the scenario is not named after its cause: say what diagnose must find
    printf 'first: %s\nseverity: critical\n' $EXPECT >"$dir/expected.yaml"
}
_no_auth_pass() { ! grep -rq "auth_pass [^*]" "$1"; }
# an in-process listing (no "$ ipvsadm" line: no command ran) against the
# real ipvsadm run now in the same netns; the cluster is idle by now, so
# counters and rates stand still
_as_ipvsadm() {
    local f=$1 opt=${2#-}
    [ -s "$f" ] && ! grep -q '^\$ ' "$f" || { echo "  $f: missing, or it has a \$ line"; return 1; }
    ns director ipvsadm -Ln ${opt:+--$opt} | diff -u --label ipvsadm --label "${f##*/}" - "$f" | sed 's/^/  /'
    [ "${PIPESTATUS[1]}" = 0 ]
}
# the guest's hosts share one syslog; director2's keepalived (another netns)
# must not show up in director's log
_own_log() {
    local f=$1/director/keepalived-syslog.log p
    grep -q "Keepalived_vrrp\[$(cat $LABRUN/director/ka-vrrp.pid)\]" "$f" || return 1
    for p in $(cat $LABRUN/director2/ka-vrrp.pid $LABRUN/director2/ka-check.pid $LABRUN/director2/ka.pid); do
        ! grep -q "\[$p\]" "$f" || return 1
    done
}

lab_main
