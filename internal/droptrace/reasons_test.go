package droptrace

import (
	"os"
	"testing"
)

func TestReasonsFromKernelBTF(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		t.Skip("kernel has no BTF (/sys/kernel/btf/vmlinux)")
	}
	r, err := Reasons()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]uint32{}
	for v, n := range r {
		byName[n] = v
	}
	for _, name := range []string{"NOT_SPECIFIED", "NO_SOCKET", "NETFILTER_DROP", "OTHERHOST", "IP_RPFILTER", "IP_NOPROTO", "NOT_DROPPED_YET"} {
		if _, ok := byName[name]; !ok {
			t.Errorf("%s not in the kernel's enum skb_drop_reason", name)
		}
	}
	if byName["NOT_DROPPED_YET"] != 0 {
		t.Errorf("NOT_DROPPED_YET = %d, want 0", byName["NOT_DROPPED_YET"])
	}
	// The copy is the caller's.
	delete(r, byName["NO_SOCKET"])
	if again, _ := Reasons(); again[byName["NO_SOCKET"]] != "NO_SOCKET" {
		t.Error("Reasons() shares its map")
	}
}
