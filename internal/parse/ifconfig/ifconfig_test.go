package ifconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

func load(t testing.TB, name string) evidence.Doc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return evidence.Doc{Host: "h", Source: "h/" + name, Start: 1, Command: "ifconfig -a", Text: string(b)}
}

func TestParse(t *testing.T) {
	tests := []struct {
		file     string
		links    []string // "name kind mtu up lowerup mac"
		addrs    []string // "iface label prefix scope"
		counters map[string]int64
	}{
		{"ifconfig-a.txt",
			[]string{"br0 ether 1500 true true 9a:19:7c:b2:e3:4f", "lo loopback 65536 true true ", "macv0 ether 1500 false false ee:2a:06:c1:f0:bb",
				"veth0 ether 1500 true true c2:cf:e4:95:4d:cf", "veth1 ether 1500 true true 9a:19:7c:b2:e3:4f",
				"vethd ether 1500 false false b2:75:38:81:04:0f", "vethe ether 1500 false false 1e:4a:67:f0:d5:f2", "vx0 ether 1450 false false 32:15:9b:56:c1:d3"},
			[]string{"br0  fe80::c434:9fff:fe22:9ae8/64 link", "lo lo 127.0.0.1/8 host", "lo  ::1/128 host", "lo lo:0 192.0.2.60/32 global",
				"veth0 veth0 192.0.2.10/24 global", "veth0  fe80::c0cf:e4ff:fe95:4dcf/64 link", "veth0  2001:db8::10/64 global",
				"veth0 veth0:0 192.0.2.11/24 global", "veth1 veth1 192.0.2.20/24 global", "veth1  fe80::9819:7cff:feb2:e34f/64 link"},
			map[string]int64{"ifconfig.veth0.rx_packets": 14, "ifconfig.veth0.rx_dropped": 0, "ifconfig.br0.tx_packets": 13, "ifconfig.lo.collisions": 0}},
		{"ifconfig-a-centos6.txt",
			[]string{"eth0 ether 1500 true true 00:0c:29:3b:3e:5b", "lo loopback 16436 true true ", "tunl0 ipip 1480 false false "},
			[]string{"eth0 eth0 192.0.2.21/24 global", "eth0  fe80::20c:29ff:fe3b:3e5b/64 link", "eth0 eth0:0 192.0.2.10/32 global",
				"lo lo 127.0.0.1/8 host", "lo  ::1/128 host", "lo lo:0 192.0.2.60/32 global"},
			map[string]int64{"ifconfig.eth0.rx_dropped": 42, "ifconfig.eth0.rx_packets": 1234567, "ifconfig.eth0.tx_carrier": 0, "ifconfig.tunl0.collisions": 0}},
		{"ifconfig-tunl0-new.txt",
			[]string{"tunl0 ipip 1480 true true "},
			[]string{"tunl0 tunl0 192.0.2.60/32 global"},
			map[string]int64{"ifconfig.tunl0.tx_errors": 5, "ifconfig.tunl0.rx_packets": 3}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			doc := load(t, tc.file)
			res, probs := Parse(doc)
			if len(probs) != 0 {
				t.Errorf("problems: %v", probs)
			}
			var links, addrs []string
			for _, l := range res.Links {
				links = append(links, strings.Join([]string{l.Name, l.Kind, itoa(l.MTU), btoa(l.Up), btoa(l.LowerUp), l.MAC}, " "))
			}
			for _, a := range res.Addrs {
				addrs = append(addrs, strings.Join([]string{a.Iface, a.Label, a.Prefix.String(), a.Scope}, " "))
				if a.Ref.Line < 1 || a.Ref.Source != doc.Source {
					t.Errorf("bad ref %+v", a.Ref)
				}
			}
			if strings.Join(links, "\n") != strings.Join(tc.links, "\n") {
				t.Errorf("links:\n%s\nwant\n%s", strings.Join(links, "\n"), strings.Join(tc.links, "\n"))
			}
			if strings.Join(addrs, "\n") != strings.Join(tc.addrs, "\n") {
				t.Errorf("addrs:\n%s\nwant\n%s", strings.Join(addrs, "\n"), strings.Join(tc.addrs, "\n"))
			}
			got := map[string]int64{}
			for _, c := range res.Counters {
				got[c.Name] = c.Value
			}
			for k, v := range tc.counters {
				if g, ok := got[k]; !ok || g != v {
					t.Errorf("%s = %d (present %v), want %d", k, g, ok, v)
				}
			}
		})
	}
}

func itoa(n int) string {
	return fmtInt(n)
}

func fmtInt(n int) string {
	s := ""
	if n == 0 {
		return "0"
	}
	for n > 0 {
		s = string(rune('0'+n%10)) + s
		n /= 10
	}
	return s
}

func btoa(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func TestMaskBits(t *testing.T) {
	for m, want := range map[string]int{"255.255.255.0": 24, "255.255.255.255": 32, "0xffffff00": 24, "255.0.255.0": -1, "x": -1} {
		n, ok := maskBits(m)
		if !ok {
			n = -1
		}
		if n != want {
			t.Errorf("%s: %d want %d", m, n, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.txt")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, text string) {
		doc := evidence.Doc{Source: "f", Text: text}
		res, probs := Parse(doc)
		n := len(doc.Lines())
		for _, a := range res.Addrs {
			if a.Ref.Line < 1 || a.Ref.Line > n || !a.Prefix.IsValid() {
				t.Fatalf("bad addr %+v", a)
			}
		}
		for _, l := range res.Links {
			if l.Ref.Line < 1 || l.Ref.Line > n || l.Name == "" {
				t.Fatalf("bad link %+v", l)
			}
		}
		for _, c := range res.Counters {
			if c.Ref.Line < 1 || c.Ref.Line > n {
				t.Fatalf("bad counter %+v", c)
			}
		}
		for _, p := range probs {
			if p.Line < 1 || p.Line > n {
				t.Fatalf("bad problem %+v", p)
			}
		}
	})
}
