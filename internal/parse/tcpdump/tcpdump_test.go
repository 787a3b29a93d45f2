package tcpdump

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

func fixture(t testing.TB, name string) evidence.Doc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return evidence.Doc{Host: "ds1", Source: "ds1/" + name, Text: string(b)}
}

func TestFixtures(t *testing.T) {
	tests := []struct {
		file     string
		frames   int
		problems int
		iface    string
	}{
		{"br0-X.txt", 4, 0, "br0"},
		{"br0-live-nn-e.txt", 30, 0, "br0"},
		{"br0-n.txt", 58, 0, "br0"},
		{"br0-nn-e.txt", 58, 0, "br0"},
		{"br0-tt.txt", 3, 0, "br0"},
		{"br0-tttt.txt", 16, 0, "br0"},
		{"br0-v.txt", 35, 0, "br0"},
		{"br0-vvv-nnn-e.txt", 35, 0, "br0"},
		{"glitch.txt", 3, 0, ""},
		{"seed-director1-eth0-vvv-e-addrs.txt", 4, 1, "eth0"},
		{"seed-director1-eth0-vvv-e.txt", 4, 2, "eth0"},
		{"seed-host1-br0-after.txt", 2, 1, "br0"},
		{"seed-host1-br0-vvv-e.txt", 2, 2, "br0"},
		{"tcpdump-any-n.txt", 29, 0, "eth0"},
		{"tcpdump-any-nn-e.txt", 29, 0, "eth0"},
		{"tcpdump-any-sll1-e.txt", 29, 0, ""},
		{"tcpdump-eth0-v.txt", 29, 0, "eth0"},
		{"tcpdump-eth0-vvv-e.txt", 29, 0, "eth0"},
		{"variants-e-old.txt", 4, 0, ""},
		{"variants-old.txt", 12, 1, ""},
		{"variants-tcpdump39.txt", 7, 0, "eth0"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			doc := fixture(t, tt.file)
			fr, probs := Parse(doc)
			if len(fr) != tt.frames || len(probs) != tt.problems {
				t.Errorf("%d frames, problems %v", len(fr), probs)
			}
			n := len(doc.Lines())
			for _, f := range fr {
				if f.Ref.Line < 1 || f.Ref.Line > n || f.Ref.Source != doc.Source || f.Ref.Text == "" {
					t.Errorf("bad ref %+v", f.Ref)
				}
				if f.Iface != tt.iface {
					t.Errorf("iface %q at %s", f.Iface, f.Ref)
				}
				if f.Type == "" {
					t.Errorf("no type at %s", f.Ref)
				}
			}
		})
	}
}

var (
	c   = netip.MustParseAddr("192.0.2.10")
	rs1 = netip.MustParseAddr("192.0.2.11")
	rs2 = netip.MustParseAddr("192.0.2.12")
	vip = netip.MustParseAddr("192.0.2.100")
)

// find returns the frame cited at line.
func find(t *testing.T, fr []evidence.Frame, line int) evidence.Frame {
	t.Helper()
	for _, f := range fr {
		if f.Ref.Line == line {
			return f
		}
	}
	t.Fatalf("no frame at line %d", line)
	return evidence.Frame{}
}

func TestVerboseLinkFrames(t *testing.T) {
	fr, _ := Parse(fixture(t, "br0-vvv-nnn-e.txt"))
	syn := find(t, fr, 14)
	if syn.Time != "06:17:45.721889" || syn.SrcMAC != "02:00:00:00:00:10" || syn.DstMAC != "02:00:00:00:00:11" || syn.Type != "ipv4" ||
		syn.Proto != "tcp" || syn.Src != c || syn.SPort != 32952 || syn.Dst != rs1 || syn.DPort != 80 || syn.IPID != 40196 ||
		syn.TTL != 64 || !syn.DF || syn.Flags != "S" || !syn.HasSeq || syn.Seq != 1908075993 || syn.Length != 0 {
		t.Errorf("syn %+v", syn)
	}
	if !strings.Contains(syn.Ref.Text, "id 40196") || !strings.Contains(syn.Ref.Text, "Flags [S]") {
		t.Errorf("ref text %q", syn.Ref.Text)
	}
	rst := find(t, fr, 51)
	if rst.Flags != "R." || rst.SPort != 81 {
		t.Errorf("rst %+v", rst)
	}
	unreach := find(t, fr, 55)
	if unreach.Proto != "icmp" || unreach.ICMP != "192.0.2.11 udp port 9999 unreachable" || unreach.Src != rs1 || unreach.Length != 42 || unreach.IPID != 62674 {
		t.Errorf("port unreachable %+v", unreach)
	}
	ipip := find(t, fr, 61)
	if ipip.Proto != "ipip" || ipip.Src != rs1 || ipip.Dst != rs2 || ipip.IPID != 257 || ipip.Inner == nil {
		t.Fatalf("ipip %+v", ipip)
	}
	in := ipip.Inner
	if in.Proto != "tcp" || in.Src != c || in.SPort != 5000 || in.Dst != vip || in.DPort != 80 || in.IPID != 19824 || in.Flags != "S" || in.Seq != 1000 {
		t.Errorf("inner %+v", in)
	}
	if !strings.Contains(ipip.Ref.Text, "192.0.2.10.5000 > 192.0.2.100.80") {
		t.Errorf("ipip ref %q", ipip.Ref.Text)
	}
	proto4 := find(t, fr, 64)
	if proto4.ICMP != "192.0.2.12 protocol 4 unreachable" || proto4.Inner != nil {
		t.Errorf("protocol unreachable %+v", proto4)
	}
	vrrp := find(t, fr, 69)
	if vrrp.Proto != "vrrp" || vrrp.TTL != 255 || vrrp.Dst != netip.MustParseAddr("224.0.0.18") || vrrp.Length != 20 {
		t.Errorf("vrrp %+v", vrrp)
	}
	frag := find(t, fr, 71)
	if frag.ICMP != "192.0.2.100 unreachable - need to frag (mtu 1480)" {
		t.Errorf("frag %+v", frag)
	}
	vlan := find(t, fr, 75)
	if vlan.Type != "vlan" || vlan.Proto != "udp" || vlan.SPort != 4000 || vlan.Length != 5 {
		t.Errorf("vlan %+v", vlan)
	}
	// Two MACs answer for the VIP.
	r1, r2 := find(t, fr, 78), find(t, fr, 79)
	if r1.ARPOp != "reply" || r1.ARPIP != vip || r1.ARPMAC != "02:00:00:00:00:12" || r2.ARPMAC != "02:00:00:00:00:11" {
		t.Errorf("arp replies %+v %+v", r1, r2)
	}
	req := find(t, fr, 77)
	if req.ARPOp != "request" || req.ARPIP != vip || req.Src != c || req.DstMAC != "ff:ff:ff:ff:ff:ff" {
		t.Errorf("arp request %+v", req)
	}
}

func TestOneLineForms(t *testing.T) {
	fr, _ := Parse(fixture(t, "br0-n.txt"))
	ipip := find(t, fr, 46)
	if ipip.Proto != "ipip" || ipip.Inner == nil || ipip.Inner.Dst != vip || ipip.Inner.DPort != 80 || ipip.IPID != -1 || ipip.SrcMAC != "" {
		t.Errorf("ipip %+v", ipip)
	}
	v6 := find(t, fr, 10)
	if v6.Type != "ipv6" || v6.Proto != "icmp6" || v6.Dst != netip.MustParseAddr("ff02::16") {
		t.Errorf("ipv6 %+v", v6)
	}
	echo := find(t, fr, 16)
	if echo.ICMP != "echo request" || echo.Length != 64 || echo.HasSeq {
		t.Errorf("echo %+v", echo)
	}
}

func TestCookedAny(t *testing.T) {
	for _, file := range []string{"tcpdump-any-n.txt", "tcpdump-any-nn-e.txt", "tcpdump-any-sll1-e.txt"} {
		fr, _ := Parse(fixture(t, file))
		in, out := fr[0], fr[1]
		if in.Dir != "in" || out.Dir != "out" || in.ICMP != "echo request" || out.Src != rs1 {
			t.Errorf("%s: %+v %+v", file, in, out)
		}
		if strings.Contains(file, "-e") && in.SrcMAC != "02:00:00:00:00:10" {
			t.Errorf("%s: mac %+v", file, in)
		}
	}
	fr, _ := Parse(fixture(t, "tcpdump-any-n.txt"))
	bcast := 0
	for _, f := range fr {
		if f.Dir == "broadcast" {
			bcast++
		}
	}
	if bcast != 1 {
		t.Errorf("%d broadcast frames", bcast)
	}
}

func TestSeedPastes(t *testing.T) {
	fr, probs := Parse(fixture(t, "seed-director1-eth0-vvv-e-addrs.txt"))
	if len(probs) != 1 || !strings.Contains(probs[0].Message, "not tcpdump output") {
		t.Errorf("problems %v", probs)
	}
	client, v := netip.MustParseAddr("203.0.113.145"), netip.MustParseAddr("198.51.100.208")
	for k, f := range fr {
		if f.Src != client || f.Dst != v || f.DPort != 80 || f.Proto != "tcp" || f.Flags != "S" || f.Seq != 3639534333 || !f.DF || f.TTL != 48 {
			t.Errorf("frame %d %+v", k, f)
		}
	}
	if fr[0].IPID != 47264 || fr[1].IPID != 47264 || fr[2].IPID != 47265 || fr[1].SrcMAC != "02:00:73:b6:53:c8" || fr[1].DstMAC != "02:00:73:b6:53:e2" {
		t.Errorf("ids/macs %+v", fr)
	}
	// Verbatim: anonymised addresses leave Dst unknown, the rest is read.
	fr, probs = Parse(fixture(t, "seed-director1-eth0-vvv-e.txt"))
	if fr[1].Dst.IsValid() || fr[1].DPort != 80 || fr[1].Src != netip.MustParseAddr("192.243.119.145") || fr[1].IPID != 47264 {
		t.Errorf("verbatim %+v", fr[1])
	}
	if len(probs) != 2 || !strings.Contains(probs[1].Message, "not IP addresses") {
		t.Errorf("problems %v", probs)
	}
}

func TestGlitches(t *testing.T) {
	fr, probs := Parse(fixture(t, "glitch.txt"))
	if len(probs) != 0 || len(fr) != 3 {
		t.Fatalf("%+v %v", fr, probs)
	}
	for _, f := range fr {
		if f.Src != netip.MustParseAddr("203.0.113.145") || f.Seq != 3639534333 || f.DPort != 80 {
			t.Errorf("%+v", f)
		}
	}
	if fr[0].IPID != 47264 || fr[1].IPID != 47264 || fr[1].SrcMAC != "02:00:73:b6:53:c8" || fr[0].Ref.Line != 1 || fr[1].Ref.Line != 1 {
		t.Errorf("%+v", fr[:2])
	}
	if !strings.HasPrefix(fr[1].Ref.Text, "11:39:19.372815") {
		t.Errorf("glued packet cites %q", fr[1].Ref.Text)
	}
}

func TestOldVersions(t *testing.T) {
	fr, _ := Parse(fixture(t, "variants-tcpdump39.txt"))
	if fr[0].Flags != "S" || fr[0].Seq != 1044312071 || fr[3].Flags != "P" || fr[3].Length != 74 || fr[4].Flags != "R" {
		t.Errorf("%+v", fr)
	}
	if fr[5].ARPOp != "request" || fr[6].ARPMAC != "52:54:00:aa:bb:cc" {
		t.Errorf("arp %+v %+v", fr[5], fr[6])
	}
	fr, _ = Parse(fixture(t, "variants-old.txt"))
	if fr[1].Proto != "ipip" || fr[1].Inner == nil || fr[1].Inner.Seq != 1044312071 {
		t.Errorf("ipip %+v", fr[1])
	}
	if fr[3].ICMP != "host 192.0.2.100 unreachable" || fr[6].ICMP != "host 192.0.2.100 unreachable - admin prohibited filter" {
		t.Errorf("icmp %q %q", fr[3].ICMP, fr[6].ICMP)
	}
	if fr[11].DPort != 80 || fr[11].Dst.IsValid() {
		t.Errorf("names %+v", fr[11])
	}
	fr, _ = Parse(fixture(t, "variants-e-old.txt"))
	if fr[0].Dir != "in" || fr[1].Dir != "out" || fr[1].SrcMAC != "52:54:00:aa:bb:cc" || fr[2].Type != "vlan" || fr[2].Dst != vip {
		t.Errorf("%+v", fr)
	}
}

func TestIface(t *testing.T) {
	tests := []struct{ cmd, source, text, want string }{
		{"tcpdump -i eth1 -n", "x.txt", "", "eth1"},
		{"tcpdump -ieth1 -n", "x.txt", "", "eth1"},
		{"tcpdump -i any -n", "ds1/eth0.txt", "", "eth0"},
		{"", "ds1/tcpdump-vnet0.txt", "", "vnet0"},
		{"", "ds1/br0.txt", "", "br0"},
		{"", "ds1/capture.txt", "", ""},
		{"tcpdump -i eth1", "x.txt", "listening on bond0, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n", "bond0"},
	}
	for _, tt := range tests {
		fr, _ := Parse(evidence.Doc{Source: tt.source, Command: tt.cmd, Text: tt.text + "06:00:00.000000 IP 192.0.2.1.1 > 192.0.2.2.2: UDP, length 1\n"})
		if len(fr) != 1 || fr[0].Iface != tt.want {
			t.Errorf("%q %q: %+v", tt.cmd, tt.source, fr)
		}
	}
}

func TestNotTcpdump(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 100; i++ {
		b.WriteString("some other text\n")
	}
	fr, probs := Parse(evidence.Doc{Source: "x", Text: b.String()})
	if len(fr) != 0 || len(probs) != maxProblems+1 {
		t.Errorf("%d frames, %d problems", len(fr), len(probs))
	}
}

func TestTimestampLen(t *testing.T) {
	tests := map[string]int{
		"06:17:44.683752 IP":             15,
		"2026-11-21 06:17:44.683752 ARP": 26,
		"1795241865.721889 IP":           17,
		"11:39:20.1 IP":                  10,
		"6:01:02 x":                      7,
		"00:00:00.000017 IP":             15,
		"192.0.2.1.5 > x":                0,
		"12:3x":                          0,
		"2026-11-21 x":                   0,
		"123456789":                      0,
	}
	for in, want := range tests {
		if got := timestampLen(in); got != want {
			t.Errorf("timestampLen(%q) = %d, want %d", in, got, want)
		}
	}
}

// Two capture points pick different bases for relative sequence numbers
// (tcpdump bases them on the first ACK-bearing packet each one saw); the
// parser must give the same absolute numbers for the same packet.
func TestRelativeSequenceNumbers(t *testing.T) {
	director := `09:30:12.481133 00:00:5e:00:01:33 > bc:24:11:6e:0a:11, ethertype IPv4 (0x0800), length 74: 203.0.113.9.53424 > 198.51.100.80.80: Flags [S], seq 687236513, win 42340, length 0
09:30:12.481137 bc:24:11:6e:0a:11 > bc:24:11:6e:0a:21, ethertype IPv4 (0x0800), length 74: 203.0.113.9.53424 > 198.51.100.80.80: Flags [S], seq 687236513, win 42340, length 0
09:30:12.481240 00:00:5e:00:01:33 > bc:24:11:6e:0a:11, ethertype IPv4 (0x0800), length 66: 203.0.113.9.53424 > 198.51.100.80.80: Flags [.], ack 941356473, win 331, length 0
09:30:12.481454 00:00:5e:00:01:33 > bc:24:11:6e:0a:11, ethertype IPv4 (0x0800), length 143: 203.0.113.9.53424 > 198.51.100.80.80: Flags [P.], seq 0:77, ack 1, win 331, length 77: HTTP: GET / HTTP/1.1
09:30:12.481951 00:00:5e:00:01:33 > bc:24:11:6e:0a:11, ethertype IPv4 (0x0800), length 66: 203.0.113.9.53424 > 198.51.100.80.80: Flags [F.], seq 77, ack 77, win 331, length 0
`
	realServer := `09:30:12.481140 bc:24:11:6e:0a:11 > bc:24:11:6e:0a:21, ethertype IPv4 (0x0800), length 74: 203.0.113.9.53424 > 198.51.100.80.80: Flags [S], seq 687236513, win 42340, length 0
09:30:12.481217 bc:24:11:6e:0a:21 > 00:00:5e:00:01:33, ethertype IPv4 (0x0800), length 74: 198.51.100.80.80 > 203.0.113.9.53424: Flags [S.], seq 941356472, ack 687236514, win 43440, length 0
09:30:12.481459 bc:24:11:6e:0a:11 > bc:24:11:6e:0a:21, ethertype IPv4 (0x0800), length 143: 203.0.113.9.53424 > 198.51.100.80.80: Flags [P.], seq 1:78, ack 1, win 331, length 77: HTTP: GET / HTTP/1.1
09:30:12.481495 bc:24:11:6e:0a:21 > 00:00:5e:00:01:33, ethertype IPv4 (0x0800), length 141: 198.51.100.80.80 > 203.0.113.9.53424: Flags [P.], seq 1:76, ack 78, win 339, length 75: HTTP: HTTP/1.1 200 OK
09:30:12.481956 bc:24:11:6e:0a:11 > bc:24:11:6e:0a:21, ethertype IPv4 (0x0800), length 66: 203.0.113.9.53424 > 198.51.100.80.80: Flags [F.], seq 78, ack 77, win 331, length 0
`
	d, _ := Parse(evidence.Doc{Source: "lb1", Text: director})
	r, _ := Parse(evidence.Doc{Source: "web1", Text: realServer})
	if d[3].Seq != 687236514 || r[2].Seq != 687236514 || !d[3].HasSeq || !r[2].HasSeq {
		t.Errorf("data: %d/%v vs %d/%v", d[3].Seq, d[3].HasSeq, r[2].Seq, r[2].HasSeq)
	}
	if d[4].Seq != 687236591 || r[4].Seq != 687236591 {
		t.Errorf("fin: %d vs %d", d[4].Seq, r[4].Seq)
	}
	if r[3].Seq != 941356473 {
		t.Errorf("reply: %d", r[3].Seq)
	}
	if d[2].HasSeq {
		t.Errorf("bare ACK has a sequence number")
	}
	// With -S everything is absolute already.
	abs, _ := Parse(evidence.Doc{Source: "x", Command: "tcpdump -nnS -i eth0", Text: strings.ReplaceAll(realServer, "seq 1:78", "seq 687236514:687236591")})
	if abs[2].Seq != 687236514 {
		t.Errorf("-S: %d", abs[2].Seq)
	}
	// Without the command, absolute numbers are recognised by their size.
	abs, _ = Parse(evidence.Doc{Source: "x", Text: strings.ReplaceAll(realServer, "seq 1:78", "seq 687236514:687236591")})
	if abs[2].Seq != 687236514 {
		t.Errorf("absolute without -S: %d", abs[2].Seq)
	}
	// A paste that starts mid-connection: relative numbers with no base.
	cut, _ := Parse(evidence.Doc{Source: "x", Text: strings.SplitN(realServer, "\n", 3)[2]})
	if cut[0].HasSeq || cut[1].HasSeq {
		t.Errorf("relative numbers without a base kept: %+v", cut[:2])
	}
}

func TestASCIIPayloads(t *testing.T) {
	doc := fixture(t, "br0-A.txt")
	doc.Command = "tcpdump -r br0.pcap -nn -A tcp -c 5"
	fr, probs := Parse(doc)
	if len(fr) != 5 || len(probs) != 0 || fr[1].Flags != "S." {
		t.Errorf("%d frames, %v", len(fr), probs)
	}
}

// TestAnonymisedMACs: a ticket's -e lines with the MACs replaced by
// placeholders (keepalived#1367: "xx:xx:xx:xx:xx > xx:xx:xe:xx:xx:x", of
// the wrong length) are still packets; their MACs are unknown, not made up.
func TestAnonymisedMACs(t *testing.T) {
	text := `13:59:56.984195 xx:xx:xx:xx:xx > xx:xx:xe:xx:xx:x, ethertype IPv4 (0x0800), length 54: (tos 0xc0, ttl 255, id 146, offset 0, flags [none], proto VRRP (112), length 40)
    192.0.2.1 > 224.0.0.18: vrrp 192.0.2.47 > 224.0.0.18: VRRPv2, Advertisement, vrid 100, prio 100, authtype none, intvl 1s, length 20, addrs: 192.0.2.100
13:59:57.985301 XX:XX:XX:XX:XX:XX > 01:00:5e:00:00:12, ethertype IPv4 (0x0800), length 54: (tos 0xc0, ttl 255, id 147, offset 0, flags [none], proto VRRP (112), length 40)
    192.0.2.1 > 224.0.0.18: vrrp 192.0.2.47 > 224.0.0.18: VRRPv2, Advertisement, vrid 100, prio 100, authtype none, intvl 1s, length 20, addrs: 192.0.2.100
`
	fr, probs := Parse(evidence.Doc{Host: "m", Source: "m/x", Start: 1, Command: "tcpdump -n -v -e -i ens3 vrrp", Text: text})
	if len(probs) != 0 {
		t.Errorf("problems %v", probs)
	}
	if len(fr) != 2 {
		t.Fatalf("frames %+v", fr)
	}
	for _, f := range fr {
		if f.SrcMAC != "" || f.Proto != "vrrp" || f.TTL != 255 || f.Dst != netip.MustParseAddr("224.0.0.18") {
			t.Errorf("frame %+v", f)
		}
	}
	if fr[1].DstMAC != "01:00:5e:00:00:12" || fr[0].DstMAC != "" {
		t.Errorf("dst MACs %q %q", fr[0].DstMAC, fr[1].DstMAC)
	}
}

// TestProseBetweenPackets: a web page's sentences between the captures it
// quotes are one problem, citing the first; a damaged line that is no
// sentence is still reported on its own.
func TestProseBetweenPackets(t *testing.T) {
	text := "06:00:00.000000 IP 192.0.2.1.1000 > 192.0.2.2.80: Flags [S], seq 1, win 1, length 0\n" +
		"---以下略去客户端第3、4、5次重传数据\n" +
		"We can see that the frame was never forwarded to the real server.\n" +
		"06:00:01.000000 IP 192.0.2.1.1000 > 192.0.2.2.80: Flags [S], seq 1, win 1, length 0\n" +
		"garbled 1.2.3\n"
	fr, probs := Parse(evidence.Doc{Source: "x", Start: 1, Text: text})
	if len(fr) != 2 {
		t.Fatalf("%d frames, want 2", len(fr))
	}
	var msgs []string
	for _, p := range probs {
		msgs = append(msgs, p.Message)
	}
	if len(probs) != 2 || !strings.HasPrefix(probs[1].Message, "2 lines of text between the packets") || probs[1].Line != 2 ||
		!strings.Contains(probs[0].Message, "garbled 1.2.3") {
		t.Errorf("problems %q (lines %+v), want the garbled line, then the 2 prose lines from line 2", msgs, probs)
	}
}
