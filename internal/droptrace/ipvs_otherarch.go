//go:build !386 && !amd64 && !arm64

package droptrace

import (
	"errors"

	"github.com/cilium/ebpf"
)

// loadIpvsProbes stands in for the bpf2go output on architectures the kprobe
// object is not built for (kprobe arguments live in per-arch pt_regs).
func loadIpvsProbes() (*ebpf.CollectionSpec, error) {
	return nil, errors.New("no IPVS probe object for this architecture")
}
