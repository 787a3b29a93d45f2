package rules_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/engine"
	"github.com/lvsdoctor/lvsdoctor/internal/intake"
	"github.com/lvsdoctor/lvsdoctor/internal/rules"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

// TestPMTUIgnoredInCapture: a capture alone, with no service known, shows
// path MTU discovery failing when a segment answered by ICMP frag-needed
// is sent again as large as before; when the sender resends it smaller,
// the ICMP worked and nothing is said.
func TestPMTUIgnoredInCapture(t *testing.T) {
	seg := "02:09:46.233125 IP 10.104.10.66.4506 > 10.100.27.10.37742: Flags [.], seq 108:1556, ack 1161, win 244, length 1448\n"
	icmp := "02:09:46.238984 IP 10.104.27.1 > 10.104.10.66: ICMP 10.100.27.10 unreachable - need to frag (mtu 1476), length 36\n"
	for _, c := range []struct {
		name, capture string
		want          bool
	}{
		{"resent-as-large", seg + icmp + "02:09:46.769167 IP 10.104.10.66.4506 > 10.100.27.10.37742: Flags [.], seq 108:1556, ack 1161, win 244, length 1448\n", true},
		{"resent-smaller", seg + icmp + "02:09:46.239100 IP 10.104.10.66.4506 > 10.100.27.10.37742: Flags [.], seq 108:1532, ack 1161, win 244, length 1424\n", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "paste.txt")
			if err := os.WriteFile(f, []byte(c.capture), 0o644); err != nil {
				t.Fatal(err)
			}
			cs, err := intake.Load(f)
			if err != nil {
				t.Fatal(err)
			}
			d := engine.Run(cs, topology.Hints{}, rules.All())
			var got *diagnosis.Finding
			for i := range d.Findings {
				if d.Findings[i].ID == "net.tunnel-mtu" {
					got = &d.Findings[i]
				}
			}
			switch {
			case c.want && got == nil:
				t.Fatalf("no net.tunnel-mtu finding: %+v", d.Findings)
			case !c.want && got != nil:
				t.Fatalf("net.tunnel-mtu where the sender lowered its segments: %s", got.Title)
			case got != nil && (got.Severity != diagnosis.Critical || len(got.Evidence) != 3 || got.Evidence[1].Line != 2):
				t.Errorf("finding %s (%s), evidence %+v: want critical, citing segment, ICMP and resend", got.Title, got.Severity, got.Evidence)
			}
		})
	}
}
