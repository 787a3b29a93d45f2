package rules

import (
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// In swarm's load-balancer namespace the fix enters it by the path the
// evidence used, and names the host its ip_forward is copied from; the
// path is rebuilt from Docker's name alone, never other input.
func TestIPForwardFixSwarmLB(t *testing.T) {
	d := &evidence.Host{Name: "lb_k2x9", SwarmLB: &evidence.Ref{Text: "nsenter --net=/run/docker/netns/lb_k2x9 sh -c 'cat /proc/sys/net/ipv4/ip_forward; rm -rf /'"}}
	fix := ipForwardFix(d)
	if len(fix) != 4 || !strings.HasPrefix(fix[0], "nsenter --net=/run/docker/netns/lb_k2x9 sysctl -w net.ipv4.ip_forward=1") ||
		!strings.Contains(fix[1], "initial one") || !strings.HasPrefix(fix[2], "sysctl -w net.ipv4.ip_forward=1") {
		t.Fatalf("fix %q", fix)
	}
	for _, f := range fix {
		if strings.Contains(f, "rm -rf") {
			t.Errorf("input copied into the fix: %q", f)
		}
	}
	plain := ipForwardFix(&evidence.Host{Name: "lb1"})
	if len(plain) != 2 || !strings.HasPrefix(plain[0], "sysctl -w net.ipv4.ip_forward=1") {
		t.Errorf("plain director: %q", plain)
	}
}
