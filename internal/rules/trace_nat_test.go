package rules_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/engine"
	"github.com/lvsdoctor/lvsdoctor/internal/intake"
	"github.com/lvsdoctor/lvsdoctor/internal/rules"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
	"github.com/lvsdoctor/lvsdoctor/internal/trace/tracegen"
)

// natCase writes a case directory of generated captures (client,
// director, two real servers), with roles and case.yaml, and nothing
// else: the packets alone must tell.
func natCase(t *testing.T, c tracegen.Cluster) string {
	t.Helper()
	dir := t.TempDir()
	files, err := tracegen.WriteCluster(t.TempDir(), c)
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]string{"client": "client", "director": "director", "rs1": "realserver", "rs2": "realserver"}
	for _, f := range files {
		host := strings.TrimSuffix(filepath.Base(f), ".pcap")
		if err := os.MkdirAll(filepath.Join(dir, host), 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if os.WriteFile(filepath.Join(dir, host, "eth0.pcap"), b, 0o644) != nil || os.WriteFile(filepath.Join(dir, host, "role"), []byte(roles[host]+"\n"), 0o644) != nil {
			t.Fatal("cannot write the case")
		}
	}
	yaml := "vip: 192.0.2.100\nport: 80\nproto: tcp\nclient: 203.0.113.7\nmode: " + c.Mode + "\n"
	if err := os.WriteFile(filepath.Join(dir, "case.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestPacketPathNATFNAT: the packet-path rules follow NAT's and FNAT's
// rewritten copies (through the packet tracer): a director that forwards
// them is not said not to forward, and where they are lost is said.
func TestPacketPathNATFNAT(t *testing.T) {
	for _, c := range []struct {
		name  string
		c     tracegen.Cluster
		first string // "" for no critical finding
	}{
		{"nat-healthy", tracegen.Cluster{Mode: "nat"}, ""},
		{"fnat-healthy", tracegen.Cluster{Mode: "fnat", SeqShift: 7}, ""},
		{"fnat-lost", tracegen.Cluster{Mode: "fnat", Drop: "forward"}, "trace.lost-in-transit"},
		{"nat-silent-rs", tracegen.Cluster{Mode: "nat", Drop: "rs"}, "trace.rs-not-replying"},
		{"fnat-reply-lost", tracegen.Cluster{Mode: "fnat", Drop: "reply"}, "trace.reply-lost"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cs, err := intake.Load(natCase(t, c.c))
			if err != nil {
				t.Fatal(err)
			}
			d := engine.Run(cs, topology.Hints{}, rules.All())
			var crit []string
			for _, f := range d.Findings {
				if f.Severity == diagnosis.Critical {
					crit = append(crit, f.ID+"@"+f.Host)
				}
				if f.ID == "trace.director-not-forwarding" {
					t.Errorf("the director forwards (rewritten copies): %s", f.Title)
				}
			}
			switch {
			case c.first == "" && len(crit) > 0:
				t.Errorf("critical findings on a healthy cluster: %v", crit)
			case c.first != "" && (len(crit) == 0 || !strings.HasPrefix(crit[0], c.first+"@")):
				t.Errorf("critical findings %v, want %s first", crit, c.first)
			}
		})
	}
}
