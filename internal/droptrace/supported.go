package droptrace

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
)

// Linux capability numbers (include/uapi/linux/capability.h).
const (
	capSysAdmin = 21
	capPerfmon  = 38
	capBPF      = 39
)

// Supported returns nil if tracing can run here, else why not, in words a
// user can act on (for choosing the counter fallback and for t.Skip).
func Supported() error {
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		return errors.New("kernel has no BTF (/sys/kernel/btf/vmlinux missing: CONFIG_DEBUG_INFO_BTF is off)")
	}
	if err := privileged(); err != nil {
		return err
	}
	if lockdownConfidential() {
		return errors.New("kernel lockdown=confidentiality forbids BPF programs from reading kernel memory")
	}
	if _, err := kernelReasons(); err != nil {
		return err
	}
	if err := features.HaveProgramType(ebpf.RawTracepoint); err != nil {
		return fmt.Errorf("kernel cannot load raw tracepoint programs: %w", err)
	}
	return nil
}

// privileged checks the effective capabilities: loading tracing programs
// needs CAP_BPF and CAP_PERFMON (5.8+), or CAP_SYS_ADMIN.
func privileged() error {
	eff, err := effectiveCaps()
	if err != nil {
		return fmt.Errorf("cannot read own capabilities: %w", err)
	}
	has := func(c uint) bool { return eff&(1<<c) != 0 }
	if has(capSysAdmin) || (has(capBPF) && has(capPerfmon)) {
		return nil
	}
	return errors.New("not privileged: tracing drops needs root (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN)")
}

func effectiveCaps() (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no CapEff line in /proc/self/status")
}

// lockdownConfidential reads the active lockdown mode, "[confidentiality]"
// when bpf_probe_read_kernel is refused. securityfs may not be mounted;
// then loading tells.
func lockdownConfidential() bool {
	b, err := os.ReadFile("/sys/kernel/security/lockdown")
	return err == nil && strings.Contains(string(b), "[confidentiality]")
}
