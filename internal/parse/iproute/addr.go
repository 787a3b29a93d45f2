// Package iproute parses the text output of iproute2's `ip` command:
// addresses and links (`ip addr`, `ip -o addr`, `ip -br addr`, `ip [-d]
// link`), routes (`ip route` of any table, `ip route get`), policy rules
// (`ip rule`) and neighbours (`ip neigh`), in the formats of old (CentOS 6,
// iproute 2.6.32) and current (6.x) iproute2, plus pastes where the line
// breaks were lost.
package iproute

import (
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// Interfaces is what `ip addr` / `ip link` showed.
type Interfaces struct {
	Links []evidence.Link
	Addrs []evidence.Addr
}

// logical is one line of output after -o lines and glued pastes were cut
// back into the lines ip printed; i is the source line it came from.
type logical struct {
	i    int
	text string
}

var (
	// 2: eth0@if5: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 ...
	headerRe = regexp.MustCompile(`^(\d+):\s+([^\s:@]+)(?:@(\S+?))?:\s+<([^>]*)>(.*)$`)
	// 3: veth0    inet 192.0.2.10/24 ... (ip -o addr)
	oneLineAddrRe = regexp.MustCompile(`^(\d+):\s+([^\s:@]+)(?:@\S+)?:?\s+(inet6?\s.*)$`)
	// Keywords that start a line of ip addr output, found glued to the end
	// of the previous line when a paste lost its line breaks:
	// "qlen 1000inet 127.0.0.1/8 scope host lovalid_lft forever".
	gluedRe = regexp.MustCompile(`\S(?:inet6? |link/|valid_lft |altname )`)
	// "...preferred_lft forever2: ens33: <..." — a whole next interface glued.
	gluedHeaderRe = regexp.MustCompile(`forever(\d+: [^\s:]+: <)`)
	macRe         = regexp.MustCompile(`^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5,19}$`)
)

// detailKinds are the first words of the `ip -d link` line that names the
// link's type.
var detailKinds = map[string]bool{
	"veth": true, "bridge": true, "vxlan": true, "vlan": true, "dummy": true, "ipip": true,
	"ip6tnl": true, "gre": true, "gretap": true, "ip6gre": true, "ip6gretap": true, "sit": true,
	"macvlan": true, "macvtap": true, "ipvlan": true, "ipvtap": true, "bond": true, "team": true,
	"tun": true, "geneve": true, "vrf": true, "wireguard": true, "nlmon": true, "ifb": true,
	"xfrm": true, "erspan": true, "vti": true, "vti6": true, "openvswitch": true, "can": true,
	"bareudp": true, "netkit": true, "hsr": true, "macsec": true, "gtp": true, "batadv": true,
}

// linkTypes maps the word after "link/" to Link.Kind.
var linkTypes = map[string]string{
	"loopback": "loopback", "ether": "ether", "ipip": "ipip", "gre": "gre", "sit": "sit",
	"tunnel6": "ip6tnl", "gre6": "ip6gre", "none": "none", "void": "none", "infiniband": "infiniband",
	"ieee802.11": "wlan", "can": "can", "ppp": "ppp",
}

// operStates are the states `ip -br` prints in its second column.
var operStates = map[string]bool{
	"UP": true, "DOWN": true, "UNKNOWN": true, "LOWERLAYERDOWN": true, "DORMANT": true,
	"NOTPRESENT": true, "TESTING": true,
}

// addrFlags are words ip prints after "scope X" that are not the label.
var addrFlags = map[string]bool{
	"secondary": true, "temporary": true, "dynamic": true, "noprefixroute": true, "deprecated": true,
	"tentative": true, "mngtmpaddr": true, "nodad": true, "optimistic": true, "home": true,
	"permanent": true, "dadfailed": true, "stable-privacy": true, "autojoin": true, "primary": true,
}

// splitLogical undoes `ip -o` (records joined with a backslash) and pastes
// that glued lines together, so the parser sees the lines ip printed.
func splitLogical(lines []string) []logical {
	var out []logical
	for i, raw := range lines {
		parts := []string{raw}
		if strings.Contains(raw, `\`) {
			parts = strings.Split(raw, `\`)
		}
		for _, p := range parts {
			for _, q := range unglue(p) {
				if strings.TrimSpace(q) != "" {
					out = append(out, logical{i, q})
				}
			}
		}
	}
	return out
}

// gluedWords are the literal parts of gluedRe.
var gluedWords = []string{"inet", "link/", "valid_lft ", "altname "}

// mayBeGlued is false when gluedRe cannot match s: none of its words
// follows a byte that is not a blank (\S). It spares the regexp, which
// has no literal prefix to search for, on every line of every `ip addr`.
func mayBeGlued(s string) bool {
	for _, w := range gluedWords {
		for i := 0; ; {
			j := strings.Index(s[i:], w)
			if j < 0 {
				break
			}
			if p := i + j; p > 0 {
				switch s[p-1] {
				case ' ', '\t', '\n', '\f', '\r':
				default:
					return true
				}
			}
			i += j + 1
		}
	}
	return false
}

func unglue(s string) []string {
	var cuts []int
	for _, m := range gluedHeaderRe.FindAllStringSubmatchIndex(s, -1) {
		cuts = append(cuts, m[2])
	}
	if mayBeGlued(s) {
		for _, l := range gluedRe.FindAllStringIndex(s, -1) {
			cuts = append(cuts, l[0]+1) // the glued-to character stays behind
		}
	}
	if cuts == nil {
		return []string{s}
	}
	sort.Ints(cuts)
	out := make([]string, 0, len(cuts)+1)
	prev := 0
	for _, c := range cuts {
		if c > prev {
			out = append(out, s[prev:c])
			prev = c
		}
	}
	return append(out, s[prev:])
}

// ParseAddr parses `ip addr`, `ip -o addr`, `ip -br addr` and `ip link` in
// any of their variants. Links come from the interface header lines,
// addresses from the inet/inet6 lines; output of `ip addr | grep inet`
// without headers still yields addresses (their interface then comes from
// the label).
func ParseAddr(doc evidence.Doc) (Interfaces, []evidence.Problem) {
	var res Interfaces
	var probs []evidence.Problem
	cur := -1 // index into res.Links of the interface being read
	curName := ""
	sawDetail := false
	lines := doc.Lines()
	for i, l := range lines {
		lines[i] = uncolour(l)
	}
	for _, l := range splitLogical(lines) {
		t := strings.TrimSpace(l.text)
		if m := headerRe.FindStringSubmatch(t); m != nil {
			link := parseHeader(m)
			link.Ref = doc.Ref(l.i, l.text)
			res.Links = append(res.Links, link)
			cur = len(res.Links) - 1
			curName = link.Name
			sawDetail = false
			continue
		}
		if m := oneLineAddrRe.FindStringSubmatch(t); m != nil {
			a, err := parseInet(m[3], m[2])
			if err != "" {
				probs = append(probs, doc.Problemf(l.i, "ip addr: %s", err))
				continue
			}
			a.Ref = doc.Ref(l.i, l.text)
			res.Addrs = append(res.Addrs, a)
			continue
		}
		f := strings.Fields(t)
		switch {
		case strings.HasPrefix(t, "inet ") || strings.HasPrefix(t, "inet6 "):
			a, err := parseInet(t, curName)
			if err != "" {
				probs = append(probs, doc.Problemf(l.i, "ip addr: %s", err))
				continue
			}
			a.Ref = doc.Ref(l.i, l.text)
			res.Addrs = append(res.Addrs, a)
		case strings.HasPrefix(t, "link/"):
			if cur < 0 {
				continue
			}
			typ := strings.TrimPrefix(f[0], "link/")
			if k, ok := linkTypes[typ]; ok {
				res.Links[cur].Kind = k
			} else {
				res.Links[cur].Kind = typ
			}
			if len(f) > 1 && macRe.MatchString(f[1]) {
				res.Links[cur].MAC = strings.ToLower(f[1])
			}
		case strings.HasPrefix(t, "valid_lft"), strings.HasPrefix(t, "altname"), strings.HasPrefix(t, "prog/"):
		case cur >= 0 && !sawDetail && len(f) > 0 && detailKinds[f[0]] && l.text != t:
			// The first indented word after link/ is the type `ip -d` shows.
			res.Links[cur].Kind = f[0]
			sawDetail = true
		case cur >= 0 && l.text != t:
			// Other detail lines (-d attributes, -s statistics, vf lines) say
			// nothing the rules use.
			if len(f) > 0 && strings.HasSuffix(f[0], "_slave") {
				sawDetail = true
			}
		case len(f) >= 2 && operStates[f[1]]:
			links, addrs, err := parseBrief(f)
			if err != "" {
				probs = append(probs, doc.Problemf(l.i, "ip -br: %s", err))
			}
			for _, x := range links {
				x.Ref = doc.Ref(l.i, l.text)
				res.Links = append(res.Links, x)
			}
			for _, a := range addrs {
				a.Ref = doc.Ref(l.i, l.text)
				res.Addrs = append(res.Addrs, a)
			}
			cur = -1
		default:
			probs = append(probs, doc.Problemf(l.i, "ip addr/link: line not understood: %q", evidence.Clip(t, 80)))
		}
	}
	return res, probs
}

// ParseLink parses `ip [-d] [-o] link`; it is ParseAddr keeping the links.
func ParseLink(doc evidence.Doc) ([]evidence.Link, []evidence.Problem) {
	r, p := ParseAddr(doc)
	return r.Links, p
}

func parseHeader(m []string) evidence.Link {
	var link evidence.Link
	link.Index, _ = strconv.Atoi(m[1])
	link.Name = m[2]
	for _, fl := range strings.Split(m[4], ",") {
		switch fl {
		case "UP":
			link.Up = true
		case "LOWER_UP":
			link.LowerUp = true
		}
	}
	f := strings.Fields(m[5])
	for i := 0; i+1 < len(f); i++ {
		switch f[i] {
		case "mtu":
			link.MTU, _ = strconv.Atoi(f[i+1])
		case "state":
			link.State = f[i+1]
		case "master":
			link.Master = f[i+1]
		}
	}
	return link
}

// parseInet reads "inet 192.0.2.1/24 brd ... scope global secondary eth0:0"
// (also the peer form "inet 10.0.0.1 peer 10.0.0.2/32").
func parseInet(t, iface string) (evidence.Addr, string) {
	f := strings.Fields(t)
	a := evidence.Addr{Iface: iface}
	if len(f) < 2 {
		return a, "address missing"
	}
	v6 := f[0] == "inet6"
	p, ok := parsePrefix(f[1])
	if !ok {
		return a, "address not understood: " + evidence.Clip(f[1], 80)
	}
	i := 2
	afterScope := false
	var rest []string
	for i < len(f) {
		switch f[i] {
		case "peer":
			if i+1 < len(f) {
				if pp, ok := parsePrefix(f[i+1]); ok && !strings.Contains(f[1], "/") {
					// The prefix length printed is the peer's; the local
					// address has that length too.
					p = netip.PrefixFrom(p.Addr(), pp.Bits())
				}
			}
			i += 2
			continue
		case "brd", "metric", "proto":
			i += 2
			continue
		case "scope":
			if i+1 < len(f) {
				a.Scope = f[i+1]
			}
			afterScope = true
			i += 2
			continue
		case "secondary", "temporary":
			a.Secondary = true
		case "tentative":
			a.Tentative = true
		case "dadfailed":
			a.DADFailed = true
		default:
			if afterScope && !addrFlags[f[i]] {
				rest = append(rest, f[i])
			}
		}
		i++
	}
	a.Prefix = p
	if !v6 && len(rest) > 0 {
		a.Label = rest[len(rest)-1]
	}
	if a.Iface == "" && a.Label != "" {
		a.Iface, _, _ = strings.Cut(a.Label, ":")
	}
	return a, ""
}

// parseBrief reads `ip -br addr` and `ip -br link` lines:
// "veth0@veth1  UP  192.0.2.10/24 fe80::1/64" or
// "lo  UNKNOWN  00:00:00:00:00:00 <LOOPBACK,UP,LOWER_UP>".
func parseBrief(f []string) ([]evidence.Link, []evidence.Addr, string) {
	name, _, _ := strings.Cut(f[0], "@")
	var addrs []evidence.Addr
	var links []evidence.Link
	var bad string
	if len(f) >= 3 && strings.HasPrefix(f[len(f)-1], "<") {
		link := evidence.Link{Name: name, State: f[1]}
		if macRe.MatchString(f[2]) {
			link.MAC = strings.ToLower(f[2])
		}
		for _, fl := range strings.Split(strings.Trim(f[len(f)-1], "<>"), ",") {
			link.Up = link.Up || fl == "UP"
			link.LowerUp = link.LowerUp || fl == "LOWER_UP"
		}
		return append(links, link), nil, ""
	}
	for i := 2; i < len(f); i++ {
		if f[i] == "peer" {
			if i+1 < len(f) && len(addrs) > 0 {
				if pp, ok := parsePrefix(f[i+1]); ok {
					last := &addrs[len(addrs)-1]
					last.Prefix = netip.PrefixFrom(last.Prefix.Addr(), pp.Bits())
				}
			}
			i++
			continue
		}
		p, ok := parsePrefix(f[i])
		if !ok {
			bad = "address not understood: " + evidence.Clip(f[i], 80)
			continue
		}
		addrs = append(addrs, evidence.Addr{Iface: name, Prefix: p})
	}
	return nil, addrs, bad
}

// parsePrefix reads "192.0.2.1/24", "192.0.2.1" (a host), "fe80::1/64".
// The address keeps its host bits: it is an interface address, not a net.
func parsePrefix(s string) (netip.Prefix, bool) {
	addr, bits, hasBits := strings.Cut(s, "/")
	if i := strings.IndexByte(addr, '%'); i >= 0 {
		addr = addr[:i]
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return netip.Prefix{}, false
	}
	n := a.BitLen()
	if hasBits {
		n, err = strconv.Atoi(bits)
		if err != nil || n < 0 || n > a.BitLen() {
			return netip.Prefix{}, false
		}
	}
	return netip.PrefixFrom(a, n), true
}
