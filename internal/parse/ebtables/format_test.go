package ebtables_test

import (
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/ebtables"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/formattest"
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
		{Command: "ebtables -t nat -L --Lc", Base: "", Text: fixture(t, "eb-nft-nat-Lc.txt"), Want: "ebtables", Label: "eb-nft-nat-Lc.txt"},
		{Command: "ebtables-save -c", Base: "", Text: fixture(t, "eb-nft-save-c.txt"), Want: "ebtables", Label: "eb-nft-save-c.txt"},
		// by file name
		{Command: "", Base: "ebtables-nat.txt", Text: fixture(t, "eb-nft-nat-L.txt"), Want: "ebtables", Label: "eb-nft-nat-L.txt"},
		// by content
		{Command: "", Base: "fw.txt", Text: fixture(t, "eb-nft-nat-Ln-Lc.txt"), Want: "ebtables", Label: "eb-nft-nat-Ln-Lc.txt"},
		{Command: "", Base: "fw.txt", Text: fixture(t, "eb-nft-save-c.txt"), Want: "ebtables", Label: "eb-nft-save-c.txt"},
		{Command: "", Base: "fw.txt", Text: fixture(t, "seed004-nat-list.txt"), Want: "ebtables", Label: "seed004-nat-list.txt"},
	})
	// Sniffers must not claim other formats.
	formattest.NoFalseSniff(t, ebtables.Formats(), formattest.OtherOutputs)
}

func TestApply(t *testing.T) {
	apply := parsetest.Format(t, ebtables.Formats(), "ebtables").Apply
	// An empty output is still evidence that it was collected.
	h := evidence.NewHost("hv1")
	apply(evidence.Doc{Host: "hv1", Source: "hv1/eb.txt", Command: "ebtables -t nat -L"}, h)
	if !h.Has(evidence.KindEbtables) || !h.Has(evidence.KindFirewall) {
		t.Error("empty ebtables not marked seen")
	}
	apply(evidence.Doc{Host: "hv1", Source: "hv1/eb2.txt", Command: "ebtables -t nat -L --Lc", Text: fixture(t, "eb-nft-nat-Lc.txt")}, h)
	var spoofDrop bool
	for i := range h.Firewall.Rules {
		r := &h.Firewall.Rules[i]
		if r.Chain == "I-vnet0-ipv4-ip" && r.Drops() && r.Pkts == 2 {
			spoofDrop = true
		}
	}
	if !spoofDrop {
		t.Error("libvirt no-ip-spoofing drop not found")
	}
}
