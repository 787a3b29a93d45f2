package e2e

import (
	"strings"
	"testing"
)

// Kernel drop traces (lines the droptrace prototype printed for real drops
// in namespaces on this kernel) folded into a case: each reason is
// reported as kernel.drop, and where the other evidence shows the cause
// the drop reason points to, that cause leads and the drop follows it.
func TestKernelDropFindings(t *testing.T) {
	const noSocket = `
$ lvsdoctor watch --vip 203.0.113.10 --port 81
05:33:02.889949 kfree_skb reason=NO_SOCKET(3) at=tcp_v4_rcv+0x91 netns=dt-lb:4026532178 dev=lb0/2 tcp 192.0.2.1:46746 > 203.0.113.10:81 flags=S len=40
droptrace: 1 events read; bpf: calls=1 matched=1 lost(ringbuf full)=0
`
	base := caseFiles{
		"case.yaml":    "vip: 203.0.113.10\nport: 81\nproto: tcp\n",
		"lb/role":      "realserver\n",
		"lb/watch.txt": noSocket,
	}
	d := diagnoseFiles(t, base)
	if len(d.Findings) == 0 || d.Findings[0].ID != "kernel.drop" || !strings.Contains(d.Findings[0].Title, "NO_SOCKET at tcp_v4_rcv+0x91") ||
		d.Findings[0].Evidence[0].Line != 2 {
		t.Fatalf("findings %+v", d.Findings)
	}

	// with the listeners shown (nothing on :81), the cause leads
	d = diagnoseFiles(t, base.with("lb/ss-lntup.txt", `
Netid State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process
tcp   LISTEN 0      4096         0.0.0.0:22        0.0.0.0:*     users:(("sshd",pid=1,fd=3))
`))
	ids := []string{}
	for _, f := range d.Findings {
		ids = append(ids, f.ID)
	}
	if len(ids) < 2 || ids[0] != "rs.app-not-listening" || ids[1] != "kernel.drop" || len(d.Findings[1].CausedBy) == 0 {
		t.Errorf("findings %v (caused_by %v), want rs.app-not-listening then kernel.drop linked to it", ids, d.Findings)
	}

	// drops of other flows and benign teardown frees are not findings
	d = diagnoseFiles(t, base.with("lb/watch.txt", `
05:33:02.1 kfree_skb reason=NO_SOCKET(3) at=tcp_v4_rcv+0x91 netns=dt-lb:1 dev=lb0/2 tcp 192.0.2.1:46746 > 203.0.113.99:81 flags=S len=40
05:33:02.2 kfree_skb reason=NOT_SPECIFIED(2) at=tcp_rcv_state_process+0x1a0 netns=dt-lb:1 dev=lb0/2 tcp 192.0.2.1:46746 > 203.0.113.10:81 flags=. len=32
`))
	for _, f := range d.Findings {
		if f.ID == "kernel.drop" {
			t.Errorf("unexpected %s: %s", f.ID, f.Title)
		}
	}

	// an rp_filter drop with its reverse route lookup as attribution
	d = diagnoseFiles(t, base.with("case.yaml", "vip: 203.0.113.10\n", "lb/watch.txt", `
05:32:55.194410 fib_table_lookup table=254 203.0.113.10 -> 198.18.0.5 iif=1 oif=0 => dev=lb1/3 netns=dt-lb:4026532178
05:32:55.194411 kfree_skb reason=IP_RPFILTER(16) at=ip_rcv_finish_core+0x25b netns=dt-lb:4026532178 dev=lb0/2 icmp 198.18.0.5 > 203.0.113.10 type=8 code=0 len=84
droptrace: 1 events read; bpf: calls=3 matched=1 lost(ringbuf full)=2
`))
	if len(d.Findings) == 0 || d.Findings[0].ID != "kernel.drop" || len(d.Findings[0].Evidence) != 2 ||
		!strings.Contains(d.Findings[0].Explanation, "rs.rp-filter-strict") {
		t.Fatalf("findings %+v", d.Findings)
	}
	lost := false
	for _, n := range d.Notes {
		lost = lost || strings.Contains(n, "lost 2 events")
	}
	if !lost {
		t.Errorf("notes %v do not say the tracer lost events", d.Notes)
	}
}
