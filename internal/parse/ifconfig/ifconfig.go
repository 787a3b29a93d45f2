// Package ifconfig parses net-tools ifconfig output, in both layouts: the
// current one (net-tools ≥ 2.10-alpha, "eth0: flags=4163<UP,...>  mtu 1500",
// "inet 192.0.2.1  netmask 255.255.255.0") and the old one of CentOS 6 and
// older Debian/Ubuntu ("eth0      Link encap:Ethernet  HWaddr ...",
// "inet addr:192.0.2.1  Bcast:...  Mask:255.255.255.0"). Alias interfaces
// (eth0:0, lo:0) are addresses of their parent, labelled with the alias.
package ifconfig

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// Result is what ifconfig showed.
type Result struct {
	Links []evidence.Link
	Addrs []evidence.Addr
	// Counters are the RX/TX error counters, named ifconfig.<iface>.<name>
	// (rx_errors, rx_dropped, rx_overruns, rx_frame, tx_errors,
	// tx_dropped, tx_overruns, tx_carrier, collisions, rx_packets,
	// tx_packets).
	Counters []evidence.Counter
}

var (
	newHeaderRe = regexp.MustCompile(`^(\S+?):? flags=\d+<([^>]*)>(?:\s+mtu\s+(\d+))?`)
	oldHeaderRe = regexp.MustCompile(`^(\S+)\s+Link encap:(.*?)(?:\s+HWaddr(?:\s+(\S+))?)?\s*$`)
	macRe       = regexp.MustCompile(`^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$`)
	// "RX errors 0  dropped 0  overruns 0  frame 0" and the old
	// "RX packets:1234 errors:0 dropped:0 overruns:0 frame:0".
	counterRe = regexp.MustCompile(`([a-z]+)[: ](\d+)`)
)

var encaps = map[string]string{
	"Ethernet": "ether", "Local Loopback": "loopback", "IPIP Tunnel": "ipip", "UNSPEC": "none",
	"Point-to-Point Protocol": "ppp", "IPv6-in-IPv4": "sit", "InfiniBand": "infiniband",
}

// block is the interface being read.
type block struct {
	name   string // as printed: eth0, eth0:0
	parent string // eth0 for eth0:0
	link   int    // index into Result.Links, -1 for aliases
}

// Parse reads ifconfig [-a] [IFACE] output.
func Parse(doc evidence.Doc) (Result, []evidence.Problem) {
	var res Result
	var probs []evidence.Problem
	var cur *block
	for i, line := range doc.Lines() {
		t := strings.TrimSpace(line)
		if t == "" {
			continue
		}
		indented := line[0] == ' ' || line[0] == '\t'
		if !indented {
			b, ok := header(&res, t, doc.Ref(i, line))
			if !ok {
				probs = append(probs, doc.Problemf(i, "ifconfig: line not understood: %q", evidence.Clip(t, 80)))
				cur = nil
				continue
			}
			cur = b
			continue
		}
		if cur == nil {
			probs = append(probs, doc.Problemf(i, "ifconfig: line outside an interface: %q", evidence.Clip(t, 80)))
			continue
		}
		f := strings.Fields(t)
		switch {
		case f[0] == "inet" || f[0] == "inet6":
			a, err := parseInet(f)
			if err != "" {
				probs = append(probs, doc.Problemf(i, "ifconfig: %s", err))
				continue
			}
			a.Iface = cur.parent
			if a.Prefix.Addr().Is4() {
				a.Label = cur.name
			}
			a.Ref = doc.Ref(i, line)
			res.Addrs = append(res.Addrs, a)
		case cur.link < 0:
			// Alias blocks repeat the parent's flags; counters belong to it.
		case f[0] == "ether" || f[0] == "loop" || f[0] == "tunnel" || f[0] == "unspec" || f[0] == "infiniband" || f[0] == "ppp":
			l := &res.Links[cur.link]
			if len(f) > 1 && macRe.MatchString(f[1]) {
				l.MAC = strings.ToLower(f[1])
			}
			switch f[0] {
			case "ether":
				l.Kind = "ether"
			case "loop":
				l.Kind = "loopback"
			case "tunnel":
				l.Kind = "tunnel"
				if strings.Contains(t, "(IPIP Tunnel)") {
					l.Kind = "ipip"
				}
			default:
				l.Kind = f[0]
			}
		case f[0] == "RX" || f[0] == "TX" || strings.HasPrefix(f[0], "collisions"):
			for _, c := range counters(t) {
				c.Name = "ifconfig." + cur.name + "." + c.Name
				c.Ref = doc.Ref(i, line)
				res.Counters = append(res.Counters, c)
			}
		case strings.Contains(t, "MTU:"):
			// Old layout: "UP BROADCAST RUNNING MULTICAST  MTU:1500  Metric:1".
			l := &res.Links[cur.link]
			for _, w := range f {
				switch {
				case w == "UP":
					l.Up = true
				case w == "RUNNING":
					l.LowerUp = true
				case strings.HasPrefix(w, "MTU:"):
					l.MTU, _ = strconv.Atoi(strings.TrimPrefix(w, "MTU:"))
				}
			}
		}
		// Other lines (txqueuelen, Interrupt, device memory) say nothing
		// the rules use.
	}
	return res, probs
}

// header starts an interface block from its first line.
func header(res *Result, t string, ref evidence.Ref) (*block, bool) {
	var b block
	var link evidence.Link
	if m := newHeaderRe.FindStringSubmatch(t); m != nil {
		b.name = m[1]
		for _, fl := range strings.Split(m[2], ",") {
			switch fl {
			case "UP":
				link.Up = true
			case "RUNNING":
				link.LowerUp = true
			}
		}
		link.MTU, _ = strconv.Atoi(m[3])
	} else if m := oldHeaderRe.FindStringSubmatch(t); m != nil {
		b.name = m[1]
		link.Kind = encaps[strings.TrimSpace(m[2])]
		if macRe.MatchString(m[3]) {
			link.MAC = strings.ToLower(m[3])
		}
	} else {
		return nil, false
	}
	b.parent, _, _ = strings.Cut(b.name, ":")
	b.link = -1
	if b.parent == b.name {
		link.Name = b.name
		link.Ref = ref
		res.Links = append(res.Links, link)
		b.link = len(res.Links) - 1
	}
	return &b, true
}

// parseInet reads the new "inet 192.0.2.1  netmask 255.255.255.0  broadcast
// ..." / "inet6 fe80::1  prefixlen 64  scopeid 0x20<link>" and the old
// "inet addr:192.0.2.1  Bcast:...  Mask:255.255.255.0" / "inet6 addr:
// fe80::1/64 Scope:Link" lines.
func parseInet(f []string) (evidence.Addr, string) {
	var a evidence.Addr
	var addr netip.Addr
	bits := -1
	for i := 1; i < len(f); i++ {
		w := f[i]
		next := ""
		if i+1 < len(f) {
			next = f[i+1]
		}
		switch {
		case i == 1 && w != "addr:" && !strings.Contains(w, ":") || i == 1 && f[0] == "inet6" && w != "addr:":
			addr, bits = hostAndBits(strings.TrimPrefix(w, "addr:"))
		case strings.HasPrefix(w, "addr:") && !addr.IsValid():
			v := strings.TrimPrefix(w, "addr:")
			if v == "" {
				v = next
				i++
			}
			addr, bits = hostAndBits(v)
		case w == "netmask" || strings.HasPrefix(w, "Mask:"):
			m := strings.TrimPrefix(w, "Mask:")
			if w == "netmask" {
				m = next
				i++
			}
			if n, ok := maskBits(m); ok {
				bits = n
			}
		case w == "prefixlen":
			if n, err := strconv.Atoi(next); err == nil {
				bits = n
			}
			i++
		case w == "scopeid":
			if j := strings.IndexByte(next, '<'); j >= 0 {
				a.Scope = strings.Trim(next[j:], "<>")
			}
			i++
		case strings.HasPrefix(w, "Scope:"):
			a.Scope = strings.ToLower(strings.TrimPrefix(w, "Scope:"))
		}
	}
	if !addr.IsValid() {
		return a, "address not understood: " + evidence.Clip(strings.Join(f, " "), 80)
	}
	if bits < 0 || bits > addr.BitLen() {
		bits = addr.BitLen()
	}
	a.Prefix = netip.PrefixFrom(addr, bits)
	if a.Scope == "" && addr.Is4() {
		a.Scope = "global"
		if addr.IsLoopback() {
			a.Scope = "host"
		}
	}
	return a, ""
}

func hostAndBits(s string) (netip.Addr, int) {
	h, b, ok := strings.Cut(s, "/")
	a, err := netip.ParseAddr(h)
	if err != nil {
		return netip.Addr{}, -1
	}
	if ok {
		if n, err := strconv.Atoi(b); err == nil {
			return a, n
		}
	}
	return a, -1
}

func maskBits(m string) (int, bool) {
	a, err := netip.ParseAddr(m)
	if err != nil || !a.Is4() {
		// Some builds print the mask in hex: 0xffffff00.
		if v, err := strconv.ParseUint(strings.TrimPrefix(m, "0x"), 16, 32); err == nil && strings.HasPrefix(m, "0x") {
			b := [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
			a = netip.AddrFrom4(b)
		} else {
			return 0, false
		}
	}
	b := a.As4()
	n := 0
	seenZero := false
	for _, x := range b {
		for bit := 7; bit >= 0; bit-- {
			if x&(1<<bit) != 0 {
				if seenZero {
					return 0, false // not a contiguous mask
				}
				n++
			} else {
				seenZero = true
			}
		}
	}
	return n, true
}

// counters reads "RX errors 0  dropped 0  overruns 0  frame 0",
// "RX packets 14  bytes 1156 (1.1 KiB)", the old "RX packets:1234
// errors:0 dropped:0 overruns:0 frame:0" and "collisions:0 txqueuelen:1000".
func counters(t string) []evidence.Counter {
	dir := ""
	switch {
	case strings.HasPrefix(t, "RX"):
		dir = "rx_"
	case strings.HasPrefix(t, "TX"):
		dir = "tx_"
	}
	var out []evidence.Counter
	for _, m := range counterRe.FindAllStringSubmatch(t, -1) {
		name := m[1]
		switch name {
		case "packets", "errors", "dropped", "overruns", "frame", "carrier":
		case "collisions":
			dir = ""
		default:
			continue // bytes (printed with units), txqueuelen
		}
		v, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil {
			continue
		}
		out = append(out, evidence.Counter{Name: dir + name, Value: v})
	}
	return out
}
