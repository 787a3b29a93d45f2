#!/bin/bash
# lvsdoctor collect on real IPVS and keepalived: the evidence of this case is
# not gathered by the lab's script but by `lvsdoctor collect`, run on every
# host (each netns) as an engineer would run it, then diagnosed. Then
# `lvsdoctor serve` runs on the director every 2 s: its /metrics carry the
# real IPVS table (weights, forwarding method) and the finding, which goes
# when the weights are put back by hand and returns when they are drained
# again; serve too must leave the director as it was. The fault is
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
    serve_on_director "$dir"
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

# ---------------------------------------------------------------- serve
# lvsdoctor serve on the director, read by curl in its netns (busybox wget
# segfaults on Debian 12; curl is the host's, like every tool here)
SERVE_PORT=9848 SERVE_INTERVAL=2
serve_on_director() {
    local dir=$1 before after t pid
    before=$(_director_state)
    ns_bg director $LABRUN/serve.pid "$LVSDOCTOR" serve --listen 127.0.0.1:$SERVE_PORT \
        --interval ${SERVE_INTERVAL}s --role director --host director </dev/null >$LABRUN/serve.log 2>&1
    pid=$(<$LABRUN/serve.pid)
    t=$(_wait_1s 60 _metrics_have "lvsdoctor_up 1"); local rc=$?
    say "  serve: first run served after ${t}s"
    check "serve: lvsdoctor_up 1 on the director" [ $rc = 0 ]
    check "serve: each real server of ipvsadm -Ln has its weight and forwarding method (Route = dr) in /metrics" \
        _metrics_match_ipvsadm
    check "serve: the service's series, with its 2 real servers" \
        _metrics_line "lvsdoctor_ipvs_service_real_servers{" "service=\"TCP $VIP:$PORT\"" "} 2"
    check "serve: lvsdoctor_findings has director.no-available-realserver (both weights 0)" _finding_is 1
    # the fix, by hand: both real servers back at weight 1
    _serve_timed "the fix" "the finding gone" 0 1
    check "serve: the weights in /metrics follow IPVS (now 1) by the next run" _match_by_next_run
    local r; r=$(vip_seq 2); echo "  client -> VIP x2 after the fix: $r"
    check "serve: the fix is real: the VIP answers" both_answer $r
    # and the fault again: drained to 0
    _serve_timed "the fault" "the finding back" 1 0
    # what the Go tests replay as a director's scrape (e2e/serve_test.go:
    # the dashboard's queries), with the finding and the fix's traffic
    cp $LABRUN/metrics "$dir/serve-director.prom"
    ns director curl -sf --max-time 5 -o $LABRUN/report.json http://127.0.0.1:$SERVE_PORT/report.json
    check "serve: /report.json is the lvsdoctor/v1 document naming the cause" _report_names_cause
    check "serve: /healthz answers 200" ns director curl -sf --max-time 5 -o /dev/null http://127.0.0.1:$SERVE_PORT/healthz
    check "serve: no run failed" _metrics_line "lvsdoctor_run_failures_total " "" " 0"
    kill -TERM "$pid"; while kill -0 "$pid" 2>/dev/null; do nap 0.1; done
    sed 's/^/  serve: /' $LABRUN/serve.log | tail -4
    after=$(_director_state)
    if [ "$before" != "$after" ]; then
        printf '%s\n' "$before" >$LABRUN/state.before; printf '%s\n' "$after" >$LABRUN/state.after
        diff -u $LABRUN/state.before $LABRUN/state.after | head -20 | sed 's/^/  /'
    fi
    check "serve left modules, addresses, IPVS, sysctls and rules as they were" [ "$before" = "$after" ]
}
# _director_state : what serve must not change on the director. The
# modules first: nft and iptables-nft load nf_tables to list a ruleset, so
# the rules are read only where it is loaded already (else there are none)
_director_state() {
    local m; m=$(mods); echo "$m"
    # the IPVS rules and weights (-Sn), not the connection counts, which the
    # fix's traffic moves
    ip -n director -d addr; ipvs -Sn
    ns director sysctl -a -r '^net\.' 2>/dev/null
    if [[ $'\n'$m$'\n' == *$'\n'nf_tables$'\n'* ]]; then
        ns director nft list ruleset; ns director iptables-save
    else
        echo "nf_tables not loaded: no nft or iptables-nft rules"
    fi
}
# _serve_timed WHAT SEEN FINDING WEIGHT : set both weights, then poll /metrics
# every second until the finding is (1) or is not (0) there. The bound is
# two runs: the one under way at the change may have read IPVS before it,
# the next one cannot have; the next one starts at most an interval later
# (two intervals in all), or as soon as the first ends where a run takes
# longer than the interval (TCG on a loaded host: 3-20 s a run)
_serve_timed() {
    local what=$1 seen=$2 want=$3 w=$4 n0 n a t run
    a=$EPOCHREALTIME
    # both in one ipvsadm (-R), so that no run sees one changed and not the other
    printf -- '-e -t %s -r %s -g -w %s\n' $VIP:$PORT $RS1_IP:$PORT "$w" $VIP:$PORT $RS2_IP:$PORT "$w" | ipvs -R
    # the runs counted from once the change is made: a run that started
    # while ipvsadm ran (slow under TCG) may have missed it
    _metrics; n0=$(_metric_value lvsdoctor_runs_total); n=$n0
    while :; do
        nap 1
        _metrics || continue
        n=$(_metric_value lvsdoctor_runs_total)
        _finding_was "$want" && break
        [ "$n" -gt $((n0 + 2)) ] && break
        [ "$(_usecs_since "$a")" -gt 120000000 ] && break
    done
    t=$(elapsed "$a"); run=$(_metric_value lvsdoctor_run_duration_seconds)
    say "  serve: $seen ${t}s after $what (weights $w), $((n - n0)) runs ended since (the latest took $(printf %.1f "$run")s)"
    echo "$seen $t runs $((n - n0)) latest_run $run" >>$LAB_OUT/serve.times
    check "serve: $seen by the end of the second run after $what" _finding_was_within "$want" $((n0 + 2)) "$n"
}
# _wait_1s TIMEOUT_S CMD... : wait_for, polling every second (a curl a poll
# takes the vCPU from the serve it polls)
_wait_1s() {
    local a=$EPOCHREALTIME tmo=$1; shift
    until "$@"; do
        [ "$(_usecs_since "$a")" -gt $((tmo * 1000000)) ] && { elapsed "$a"; return 1; }
        nap 1
    done
    elapsed "$a"
}
_match_by_next_run() {
    local n0 n; n0=$(_metric_value lvsdoctor_runs_total)
    until _metrics_match_ipvsadm; do
        n=$(_metric_value lvsdoctor_runs_total)
        [ "${n:-0}" -gt $((n0 + 1)) ] && return 1
        nap 1
    done
}
_finding_was_within() { _finding_was "$1" && [ "$3" -le "$2" ]; }
_metrics() { ns director curl -sf --max-time 5 -o $LABRUN/metrics http://127.0.0.1:$SERVE_PORT/metrics; }
_metrics_have() { _metrics && [[ $'\n'$(<$LABRUN/metrics)$'\n' == *$'\n'"$1"$'\n'* ]]; }
# _metrics_line PREFIX HAS SUFFIX : a line of the latest scrape starting with
# PREFIX, containing HAS, ending with SUFFIX
_metrics_line() {
    local l
    while IFS= read -r l; do
        [[ $l == "$1"* && $l == *"$2"* && $l == *"$3" ]] && return 0
    done <$LABRUN/metrics
    return 1
}
_metric_value() { local l; while read -r l; do [[ $l == "$1 "* ]] && { echo "${l#* }"; return; }; done <$LABRUN/metrics; }
_finding_is() { _metrics && _finding_was "$1"; }
_finding_was() {  # 1: the finding is in the latest scrape, 0: it is not
    if _metrics_line "lvsdoctor_findings{" 'id="director.no-available-realserver"' "} 1"; then [ "$1" = 1 ]; else [ "$1" = 0 ]; fi
}
# every "->" line of ipvsadm -Ln run now (RIP:PORT, Route/Masq/Tunnel,
# weight) as a weight series of the latest scrape
_metrics_match_ipvsadm() {
    local l w m n=0
    _metrics || return 1
    while read -r l; do
        # shellcheck disable=SC2206  # the line's words
        w=($l)
        [[ ${w[0]:-} == "->" && ${w[2]:-} =~ ^(Route|Tunnel|Masq)$ ]] || continue
        case ${w[2]} in Route) m=dr;; Tunnel) m=tun;; Masq) m=nat;; esac
        if _metrics_line "lvsdoctor_ipvs_real_server_weight{" "method=\"$m\",real_server=\"${w[1]}\",service=\"TCP $VIP:$PORT\"" "} ${w[3]}"; then
            echo "  serve: ${w[1]} ${w[2]} weight ${w[3]}: in /metrics as method=\"$m\""; n=$((n + 1))
        else
            echo "  serve: ${w[1]} ${w[2]} weight ${w[3]}: not in /metrics"; return 1
        fi
    done <<<"$(ipvs -Ln)"
    [ $n = 2 ]
}
_report_names_cause() {
    local j; j=$(<$LABRUN/report.json)
    [[ $j == *'"schema": "lvsdoctor/v1"'* && $j == *'"id": "director.no-available-realserver"'* ]]
}

lab_main
