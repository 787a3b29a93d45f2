package engine

import (
	"fmt"
	"sort"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/rules"
)

// Rank orders findings root cause first. A finding whose cause explains
// another present finding leads a group; the consequences follow it, are
// linked to it by CausedBy, and the group is as severe as its most severe
// member (a warning-level cause of a critical symptom still comes first).
// Between groups: severity, then the rules' Rank (deeper causes first),
// then host and ID for a stable order.
func Rank(fs []diagnosis.Finding, rs []*rules.Rule) []diagnosis.Finding {
	explains := map[string]map[string]bool{}
	for _, r := range rs {
		for _, id := range r.Explains {
			if explains[r.ID] == nil {
				explains[r.ID] = map[string]bool{}
			}
			explains[r.ID][id] = true
		}
	}
	explainsOf := func(f diagnosis.Finding, id string) bool {
		if explains[f.ID][id] {
			return true
		}
		for _, x := range f.Explains {
			if x == id {
				return true
			}
		}
		return false
	}
	for i := range fs {
		fs[i].CausedBy = nil
		var same, other []string
		for j := range fs {
			if i != j && explainsOf(fs[j], fs[i].ID) && !explainsOf(fs[i], fs[j].ID) {
				if fs[j].Host == fs[i].Host {
					same = append(same, fs[j].Key())
				} else {
					other = append(other, fs[j].Key())
				}
			}
		}
		// A cause on the same host explains its consequence there; one on
		// another host (a hypervisor's filter, the peer director) only
		// when nothing closer does.
		if len(same) > 0 {
			fs[i].CausedBy = uniqueSorted(same)
		} else {
			fs[i].CausedBy = uniqueSorted(other)
		}
	}
	// A rule may report one cause several times on a host (once per
	// service): the first stands for all of them.
	byKey := map[string]int{}
	for i, f := range fs {
		if _, ok := byKey[f.Key()]; !ok {
			byKey[f.Key()] = i
		}
	}
	// root follows CausedBy to a finding that nothing explains.
	root := make([]int, len(fs))
	for i := range fs {
		cur, hops := i, 0
		for len(fs[cur].CausedBy) > 0 && hops < len(fs) {
			cur = byKey[fs[cur].CausedBy[0]]
			hops++
		}
		// Same-key findings share one group, led by the first of them.
		root[i] = byKey[fs[cur].Key()]
	}
	groupSev := make([]int, len(fs))
	for i := range fs {
		groupSev[i] = fs[i].Severity.Rank()
	}
	for i := range fs {
		r := root[i]
		if s := fs[i].Severity.Rank(); s < groupSev[r] {
			groupSev[r] = s
		}
	}
	// A root cause has the impact of what it causes: a warning-level
	// cause of a critical consequence is critical, and says why.
	for i := range fs {
		fs[i].RootCause = root[i] == i
		fs[i].SeverityFrom = ""
	}
	for i := range fs {
		r := root[i]
		if i == r || fs[i].Severity.Rank() >= fs[r].Severity.Rank() {
			continue
		}
		if fs[r].SeverityFrom == "" {
			fs[r].SeverityFrom = fmt.Sprintf("%s because it causes %s", fs[i].Severity, fs[i].Key())
		}
		fs[r].Severity = fs[i].Severity
	}
	idx := make([]int, len(fs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ia, ib := idx[a], idx[b]
		ra, rb := root[ia], root[ib]
		if ra != rb {
			if groupSev[ra] != groupSev[rb] {
				return groupSev[ra] < groupSev[rb]
			}
			if fs[ra].Rank != fs[rb].Rank {
				return fs[ra].Rank < fs[rb].Rank
			}
			return less(fs[ra], fs[rb])
		}
		// Same group: the cause, then its consequences.
		if (ia == ra) != (ib == rb) {
			return ia == ra
		}
		if fs[ia].Severity != fs[ib].Severity {
			return fs[ia].Severity.Rank() < fs[ib].Severity.Rank()
		}
		if fs[ia].Rank != fs[ib].Rank {
			return fs[ia].Rank < fs[ib].Rank
		}
		return less(fs[ia], fs[ib])
	})
	out := make([]diagnosis.Finding, len(fs))
	for i, j := range idx {
		out[i] = fs[j]
	}
	return out
}

func less(a, b diagnosis.Finding) bool {
	if a.Host != b.Host {
		return a.Host < b.Host
	}
	return a.ID < b.ID
}

func uniqueSorted(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}
