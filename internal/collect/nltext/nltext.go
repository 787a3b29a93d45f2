// Package nltext renders what the kernel tells over netlink (rtnetlink
// dumps and sock_diag) as the text iproute2 6.x's `ip` and `ss` print, so
// that live collection writes host folders that read like command output
// to a person and to lvsdoctor's parsers alike. It only reads: every
// request is a dump (RTM_GET*, SOCK_DIAG_BY_FAMILY), and a dump that could
// make the kernel load a module is not sent (see Listeners).
//
// Every function works in the network namespace of the calling OS thread:
// a caller that switched namespaces must hold runtime.LockOSThread.
//
// The text is that of iproute2 6.1 (Debian 12's ip and ss); the fidelity
// tests compare it line by line with the real tools. Where it differs on
// purpose:
//   - Details of link kinds other than bridge, bridge_slave, vxlan,
//     macvlan/macvtap, tun, vlan and ipip/sit (bond, vrf, gre, geneve,
//     wireguard...) are left out: the kind word is printed, which is what
//     the parsers use. ipip/sit show endpoints, ttl, tos and pmtudisc only.
//   - SR-IOV "vf N" lines and XDP program lines of `ip -d link` are not
//     printed (the VF list is not asked for: it can be very large).
//   - Multicast routes (the IPMR families) of `ip route show table all`
//     are not printed.
//   - A non-zero bridge port group_fwd_mask_str is printed in hex, not as
//     protocol names.
//   - ss renders in batches of about 5 MiB and sizes each batch's columns
//     by itself; here the whole table is sized at once, which differs only
//     past that size.
//   - Listeners falls back to /proc/net when sock_diag is not in the kernel
//     yet (see Listeners), printing what ss prints in that case.
//
// Values that move between two reads (bridge timers, lifetimes of dynamic
// addresses, route expiry) naturally differ from a run of the real tool.
package nltext

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// Bounds on what one call may gather: a router with a full BGP table has a
// million routes; the text of that is still written, up to MaxOutput.
const (
	// MaxMessages is the most netlink messages one dump keeps.
	MaxMessages = 2_000_000
	// MaxOutput is the most bytes one rendering returns.
	MaxOutput = 128 << 20
)

// ErrTruncated is returned (wrapped, with the text rendered so far) when a
// dump or its text passed MaxMessages or MaxOutput.
var ErrTruncated = errors.New("output truncated")

// dumpRetries is how often a dump the kernel marked as interrupted (the
// table changed under it) is run again before its result is kept anyway.
const dumpRetries = 3

// dump sends one RTM_GET* dump request of the given type with payload as
// its body and returns the bodies of the answers of type resType.
func dump(proto int, msgType, resType uint16, payload []byte) ([][]byte, error) {
	var msgs [][]byte
	var err error
	for try := 0; try < dumpRetries; try++ {
		msgs, err = dumpOnce(proto, msgType, resType, payload)
		if !errors.Is(err, nl.ErrDumpInterrupted) {
			break
		}
	}
	if errors.Is(err, nl.ErrDumpInterrupted) {
		err = nil // a table that keeps changing: show what was read
	}
	return msgs, err
}

func dumpOnce(proto int, msgType, resType uint16, payload []byte) ([][]byte, error) {
	req := nl.NewNetlinkRequest(int(msgType), unix.NLM_F_DUMP)
	req.AddRawData(payload)
	var msgs [][]byte
	truncated := false
	err := req.ExecuteIter(proto, resType, func(m []byte) bool {
		if len(msgs) >= MaxMessages {
			truncated = true
			return false
		}
		msgs = append(msgs, append([]byte(nil), m...))
		return true
	})
	if err != nil && !errors.Is(err, nl.ErrDumpInterrupted) {
		return nil, fmt.Errorf("netlink dump %d: %w", msgType, err)
	}
	if truncated {
		return msgs, fmt.Errorf("netlink dump %d: more than %d entries: %w", msgType, MaxMessages, ErrTruncated)
	}
	return msgs, err
}

// attrs is a parsed set of netlink attributes; like iproute2's
// parse_rtattr, the first attribute of a type wins.
type attrs map[uint16][]byte

// parseAttrs reads the attributes in b, stopping at the first malformed one.
func parseAttrs(b []byte) attrs {
	a := attrs{}
	for len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b))
		t := binary.NativeEndian.Uint16(b[2:]) & 0x3fff // drop NLA_F_NESTED/NET_BYTEORDER
		if l < 4 || l > len(b) {
			break
		}
		if _, dup := a[t]; !dup {
			a[t] = b[4:l]
		}
		al := (l + 3) &^ 3
		if al > len(b) {
			break
		}
		b = b[al:]
	}
	return a
}

// list returns every attribute in b in order (for nested lists where the
// type is an index, such as multipath nexthops or IFLA_PROP_LIST).
func attrList(b []byte) (types []uint16, vals [][]byte) {
	for len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b))
		if l < 4 || l > len(b) {
			break
		}
		types = append(types, binary.NativeEndian.Uint16(b[2:])&0x3fff)
		vals = append(vals, b[4:l])
		al := (l + 3) &^ 3
		if al > len(b) {
			break
		}
		b = b[al:]
	}
	return types, vals
}

func (a attrs) has(t uint16) bool { _, ok := a[t]; return ok }

func (a attrs) u8(t uint16) (uint8, bool) {
	v, ok := a[t]
	if !ok || len(v) < 1 {
		return 0, false
	}
	return v[0], true
}

func (a attrs) u16(t uint16) (uint16, bool) {
	v, ok := a[t]
	if !ok || len(v) < 2 {
		return 0, false
	}
	return binary.NativeEndian.Uint16(v), true
}

func (a attrs) be16(t uint16) (uint16, bool) {
	v, ok := a[t]
	if !ok || len(v) < 2 {
		return 0, false
	}
	return binary.BigEndian.Uint16(v), true
}

func (a attrs) u32(t uint16) (uint32, bool) {
	v, ok := a[t]
	if !ok || len(v) < 4 {
		return 0, false
	}
	return binary.NativeEndian.Uint32(v), true
}

func (a attrs) u64(t uint16) (uint64, bool) {
	v, ok := a[t]
	if !ok || len(v) < 8 {
		return 0, false
	}
	return binary.NativeEndian.Uint64(v), true
}

func (a attrs) str(t uint16) (string, bool) {
	v, ok := a[t]
	if !ok {
		return "", false
	}
	if i := bytes.IndexByte(v, 0); i >= 0 {
		v = v[:i]
	}
	return string(v), true
}

// addr reads an address attribute of a family (4 or 16 bytes).
func (a attrs) addr(t uint16) (netip.Addr, bool) {
	v, ok := a[t]
	if !ok {
		return netip.Addr{}, false
	}
	return addrFrom(v)
}

func addrFrom(v []byte) (netip.Addr, bool) {
	switch len(v) {
	case 4:
		return netip.AddrFrom4([4]byte(v)), true
	case 16:
		return netip.AddrFrom16([16]byte(v)), true
	}
	return netip.Addr{}, false
}

// fmtAddr prints an address as glibc's inet_ntop does: like Go, except
// that IPv6 addresses whose first 96 bits are zero (the old
// IPv4-compatible form, other than :: and ::1) end in dotted IPv4.
func fmtAddr(a netip.Addr) string {
	if a.Is6() && !a.Is4In6() {
		b := a.As16()
		zero := true
		for _, x := range b[:12] {
			if x != 0 {
				zero = false
				break
			}
		}
		if zero && (b[12] != 0 || b[13] != 0) {
			return "::" + netip.AddrFrom4([4]byte(b[12:])).String()
		}
	}
	return a.String()
}

// outBuf collects rendered text up to MaxOutput.
type outBuf struct {
	bytes.Buffer
	full bool
}

func (o *outBuf) printf(format string, args ...any) {
	if o.full {
		return
	}
	fmt.Fprintf(&o.Buffer, format, args...)
	o.check()
}

func (o *outBuf) str(s string) {
	if o.full {
		return
	}
	o.WriteString(s)
	o.check()
}

func (o *outBuf) check() {
	if o.Len() > MaxOutput {
		o.Truncate(MaxOutput)
		if i := bytes.LastIndexByte(o.Bytes(), '\n'); i >= 0 {
			o.Truncate(i + 1)
		}
		o.full = true
	}
}

// result returns the text and, if it was cut, an error saying so
// (joined with dumpErr, the dump's own truncation if any).
func (o *outBuf) result(what string, dumpErr error) ([]byte, error) {
	err := dumpErr
	if o.full {
		err = errors.Join(err, fmt.Errorf("%s: text longer than %d bytes: %w", what, MaxOutput, ErrTruncated))
	}
	return o.Bytes(), err
}

// nameTable maps numbers to the names iproute2 reads from its
// configuration (rt_tables, rt_protos, rt_scopes, group): the built-in
// defaults, then /usr/lib/iproute2 and /etc/iproute2 files and their .d
// folders, as ip does.
type nameTable struct {
	once  sync.Once
	file  string
	def   map[uint32]string
	names map[uint32]string
}

func (t *nameTable) load() {
	t.names = map[uint32]string{}
	for k, v := range t.def {
		t.names[k] = v
	}
	for _, dir := range []string{"/usr/lib/iproute2", "/usr/share/iproute2", "/etc/iproute2"} {
		readNameFile(filepath.Join(dir, t.file), t.names)
		d := filepath.Join(dir, t.file+".d")
		ents, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".conf") {
				readNameFile(filepath.Join(d, e.Name()), t.names)
			}
		}
	}
}

// readNameFile reads "NUMBER NAME" lines; a hostile or huge file is read
// only up to 1 MiB.
func readNameFile(path string, into map[uint32]string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(&limitedReader{f, 1 << 20})
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) < 2 || strings.HasPrefix(fs[1], "#") {
			continue
		}
		n, err := strconv.ParseUint(fs[0], 0, 32)
		if err != nil {
			continue
		}
		into[uint32(n)] = fs[1]
	}
}

type limitedReader struct {
	f *os.File
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errors.New("file too long")
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.f.Read(p)
	l.n -= int64(n)
	return n, err
}

func (t *nameTable) name(n uint32) (string, bool) {
	t.once.Do(t.load)
	s, ok := t.names[n]
	return s, ok
}

func (t *nameTable) number(s string) (uint32, bool) {
	t.once.Do(t.load)
	for k, v := range t.names {
		if v == s {
			return k, true
		}
	}
	return 0, false
}

var (
	rtTables = &nameTable{file: "rt_tables", def: map[uint32]string{0: "unspec", 253: "default", 254: "main", 255: "local"}}
	rtProtos = &nameTable{file: "rt_protos", def: map[uint32]string{
		0: "unspec", 1: "redirect", 2: "kernel", 3: "boot", 4: "static", 8: "gated", 9: "ra", 10: "mrt",
		11: "zebra", 12: "bird", 13: "dnrouted", 14: "xorp", 15: "ntk", 16: "dhcp", 18: "keepalived",
		42: "babel", 99: "openr", 186: "bgp", 187: "isis", 188: "ospf", 189: "rip", 192: "eigrp"}}
	rtScopes = &nameTable{file: "rt_scopes", def: map[uint32]string{0: "global", 200: "site", 253: "link", 254: "host", 255: "nowhere"}}
	rtGroups = &nameTable{file: "group", def: map[uint32]string{0: "default"}}
)

func tableName(n uint32) string {
	if s, ok := rtTables.name(n); ok {
		return s
	}
	return strconv.FormatUint(uint64(n), 10)
}

func protoName(n uint8) string {
	if s, ok := rtProtos.name(uint32(n)); ok {
		return s
	}
	return strconv.Itoa(int(n))
}

func scopeName(n uint8) string {
	if s, ok := rtScopes.name(uint32(n)); ok {
		return s
	}
	return strconv.Itoa(int(n))
}

func groupName(n uint32) string {
	if s, ok := rtGroups.name(n); ok {
		return s
	}
	return strconv.FormatUint(uint64(n), 10)
}
