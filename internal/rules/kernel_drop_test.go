package rules

import (
	"slices"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// A cause the kernel's drop reasons point to declares kernel.drop among
// what it explains, and only such a cause does: dropCauses and the rules'
// declarations say the same.
func TestDropCausesExplainKernelDrop(t *testing.T) {
	mapped := map[string]bool{}
	for _, byRole := range dropCauses {
		for _, ids := range byRole {
			for _, id := range ids {
				mapped[id] = true
			}
		}
	}
	rules := map[string]*Rule{}
	for _, r := range All() {
		rules[r.ID] = r
	}
	for id := range mapped {
		r, ok := rules[id]
		if !ok {
			t.Errorf("dropCauses names %s, which no rule detects", id)
			continue
		}
		if !slices.Contains(r.Explains, kernelDrop.ID) {
			t.Errorf("rule %s: a drop reason points to it (dropCauses), so its Explains must list %s", id, kernelDrop.ID)
		}
	}
	for _, r := range All() {
		if slices.Contains(r.Explains, kernelDrop.ID) && !mapped[r.ID] {
			t.Errorf("rule %s explains %s, but no drop reason in dropCauses points to it", r.ID, kernelDrop.ID)
		}
	}
}

func TestCausesOfDrop(t *testing.T) {
	for _, c := range []struct {
		reason string
		role   evidence.Role
		want   []string
	}{
		{"IP_RPFILTER", evidence.RoleRealServer, []string{"rs.rp-filter-strict"}},
		{"IP_RPFILTER", evidence.RoleDirector, []string{"director.rp-filter-drops-clients"}},
		// a role the reason has no entry for: every cause it points to
		{"IP_RPFILTER", evidence.RoleUnknown, []string{"director.rp-filter-drops-clients", "rs.rp-filter-strict"}},
		// a reason for any role
		{"PKT_TOO_BIG", evidence.RoleHypervisor, []string{"net.tunnel-mtu"}},
		{"NO_SUCH_REASON", evidence.RoleDirector, nil},
	} {
		if got := CausesOfDrop(c.reason, c.role); !slices.Equal(got, c.want) {
			t.Errorf("CausesOfDrop(%s, %s) = %q, want %q", c.reason, c.role, got, c.want)
		}
	}
}
