package ipvsnl

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/ipvsadm"
)

// repo is the repository root, from this package's folder.
const repo = "../../.."

func ip(s string) [16]byte {
	a := netip.MustParseAddr(s)
	var b [16]byte
	if a.Is4() {
		v := a.As4()
		copy(b[:], v[:])
	} else {
		b = a.As16()
	}
	return b
}

func v4svc(proto uint16, addr string, port uint16, sched string) Service {
	return Service{AF: afInet, Protocol: proto, Addr: ip(addr), Port: port, Sched: sched, Netmask: 0xffffffff}
}

func dest(addr string, port uint16, fwd, weight, active, inact uint32) Dest {
	af := uint16(afInet)
	if strings.Contains(addr, ":") {
		af = afInet6
	}
	return Dest{AF: af, Addr: ip(addr), Port: port, FwdMethod: fwd, Weight: weight, ActiveConns: active, InactConns: inact}
}

func st(c, ip, op, ib, ob uint64) Stats {
	return Stats{Conns: c, InPkts: ip, OutPkts: op, InBytes: ib, OutBytes: ob}
}

func withRate(s Stats, c, ip, op, ib, ob uint64) Stats {
	s.CPS, s.InPPS, s.OutPPS, s.InBPS, s.OutBPS = c, ip, op, ib, ob
	return s
}

const (
	masq  = 0
	tun   = 2
	route = 3
)

// golden reads a real capture, without the "$ command" line the lab
// writes first.
func golden(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo, path))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if strings.HasPrefix(s, "$ ") {
		s = s[strings.IndexByte(s, '\n')+1:]
	}
	return s
}

// formatsTable is the table of the lab's formats scenario
// (testdata/lab/formats), in the kernel's order (/proc/net/ip_vs there).
func formatsTable() *Table {
	udp := v4svc(protoUDP, "192.0.2.100", 53, "rr")
	udp.Stats = withRate(st(6, 6, 0, 186, 0), 0, 0, 0, 13, 0)
	udp.Dests = []Dest{dest("192.0.2.12", 53, route, 1, 0, 3), dest("192.0.2.11", 53, route, 1, 0, 3)}
	udp.Dests[0].Stats = withRate(st(3, 3, 0, 93, 0), 0, 0, 0, 7, 0)
	udp.Dests[1].Stats = withRate(st(3, 3, 0, 93, 0), 0, 0, 0, 7, 0)

	sh := v4svc(protoTCP, "192.0.2.102", 80, "sh")
	sh.Flags = svcFSched1 | svcFSched2 | 0x0002 // + IP_VS_SVC_F_HASHED, which the kernel sends too
	sh.Stats = withRate(st(6, 42, 0, 2340, 0), 0, 3, 0, 169, 0)
	sh.Dests = []Dest{dest("192.0.2.12", 80, route, 0, 0, 0), dest("192.0.2.11", 80, route, 1, 0, 6)}
	sh.Dests[1].Stats = withRate(st(6, 42, 0, 2340, 0), 0, 3, 0, 169, 0)

	wlc := v4svc(protoTCP, "192.0.2.100", 80, "wlc")
	wlc.Stats = withRate(st(11, 61, 0, 3412, 0), 1, 4, 0, 223, 0)
	wlc.Dests = []Dest{
		dest("192.0.2.13", 80, route, 0, 0, 0),
		dest("198.51.100.11", 8080, masq, 1, 1, 0),
		dest("192.0.2.12", 80, tun, 2, 1, 3),
		dest("192.0.2.11", 80, route, 3, 1, 5),
	}
	wlc.Dests[1].Stats = withRate(st(1, 2, 0, 120, 0), 0, 0, 0, 4, 0)
	wlc.Dests[2].Stats = withRate(st(4, 23, 0, 1282, 0), 0, 1, 0, 77, 0)
	wlc.Dests[3].Stats = withRate(st(6, 36, 0, 2010, 0), 0, 3, 0, 142, 0)

	pers := v4svc(protoTCP, "192.0.2.101", 80, "rr")
	pers.Flags = svcFPersistent
	pers.Timeout = 300
	pers.Stats = withRate(st(6, 42, 0, 2340, 0), 0, 3, 0, 145, 0)
	pers.Dests = []Dest{dest("192.0.2.12", 80, route, 1, 0, 6), dest("192.0.2.11", 80, route, 1, 0, 0)}
	pers.Dests[0].Stats = withRate(st(6, 42, 0, 2340, 0), 0, 3, 0, 145, 0)

	fwm := Service{AF: afInet, FWMark: 1, Sched: "wrr", Netmask: 0xffffffff}
	fwm.Stats = withRate(st(6, 40, 0, 2236, 0), 0, 3, 0, 163, 0)
	fwm.Dests = []Dest{dest("192.0.2.12", 0, route, 1, 0, 2), dest("192.0.2.11", 0, route, 2, 0, 4)}
	fwm.Dests[0].Stats = withRate(st(2, 13, 0, 728, 0), 0, 1, 0, 44, 0)
	fwm.Dests[1].Stats = withRate(st(4, 27, 0, 1508, 0), 0, 2, 0, 118, 0)

	return &Table{Info: Info{Version: 0x010201, ConnTabSize: 4096}, Services: []Service{udp, sh, wlc, pers, fwm}}
}

// lab2Table is the table of internal/parse/ipvsadm/testdata/lab2: a
// service without real servers, a netmask, ops, SCTP, IPv6 and an IPv6
// fwmark.
func lab2Table() *Table {
	rr := v4svc(protoTCP, "192.0.2.100", 80, "rr")
	rr.Dests = []Dest{dest("192.0.2.12", 80, route, 1, 0, 2), dest("192.0.2.11", 80, route, 1, 0, 2)}
	empty := v4svc(protoTCP, "192.0.2.100", 81, "rr")
	mask := v4svc(protoTCP, "192.0.2.100", 8080, "wrr")
	mask.Flags, mask.Timeout = svcFPersistent, 300
	mask.Netmask = 0x00ffffff // 255.255.255.0 in memory order (little-endian host)
	mask.Dests = []Dest{dest("192.0.2.11", 8080, route, 5, 0, 0)}
	ops := v4svc(protoUDP, "192.0.2.100", 5060, "rr")
	ops.Flags = svcFOnePacket
	ops.Dests = []Dest{dest("192.0.2.11", 5060, route, 1, 0, 0)}
	sctp := v4svc(protoSCTP, "192.0.2.100", 3868, "rr")
	sctp.Dests = []Dest{dest("192.0.2.12", 3868, route, 1, 0, 0)}
	v6 := Service{AF: afInet6, Protocol: protoTCP, Addr: ip("2001:db8::100"), Port: 80, Sched: "wlc", Netmask: 128}
	v6.Dests = []Dest{dest("2001:db8::12", 8080, masq, 2, 0, 0), dest("2001:db8::11", 80, route, 1, 0, 0)}
	fwm6 := Service{AF: afInet6, FWMark: 9, Sched: "rr", Netmask: 128}
	return &Table{Info: Info{Version: 0x010201, ConnTabSize: 4096}, Services: []Service{rr, empty, ops, sctp, mask, v6, fwm6}}
}

// collectTable is testdata/lab/collect's director: both real servers
// drained by keepalived (weight 0).
func collectTable() *Table {
	s := v4svc(protoTCP, "192.0.2.100", 80, "rr")
	s.Dests = []Dest{dest("192.0.2.12", 80, route, 0, 0, 0), dest("192.0.2.11", 80, route, 0, 0, 0)}
	return &Table{Info: Info{Version: 0x010201, ConnTabSize: 4096}, Services: []Service{s}}
}

func TestTextMatchesRealIpvsadm(t *testing.T) {
	cases := []struct {
		name   string
		table  *Table
		format Format
		file   string
	}{
		{"formats -Ln", formatsTable(), FormatList, "testdata/lab/formats/ipvsadm-Ln.txt"},
		{"formats --stats", formatsTable(), FormatStats, "testdata/lab/formats/ipvsadm-Ln-stats.txt"},
		{"formats --rate", formatsTable(), FormatRate, "testdata/lab/formats/ipvsadm-Ln-rate.txt"},
		// --exact changes nothing below 100 million
		{"formats --stats --exact", formatsTable(), FormatStats, "testdata/lab/formats/ipvsadm-Ln-stats-exact.txt"},
		{"lab2 -Ln", lab2Table(), FormatList, "internal/parse/ipvsadm/testdata/lab2/ipvsadm-Ln.txt"},
		{"lab2 --stats", lab2Table(), FormatStats, "internal/parse/ipvsadm/testdata/lab2/ipvsadm-Ln-stats.txt"},
		{"collect --stats", collectTable(), FormatStats, "testdata/lab/collect/director/ipvsadm-Ln-stats.txt"},
		{"collect --rate", collectTable(), FormatRate, "testdata/lab/collect/director/ipvsadm-Ln-rate.txt"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := golden(t, c.file)
			got := string(c.table.Text(c.format))
			if got != want {
				t.Errorf("differs from %s\n--- got\n%s--- want\n%s", c.file, got, want)
			}
		})
	}
	for _, f := range []string{"testdata/lab/formats/ipvsadm-Ln-timeout.txt", "testdata/lab/collect/director/ipvsadm-Ln-timeout.txt",
		"internal/parse/ipvsadm/testdata/lab/ipvsadm-Ln-timeout.txt"} {
		if got, want := string(Config{TCP: 900, TCPFin: 120, UDP: 300}.Text()), golden(t, f); got != want {
			t.Errorf("timeout: got %q, %s has %q", got, f, want)
		}
	}
}

func TestTextDoesNotModifyTable(t *testing.T) {
	tb := formatsTable()
	first := tb.Services[0].Dests[0]
	tb.Text(FormatList)
	if tb.Services[0].Sched != "rr" || tb.Services[0].Dests[0] != first {
		t.Error("Text sorted the caller's table")
	}
}

func TestLargeNumbers(t *testing.T) {
	// print_largenum's bands, at their edges
	for _, c := range []struct {
		v    uint64
		want string
	}{
		{0, "        0"},
		{99999999, " 99999999"},
		{100000000, "  100000K"},
		{999999999, "  999999K"},
		{1000000000, "     1000M"[1:]},
		{99999999999, "    99999M"[1:]},
		{100000000000, "      100G"[1:]},
		{99999999999999, "   99999G"},
		{100000000000000, "     100T"},
		{1<<64 - 1, "18446744T"},
	} {
		var b bytes.Buffer
		largenums(&b, c.v)
		if b.String() != c.want {
			t.Errorf("%d: got %q, want %q", c.v, b.String(), c.want)
		}
	}
	// the service line takes them as they are; a real server's counters
	// but the bytes are what libipvs's 32-bit getter leaves
	s := v4svc(protoTCP, "192.0.2.100", 80, "rr")
	s.Stats = st(8726391, 147285123, 0, 12057123456, 0)
	d := dest("192.0.2.11", 80, route, 1, 0, 0)
	d.Stats = withRate(st(1<<32+5, 73642000, 0, 178000000000, 0), 1<<32+7, 9140, 0, 1<<33, 0)
	s.Dests = []Dest{d}
	tb := &Table{Info: Info{Version: 0x010201, ConnTabSize: 4096}, Services: []Service{s}}
	want := "IP Virtual Server version 1.2.1 (size=4096)\n" +
		"Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n" +
		"  -> RemoteAddress:Port\n" +
		"TCP  192.0.2.100:80                8726391  147285K        0   12057M        0\n" +
		"  -> 192.0.2.11:80                       5 73642000        0     178G        0\n"
	if got := string(tb.Text(FormatStats)); got != want {
		t.Errorf("--stats\n--- got\n%s--- want\n%s", got, want)
	}
	want = "IP Virtual Server version 1.2.1 (size=4096)\n" +
		"Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n" +
		"  -> RemoteAddress:Port\n" +
		"TCP  192.0.2.100:80                      0        0        0        0        0\n" +
		"  -> 192.0.2.11:80                       7     9140        0        0        0\n"
	if got := string(tb.Text(FormatRate)); got != want {
		t.Errorf("--rate\n--- got\n%s--- want\n%s", got, want)
	}
}

func TestServiceFlagsAndNames(t *testing.T) {
	mh := v4svc(protoTCP, "192.0.2.1", 80, "mh")
	mh.Flags = svcFSched1 | svcFSched2
	rrf := v4svc(protoTCP, "192.0.2.2", 80, "rr")
	rrf.Flags = svcFSched1 | svcFSched3
	shOnly3 := v4svc(protoTCP, "192.0.2.3", 80, "sh")
	shOnly3.Flags = svcFSched3 // sh knows flag-3 by no name: ipvsadm prints "()"
	pe := v4svc(protoUDP, "192.0.2.4", 5060, "rr")
	pe.Flags, pe.Timeout, pe.PE = svcFPersistent|svcFOnePacket, 60, "sip"
	v6mask := Service{AF: afInet6, Protocol: protoTCP, Addr: ip("2001:db8::1"), Port: 443, Sched: "wlc", Flags: svcFPersistent, Timeout: 360, Netmask: 64}
	bigmark := Service{AF: afInet, FWMark: 0x80000001, Sched: "rr", Netmask: 0xffffffff}
	odd := Service{AF: 7, Protocol: 99, Port: 1, Sched: "rr"}
	odd.Dests = []Dest{{AF: 7, Port: 2, FwdMethod: 4, Weight: 1 << 31}, {AF: afInet, Addr: ip("192.0.2.9"), Port: 3, FwdMethod: fwdFullNat | 0x100, Weight: 1}}
	v4in6 := Service{AF: afInet6, Protocol: protoTCP, Addr: ip("::ffff:192.0.2.5"), Port: 80, Sched: "rr", Netmask: 128}
	v4in6.Dests = []Dest{{AF: afInet6, Addr: ip("::192.0.2.6"), Port: 80, FwdMethod: 1, Weight: 1}, {AF: afInet6, Addr: ip("1:0:0:2::"), FwdMethod: tun, Port: 80, Weight: 1}}
	tb := &Table{Info: Info{Version: 0x010203, ConnTabSize: 1 << 20}, Services: []Service{odd, bigmark, v4in6, v6mask, pe, shOnly3, rrf, mh}}
	want := "IP Virtual Server version 1.2.3 (size=1048576)\n" +
		"Prot LocalAddress:Port Scheduler Flags\n" +
		"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n" +
		"FWM  -2147483647 rr\n" +
		"TCP  192.0.2.1:80 mh (mh-fallback,mh-port)\n" +
		"TCP  192.0.2.2:80 rr (flag-1,flag-3)\n" +
		"TCP  192.0.2.3:80 sh ()\n" +
		"UDP  192.0.2.4:5060 rr persistent 60 pe sip ops\n" +
		"?    [(null)]:1 rr\n" +
		"  -> 192.0.2.9:3                  FullNat 1      0          0         \n" +
		"  -> [(null)]:2                   (null)  -2147483648 0          0         \n" +
		"TCP  [::ffff:192.0.2.5]:80 rr\n" +
		"  -> [::192.0.2.6]:80             Local   1      0          0         \n" +
		"  -> [1:0:0:2::]:80               Tunnel  1      0          0         \n" +
		"TCP  [2001:db8::1]:443 wlc persistent 360 mask 64\n"
	if got := string(tb.Text(FormatList)); got != want {
		t.Errorf("--- got\n%s--- want\n%s", got, want)
	}
}

// ipvsadm's comparators subtract as C does: 10.0.0.1 - 192.0.2.1 wraps to
// a positive int, so 10.0.0.1 sorts after 192.0.2.1, and the order is not
// transitive; glibc's merge sort then decides.
func TestSortWrapsAsC(t *testing.T) {
	mk := func(addrs ...string) *Table {
		s := v4svc(protoTCP, "192.0.2.100", 80, "rr")
		for _, a := range addrs {
			s.Dests = append(s.Dests, dest(a, 80, route, 1, 0, 0))
		}
		return &Table{Services: []Service{s}}
	}
	order := func(tb *Table) []string {
		var out []string
		for _, l := range strings.Split(string(tb.Text(FormatList)), "\n") {
			if f := strings.Fields(l); len(f) > 1 && f[0] == "->" && f[1] != "RemoteAddress:Port" {
				out = append(out, strings.TrimSuffix(f[1], ":80"))
			}
		}
		return out
	}
	got := strings.Join(order(mk("10.0.0.1", "192.0.2.1")), " ")
	if got != "192.0.2.1 10.0.0.1" {
		t.Errorf("2 dests: %s", got)
	}
	// a cycle: 10.x < 100.x < 192.x < 10.x (each gap under 2^31 one way)
	// merge sort of [192, 100, 10]: [192] | [100, 10] -> [10, 100]... kept as glibc
	got = strings.Join(order(mk("192.0.2.1", "100.0.0.1", "10.0.0.1")), " ")
	if got != "192.0.2.1 10.0.0.1 100.0.0.1" {
		t.Errorf("cycle: %s", got)
	}
}

func TestNtop6(t *testing.T) {
	for in, want := range map[string]string{
		"::":                      "::",
		"::1":                     "::1",
		"2001:db8::100":           "2001:db8::100",
		"2001:db8:0:1:0:0:0:1":    "2001:db8:0:1::1",
		"2001:db8:0:0:1:0:0:1":    "2001:db8::1:0:0:1",
		"1:0:1:0:1:0:1:0":         "1:0:1:0:1:0:1:0",
		"::ffff:192.0.2.1":        "::ffff:192.0.2.1",
		"::192.0.2.1":             "::192.0.2.1",
		"::2":                     "::2",
		"fe80::":                  "fe80::",
		"0:0:1::":                 "0:0:1::",
		"2001:DB8:AAAA::BBBB":     "2001:db8:aaaa::bbbb",
		"::ffff:0:c000:201":       "::ffff:0:c000:201",
		"0:0:0:0:0:fffe:c000:201": "::fffe:c000:201",
	} {
		if got := ntop6(ip(in)); got != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
}

// The text goes to lvsdoctor's own parser: it must read the same table
// from ours as from the real command's.
func TestParserReadsText(t *testing.T) {
	for _, c := range []struct {
		format Format
		file   string
	}{
		{FormatList, "testdata/lab/formats/ipvsadm-Ln.txt"},
		{FormatStats, "testdata/lab/formats/ipvsadm-Ln-stats.txt"},
		{FormatRate, "testdata/lab/formats/ipvsadm-Ln-rate.txt"},
	} {
		parse := func(text string) *evidence.IPVS {
			doc := evidence.Doc{Host: "director", Source: "ipvsadm.txt", Text: text}
			ipvs, probs := ipvsadm.Parse(doc)
			if len(probs) > 0 {
				t.Errorf("%s: parser problems: %v", c.file, probs)
			}
			if ipvs == nil || len(ipvs.Services) != 5 {
				t.Fatalf("%s: parsed %+v", c.file, ipvs)
			}
			return ipvs
		}
		mine := parse(string(formatsTable().Text(c.format)))
		real := parse(golden(t, c.file))
		if a, b := summary(mine), summary(real); a != b {
			t.Errorf("%s: parsed differently\nours: %s\nreal: %s", c.file, a, b)
		}
	}
}

func summary(ipvs *evidence.IPVS) string {
	var b strings.Builder
	for _, s := range ipvs.Services {
		b.WriteString(s.Key() + " " + s.Scheduler + " " + strings.Join(s.Flags, ","))
		if s.Stats != nil {
			b.WriteString(" stats" + strings.TrimPrefix(fmtAny(*s.Stats), "&"))
		}
		if s.Rate != nil {
			b.WriteString(" rate" + fmtAny(*s.Rate))
		}
		for _, d := range s.Dests {
			b.WriteString(" | " + fmtAny([]any{d.Addr, d.Port, d.Method, d.Weight, d.ActiveConn, d.InActConn, d.Ref}))
			if d.Stats != nil {
				b.WriteString(fmtAny(*d.Stats))
			}
			if d.Rate != nil {
				b.WriteString(fmtAny(*d.Rate))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}
