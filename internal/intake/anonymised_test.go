package intake

import (
	"strings"
	"testing"
)

// TestReadAnonymised: the hidden octets of the seeds' and field cases'
// addresses are read the same wherever they recur, a hidden first octet
// in 240-254; addresses, versions and words are left alone.
func TestReadAnonymised(t *testing.T) {
	in := "inet xxx.xxx.1.60/32 brd xxx.xxx.1.60 scope global lo:0\n" +
		"UDP xxx.xxx.1.60:52002 rr-> xxx.xxx.1.48:52002 Route 1 0 0\n" +
		"TCP  x.y.z.208:80 wlc\n  -> x.y.z.226:80\n" +
		"inet 10.0.0.1/8 kernel 3.10.0-957.el7.x86_64 a.b.c.d v1.2.3\n"
	out, seen := readAnonymised(in)
	lines := strings.Split(out, "\n")
	vip := strings.Fields(lines[0])[1]
	if !strings.HasSuffix(vip, ".1.60/32") || strings.Contains(vip, "x") {
		t.Fatalf("first address read as %q", vip)
	}
	if !strings.Contains(lines[1], strings.TrimSuffix(vip, "/32")+":52002") {
		t.Errorf("the same hidden address read differently: %q vs %q", lines[1], vip)
	}
	first := strings.Split(vip, ".")[0]
	if first < "240" || first > "254" {
		t.Errorf("hidden first octet read as %s, want 240-254", first)
	}
	if lines[4] != "inet 10.0.0.1/8 kernel 3.10.0-957.el7.x86_64 a.b.c.d v1.2.3" {
		t.Errorf("line without anonymised addresses changed: %q", lines[4])
	}
	if len(seen) == 0 || !strings.HasPrefix(seen[0], "xxx.xxx.1.60 as ") {
		t.Errorf("seen = %q", seen)
	}
}
