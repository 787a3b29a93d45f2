package collect_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/ssh"

	"github.com/lvsdoctor/lvsdoctor/internal/collect"
	"github.com/lvsdoctor/lvsdoctor/internal/inventory"
	"github.com/lvsdoctor/lvsdoctor/internal/memtest"
	"github.com/lvsdoctor/lvsdoctor/internal/sshexec"
	"github.com/lvsdoctor/lvsdoctor/internal/sshexec/sshdtest"
)

// hostileSSHD is a real sshd whose every session runs body instead of the
// script it is sent: a compromised host, which reads the script (and so
// its nonce, into $M) and prints what it likes.
func hostileSSHD(t *testing.T, pub ssh.PublicKey, body string) *sshdtest.Server {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hostile.sh")
	script := "#!/bin/sh\nn=$(sed -n \"s/^M='@@lvsdoctor-\\(.*\\)'\\$/\\1/p\" | head -n 1)\nM=\"@@lvsdoctor-$n\"\n" +
		"frame() { printf '\\n%s begin 1000 %s\\n%s\\n\\n%s end 0 %s\\n' \"$M\" \"$1\" \"$2\" \"$M\" \"$1\"; }\n" + body
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return sshdtest.Start(t, []ssh.PublicKey{pub}, "ForceCommand "+p)
}

// A compromised host among good ones: its forged names are refused file
// by file, one flooding its output is cut off at the cap, and neither
// costs the other hosts anything.
func TestRemoteHostileHosts(t *testing.T) {
	key, pub := sshdtest.ClientKey(t)
	good := sshdtest.Start(t, []ssh.PublicKey{pub}, "")
	forger := hostileSSHD(t, pub, `frame ok.txt fine
frame 'my file.txt' spaces
frame .collect/manifest.yaml 'host: forged'
frame ../../etc/x pwn
frame /abs pwn
frame role director
frame '' empty
frame "$(printf 'esc\033[2J')" pwn
frame ok.txt 'second copy'
`)
	// a keepalived file that never ends, framed as the script would
	flood := hostileSSHD(t, pub, `frame before.txt fine
printf '\n%s begin 16777216 etc/keepalived/keepalived.conf\n' "$M"
yes 'vrrp_instance VI_1 { state MASTER interface eth0 virtual_router_id 51 }'
`)
	kh := sshdtest.KnownHostsFile(t, good.KnownHostsLine(), forger.KnownHostsLine(), flood.KnownHostsLine())
	host := func(s *sshdtest.Server, name, role string) inventory.Host {
		h := s.Host(name, key)
		h.Role, h.Timeout = role, 2*time.Minute
		return h
	}
	hosts := []inventory.Host{
		host(good, "ds1", "director"),
		host(forger, "rs1", "realserver"),
		host(flood, "rs2", "realserver"),
		host(good, "rs3", "realserver"),
	}
	root := filepath.Join(t.TempDir(), "case")
	const limit = 64 << 20
	bundles := collect.RemoteInto(context.Background(), hosts, sshexec.Options{KnownHosts: []string{kh}, MaxOutput: limit}, root)

	for _, i := range []int{0, 3} {
		b := bundles[i]
		if b.Err != "" {
			t.Errorf("%s: %s", b.Host, b.Err)
			continue
		}
		if data, err := os.ReadFile(filepath.Join(root, b.Host, "uname-a.txt")); err != nil || !strings.HasPrefix(string(data), "$ uname -a\nLinux") {
			t.Errorf("%s: uname-a.txt %q, %v", b.Host, data, err)
		}
		for _, f := range b.Files {
			if f.Data != nil {
				t.Errorf("%s: %s still in memory after it was written", b.Host, f.Name)
			}
		}
	}

	// the forger: collected, its forged names refused one by one
	evil := bundles[1]
	if evil.Err != "" {
		t.Errorf("forged names failed the host: %s", evil.Err)
	}
	dir := filepath.Join(root, "rs1")
	for name, want := range map[string]string{"ok.txt": "fine\n", "my file.txt": "spaces\n", "role": "realserver\n"} {
		if data, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(data) != want {
			t.Errorf("rs1/%s: %q, %v; want %q", name, data, err, want)
		}
	}
	refused := 0
	for _, f := range evil.Files {
		if strings.HasPrefix(f.Err, "not saved: ") {
			refused++
		}
	}
	if refused != 7 {
		t.Errorf("%d files refused, want 7: %+v", refused, evil.Files)
	}
	var m struct {
		Host  string
		Files []struct{ File, Error string }
	}
	data, err := os.ReadFile(filepath.Join(dir, ".collect", "manifest.yaml"))
	if err != nil || yaml.Unmarshal(data, &m) != nil || m.Host != "rs1" || len(m.Files) != len(evil.Files) {
		t.Errorf("rs1's manifest is not lvsdoctor's: %v\n%s", err, data)
	}
	filepath.WalkDir(filepath.Dir(root), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasPrefix(p, root+string(filepath.Separator)) {
			t.Errorf("%s written outside the case", p)
		}
		return nil
	})

	// the flood: cut off at the cap, alone, keeping what it sent
	fl := bundles[2]
	if !strings.Contains(fl.Err, "rs2 (") || !strings.Contains(fl.Err, "printed more than 64 MiB") {
		t.Errorf("flooding host: error %q", fl.Err)
	}
	conf, err := os.Stat(filepath.Join(root, "rs2", "etc", "keepalived", "keepalived.conf"))
	if err != nil || conf.Size() != 16<<20 {
		t.Errorf("the flooded file: %v, %v; want its 16 MiB cap kept", conf, err)
	}
	for _, f := range fl.Files {
		if f.Name == "etc/keepalived/keepalived.conf" && !f.Truncated {
			t.Errorf("the flooded file is not marked truncated: %+v", f)
		}
	}
	if !strings.Contains(fl.Summary(), "FAILED") || !strings.Contains(fl.Summary(), "what arrived before is kept: 1 files, 0 skipped, 1 failed") {
		t.Errorf("summary %q", fl.Summary())
	}
}

// A host printing 300 MB costs the memory of its largest file (the
// keepalived cap, 16 MiB), not of its output.
func TestRemoteMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 300 MB over SSH; skipped with -short")
	}
	key, pub := sshdtest.ClientKey(t)
	s := hostileSSHD(t, pub, `printf '\n%s begin 16777216 etc/keepalived/keepalived.conf\n' "$M"
yes 'vrrp_instance VI_1 { state MASTER interface eth0 virtual_router_id 51 }' | head -c 300000000
printf '\n%s end 0 etc/keepalived/keepalived.conf\n' "$M"
frame after.txt fine
`)
	h := s.Host("ds1", key)
	h.Timeout = 5 * time.Minute
	root := t.TempDir()
	start := time.Now()
	var b *collect.Bundle
	heap := memtest.PeakHeap(func() {
		b = collect.RemoteInto(context.Background(), []inventory.Host{h}, sshexec.Options{KnownHosts: []string{sshdtest.KnownHostsFile(t, s.KnownHostsLine())}}, root)[0]
	})
	t.Logf("300 MB from one host in %v: peak heap %d MB above the baseline", time.Since(start), heap>>20)
	if b.Err != "" {
		t.Fatal(b.Err)
	}
	if heap > 64<<20 {
		t.Errorf("peak heap %d MB above the baseline; want under 64 MB", heap>>20)
	}
	st, err := os.Stat(filepath.Join(root, "ds1", "etc", "keepalived", "keepalived.conf"))
	if err != nil || st.Size() != 16<<20 {
		t.Errorf("keepalived.conf: %v %v", st, err)
	}
	if data, _ := os.ReadFile(filepath.Join(root, "ds1", "after.txt")); string(data) != "fine\n" {
		t.Errorf("the file after the big one: %q", data)
	}
}
