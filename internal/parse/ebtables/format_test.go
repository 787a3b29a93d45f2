package ebtables_test

import (
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/intake"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/ebtables"
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
		{"ebtables -t nat -L --Lc", "", "eb-nft-nat-Lc.txt", "ebtables"},
		{"ebtables-save -c", "", "eb-nft-save-c.txt", "ebtables"},
		// by file name
		{"", "ebtables-nat.txt", "eb-nft-nat-L.txt", "ebtables"},
		// by content
		{"", "fw.txt", "eb-nft-nat-Ln-Lc.txt", "ebtables"},
		{"", "fw.txt", "eb-nft-save-c.txt", "ebtables"},
		{"", "fw.txt", "seed004-nat-list.txt", "ebtables"},
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
		for _, f := range ebtables.Formats() {
			if f.Sniff != nil && f.Sniff(text) {
				t.Errorf("%q sniffed as %s", text, f.Name)
			}
		}
	}
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
