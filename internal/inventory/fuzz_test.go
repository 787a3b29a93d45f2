package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the inventory parser: it must never
// panic, and whatever it accepts must hold the promises Run relies on.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("hosts:\n  - {name: a, address: 192.0.2.1, jump: b}\n  - {name: b, address: 192.0.2.2, jump: a}\n"))
	f.Add([]byte("x: &a [*a]\nhosts: [1.2.3.4]\n"))
	f.Add([]byte("defaults: {jump: gw, identity: [~/k, k2]}\nhosts:\n  - {name: gw, address: gw.example}\n  - '[2001:db8::1]'\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		hosts, err := Parse("fuzz.yaml", data)
		if err != nil {
			if hosts != nil {
				t.Fatal("hosts along with an error")
			}
			return
		}
		if len(hosts) == 0 || len(hosts) > MaxHosts {
			t.Fatalf("%d hosts accepted", len(hosts))
		}
		names := map[string]bool{}
		for _, h := range hosts {
			if h.Name == "" || h.Address == "" || h.Port < 1 || h.Port > 65535 || h.Timeout <= 0 || h.Line < 1 {
				t.Fatalf("bad host accepted: %+v", h)
			}
			if names[h.Name] {
				t.Fatalf("duplicate name %q accepted", h.Name)
			}
			names[h.Name] = true
			if strings.HasPrefix(h.Name, ".") || strings.ContainsAny(h.Name, "/\\\x00") {
				t.Fatalf("name %q cannot be a host folder", h.Name)
			}
			if (h.Jump == "") != (h.JumpHost == nil) {
				t.Fatalf("%s: jump %q resolved to %v", h.Name, h.Jump, h.JumpHost)
			}
			hops := 0
			for j := h.JumpHost; j != nil; j = j.JumpHost {
				if hops++; hops > MaxJumpHops {
					t.Fatalf("%s: more than %d jump hosts in front", h.Name, MaxJumpHops)
				}
				if j.Address == "" || j.Port < 1 {
					t.Fatalf("%s: bad jump host %+v", h.Name, j)
				}
			}
		}
	})
}
