package intake

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

func fwFixture(t *testing.T, pkg, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "parse", pkg, "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFirewallDetect(t *testing.T) {
	cases := []struct {
		command, base, pkg, fixture, want string
	}{
		{"iptables -t raw -L -n -v --line-numbers", "", "iptables", "nft-L-nv-lines-raw.txt", "iptables"},
		{"iptables -nvL INPUT", "", "iptables", "nft-nvL-INPUT.txt", "iptables"},
		{"/usr/sbin/ip6tables-legacy -L -n", "", "iptables", "legacy-L6-nv.txt", "iptables"},
		{"iptables-save -c", "", "iptables", "nft-save-c.txt", "iptables"},
		{"ip6tables-nft-save", "", "iptables", "nft-save6-c.txt", "iptables"},
		{"iptables -t nat -S", "", "iptables", "legacy-variants-save.txt", "iptables"},
		{"nft list ruleset", "", "nft", "nft-director.txt", "nft"},
		{"nft -j list ruleset", "", "nft", "nft-j-director.json", "nft"},
		{"nft -a list table inet keepalived", "", "nft", "nft-table-keepalived.txt", "nft"},
		{"ebtables -t nat -L --Lc", "", "ebtables", "eb-nft-nat-Lc.txt", "ebtables"},
		{"ebtables-save -c", "", "ebtables", "eb-nft-save-c.txt", "ebtables"},
		// by file name
		{"", "iptables-save.txt", "iptables", "nft-save.txt", "iptables"},
		{"", "rules.v4", "iptables", "nft-save.txt", "iptables"},
		{"", "iptables-L-raw.txt", "iptables", "nft-L-nv-lines-raw.txt", "iptables"},
		{"", "nft-ruleset.txt", "nft", "nft-director.txt", "nft"},
		{"", "nftables.conf", "nft", "nft-director.txt", "nft"},
		{"", "ebtables-nat.txt", "ebtables", "eb-nft-nat-L.txt", "ebtables"},
		// by content
		{"", "fw.txt", "iptables", "nft-L-nv-lines-filter.txt", "iptables"},
		{"", "fw.txt", "iptables", "seed003-L-nv-filter.txt", "iptables"},
		{"", "fw.txt", "iptables", "legacy-save-c.txt", "iptables"},
		{"", "fw.txt", "nft", "nft-iptables-nft.txt", "nft"},
		{"", "fw.txt", "nft", "nft-j-ebtables-nft.json", "nft"},
		{"", "fw.txt", "ebtables", "eb-nft-nat-Ln-Lc.txt", "ebtables"},
		{"", "fw.txt", "ebtables", "eb-nft-save-c.txt", "ebtables"},
		{"", "fw.txt", "ebtables", "seed004-nat-list.txt", "ebtables"},
	}
	for _, c := range cases {
		text := fwFixture(t, c.pkg, c.fixture)
		k, by := Detect(c.command, c.base, true, text)
		if k == nil || k.Name != c.want {
			name := "<nil>"
			if k != nil {
				name = k.Name
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
		if k, _ := Detect("", "x.txt", true, text); k != nil && (k.Name == "iptables" || k.Name == "nft" || k.Name == "ebtables") {
			t.Errorf("%q sniffed as %s", text, k.Name)
		}
	}
}

func applyKind(t *testing.T, name string, doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	t.Helper()
	for _, k := range Formats() {
		if k.Name == name {
			return k.Apply(doc, h)
		}
	}
	t.Fatalf("no kind %s", name)
	return nil
}

func TestFirewallApply(t *testing.T) {
	h := evidence.NewHost("ds1")
	probs := applyKind(t, "iptables", evidence.Doc{Host: "ds1", Source: "ds1/raw.txt", Command: "iptables -t raw -L -n -v", Text: fwFixture(t, "iptables", "nft-warn-legacy-L-raw.txt")}, h)
	probs = append(probs, applyKind(t, "iptables", evidence.Doc{Host: "ds1", Source: "ds1/legacy.txt", Command: "iptables-legacy-save -c", Text: fwFixture(t, "iptables", "legacy-save-raw-hidden.txt")}, h)...)
	probs = append(probs, applyKind(t, "nft", evidence.Doc{Host: "ds1", Source: "ds1/nft.txt", Command: "nft list ruleset", Text: fwFixture(t, "nft", "nft-director.txt")}, h)...)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if !h.Has(evidence.KindIPTables) || !h.Has(evidence.KindNFT) || !h.Has(evidence.KindFirewall) || h.Has(evidence.KindEbtables) {
		t.Errorf("seen %v", h.SeenKinds())
	}
	if len(h.Firewall.Warnings) != 1 {
		t.Errorf("warnings %v", h.Firewall.Warnings)
	}
	vip := netip.MustParseAddr("192.0.2.100")
	p := evidence.Packet{Proto: "tcp", Src: netip.MustParseAddr("203.0.113.50"), Dst: vip, DPort: 80}
	var drops []evidence.FirewallRule
	for i := range h.Firewall.Rules {
		r := &h.Firewall.Rules[i]
		if r.Drops() && r.MatchPacket(p) == evidence.Matches {
			drops = append(drops, *r)
		}
	}
	// raw PREROUTING drops from iptables-nft, iptables-legacy and nft,
	// keepalived's vrrp_strict drop, and the inet filter eth1 drop only
	// when the interface is known.
	tools := map[string]int{}
	for _, r := range drops {
		tools[r.Tool+"/"+r.Table]++
	}
	if tools["iptables/raw"] != 2 || tools["nft/raw"] != 1 || tools["nft/keepalived"] != 1 {
		t.Errorf("drops %v", tools)
	}

	// An empty output is still evidence that it was collected.
	h2 := evidence.NewHost("hv1")
	applyKind(t, "ebtables", evidence.Doc{Host: "hv1", Source: "hv1/eb.txt", Command: "ebtables -t nat -L"}, h2)
	if !h2.Has(evidence.KindEbtables) {
		t.Error("empty ebtables not marked seen")
	}
	applyKind(t, "ebtables", evidence.Doc{Host: "hv1", Source: "hv1/eb2.txt", Command: "ebtables -t nat -L --Lc", Text: fwFixture(t, "ebtables", "eb-nft-nat-Lc.txt")}, h2)
	var spoofDrop bool
	for i := range h2.Firewall.Rules {
		r := &h2.Firewall.Rules[i]
		if r.Chain == "I-vnet0-ipv4-ip" && r.Drops() && r.Pkts == 2 {
			spoofDrop = true
		}
	}
	if !spoofDrop {
		t.Error("libvirt no-ip-spoofing drop not found")
	}
}
