package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A hypervisor with real libvirt: the director's VM is defined with the
// stock clean-traffic filter on its interface. `lvsdoctor collect` on the
// hypervisor reads the domain and the filters with `virsh -r`, and the
// case diagnoses hypervisor.nwfilter-no-ip-spoofing.
func TestCollectHypervisorLibvirt(t *testing.T) {
	needNetns(t)
	for _, tool := range []string{"virsh", "libvirtd"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is absent (Debian packages libvirt-clients, libvirt-daemon)", tool)
		}
	}
	startLibvirtd(t)
	if out, err := exec.Command("virsh", "nwfilter-dumpxml", "clean-traffic").CombinedOutput(); err != nil {
		t.Skipf("libvirt has no stock clean-traffic filter (Debian package libvirt-daemon-config-nwfilter): %s", out)
	}
	const dom = "lvsd-e2e-director"
	xml := `<domain type='qemu'>
  <name>` + dom + `</name>
  <memory unit='MiB'>64</memory>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <interface type='ethernet'>
      <mac address='52:54:00:00:00:02'/>
      <target dev='vnet1'/>
      <filterref filter='clean-traffic'>
        <parameter name='IP' value='192.0.2.2'/>
      </filterref>
    </interface>
  </devices>
</domain>
`
	p := filepath.Join(t.TempDir(), "dom.xml")
	must(t, os.WriteFile(p, []byte(xml), 0o644))
	_ = exec.Command("virsh", "undefine", dom).Run()
	if out, err := exec.Command("virsh", "define", p).CombinedOutput(); err != nil {
		t.Skipf("libvirt cannot define a qemu domain here: %s", out)
	}
	t.Cleanup(func() { _ = exec.Command("virsh", "undefine", dom).Run() })

	hv := newNetnsHost(t, "hv")
	hv.sh("ip link set lo up")
	dir := t.TempDir()
	if out, code := hv.lvsdoctor("collect", "--output", dir, "--host", "hypervisor", "--role", "hypervisor"); code != 0 {
		t.Fatalf("collect: exit %d\n%s", code, out)
	}
	for _, f := range []string{"virsh-list.txt", "virsh-dumpxml-" + dom + ".xml", "virsh-nwfilter-list.txt",
		"virsh-nwfilter-dumpxml-clean-traffic.xml", "virsh-nwfilter-dumpxml-no-ip-spoofing.xml"} {
		if _, err := os.Stat(filepath.Join(dir, "hypervisor", f)); err != nil {
			t.Errorf("collect did not write %s", f)
		}
	}
	// the director VM's own evidence is real lab output with that MAC and IP
	copyDir(t, filepath.Join("..", "testdata", "lab", "dr-healthy", "director"), filepath.Join(dir, "director"))
	must(t, os.WriteFile(filepath.Join(dir, "case.yaml"), []byte("vip: 192.0.2.100\nport: 80\n"), 0o644))
	stdout, _, _ := run("diagnose", dir, "-o", "json")
	var d struct {
		Findings []struct{ ID, Severity, Host string }
	}
	if err := json.Unmarshal([]byte(stdout), &d); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if len(d.Findings) == 0 || d.Findings[0].ID != "hypervisor.nwfilter-no-ip-spoofing" || d.Findings[0].Host != "hypervisor" {
		t.Errorf("findings %+v, want hypervisor.nwfilter-no-ip-spoofing on hypervisor first", d.Findings)
	}
	if stdout, _, _ := run("diagnose", dir, "-v"); strings.Contains(stdout, "INPUT PROBLEMS") {
		t.Errorf("collected libvirt files not all understood:\n%s", stdout)
	}
}

// startLibvirtd starts the system libvirtd for the test unless one runs.
func startLibvirtd(t *testing.T) {
	t.Helper()
	const sock = "/run/libvirt/libvirt-sock"
	if _, err := os.Stat(sock); err == nil {
		return
	}
	must(t, os.MkdirAll("/var/log/libvirt", 0o755))
	must(t, os.MkdirAll("/run/libvirt", 0o755))
	cmd := exec.Command("libvirtd")
	if err := cmd.Start(); err != nil {
		t.Skipf("libvirtd does not start: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for i := 0; i < 100; i++ {
		if exec.Command("virsh", "-r", "list").Run() == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Skip("libvirtd started but does not answer (see /var/log/libvirt/libvirtd.log; qemu driver needs user libvirt-qemu)")
}
