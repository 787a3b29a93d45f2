package intake

import (
	"net/netip"
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

// TestReadAnonymisedTcpdumpPorts: tcpdump glues the port to the address
// ("x.y.z.208.80:"): the address is read, the port kept; two hidden
// addresses one space apart are both read.
func TestReadAnonymisedTcpdumpPorts(t *testing.T) {
	in := "192.243.119.145.51643 > x.y.z.208.80:Flags [S]\nx.y.z.1 x.y.z.2\n"
	out, _ := readAnonymised(in)
	if strings.Contains(out, "x.y.z") {
		t.Fatalf("hidden addresses left: %q", out)
	}
	vip, _ := readAnonymised("TCP  x.y.z.208:80 rr\n")
	addr := strings.TrimSuffix(strings.Fields(vip)[1], ":80")
	if !strings.Contains(out, "> "+addr+".80:Flags") {
		t.Errorf("tcpdump address read as %q, the table's as %q", out, addr)
	}
}

// TestReadPlaceholders: "<public-ip>" and "<private-ip-of-ct>" are read as
// two distinct addresses of 240.0.0.0/4, the same wherever one recurs, and
// named in what was replaced; XML tags and names of no address are left.
func TestReadPlaceholders(t *testing.T) {
	in := "TCP  <public-ip>:80 wlc persistent 50\n  -> <private-ip-of-ct>:80 Masq 1 0 0\n" +
		"curl <Public-IP>:80\n<interface type='bridge'>\n<host>:22\n<vip>10.0.0.1</vip>\n"
	out, seen := readAnonymised(in)
	lines := strings.Split(out, "\n")
	vip := strings.TrimSuffix(strings.Fields(lines[0])[1], ":80")
	rip := strings.TrimSuffix(strings.Fields(lines[1])[1], ":80")
	for _, a := range []string{vip, rip} {
		ip, err := netip.ParseAddr(a)
		if err != nil || !netip.MustParsePrefix("240.0.0.0/4").Contains(ip) {
			t.Fatalf("placeholder read as %q, want an address of 240.0.0.0/4 (%q)", a, out)
		}
	}
	if vip == rip {
		t.Errorf("two placeholders read as one address %s", vip)
	}
	if lines[2] != "curl "+vip+":80" {
		t.Errorf("the same placeholder read differently: %q", lines[2])
	}
	for _, keep := range []string{"<interface type='bridge'>", "<host>:22", "<vip>10.0.0.1</vip>"} {
		if !strings.Contains(out, keep) {
			t.Errorf("%q changed: %q", keep, out)
		}
	}
	if len(seen) != 2 || !strings.HasPrefix(seen[0], "<public-ip> as ") {
		t.Errorf("seen = %q, want each placeholder once", seen)
	}
}
