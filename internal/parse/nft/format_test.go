package nft_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/formattest"
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
	formattest.Detect(t, []formattest.Case{
		{Command: "nft list ruleset", Base: "", Text: fixture(t, "nft-director.txt"), Want: "nft", Label: "nft-director.txt"},
		{Command: "nft -j list ruleset", Base: "", Text: fixture(t, "nft-j-director.json"), Want: "nft", Label: "nft-j-director.json"},
		{Command: "nft -a list table inet keepalived", Base: "", Text: fixture(t, "nft-table-keepalived.txt"), Want: "nft", Label: "nft-table-keepalived.txt"},
		// by file name
		{Command: "", Base: "nft-ruleset.txt", Text: fixture(t, "nft-director.txt"), Want: "nft", Label: "nft-director.txt"},
		{Command: "", Base: "nftables.conf", Text: fixture(t, "nft-director.txt"), Want: "nft", Label: "nft-director.txt"},
		// by content
		{Command: "", Base: "fw.txt", Text: fixture(t, "nft-iptables-nft.txt"), Want: "nft", Label: "nft-iptables-nft.txt"},
		{Command: "", Base: "fw.txt", Text: fixture(t, "nft-j-ebtables-nft.json"), Want: "nft", Label: "nft-j-ebtables-nft.json"},
	})
	// Sniffers must not claim other formats.
	formattest.NoFalseSniff(t, nft.Formats(), formattest.OtherOutputs)
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

// TestHiddenSetElements: `nft -t` lists a set without its elements, so
// the rule that drops through it matches what is not known; the set is
// recorded as hidden, with the command that lists it. The full listing
// of the same ruleset hides nothing, and its rule drops the VIP.
func TestHiddenSetElements(t *testing.T) {
	pkt := evidence.Packet{Proto: "tcp", Src: netip.MustParseAddr("203.0.113.50"), Dst: netip.MustParseAddr("192.0.2.100"), DPort: 80}
	for _, tc := range []struct {
		cmd, file string
		hidden    string
		match     evidence.Match
	}{
		{"nft -t list ruleset", "nft-t-set-blocked.txt", "the elements of nft set inet filter blocked (nft -t leaves them out)|nft list set inet filter blocked", evidence.MayMatch},
		{"nft list ruleset", "nft-set-blocked.txt", "", evidence.Matches},
	} {
		h := evidence.NewHost("ds1")
		if probs := parsetest.Format(t, nft.Formats(), "nft").Apply(evidence.Doc{Host: "ds1", Source: "ds1/nft.txt", Command: tc.cmd, Text: fixture(t, tc.file)}, h); len(probs) > 0 {
			t.Fatal(probs)
		}
		var got []string
		for _, x := range h.HiddenOf(evidence.KindFirewall) {
			got = append(got, x.What+"|"+x.Command)
			if !strings.Contains(x.Ref.Text, "@blocked") {
				t.Errorf("%s: hidden cites %q", tc.file, x.Ref.Text)
			}
		}
		if strings.Join(got, ",") != tc.hidden {
			t.Errorf("%s: hidden %q, want %q", tc.file, got, tc.hidden)
		}
		n := 0
		for i := range h.Firewall.Rules {
			r := &h.Firewall.Rules[i]
			if r.Drops() {
				n++
				if m := r.MatchPacket(pkt); m != tc.match {
					t.Errorf("%s: the drop matches the VIP's packet: %v, want %v", tc.file, m, tc.match)
				}
			}
		}
		if n != 1 {
			t.Errorf("%s: %d drops", tc.file, n)
		}
	}
}
