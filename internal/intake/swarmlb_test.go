package intake

import (
	"os"
	"path/filepath"
	"testing"
)

func TestIsSwarmLB(t *testing.T) {
	for line, want := range map[string]bool{
		"nsenter --net=/var/run/docker/netns/lb_nlw0vbakt cat /proc/sys/net/ipv4/ip_forward": true,
		"nsenter --net=/run/docker/netns/ingress_sbox ipvsadm -Ln":                           true,
		"nsenter -n/var/run/docker/netns/lb_abc123 sysctl net.ipv4.ip_forward":               true,  // -n takes its file glued
		"ip netns exec lb_x sysctl net.ipv4.ip_forward":                                      false, // a namespace named lb_x, anyone's
		"nsenter --net=/var/run/netns/lb_x cat /proc/sys/net/ipv4/ip_forward":                false,
		"nsenter --net=/var/run/docker/netns/1-abcdef cat /proc/sys/net/ipv4/ip_forward":     false, // a container's sandbox
	} {
		if got := IsSwarmLB(line); got != want {
			t.Errorf("%q: %v", line, got)
		}
	}
}

// The namespace a paste enters by Docker's path is marked as swarm's load
// balancer, citing that line; the session's host and a namespace of the
// user's own are not.
func TestSwarmLBFromTranscript(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "paste.txt")
	text := "```\nnsenter --net=/var/run/docker/netns/lb_nlw0vbakt cat /proc/sys/net/ipv4/ip_forward\n0\n```\n" +
		"```\n> ip netns exec test cat /proc/sys/net/ipv4/ip_forward\n0\n```\n"
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	lb := c.Lookup("lb_nlw0vbakt")
	if lb == nil || lb.SwarmLB == nil || lb.SwarmLB.Line != 2 || lb.SwarmLB.Text != "nsenter --net=/var/run/docker/netns/lb_nlw0vbakt cat /proc/sys/net/ipv4/ip_forward" {
		t.Fatalf("lb namespace: %+v", lb)
	}
	if v, _, ok := lb.SysctlInt("net.ipv4.ip_forward"); !ok || v != 0 {
		t.Errorf("ip_forward of lb: %d %v", v, ok)
	}
	for _, h := range c.Hosts {
		if h != lb && h.SwarmLB != nil {
			t.Errorf("%s marked as swarm's load balancer", h.Name)
		}
	}
}
