package intake

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/casedir"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// FuzzInclude resolves any include pattern in a host folder laid with the
// traps of a hostile case (links out of it, to devices, to FIFOs, loops)
// next to a canary outside it: no pattern reads the canary, every file
// read is a regular file of the folder, and nothing panics or blocks.
func FuzzInclude(f *testing.F) {
	outside := f.TempDir()
	const canary = "fuzz_include_canary_outside"
	if err := os.WriteFile(filepath.Join(outside, "shadow"), []byte(canary+"\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	root := f.TempDir()
	ds := filepath.Join(root, "ds1")
	for _, d := range []string{"etc/keepalived/conf.d", "sub"} {
		if err := os.MkdirAll(filepath.Join(ds, d), 0o755); err != nil {
			f.Fatal(err)
		}
	}
	for name, text := range map[string]string{
		"keepalived.conf":                 "include conf.d/*.conf\n",
		"etc/keepalived/conf.d/vs.conf":   "virtual_server 192.0.2.10 80 {\n}\n",
		"etc/keepalived/conf.d/vrrp.conf": "vrrp_instance VI_1 {\n}\n",
		"sub/x.conf":                      "! inside\n",
	} {
		if err := os.WriteFile(filepath.Join(ds, name), []byte(text), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	for name, target := range map[string]string{
		"etc/ssh":     outside,
		"out.conf":    filepath.Join(outside, "shadow"),
		"rel.conf":    "../../" + filepath.Base(outside) + "/shadow",
		"zero.conf":   "/dev/zero",
		"sub/up.conf": "../out.conf",
		"loop.conf":   "loop.conf",
		"in.conf":     "sub/x.conf",
	} {
		if err := os.Symlink(target, filepath.Join(ds, name)); err != nil {
			f.Fatal(err)
		}
	}
	for _, seed := range []string{
		"conf.d/*.conf", "/etc/keepalived/conf.d/*.conf", "../../../../" + outside + "/shadow", outside + "/shadow",
		"etc/ssh/shadow", "etc/ssh/*", "*", "*/*", "out.conf", "rel.conf", "zero.conf", "sub/up.conf", "loop.conf",
		"in.conf", "..", "/", "./././", "[", "\\", "sub/../../shadow", "**/*.conf", "etc/*/conf.d/../../ssh/shadow",
	} {
		f.Add(seed)
	}
	dir, err := casedir.Open(ds)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		left := int64(maxIncludeBytes)
		hf := hostFolder{c: &evidence.Case{}, host: "ds1", root: root, dir: dir, consumed: map[string]bool{}, includeLeft: &left}
		docs, _ := hf.includer()(pattern)
		for _, d := range docs {
			if strings.Contains(d.Text, canary) {
				t.Fatalf("include %q read the file outside the case through %s", pattern, d.Source)
			}
			if !strings.HasPrefix(d.Source, "ds1/") || strings.Contains(d.Source, "..") {
				t.Fatalf("include %q gave a source outside the host folder: %s", pattern, d.Source)
			}
		}
		if left < 0 || left > maxIncludeBytes {
			t.Fatalf("include budget out of range: %d", left)
		}
	})
}
