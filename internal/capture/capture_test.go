package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

func readFixture(t *testing.T, name string, opt Options) ([]evidence.Frame, Info, []evidence.Problem) {
	t.Helper()
	if opt.Source == "" {
		opt.Source = name
	}
	return ReadFile("testdata/"+name, opt)
}

func readBytes(t *testing.T, data []byte, opt Options) ([]evidence.Frame, Info, []evidence.Problem) {
	t.Helper()
	return Read(bytes.NewReader(data), opt)
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkRefs verifies what every frame must carry: its source, frame
// numbers counting up from 1 within the packets read, a rendering.
func checkRefs(t *testing.T, frames []evidence.Frame, info Info, source string) {
	t.Helper()
	last := 0
	for _, f := range frames {
		if f.Ref.Source != source || f.Ref.Line <= last || f.Ref.Line > info.Packets || f.Ref.Text == "" {
			t.Fatalf("bad ref %+v (after frame %d of %d)", f.Ref, last, info.Packets)
		}
		last = f.Ref.Line
		if f.Inner != nil && f.Inner.Ref != f.Ref {
			t.Fatalf("inner ref %+v differs from %+v", f.Inner.Ref, f.Ref)
		}
	}
}

func TestFixtures(t *testing.T) {
	for _, c := range []struct {
		name    string
		frames  int
		link    string
		format  string
		problem string // substring of the only problem, "" for none
	}{
		{"br0.pcap", 61, "EN10MB", "pcap", ""},
		{"eth0-nano.pcap", 68, "EN10MB", "pcap", ""},
		{"eth0-snap64.pcap", 68, "EN10MB", "pcap", "frame 39: the capture kept only 64 bytes of it (snap length), cutting its headers (and 4 more"},
		{"any-sll2.pcap", 92, "LINUX_SLL2", "pcap", ""},
		{"any-sll1.pcap", 92, "LINUX_SLL", "pcap", ""},
		{"any.pcapng", 89, "LINUX_SLL", "pcapng", ""},
		{"two-ifaces.pcapng", 84, "EN10MB", "pcapng", ""},
		{"tun0.pcap", 5, "RAW", "pcap", ""},
		{"out-of-order.pcap", 61, "EN10MB", "pcap", ""},
		{"truncated.pcap", 60, "EN10MB", "pcap", "the file ends in the middle of frame 61"},
		{"empty-capture.pcap", 0, "EN10MB", "pcap", ""},
		{"zero-length.pcap", 0, "", "", "empty file: not a packet capture"},
	} {
		t.Run(c.name, func(t *testing.T) {
			frames, info, probs := readFixture(t, c.name, Options{Host: "h"})
			if len(frames) != c.frames || info.Kept != c.frames {
				t.Errorf("%d frames (kept %d), want %d", len(frames), info.Kept, c.frames)
			}
			if info.Format != c.format || c.link != "" && (len(info.LinkTypes) != 1 || info.LinkTypes[0] != c.link) {
				t.Errorf("format %q link types %v, want %s %s", info.Format, info.LinkTypes, c.format, c.link)
			}
			switch {
			case c.problem == "" && len(probs) > 0:
				t.Errorf("problems: %v", probs)
			case c.problem != "" && (len(probs) != 1 || !strings.Contains(probs[0].Message, c.problem)):
				t.Errorf("problems %v, want one with %q", probs, c.problem)
			}
			for _, p := range probs {
				if p.Source != c.name || p.Host != "h" {
					t.Errorf("problem without its file: %+v", p)
				}
			}
			checkRefs(t, frames, info, c.name)
		})
	}
}

// TestTruncated: a file cut inside its last frame keeps every frame
// before it, and says which frame was lost.
func TestTruncated(t *testing.T) {
	full, _, _ := readFixture(t, "br0.pcap", Options{})
	cut, _, probs := readFixture(t, "truncated.pcap", Options{})
	if len(cut) != len(full)-1 {
		t.Fatalf("%d frames of %d", len(cut), len(full))
	}
	for i := range cut {
		if cut[i].Ref.Text != full[i].Ref.Text {
			t.Errorf("frame %d: %q, want %q", i+1, cut[i].Ref.Text, full[i].Ref.Text)
		}
	}
	if len(probs) != 1 || probs[0].Line != 61 {
		t.Errorf("problems %v", probs)
	}
	// Cut anywhere, the reader never fails and keeps what precedes the cut.
	data := fixture(t, "br0.pcap")
	prev := 0
	for n := 0; n <= len(data); n += 7 {
		frames, info, _ := readBytes(t, data[:n], Options{Source: "x"})
		if len(frames) < prev {
			t.Fatalf("cut at %d: %d frames, %d at a shorter cut", n, len(frames), prev)
		}
		prev = len(frames)
		checkRefs(t, frames, info, "x")
	}
}

// TestSnaplen: a capture with -s 64 still gives addresses, ports, flags
// and sequence numbers of every frame whose headers fit, and what there
// is of the others.
func TestSnaplen(t *testing.T) {
	frames, _, _ := readFixture(t, "eth0-snap64.pcap", Options{})
	full, _, _ := readFixture(t, "eth0-nano.pcap", Options{})
	if len(frames) != len(full) {
		t.Fatalf("%d frames, the full capture has %d", len(frames), len(full))
	}
	for i := range frames {
		f, g := &frames[i], &full[i]
		if f.Src != g.Src || f.Dst != g.Dst || f.IPID != g.IPID || f.Proto != g.Proto {
			t.Errorf("frame %d: %q, full %q", i+1, f.Ref.Text, g.Ref.Text)
		}
		if f.Proto == "tcp" && (f.SPort != g.SPort || f.Flags != g.Flags || f.Seq != g.Seq || f.HasSeq != g.HasSeq || f.Length != g.Length) {
			t.Errorf("frame %d: %q, full %q", i+1, f.Ref.Text, g.Ref.Text)
		}
	}
	// Frame 39 is the ICMP port unreachable whose quoted UDP header the
	// snap length cut: the error's addresses stay, its text cannot be made.
	f := frames[38]
	if f.Proto != "icmp" || f.ICMP != "" || f.Src != netip.MustParseAddr("192.0.2.11") {
		t.Errorf("frame 39: %+v", f)
	}
}

func TestZeroAndHeaderOnly(t *testing.T) {
	frames, _, probs := readBytes(t, nil, Options{Source: "empty.pcap"})
	if len(frames) != 0 || len(probs) != 1 || probs[0].Source != "empty.pcap" {
		t.Errorf("zero bytes: %v %v", frames, probs)
	}
	hdr := fixture(t, "empty-capture.pcap")
	for n := 1; n < len(hdr); n++ {
		frames, _, probs := readBytes(t, hdr[:n], Options{})
		if len(frames) != 0 || len(probs) != 1 {
			t.Errorf("%d header bytes: %v %v", n, frames, probs)
		}
	}
}

func TestTwoInterfaces(t *testing.T) {
	frames, info, _ := readFixture(t, "two-ifaces.pcapng", Options{Iface: "ignored"})
	if strings.Join(info.Ifaces, ",") != "eth0,eth1" {
		t.Errorf("interfaces %v", info.Ifaces)
	}
	count := map[string]int{}
	for _, f := range frames {
		count[f.Iface]++
		if f.Type == "ipv4" {
			on1 := netip.MustParsePrefix("198.51.100.0/24").Contains(f.Src)
			if on1 != (f.Iface == "eth1") {
				t.Errorf("%s on %s", f.Ref.Text, f.Iface)
			}
		}
		if !strings.HasSuffix(f.Time, "Z") || len(f.Time) != len("2026-11-21T07:53:10.279353478Z") {
			t.Errorf("time %q: want RFC 3339 with nanoseconds", f.Time)
		}
	}
	if count["eth0"] == 0 || count["eth1"] == 0 || len(count) != 2 {
		t.Errorf("frames by interface: %v", count)
	}
}

// TestOutOfOrder: frames keep the file's order and numbers, whatever
// their times.
func TestOutOfOrder(t *testing.T) {
	frames, _, _ := readFixture(t, "out-of-order.pcap", Options{})
	full, _, _ := readFixture(t, "br0.pcap", Options{})
	back := 0
	for i := range frames {
		if frames[i].Ref.Line != i+1 {
			t.Fatalf("frame %d numbered %d", i+1, frames[i].Ref.Line)
		}
		if i > 0 && frames[i].Time < frames[i-1].Time {
			back++
		}
	}
	if back < 2 {
		t.Errorf("%d times going back, want the merge point and br0's own", back)
	}
	seen := map[string]int{}
	for _, f := range full {
		seen[f.Ref.Text]++
	}
	for _, f := range frames {
		seen[f.Ref.Text]--
	}
	for k, v := range seen {
		if v != 0 {
			t.Errorf("%q: %d", k, v)
		}
	}
}

func TestCooked(t *testing.T) {
	frames, _, _ := readFixture(t, "any-sll2.pcap", Options{Iface: "any"})
	dirs := map[string]int{}
	for _, f := range frames {
		dirs[f.Dir]++
		if f.Iface != "" {
			t.Fatalf("interface %q without names for the indexes", f.Iface)
		}
	}
	if dirs["in"] == 0 || dirs["out"] == 0 || dirs["multicast"] == 0 || dirs[""] != 0 {
		t.Errorf("directions %v", dirs)
	}
	frames, _, _ = readFixture(t, "any-sll2.pcap", Options{IfNames: labIfNames})
	ifs := map[string]int{}
	for _, f := range frames {
		ifs[f.Iface]++
	}
	if ifs["eth0"] == 0 || ifs["eth1"] == 0 || ifs[""] != 0 {
		t.Errorf("interfaces %v", ifs)
	}
	// The forwarded-copy question a cooked capture answers: the SYN to
	// the VIP came in on eth0.
	for _, f := range frames {
		if f.Dst == netip.MustParseAddr("192.0.2.100") && f.Flags == "S" && f.Inner == nil && f.DPort == 80 {
			if f.Dir != "in" || f.Iface != "eth0" || f.SrcMAC != "02:00:00:00:00:10" {
				t.Errorf("SYN: %+v", f)
			}
			break
		}
	}
}

func TestTunnels(t *testing.T) {
	frames, _, _ := readFixture(t, "br0.pcap", Options{})
	vip := netip.MustParseAddr("192.0.2.100")
	got := map[string]*evidence.Frame{}
	for i := range frames {
		if f := &frames[i]; f.Inner != nil {
			got[f.Proto] = f
		}
	}
	for proto, sport := range map[string]uint16{"ipip": 5000, "gre": 5002, "udp": 5003} {
		f := got[proto]
		if f == nil {
			t.Errorf("no %s tunnel", proto)
			continue
		}
		in := f.Inner
		if f.Src != netip.MustParseAddr("192.0.2.11") || f.Dst != netip.MustParseAddr("192.0.2.12") ||
			in.Src != netip.MustParseAddr("192.0.2.10") || in.Dst != vip || in.SPort != sport || in.DPort != 80 ||
			in.Proto != "tcp" || in.Flags != "S" || !in.HasSeq || in.IPID < 0 || in.Time != f.Time || in.Type != "ipv4" {
			t.Errorf("%s: %+v inner %+v", proto, f, in)
		}
	}
	if got["udp"].DPort != 4789 || got["udp"].Inner.SrcMAC != "02:00:00:00:01:11" {
		t.Errorf("vxlan: %+v", got["udp"])
	}
}

func TestICMPTexts(t *testing.T) {
	frames, _, _ := readFixture(t, "br0.pcap", Options{})
	var texts []string
	for _, f := range frames {
		if f.Proto == "icmp" {
			texts = append(texts, f.ICMP)
		}
	}
	want := []string{"echo request", "echo reply", "echo request", "echo reply",
		"192.0.2.11 udp port 9999 unreachable", "192.0.2.12 protocol 4 unreachable", "192.0.2.12 protocol 47 unreachable",
		"192.0.2.12 udp port 4789 unreachable", "192.0.2.100 unreachable - need to frag (mtu 1480)",
		"host 192.0.2.100 unreachable", "host 192.0.2.100 unreachable - admin prohibited filter"}
	if strings.Join(texts, "|") != strings.Join(want, "|") {
		t.Errorf("ICMP texts\n%q\nwant\n%q", texts, want)
	}
}

// corrupt returns br0.pcap with the record header of frame n (1-based)
// overwritten.
func corrupt(t *testing.T, n int, with []byte) []byte {
	t.Helper()
	data := bytes.Clone(fixture(t, "br0.pcap"))
	off := 24
	for i := 1; i < n; i++ {
		off += 16 + int(binary.LittleEndian.Uint32(data[off+8:]))
	}
	copy(data[off:], with)
	return data
}

func TestGarbage(t *testing.T) {
	// A record length past any snap length: the file cannot be followed
	// after it.
	data := corrupt(t, 10, bytes.Repeat([]byte{0xff}, 16))
	frames, _, probs := readBytes(t, data, Options{Source: "g.pcap"})
	if len(frames) != 9 || len(probs) != 1 || probs[0].Line != 10 || !strings.Contains(probs[0].Message, "not a packet record") {
		t.Errorf("%d frames, %v", len(frames), probs)
	}
	// Garbage inside a frame: what is there is decoded, the frame is named.
	data = bytes.Clone(fixture(t, "br0.pcap"))
	off := 24
	for i := 1; i < 19; i++ {
		off += 16 + int(binary.LittleEndian.Uint32(data[off+8:]))
	}
	data[off+16+14] = 0x41 // frame 19's IPv4 header length: 4 bytes
	frames, _, probs = readBytes(t, data, Options{Source: "g.pcap"})
	if len(frames) != 61 || len(probs) != 1 || probs[0].Line != 19 || !strings.Contains(probs[0].Message, "IPv4") {
		t.Errorf("%d frames, %v", len(frames), probs)
	}
	// Not a capture at all.
	for _, junk := range [][]byte{[]byte("$ tcpdump -e -n -r eth0.pcap\n"), {0x0a, 0x0d, 0x0d, 0x0a, 1, 2}, {0x1f, 0x8b, 0, 0}} {
		frames, _, probs := readBytes(t, junk, Options{Source: "j"})
		if len(frames) != 0 || len(probs) != 1 {
			t.Errorf("%q: %v %v", junk, frames, probs)
		}
	}
	// A link type the reader does not decode: 802.11 in br0's header.
	data = bytes.Clone(fixture(t, "br0.pcap"))
	binary.LittleEndian.PutUint32(data[20:], 105)
	frames, _, probs = readBytes(t, data, Options{Source: "w"})
	if len(frames) != 0 || len(probs) != 2 || !strings.Contains(probs[0].Message, "link type 105 is not supported") {
		t.Errorf("%d frames, %v", len(frames), probs)
	}
}

func TestGzip(t *testing.T) {
	for _, name := range []string{"br0.pcap", "two-ifaces.pcapng"} {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(fixture(t, name))
		zw.Close()
		plain, _, _ := readFixture(t, name, Options{})
		frames, _, probs := readBytes(t, buf.Bytes(), Options{Source: name})
		if len(frames) != len(plain) || len(probs) != 0 {
			t.Errorf("%s gzipped: %d frames of %d, %v", name, len(frames), len(plain), probs)
		}
	}
}

func TestFilter(t *testing.T) {
	vip := netip.MustParseAddr("192.0.2.100")
	frames, info, probs := readFixture(t, "br0.pcap", Options{Addrs: []netip.Addr{vip}})
	if len(probs) != 0 || info.Filtered == 0 || info.Kept+info.Filtered != info.Packets {
		t.Errorf("%+v %v", info, probs)
	}
	vrrp := 0
	for _, f := range frames {
		rel := f.Src == vip || f.Dst == vip || f.ARPIP == vip || f.Inner != nil && f.Inner.Dst == vip ||
			f.Proto == "icmp" && !strings.HasPrefix(f.ICMP, "echo")
		if f.Proto == "vrrp" {
			vrrp++
			rel = true
		}
		if !rel {
			t.Errorf("kept %q", f.Ref.Text)
		}
	}
	// The HTTP exchange (12), tunnels (3), ARP for the VIP (4), VRRP (1),
	// ICMP errors (7).
	if len(frames) != 27 || vrrp != 1 {
		t.Errorf("%d frames kept, %d VRRP", len(frames), vrrp)
	}
}

func TestMaxFrames(t *testing.T) {
	frames, info, probs := readFixture(t, "br0.pcap", Options{MaxFrames: 10})
	if len(frames) != 10 || !info.Capped || len(probs) != 1 || probs[0].Line != 11 {
		t.Errorf("%d frames, %+v, %v", len(frames), info, probs)
	}
	frames, _, probs = readFixture(t, "br0.pcap", Options{MaxFrames: -1})
	if len(frames) != 61 || len(probs) != 0 {
		t.Errorf("unbounded: %d frames, %v", len(frames), probs)
	}
}

func TestZone(t *testing.T) {
	frames, _, _ := readFixture(t, "br0.pcap", Options{Zone: time.FixedZone("", 8*3600)})
	if frames[0].Time != "2026-11-21T15:53:10.435088+08:00" || !strings.HasPrefix(frames[0].Ref.Text, "15:53:10.435088 ") {
		t.Errorf("%q %q", frames[0].Time, frames[0].Ref.Text)
	}
}

func TestSetZone(t *testing.T) {
	frames, _, _ := readFixture(t, "two-ifaces.pcapng", Options{})
	want, _, _ := readFixture(t, "two-ifaces.pcapng", Options{Zone: time.FixedZone("", -5*3600-1800)})
	SetZone(frames, time.FixedZone("", -5*3600-1800))
	for i := range frames {
		if frames[i].Time != want[i].Time || frames[i].Ref != want[i].Ref {
			t.Fatalf("%q %q, want %q %q", frames[i].Time, frames[i].Ref.Text, want[i].Time, want[i].Ref.Text)
		}
	}
}

// TestRendering: the one-line rendering looks like `tcpdump -e -n -S`, and
// carries the TCP options, where rules read a handshake's MSS.
func TestRendering(t *testing.T) {
	frames, _, _ := readFixture(t, "br0.pcap", Options{})
	want := map[int]string{
		13: "07:53:12.901520 02:00:00:00:00:10 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 192.0.2.11 tell 192.0.2.10, length 28",
		19: "07:53:14.409540 02:00:00:00:00:10 > 02:00:00:00:00:11, ethertype IPv4 (0x0800), length 74: 192.0.2.10.50458 > 192.0.2.100.80: Flags [S], seq 2143107542, win 64240, options [mss 1460,sackOK,TS val 3987480655 ecr 0,nop,wscale 10], length 0",
		40: "07:53:14.719561 02:00:00:00:00:11 > 02:00:00:00:00:12, ethertype IPv4 (0x0800), length 78: 192.0.2.11 > 192.0.2.12: 192.0.2.10.5000 > 192.0.2.100.80: Flags [S], seq 1000, win 64240, options [mss 1460], length 0",
		61: "07:53:24.419047 02:00:00:00:00:12 > 33:33:00:00:00:02, ethertype IPv6 (0x86dd), length 70: fe80::ff:fe00:12 > ff02::2: ICMP6, length 16",
	}
	for n, w := range want {
		if got := frames[n-1].Ref.Text; got != w {
			t.Errorf("frame %d:\n got %s\nwant %s", n, got, w)
		}
	}
	sll, _, _ := readFixture(t, "any-sll2.pcap", Options{IfNames: labIfNames})
	if got, w := sll[0].Ref.Text, "07:53:10.019110 eth0 M ifindex 2 02:00:00:00:00:12 ethertype IPv6 (0x86dd), length 96: :: > ff02::16: ICMP6, length 28"; got != w {
		t.Errorf("cooked v2:\n got %s\nwant %s", got, w)
	}
	raw, _, _ := readFixture(t, "tun0.pcap", Options{})
	if got := raw[1].Ref.Text; !strings.HasPrefix(got, "07:53:21.784050 IP 203.0.113.57.51514 > 198.51.100.100.80: Flags [S]") {
		t.Errorf("raw: %s", got)
	}
}
