package collect

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Items whose number depends on the host: one file per libvirt domain and
// network filter on a hypervisor, one per NIC for driver counters. Each
// has its Go form here and its sh form in expandScript; TestScriptMatchesLocal
// holds them to the same files.

// libvirtReady: virsh is there and a libvirt daemon listens. virsh -r
// opens a read-only connection: nothing it is asked can change a domain.
func libvirtReady() bool {
	if _, err := exec.LookPath("virsh"); err != nil {
		return false
	}
	for _, s := range []string{"/run/libvirt/libvirt-sock-ro", "/run/libvirt/virtqemud-sock-ro", "/var/run/libvirt/libvirt-sock-ro"} {
		if _, err := os.Stat(s); err == nil {
			return true
		}
	}
	return false
}

func expandedFiles(ctx context.Context, tmo time.Duration) []File {
	var out []File
	run := func(name string, argv ...string) {
		// lists read like a paste ("$ virsh -r list --all"); XML must start with '<'
		it := Item{File: name, Cmd: argv, Header: strings.HasSuffix(name, ".txt")}
		c, cancel := context.WithTimeout(ctx, tmo)
		defer cancel()
		out = append(out, runLocal(c, it))
	}
	if libvirtReady() {
		run("virsh-list.txt", "virsh", "-r", "list", "--all")
		for _, d := range listNames(ctx, "virsh", "-r", "list", "--all", "--name") {
			run("virsh-dumpxml-"+fileSafe(d)+".xml", "virsh", "-r", "dumpxml", d)
		}
		run("virsh-nwfilter-list.txt", "virsh", "-r", "nwfilter-list")
		for _, f := range listNames(ctx, "sh", "-c", "virsh -r nwfilter-list | awk 'NR > 2 && NF >= 2 { print $2 }'") {
			run("virsh-nwfilter-dumpxml-"+fileSafe(f)+".xml", "virsh", "-r", "nwfilter-dumpxml", f)
		}
	}
	if _, err := exec.LookPath("ethtool"); err == nil {
		devs, _ := filepath.Glob("/sys/class/net/*/device")
		for _, d := range devs {
			n := filepath.Base(filepath.Dir(d))
			run("ethtool-S-"+fileSafe(n)+".txt", "ethtool", "-S", n)
		}
	}
	return out
}

func listNames(ctx context.Context, argv ...string) []string {
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).Output()
	if err != nil {
		return nil
	}
	var names []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			names = append(names, l)
		}
	}
	return names
}

// fileSafe keeps a name from a host (a domain, an interface) usable in a
// file name; the script applies the same mapping with tr.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, s)
}

const expandScript = `safe() { printf '%s' "$1" | tr -c 'A-Za-z0-9._-' '_'; }
if have virsh && { [ -e /run/libvirt/libvirt-sock-ro ] || [ -e /run/libvirt/virtqemud-sock-ro ] || [ -e /var/run/libvirt/libvirt-sock-ro ]; }; then
    item virsh-list.txt 'virsh -r list --all' 0 virsh -r list --all
    virsh -r list --all --name 2>/dev/null | while read -r d; do
        [ -n "$d" ] && item "virsh-dumpxml-$(safe "$d").xml" '' 0 virsh -r dumpxml "$d"
    done
    item virsh-nwfilter-list.txt 'virsh -r nwfilter-list' 0 virsh -r nwfilter-list
    virsh -r nwfilter-list 2>/dev/null | awk 'NR > 2 && NF >= 2 { print $2 }' | while read -r f; do
        item "virsh-nwfilter-dumpxml-$(safe "$f").xml" '' 0 virsh -r nwfilter-dumpxml "$f"
    done
fi
if have ethtool; then
    for d in /sys/class/net/*/device; do
        [ -e "$d" ] || continue
        n=$(basename "$(dirname "$d")")
        item "ethtool-S-$(safe "$n").txt" "ethtool -S $n" 0 ethtool -S "$n"
    done
fi
`
