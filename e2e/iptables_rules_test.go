package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRuleLinesAndCommands: the raw PREROUTING drop of the VIP, shown
// not by iptables-save but by `iptables -t raw -S` (a real capture), as the
// lone rule line pasted without its command, or as the `iptables -I`
// command typed at a prompt, is the same finding citing that line.
func TestRuleLinesAndCommands(t *testing.T) {
	lone, err := os.ReadFile(filepath.Join("..", "internal", "parse", "iptables", "testdata", "nft-S-raw-PREROUTING-1.txt"))
	if err != nil {
		t.Fatal(err)
	}
	base := corpusFiles(t, "director.firewall-drops-vip--raw-drop").with("director/iptables-save-c.txt", "")
	for _, c := range []struct {
		name, file, text string
		line             int
	}{
		{"iptables -t raw -S", "director/rules.txt", "$ iptables -t raw -S\n" + string(lone), 2},
		{"lone line", "director/rule.txt", string(lone), 1},
		{"command at a prompt", "director/paste.txt", "[root@director ~]# iptables -t raw -I PREROUTING -d 192.0.2.100/32 -j DROP\n" +
			"[root@director ~]# iptables -t raw -S PREROUTING\n-P PREROUTING ACCEPT\n", 1},
	} {
		d := diagnoseFiles(t, base.with(c.file, c.text))
		if len(d.Findings) == 0 || d.Findings[0].ID != "director.firewall-drops-vip" || d.Findings[0].Severity != "critical" {
			t.Errorf("%s: findings %+v", c.name, d.Findings)
			continue
		}
		cited := false
		for _, r := range d.Findings[0].Evidence {
			cited = cited || (r.Source == c.file && r.Line == c.line)
		}
		if !cited {
			t.Errorf("%s: evidence %+v, want %s:%d", c.name, d.Findings[0].Evidence, c.file, c.line)
		}
	}
}
