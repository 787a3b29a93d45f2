package droptrace

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// config is what the BPF programs' .rodata filter and tuning become.
type config struct {
	addr        [4]byte // network order
	port        [2]byte // network order
	l4proto     uint8
	netns       uint32
	wakeupBytes uint32
	skip        [2]uint64 // reasons 0..63, 64..127
	benignCode  uint32
	benignLo    uint64
	benignHi    uint64
	ringBytes   uint32
}

// apply writes c into a spec's variables. Both objects declare the same
// ones (bpf/common.h); a variable missing means the object and this code
// disagree, a bug worth a loud error.
func (c *config) apply(spec *ebpf.CollectionSpec) error {
	set := func(name string, v any) error {
		vs, ok := spec.Variables[name]
		if !ok {
			return fmt.Errorf("BPF object has no variable %s (regenerate: scripts/bpf-generate)", name)
		}
		if err := vs.Set(v); err != nil {
			return fmt.Errorf("set %s: %w", name, err)
		}
		return nil
	}
	for _, s := range []struct {
		name string
		v    any
	}{
		{"cfg_addr", c.addr},
		{"cfg_port", c.port},
		{"cfg_l4proto", c.l4proto},
		{"cfg_netns", c.netns},
		{"cfg_wakeup_bytes", c.wakeupBytes},
		{"cfg_skip_lo", c.skip[0]},
		{"cfg_skip_hi", c.skip[1]},
		{"cfg_benign_reason", c.benignCode},
		{"cfg_benign_lo", c.benignLo},
		{"cfg_benign_hi", c.benignHi},
	} {
		if err := set(s.name, s.v); err != nil {
			return err
		}
	}
	m, ok := spec.Maps["events"]
	if !ok {
		return errors.New("BPF object has no events map")
	}
	m.MaxEntries = c.ringBytes
	return nil
}

// keepPrograms removes every program but names from spec, so that loading
// does not verify (and fail on) the variants not chosen.
func keepPrograms(spec *ebpf.CollectionSpec, names ...string) {
	for name := range spec.Programs {
		keep := false
		for _, n := range names {
			keep = keep || n == name
		}
		if !keep {
			delete(spec.Programs, name)
		}
	}
}

// attached is one loaded collection and its links.
type attached struct {
	coll  *ebpf.Collection
	links []link.Link
	progs map[string]*ebpf.Program // attached programs by name
	hook  string                   // IPVS: the hook function probed
}

func (a *attached) close() {
	for _, l := range a.links {
		l.Close()
	}
	a.links = nil
	if a.coll != nil {
		a.coll.Close()
	}
}

// detach stops the programs; the maps stay readable.
func (a *attached) detach() {
	for _, l := range a.links {
		l.Close()
	}
	a.links = nil
}

// loadDropPrograms loads the kfree_skb program (and the FIB one) in the
// first mode and variant the kernel accepts: tp_btf then raw_tp, each with
// the rx_sk argument (6.11+) then without. A tp_btf program with too many
// arguments fails at load, a raw_tp one at attach.
func loadDropPrograms(c *config, mode string, fib bool) (*attached, string, bool, error) {
	base, err := loadDrops()
	if err != nil {
		return nil, "", false, err
	}
	if err := c.apply(base); err != nil {
		return nil, "", false, err
	}
	modes := []string{"tp_btf", "raw_tp"}
	switch mode {
	case "", "auto":
	case "tp_btf", "raw_tp":
		modes = []string{mode}
	default:
		return nil, "", false, fmt.Errorf("mode %q: want auto, tp_btf or raw_tp", mode)
	}
	var errs []error
	for _, m := range modes {
		for _, rxsk := range []bool{true, false} {
			a, err := attachDropPrograms(base, m, rxsk, fib)
			if err == nil {
				return a, m, rxsk, nil
			}
			variant := m + "_kfree_skb"
			if rxsk {
				variant += "_rxsk"
			}
			errs = append(errs, fmt.Errorf("%s: %w", variant, err))
		}
	}
	return nil, "", false, explainLoadError(errors.Join(errs...))
}

func attachDropPrograms(base *ebpf.CollectionSpec, mode string, rxsk, fib bool) (*attached, error) {
	spec := base.Copy()
	kfree := mode + "_kfree_skb"
	if rxsk {
		kfree += "_rxsk"
	}
	names := []string{kfree}
	if fib {
		names = append(names, mode+"_fib_table_lookup")
	}
	keepPrograms(spec, names...)
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		return nil, err
	}
	a := &attached{coll: coll, progs: map[string]*ebpf.Program{}}
	for _, name := range names {
		p := coll.Programs[name]
		tp := strings.TrimSuffix(strings.TrimPrefix(name, mode+"_"), "_rxsk")
		var l link.Link
		if mode == "tp_btf" {
			l, err = link.AttachTracing(link.TracingOptions{Program: p, AttachType: ebpf.AttachTraceRawTp})
		} else {
			l, err = link.AttachRawTracepoint(link.RawTracepointOptions{Name: tp, Program: p})
		}
		if err != nil {
			a.close()
			return nil, fmt.Errorf("attach %s: %w", name, err)
		}
		a.links = append(a.links, l)
		a.progs[name] = p
	}
	return a, nil
}

// explainLoadError puts the likely cause first: a permission error from
// the bpf syscall reads as a bare EPERM otherwise.
func explainLoadError(err error) error {
	if errors.Is(err, os.ErrPermission) {
		if perr := privileged(); perr != nil {
			return fmt.Errorf("%w (%v)", perr, err)
		}
		return fmt.Errorf("kernel refused the BPF programs (lockdown or a security module?): %w", err)
	}
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) {
		return fmt.Errorf("kernel verifier refused the drop programs (kernel too old or unusual?): %w", err)
	}
	return fmt.Errorf("cannot attach to skb:kfree_skb: %w", err)
}
