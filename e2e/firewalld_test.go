package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFirewalldZone: with only `firewall-cmd --list-all` showing the
// director's firewall, the zone of the VIP's interface decides: one that
// opens no service or port for tcp/80 is the finding, one with http is not.
func TestFirewalldZone(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("..", "internal", "parse", "firewalld", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	base := corpusFiles(t, "director.firewall-drops-vip--raw-drop").with("director/iptables-save-c.txt", "")
	d := diagnoseFiles(t, base.with("director/firewall-cmd.txt", "# firewall-cmd --list-all\n"+read("list-all-public-https-only.txt")))
	if len(d.Findings) == 0 || d.Findings[0].ID != "director.firewall-drops-vip" || d.Findings[0].Severity != "critical" ||
		!strings.Contains(d.Findings[0].Title, "firewalld zone public") || d.Findings[0].Evidence[0].Line != 2 {
		t.Fatalf("https only: %+v", d.Findings)
	}
	d = diagnoseFiles(t, base.with("director/firewall-cmd.txt", "# firewall-cmd --list-all-zones\n"+read("list-all-zones.txt")))
	for _, f := range d.Findings {
		if strings.Contains(f.Title, "firewalld") {
			t.Errorf("http open: %+v", f)
		}
	}
}
