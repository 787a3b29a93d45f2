#!/bin/bash
# Fault director.testing-from-director: a healthy DR cluster, "broken" only
# in the eyes of an engineer who tests it from the director itself. IPVS does
# schedule the director's own connection to the VIP, and sends it to a real
# server with the VIP as its source; the real server owns the VIP too, so it
# drops the packet (a source address of its own) and the test hangs. The
# same request from the real client works.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
EXPECT=director.testing-from-director
LB_KIND=DR CHECK=TCP_CHECK VRRP=multicast
CASE_CLIENT=$DIR_IP    # case.yaml: the test ran on the director
SYMPTOM="curl http://$VIP/ run on the director hangs"

setup() { cluster_up; }

prove() {
    local r
    r=$(HTTP_TMO=1 vip_seq_from director 4); echo "  director -> VIP x4: $r"
    check "from the director, the VIP fails" all_err $r
    r=$(vip_seq 4); echo "  client -> VIP x4: $r"
    check "from the client, both real servers answer through the VIP" both_answer $r
}
vip_seq_from() { local i r=""; for i in $(seq 1 "$2"); do r="$r $(get $VIP "$1")"; done; echo $r; }

lab_main
