package droptrace

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"

	"github.com/cilium/ebpf/btf"
)

// reasonTable maps enum skb_drop_reason values to names. It is read from
// the running kernel's BTF because the enum grows every release and its
// values shift (NETFILTER_DROP is not the same number everywhere): a
// compiled-in table would name drops wrongly.
type reasonTable struct {
	names  map[uint32]string
	byName map[string]uint32
	subsys map[uint32]string // enum skb_drop_reason_subsys, 6.8+
}

// subsysShift is SKB_DROP_REASON_SUBSYS_SHIFT: subsystem reasons (mac80211,
// openvswitch, ...) are subsys<<16 | code.
const subsysShift = 16

var (
	reasonsOnce sync.Once
	reasonsTab  *reasonTable
	reasonsErr  error
)

// kernelReasons loads the table once: kernel BTF parsing takes tens of
// milliseconds and the enum does not change while the kernel runs.
func kernelReasons() (*reasonTable, error) {
	reasonsOnce.Do(func() {
		spec, err := btf.LoadKernelSpec()
		if err != nil {
			reasonsErr = fmt.Errorf("kernel BTF (/sys/kernel/btf/vmlinux): %w", err)
			return
		}
		reasonsTab, reasonsErr = reasonsFromBTF(spec)
	})
	return reasonsTab, reasonsErr
}

func reasonsFromBTF(spec *btf.Spec) (*reasonTable, error) {
	var e *btf.Enum
	if err := spec.TypeByName("skb_drop_reason", &e); err != nil {
		return nil, fmt.Errorf("kernel too old: no enum skb_drop_reason in its BTF (drop reasons need 5.17+): %w", err)
	}
	t := &reasonTable{names: map[uint32]string{}, byName: map[string]uint32{}, subsys: map[uint32]string{}}
	for _, v := range e.Values {
		name := strings.TrimPrefix(v.Name, "SKB_DROP_REASON_")
		name = strings.TrimPrefix(name, "SKB_") // SKB_NOT_DROPPED_YET, SKB_CONSUMED
		if name == "SUBSYS_MASK" || name == "MAX" {
			continue
		}
		t.names[uint32(v.Value)] = name
		t.byName[name] = uint32(v.Value)
	}
	var s *btf.Enum
	if err := spec.TypeByName("skb_drop_reason_subsys", &s); err == nil {
		for _, v := range s.Values {
			t.subsys[uint32(v.Value)] = strings.TrimPrefix(v.Name, "SKB_DROP_REASON_SUBSYS_")
		}
	} else if !errors.Is(err, btf.ErrNotFound) {
		return nil, err
	}
	return t, nil
}

// name renders a reason value; values the enum lacks stay recognisable.
func (t *reasonTable) name(v uint32) string {
	if t == nil {
		return fmt.Sprintf("REASON_%d", v)
	}
	if n, ok := t.names[v]; ok {
		return n
	}
	if sub := v >> subsysShift; sub != 0 {
		name, ok := t.subsys[sub]
		if !ok {
			name = fmt.Sprint(sub)
		}
		return fmt.Sprintf("SUBSYS_%s:%#x", name, v&(1<<subsysShift-1))
	}
	return fmt.Sprintf("REASON_%d", v)
}

// Reasons returns the running kernel's enum skb_drop_reason, value to name
// without the SKB_DROP_REASON_ prefix, from its BTF.
func Reasons() (map[uint32]string, error) {
	t, err := kernelReasons()
	if err != nil {
		return nil, err
	}
	return maps.Clone(t.names), nil
}

// benignReasons are normal wherever they happen: TCP discarding what it
// already has (retransmits, old duplicates).
var benignReasons = map[string]bool{
	"TCP_OLD_DATA":     true,
	"TCP_OLD_SEQUENCE": true,
}

// benignTeardownFunc frees pure ACKs handled in non-ESTABLISHED states
// (FIN_WAIT1 after shutdown() with data queued, ...) with NOT_SPECIFIED:
// tens of thousands per large transfer, none of them a fault.
const benignTeardownFunc = "tcp_rcv_state_process"

// Benign reports whether a drop reason is normal wherever it happens
// (TCP_OLD_DATA, TCP_OLD_SEQUENCE). NOT_SPECIFIED is benign only at TCP
// teardown, which only the location tells: see Event.Benign.
func Benign(reason string) bool { return benignReasons[reason] }

// Benign reports whether the drop is normal: a Benign reason, or
// NOT_SPECIFIED in tcp_rcv_state_process. Tracers hide these unless
// Options.ShowBenign is set.
func (e Event) Benign() bool {
	if Benign(e.Reason) {
		return true
	}
	return e.Reason == "NOT_SPECIFIED" && strings.HasPrefix(e.Location, benignTeardownFunc+"+")
}
