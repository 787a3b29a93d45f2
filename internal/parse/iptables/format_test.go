package iptables_test

import (
	"net/netip"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/formattest"
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
	formattest.Detect(t, []formattest.Case{
		{Command: "iptables -t raw -L -n -v --line-numbers", Base: "", Text: fixture(t, "nft-L-nv-lines-raw.txt"), Want: "iptables", Label: "nft-L-nv-lines-raw.txt"},
		{Command: "iptables -nvL INPUT", Base: "", Text: fixture(t, "nft-nvL-INPUT.txt"), Want: "iptables", Label: "nft-nvL-INPUT.txt"},
		{Command: "/usr/sbin/ip6tables-legacy -L -n", Base: "", Text: fixture(t, "legacy-L6-nv.txt"), Want: "iptables", Label: "legacy-L6-nv.txt"},
		{Command: "iptables-save -c", Base: "", Text: fixture(t, "nft-save-c.txt"), Want: "iptables", Label: "nft-save-c.txt"},
		{Command: "ip6tables-nft-save", Base: "", Text: fixture(t, "nft-save6-c.txt"), Want: "iptables", Label: "nft-save6-c.txt"},
		{Command: "iptables -t nat -S", Base: "", Text: fixture(t, "legacy-variants-save.txt"), Want: "iptables", Label: "legacy-variants-save.txt"},
		// by file name
		{Command: "", Base: "iptables-save.txt", Text: fixture(t, "nft-save.txt"), Want: "iptables", Label: "nft-save.txt"},
		{Command: "", Base: "rules.v4", Text: fixture(t, "nft-save.txt"), Want: "iptables", Label: "nft-save.txt"},
		{Command: "", Base: "iptables-L-raw.txt", Text: fixture(t, "nft-L-nv-lines-raw.txt"), Want: "iptables", Label: "nft-L-nv-lines-raw.txt"},
		// by content
		{Command: "", Base: "fw.txt", Text: fixture(t, "nft-L-nv-lines-filter.txt"), Want: "iptables", Label: "nft-L-nv-lines-filter.txt"},
		{Command: "", Base: "fw.txt", Text: fixture(t, "seed003-L-nv-filter.txt"), Want: "iptables", Label: "seed003-L-nv-filter.txt"},
		{Command: "", Base: "fw.txt", Text: fixture(t, "legacy-save-c.txt"), Want: "iptables", Label: "legacy-save-c.txt"},
	})
	// Sniffers must not claim other formats.
	formattest.NoFalseSniff(t, iptables.Formats(), formattest.OtherOutputs)
}

// TestHiddenBy: the command in the warning of each tool and backend.
func TestHiddenBy(t *testing.T) {
	for line, want := range map[string]string{
		"# Warning: iptables-legacy tables present, use iptables-legacy to see them":      "iptables-legacy tables|iptables-legacy-save -c",
		"# Warning: iptables-legacy tables present, use iptables-legacy-save to see them": "iptables-legacy tables|iptables-legacy-save -c",
		"# Warning: ip6tables-legacy tables present, use ip6tables-legacy to see them":    "ip6tables-legacy tables|ip6tables-legacy-save -c",
		"# Warning: ebtables-legacy tables present, use ebtables-legacy-save to see them": "ebtables-legacy tables|ebtables-legacy-save",
		"# Warning: iptables-nft tables present, use iptables-nft-save to see them":       "iptables-nft tables|iptables-nft-save -c",
	} {
		x := iptables.HiddenBy(evidence.Ref{Text: line})
		if got := x.What + "|" + x.Command; got != want || x.Kind != evidence.KindFirewall {
			t.Errorf("%q: %q, want %q", line, got, want)
		}
	}
}

func TestApply(t *testing.T) {
	fs := iptables.Formats()
	h := evidence.NewHost("ds1")
	apply := parsetest.Format(t, fs, "iptables").Apply
	probs := apply(evidence.Doc{Host: "ds1", Source: "ds1/raw.txt", Command: "iptables -t raw -L -n -v", Text: fixture(t, "nft-warn-legacy-L-raw.txt")}, h)
	// iptables-nft's own word that it hid the legacy tables, and the
	// command that shows them.
	if hd := h.HiddenOf(evidence.KindFirewall); len(hd) != 1 || hd[0].What != "iptables-legacy tables" ||
		hd[0].Command != "iptables-legacy-save -c" || hd[0].Ref.Line != 1 {
		t.Errorf("hidden %+v", hd)
	}
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
	// iptables-legacy-save shows what the warning said was hidden.
	if hd := h.HiddenOf(evidence.KindFirewall); len(hd) != 0 {
		t.Errorf("still hidden after iptables-legacy-save: %+v", hd)
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
