package iptables_test

import (
	"net/netip"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/intake"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/iptables"
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
		{"iptables -t raw -L -n -v --line-numbers", "", "nft-L-nv-lines-raw.txt", "iptables"},
		{"iptables -nvL INPUT", "", "nft-nvL-INPUT.txt", "iptables"},
		{"/usr/sbin/ip6tables-legacy -L -n", "", "legacy-L6-nv.txt", "iptables"},
		{"iptables-save -c", "", "nft-save-c.txt", "iptables"},
		{"ip6tables-nft-save", "", "nft-save6-c.txt", "iptables"},
		{"iptables -t nat -S", "", "legacy-variants-save.txt", "iptables"},
		// by file name
		{"", "iptables-save.txt", "nft-save.txt", "iptables"},
		{"", "rules.v4", "nft-save.txt", "iptables"},
		{"", "iptables-L-raw.txt", "nft-L-nv-lines-raw.txt", "iptables"},
		// by content
		{"", "fw.txt", "nft-L-nv-lines-filter.txt", "iptables"},
		{"", "fw.txt", "seed003-L-nv-filter.txt", "iptables"},
		{"", "fw.txt", "legacy-save-c.txt", "iptables"},
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
		for _, f := range iptables.Formats() {
			if f.Sniff != nil && f.Sniff(text) {
				t.Errorf("%q sniffed as %s", text, f.Name)
			}
		}
	}
}

func TestApply(t *testing.T) {
	fs := iptables.Formats()
	h := evidence.NewHost("ds1")
	apply := parsetest.Format(t, fs, "iptables").Apply
	probs := apply(evidence.Doc{Host: "ds1", Source: "ds1/raw.txt", Command: "iptables -t raw -L -n -v", Text: fixture(t, "nft-warn-legacy-L-raw.txt")}, h)
	probs = append(probs, apply(evidence.Doc{Host: "ds1", Source: "ds1/legacy.txt", Command: "iptables-legacy-save -c", Text: fixture(t, "legacy-save-raw-hidden.txt")}, h)...)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if !h.Has(evidence.KindIPTables) || !h.Has(evidence.KindFirewall) || h.Has(evidence.KindNFT) || h.Has(evidence.KindEbtables) {
		t.Errorf("seen %v", h.SeenKinds())
	}
	if len(h.Firewall.Warnings) != 1 {
		t.Errorf("warnings %v", h.Firewall.Warnings)
	}
	vip := netip.MustParseAddr("192.0.2.100")
	p := evidence.Packet{Proto: "tcp", Src: netip.MustParseAddr("203.0.113.50"), Dst: vip, DPort: 80}
	n := 0
	for i := range h.Firewall.Rules {
		r := &h.Firewall.Rules[i]
		if r.Drops() && r.MatchPacket(p) == evidence.Matches && r.Table == "raw" {
			n++
		}
	}
	// raw PREROUTING drops from iptables-nft and iptables-legacy
	if n != 2 {
		t.Errorf("%d raw drops, want 2", n)
	}
}
