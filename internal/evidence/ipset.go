package evidence

import (
	"net/netip"
	"strconv"
	"strings"
)

// IPSet is one ipset set as `ipset list` or `ipset save` showed it.
type IPSet struct {
	Name   string
	Type   string // "hash:ip", "hash:ip,port", "hash:net", "bitmap:port", "list:set", ...
	Family string // "inet", "inet6"; "" for bitmap and list types
	// MembersShown is false when the listing left the members out
	// (`ipset list -t`, `ipset list -n`): the set exists, its content is
	// unknown.
	MembersShown bool
	Members      []IPSetMember
	Ref          Ref
}

// IPSetMember is one member, as printed ("10.96.0.1,tcp:443").
type IPSetMember struct {
	Text string // the element, without its options (timeout, comment, counters)
	// Nomatch marks an exception of a hash:net* set: a packet whose most
	// specific matching member is nomatch is not in the set.
	Nomatch bool
	Ref     Ref
}

// SetMatch is a rule's ipset match: `-m set [!] --match-set NAME dst,dst`.
type SetMatch struct {
	Name   string
	Dirs   []string // "src" or "dst" for each of the set's dimensions
	Negate bool
	Text   string // as the rule printed it
}

// AddIPSets records sets; a later listing of a set replaces an earlier one.
func (h *Host) AddIPSets(sets []IPSet) {
	if h.Firewall.IPSets == nil {
		h.Firewall.IPSets = map[string]IPSet{}
	}
	for _, s := range sets {
		if old, ok := h.Firewall.IPSets[s.Name]; ok && old.MembersShown && !s.MembersShown {
			continue // a terse listing says less than a full one
		}
		h.Firewall.IPSets[s.Name] = s
	}
}

// maxSetDepth bounds list:set nesting (the kernel refuses a list:set in a
// list:set; a hand-edited paste may still loop).
const maxSetDepth = 4

// Match says whether packet p is in the set named by m, looking members up
// in sets. It answers MayMatch when the set is unknown, its members were
// not shown, or a member's dimension cannot be decided from p.
func (m SetMatch) Match(p Packet, sets map[string]IPSet) Match {
	res := setMatch(m.Name, m.Dirs, p, sets, 0)
	if m.Negate {
		switch res {
		case Matches:
			return NoMatch
		case NoMatch:
			return Matches
		}
	}
	return res
}

// Known reports whether the members of the set m names are known.
func (m SetMatch) Known(sets map[string]IPSet) bool {
	s, ok := sets[m.Name]
	return ok && s.MembersShown
}

func setMatch(name string, dirs []string, p Packet, sets map[string]IPSet, depth int) Match {
	s, ok := sets[name]
	if !ok || !s.MembersShown || depth > maxSetDepth {
		return MayMatch
	}
	kind, dimText, _ := strings.Cut(s.Type, ":")
	if kind == "list" {
		res := NoMatch
		for _, mem := range s.Members {
			switch setMatch(mem.Text, dirs, p, sets, depth+1) {
			case Matches:
				return Matches
			case MayMatch:
				res = MayMatch
			}
		}
		return res
	}
	dims := strings.Split(dimText, ",")
	// The kernel (ip_set_test) never matches when the rule gives fewer
	// directions than the set has dimensions, nor across families.
	if len(dirs) < len(dims) {
		return NoMatch
	}
	if a := firstValid(p.Dst, p.Src); a.IsValid() && s.Family != "" {
		v6 := a.Is6() && !a.Is4In6()
		if (s.Family == "inet6") != v6 {
			return NoMatch
		}
	}
	res := NoMatch
	bestBits, bestNomatch := -1, false
	for _, mem := range s.Members {
		parts := splitMember(mem.Text, len(dims))
		if parts == nil {
			res = maxMatch(res, MayMatch)
			continue
		}
		m := Matches
		bits := 0
		for i, d := range dims {
			r, b := dimMatch(d, parts[i], dirs[i], p)
			if d == "net" {
				bits = b
			}
			m = minMatch(m, r)
		}
		if m == Matches && (s.Type == "hash:net" || strings.HasPrefix(s.Type, "hash:net,")) {
			if bits > bestBits {
				bestBits, bestNomatch = bits, mem.Nomatch
			}
			continue
		}
		if mem.Nomatch && m != NoMatch {
			m = MayMatch
		}
		res = maxMatch(res, m)
	}
	if bestBits >= 0 {
		if bestNomatch {
			return minMatch(res, MayMatch)
		}
		return Matches
	}
	return res
}

// splitMember splits "10.96.0.1,tcp:443" into its n dimensions.
func splitMember(text string, n int) []string {
	parts := strings.Split(text, ",")
	if len(parts) != n {
		return nil
	}
	return parts
}

// dimMatch matches one dimension of a member against p; for a net
// dimension it also returns the prefix length (for nomatch ordering).
func dimMatch(dim, val, dir string, p Packet) (Match, int) {
	src := dir == "src"
	switch dim {
	case "ip", "net":
		a := p.Dst
		if src {
			a = p.Src
		}
		ps := parseAddrOrRange(val)
		if ps == nil {
			return MayMatch, 0
		}
		if !a.IsValid() {
			return MayMatch, 0
		}
		for _, pf := range ps {
			if pf.Contains(a.Unmap()) {
				return Matches, pf.Bits()
			}
		}
		return NoMatch, 0
	case "port":
		proto, port, hasProto := strings.Cut(val, ":")
		if !hasProto {
			proto, port = "tcp", val // bitmap:port holds TCP and UDP ports alike
			if p.Proto != "" && !protoEqual(p.Proto, "tcp") && !protoEqual(p.Proto, "udp") {
				return NoMatch, 0
			}
		} else if p.Proto != "" && !protoEqual(proto, p.Proto) {
			return NoMatch, 0
		}
		pp := p.DPort
		if src {
			pp = p.SPort
		}
		lo, hi, isRange := strings.Cut(port, "-")
		from, err1 := strconv.ParseUint(lo, 10, 16)
		to := from
		var err2 error
		if isRange {
			to, err2 = strconv.ParseUint(hi, 10, 16)
		}
		if err1 != nil || err2 != nil {
			return MayMatch, 0
		}
		if pp == 0 {
			return MayMatch, 0
		}
		if uint64(pp) >= from && uint64(pp) <= to {
			return Matches, 0
		}
		return NoMatch, 0
	case "iface":
		if src && p.InIface != "" {
			if IfaceMatch(strings.TrimPrefix(val, "physdev:"), p.InIface) {
				return Matches, 0
			}
			return NoMatch, 0
		}
	}
	return MayMatch, 0 // mark, mac, an interface the packet does not name
}

// parseAddrOrRange reads an address, a prefix or a range a-b.
func parseAddrOrRange(s string) []netip.Prefix {
	if from, to, ok := strings.Cut(s, "-"); ok {
		a, err1 := netip.ParseAddr(from)
		b, err2 := netip.ParseAddr(to)
		if err1 != nil || err2 != nil || b.Less(a) || a.BitLen() != b.BitLen() {
			return nil
		}
		// A range is rare in a listing (the kernel stores prefixes); a
		// member test over it is all we need.
		return rangeAsPrefixes(a, b)
	}
	if pf, err := netip.ParsePrefix(s); err == nil {
		return []netip.Prefix{pf.Masked()}
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return []netip.Prefix{netip.PrefixFrom(a, a.BitLen())}
	}
	return nil
}

func rangeAsPrefixes(a, b netip.Addr) []netip.Prefix {
	var out []netip.Prefix
	for len(out) < 256 {
		bits := a.BitLen()
		for bits > 0 {
			p := netip.PrefixFrom(a, bits-1).Masked()
			if p.Addr() != a || lastOf(p).Compare(b) > 0 {
				break
			}
			bits--
		}
		p := netip.PrefixFrom(a, bits)
		out = append(out, p)
		last := lastOf(p)
		if last.Compare(b) >= 0 || !last.Next().IsValid() {
			return out
		}
		a = last.Next()
	}
	return out
}

func lastOf(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func firstValid(as ...netip.Addr) netip.Addr {
	for _, a := range as {
		if a.IsValid() {
			return a
		}
	}
	return netip.Addr{}
}

func minMatch(a, b Match) Match {
	if a < b {
		return a
	}
	return b
}

func maxMatch(a, b Match) Match {
	if a > b {
		return a
	}
	return b
}
