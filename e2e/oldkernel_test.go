package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// What old kernels lack, exercised on this one (issue 14): lvsdoctor must
// say what is missing and go on, or stop with a clear message; never crash,
// and never load the module it found missing.

// TestCollectWithoutIPVSSaysSo: on a kernel without IPVS (no ip_vs module
// loaded, no IPVS genetlink family: this machine's, and CentOS 6 hosts'
// where the module is absent), collect still collects the rest, says why
// each IPVS item was skipped, and leaves ip_vs unloaded.
func TestCollectWithoutIPVSSaysSo(t *testing.T) {
	if _, err := os.Stat("/proc/net/ip_vs"); err == nil {
		t.Skip("this kernel has IPVS loaded: the lab's scenarios exercise it")
	}
	if os.Geteuid() != 0 {
		t.Skip("collect reads root-only files: run as root")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "collect", "--dir", dir)
	cmd.Env = append(os.Environ(), "LVSDOCTOR_E2E_MAIN=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("collect failed on a kernel without IPVS: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "panic") || strings.Contains(string(out), "goroutine ") {
		t.Fatalf("collect crashed:\n%s", out)
	}
	manifests, _ := filepath.Glob(filepath.Join(dir, "*", ".collect", "manifest.yaml"))
	if len(manifests) != 1 {
		t.Fatalf("manifests %v", manifests)
	}
	m, _ := os.ReadFile(manifests[0])
	if !strings.Contains(string(m), "ip_vs is not loaded: no IPVS on this host") {
		t.Errorf("the manifest does not say why the IPVS items were skipped:\n%s", m)
	}
	if _, err := os.Stat("/proc/net/ip_vs"); err == nil {
		t.Error("collect loaded ip_vs")
	}
}

// TestWatchWithoutBTFSaysSo: on a kernel without BTF (CentOS 7's 3.10,
// any kernel built without CONFIG_DEBUG_INFO_BTF), watch says why it cannot
// trace drops and falls back to the kernel's counters, not to a verifier
// dump or a crash. The kernel's BTF is hidden in a mount namespace of the
// test's own.
func TestWatchWithoutBTFSaysSo(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a mount namespace")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs util-linux's unshare")
	}
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		t.Skip("this kernel has no BTF at all: the path is exercised by every watch test")
	}
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c",
		`mount -t tmpfs none /sys/kernel/btf && exec "$0" watch --vip 192.0.2.1:80 --duration 1s`, os.Args[0])
	cmd.Env = append(os.Environ(), "LVSDOCTOR_E2E_MAIN=1")
	out, err := cmd.CombinedOutput()
	if strings.Contains(string(out), "panic") || strings.Contains(string(out), "goroutine ") {
		t.Fatalf("watch crashed:\n%s", out)
	}
	if err != nil {
		t.Fatalf("watch without BTF failed instead of falling back to the counters: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "no eBPF here (kernel has no BTF") || !strings.Contains(string(out), "counter deltas") {
		t.Errorf("watch without BTF does not say BTF is missing and what it does instead:\n%s", out)
	}
	t.Logf("watch without BTF: %s", strings.TrimSpace(string(out)))
}
