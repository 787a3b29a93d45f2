package nft_test

import (
	"net/netip"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/intake"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/nft"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/parsetest"
)

func fixture(t *testing.T, name string) string {
	t.Helper()
	return parsetest.Fixture(t, "h", name, "").Text
}

// TestDetect: blocks of this package's formats are read as them, in the
// order intake tries every format.
func TestDetect(t *testing.T) {
	cases := []struct {
		command, base, fixture, want string
	}{
		{"nft list ruleset", "", "nft-director.txt", "nft"},
		{"nft -j list ruleset", "", "nft-j-director.json", "nft"},
		{"nft -a list table inet keepalived", "", "nft-table-keepalived.txt", "nft"},
		// by file name
		{"", "nft-ruleset.txt", "nft-director.txt", "nft"},
		{"", "nftables.conf", "nft-director.txt", "nft"},
		// by content
		{"", "fw.txt", "nft-iptables-nft.txt", "nft"},
		{"", "fw.txt", "nft-j-ebtables-nft.json", "nft"},
	}
	for _, c := range cases {
		f, by := intake.Detect(c.command, c.base, true, fixture(t, c.fixture))
		if f == nil || f.Name != c.want {
			name := "<nil>"
			if f != nil {
				name = f.Name
			}
			t.Errorf("%q %q %s: got %s (by %s), want %s", c.command, c.base, c.fixture, name, by, c.want)
		}
	}
	// Sniffers must not claim other formats.
	for _, text := range []string{
		"1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN\n",
		"IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n",
		"net.ipv4.ip_forward = 1\n",
		"Chain of events: nothing\n",
	} {
		for _, f := range nft.Formats() {
			if f.Sniff != nil && f.Sniff(text) {
				t.Errorf("%q sniffed as %s", text, f.Name)
			}
		}
	}
}

func TestApply(t *testing.T) {
	h := evidence.NewHost("ds1")
	probs := parsetest.Format(t, nft.Formats(), "nft").Apply(evidence.Doc{Host: "ds1", Source: "ds1/nft.txt", Command: "nft list ruleset", Text: fixture(t, "nft-director.txt")}, h)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if !h.Has(evidence.KindNFT) || !h.Has(evidence.KindFirewall) || h.Has(evidence.KindIPTables) {
		t.Errorf("seen %v", h.SeenKinds())
	}
	vip := netip.MustParseAddr("192.0.2.100")
	p := evidence.Packet{Proto: "tcp", Src: netip.MustParseAddr("203.0.113.50"), Dst: vip, DPort: 80}
	tables := map[string]int{}
	for i := range h.Firewall.Rules {
		r := &h.Firewall.Rules[i]
		if r.Drops() && r.MatchPacket(p) == evidence.Matches {
			tables[r.Table]++
		}
	}
	// the raw PREROUTING drop, keepalived's vrrp_strict drop, and the inet
	// filter eth1 drop only when the interface is known.
	if tables["raw"] != 1 || tables["keepalived"] != 1 {
		t.Errorf("drops %v", tables)
	}
}
