#!/bin/bash
# DR (direct routing) cluster, healthy: two keepalived directors (VRRP over
# multicast on the shared bridge, TCP_CHECK health checks), VIP on the real
# servers' lo with ARP suppressed. Both real servers answer through the VIP.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=healthy
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast

setup() { cluster_up; }

prove() {
    local r
    r=$(vip_seq 4); echo "  client -> VIP x4: $r"
    check "DR: both real servers answer through the VIP" both_answer $r
    check "DR: client's ARP entry for the VIP is the director's MAC" \
        [ "$(client_vip_mac)" = "$(mac_of director)" ]
    check "DR: VIP is owned by director only" [ "$(vip_owner)" = director ]
}

# The gathering reads sysctl -a, uname -a and cat with busybox (static,
# cheaper under TCG, see lab.sh gather_case): its output must be the real
# tools'. procps reads twice around busybox: a key whose value changed
# between its two reads (counters, kernel.random.uuid) is not compared.
eval "_lab_gather_case() $(declare -f gather_case | tail -n +2)"
gather_case() {
    _lab_gather_case "$@"
    check "gathering: busybox sysctl -a less the deprecated keys is what procps' sysctl -a prints" _sysctl_as_procps
    check "gathering: busybox uname -a is what coreutils' uname -a prints" \
        [ "$(ns director uname -a)" = "$(ns director busybox uname -a)" ]
}
_sysctl_as_procps() {
    # from a bash, as the gathering runs them: procps' sysctl exec'ed by
    # nsenter itself prints the deprecated keys of eth0 and lo, from a bash it
    # leaves them out, as it does in the root namespace
    ns director bash -c 'sysctl -a' >$LABRUN/sysctl.procps1 2>/dev/null
    # shellcheck disable=SC2016  # the inner bash expands it (exported by lab.sh)
    ns director bash -c 'busybox sysctl -a 2>/dev/null | busybox grep -Ev "$SYSCTL_DEPRECATED"' >$LABRUN/sysctl.busybox
    ns director bash -c 'sysctl -a' >$LABRUN/sysctl.procps2 2>/dev/null
    awk -F ' = ' '
        FILENAME == ARGV[1] { k1[FNR] = $1; v1[FNR] = $0; n1 = FNR; next }
        FILENAME == ARGV[2] { v2[FNR] = $0; next }
        { n3 = FNR
          if ($1 != k1[FNR]) { if (bad++ < 5) print "  line " FNR ": busybox " $1 ", procps " k1[FNR]; next }
          if (v1[FNR] == v2[FNR] && $0 != v1[FNR] && bad++ < 5) print "  busybox: " $0 "; procps: " v1[FNR] }
        END { if (n1 != n3) { print "  procps " n1 " lines, busybox " n3; bad++ }
              printf "  sysctl -a: %d keys, %d differ\n", n1, bad; exit (bad > 0) }
    ' $LABRUN/sysctl.procps1 $LABRUN/sysctl.procps2 $LABRUN/sysctl.busybox
}

lab_main
