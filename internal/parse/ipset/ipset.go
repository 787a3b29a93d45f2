// Package ipset parses what ipset prints: `ipset list` (also -t, -n, one
// set) and `ipset save`. Sets matter because firewall rules drop through
// them: keepalived's vrrp_strict (`-m set --match-set keepalived dst -j
// DROP`) and kube-proxy's IPVS mode name sets, not addresses, so a rule
// is only understood once its set's members are known.
package ipset

import (
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// maxMembers bounds the members kept of one set: kube-proxy's sets hold
// one member per service port, far below this on any real cluster.
const maxMembers = 1 << 20

var (
	nameRE   = regexp.MustCompile(`^[^\s,]{1,64}$`)
	headerRE = regexp.MustCompile(`\bfamily (inet6?)\b`)
)

// Parse reads either format, deciding by content; cmd says whether the
// listing is terse (-t / -n), where members are not shown.
func Parse(doc evidence.Doc) ([]evidence.IPSet, []evidence.Problem) {
	lines := doc.Lines()
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" {
			continue
		}
		if strings.HasPrefix(t, "create ") || strings.HasPrefix(t, "add ") {
			return parseSave(doc, lines)
		}
		break
	}
	if namesOnly(doc.Command) {
		return parseNames(doc, lines)
	}
	return parseList(doc, lines)
}

// namesOnly reports whether cmd is `ipset list -n` (names only).
func namesOnly(cmd string) bool {
	for _, f := range strings.Fields(cmd) {
		if f == "-n" || f == "-name" || f == "--name" {
			return true
		}
	}
	return false
}

func parseNames(doc evidence.Doc, lines []string) ([]evidence.IPSet, []evidence.Problem) {
	var sets []evidence.IPSet
	var probs []evidence.Problem
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" {
			continue
		}
		if !nameRE.MatchString(t) {
			probs = append(probs, doc.Problemf(i, "ipset list -n: not a set name: %q", clip(t)))
			continue
		}
		sets = append(sets, evidence.IPSet{Name: t, Ref: doc.Ref(i, l)})
	}
	return sets, probs
}

func parseList(doc evidence.Doc, lines []string) ([]evidence.IPSet, []evidence.Problem) {
	var sets []evidence.IPSet
	var probs []evidence.Problem
	var cur *evidence.IPSet
	inMembers := false
	flush := func() {
		if cur != nil {
			sets = append(sets, *cur)
		}
		cur, inMembers = nil, false
	}
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" {
			inMembers = false
			continue
		}
		if name, ok := strings.CutPrefix(t, "Name: "); ok {
			flush()
			cur = &evidence.IPSet{Name: strings.TrimSpace(name), Ref: doc.Ref(i, l)}
			continue
		}
		if cur == nil {
			probs = append(probs, doc.Problemf(i, "ipset list: line before any set: %q", clip(t)))
			continue
		}
		if inMembers {
			addMember(cur, t, doc.Ref(i, l))
			continue
		}
		key, val, _ := strings.Cut(t, ":")
		val = strings.TrimSpace(val)
		switch key {
		case "Type":
			cur.Type = val
		case "Header":
			if m := headerRE.FindStringSubmatch(val); m != nil {
				cur.Family = m[1]
			}
		case "Members":
			cur.MembersShown = true
			inMembers = true
		case "Revision", "Size in memory", "References", "Number of entries":
		default:
			probs = append(probs, doc.Problemf(i, "ipset list: line not understood: %q", clip(t)))
		}
	}
	flush()
	return sets, probs
}

func parseSave(doc evidence.Doc, lines []string) ([]evidence.IPSet, []evidence.Problem) {
	var sets []evidence.IPSet
	var probs []evidence.Problem
	byName := map[string]int{}
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		switch {
		case (f[0] == "create" || f[0] == "-N" || f[0] == "-exist") && len(f) >= 3:
			s := evidence.IPSet{Name: f[1], Type: f[2], MembersShown: true, Ref: doc.Ref(i, l)}
			if m := headerRE.FindStringSubmatch(l); m != nil {
				s.Family = m[1]
			}
			byName[s.Name] = len(sets)
			sets = append(sets, s)
		case (f[0] == "add" || f[0] == "-A") && len(f) >= 3:
			k, ok := byName[f[1]]
			if !ok {
				probs = append(probs, doc.Problemf(i, "ipset save: member of a set not created above: %q", clip(l)))
				continue
			}
			addMember(&sets[k], strings.Join(f[2:], " "), doc.Ref(i, l))
		default:
			probs = append(probs, doc.Problemf(i, "ipset save: line not understood: %q", clip(l)))
		}
	}
	return sets, probs
}

// addMember reads "10.96.0.1,tcp:443 comment \"x\"", "198.51.100.7 timeout
// 0 nomatch packets 0 bytes 0": the element, then its options.
func addMember(s *evidence.IPSet, text string, ref evidence.Ref) {
	if len(s.Members) >= maxMembers {
		return
	}
	f := strings.Fields(text)
	if len(f) == 0 {
		return
	}
	m := evidence.IPSetMember{Text: f[0], Ref: ref}
	for _, o := range f[1:] {
		if o == "nomatch" {
			m.Nomatch = true
		}
	}
	s.Members = append(s.Members, m)
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}
