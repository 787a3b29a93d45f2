package capture

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/tcpdump"
)

// textFrames parses tcpdump's printout of a capture with the text parser.
func textFrames(t *testing.T, name, text string) []evidence.Frame {
	t.Helper()
	// With -e, tcpdump starts a raw IP packet with "ip: ", which the text
	// parser does not know; without -e it prints "IP " or "IP6 ".
	text = strings.ReplaceAll(text, " ip: (hlim ", " IP6 (hlim ")
	text = strings.ReplaceAll(text, " ip: ", " IP ")
	fs, _ := tcpdump.Parse(evidence.Doc{Source: name, Start: 1, Command: "tcpdump -e -n -vvv -r " + name, Text: text})
	return fs
}

// diffFrame lists where a frame read from a capture differs from the
// same packet as the text parser read it from tcpdump's printout. Fields
// the printout does not show stay unchecked.
func diffFrame(bin, txt *evidence.Frame, inner bool) []string {
	var d []string
	ne := func(field string, a, b any) {
		if fmt.Sprint(a) != fmt.Sprint(b) {
			d = append(d, fmt.Sprintf("%s: capture %v, text %v", field, a, b))
		}
	}
	if txt.Time != "" {
		// tcpdump prints microseconds unless told otherwise.
		ne("time", timeOfDay(bin.Time)[:min(len(txt.Time), len(timeOfDay(bin.Time)))], txt.Time)
	}
	ne("src", bin.Src, txt.Src)
	ne("dst", bin.Dst, txt.Dst)
	ne("sport", bin.SPort, txt.SPort)
	ne("dport", bin.DPort, txt.DPort)
	// The text parser takes the first next-header of an IPv6 packet
	// for its protocol, an extension header's number included.
	if txt.Proto != "" && !(bin.Type == "ipv6" && (txt.Proto == "0" || txt.Proto == "43" || txt.Proto == "60" || txt.Proto == "44")) {
		ne("proto", bin.Proto, txt.Proto)
	}
	if !inner || txt.SrcMAC != "" {
		ne("srcmac", bin.SrcMAC, txt.SrcMAC)
		ne("dstmac", bin.DstMAC, txt.DstMAC)
	}
	if txt.Type != "" {
		ne("type", bin.Type, txt.Type)
	}
	if !inner {
		ne("dir", bin.Dir, txt.Dir)
		if txt.Iface != "" {
			ne("iface", bin.Iface, txt.Iface)
		}
	}
	if txt.IPID >= 0 {
		ne("ipid", bin.IPID, txt.IPID)
	}
	if txt.TTL != 0 {
		ne("ttl", bin.TTL, txt.TTL)
		ne("df", bin.DF, txt.DF)
	}
	ne("flags", bin.Flags, txt.Flags)
	// Verbose tcpdump prints the seq of bare ACKs too; the capture's
	// frames follow the default printout, where they have none.
	if bin.HasSeq {
		ne("hasseq", bin.HasSeq, txt.HasSeq)
	}
	if txt.HasSeq {
		ne("seq", bin.Seq, txt.Seq)
	}
	if txt.Length != 0 {
		ne("length", bin.Length, txt.Length)
	}
	if txt.ICMP != "" {
		ne("icmp", bin.ICMP, txt.ICMP)
	}
	ne("arpop", bin.ARPOp, txt.ARPOp)
	ne("arpip", bin.ARPIP, txt.ARPIP)
	ne("arpmac", bin.ARPMAC, txt.ARPMAC)
	switch {
	case txt.Inner != nil && bin.Inner == nil:
		d = append(d, "inner: missing in the capture's frame")
	case txt.Inner != nil:
		for _, x := range diffFrame(bin.Inner, txt.Inner, true) {
			d = append(d, "inner "+x)
		}
	case bin.Inner != nil && bin.Proto != "gre" && bin.DPort != 4789:
		// The text parser leaves the packets of GRE and VXLAN unread.
		d = append(d, "inner: only in the capture's frame")
	}
	return d
}

// timeOfDay is a frame time as tcpdump prints it by default.
func timeOfDay(rfc string) string {
	if i := strings.IndexByte(rfc, 'T'); i >= 0 {
		rfc = rfc[i+1:]
	}
	for _, z := range []string{"Z", "+", "-"} {
		if i := strings.LastIndex(rfc, z); i > 0 {
			rfc = rfc[:i]
		}
	}
	return rfc
}

// compareWithText checks every frame of a capture against tcpdump's
// printout of it.
func compareWithText(t *testing.T, frames []evidence.Frame, text []evidence.Frame) {
	t.Helper()
	if len(frames) != len(text) {
		t.Errorf("%d frames, tcpdump printed %d", len(frames), len(text))
	}
	bad := 0
	for i := 0; i < min(len(frames), len(text)); i++ {
		if d := diffFrame(&frames[i], &text[i], false); len(d) > 0 {
			bad++
			if bad <= 8 {
				t.Errorf("frame %d %q\n  text %q\n  %s", frames[i].Ref.Line, frames[i].Ref.Text, text[i].Ref.Text, strings.Join(d, "\n  "))
			}
		}
	}
	if bad > 8 {
		t.Errorf("... %d frames differ", bad)
	}
}

// TestAgainstTcpdump compares each fixture with `tcpdump -e -n -vvv -r` of
// it, printed by tcpdump 4.99.3 when the fixture was made.
func TestAgainstTcpdump(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.pcap*")
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, p := range files {
		name := filepath.Base(p)
		t.Run(name, func(t *testing.T) {
			txt, err := os.ReadFile(strings.TrimSuffix(strings.TrimSuffix(p, ".pcap"), ".pcapng") + ".vvv.txt")
			if err != nil {
				t.Skip("no printout")
			}
			frames, _, _ := ReadFile(p, Options{Source: name, Iface: tcpdump.IfaceFromName(name), IfNames: labIfNames, MaxFrames: -1})
			compareWithText(t, frames, textFrames(t, name, string(txt)))
		})
	}
}

// labIfNames are the interfaces of the fixtures' capturing host (b).
var labIfNames = map[int]string{1: "lo", 2: "eth0", 3: "eth1", 4: "tun0"}

// TestCommittedCaptures reads every capture committed with the lab and
// example cases and compares it with tcpdump's reading of it, when tcpdump
// is installed.
func TestCommittedCaptures(t *testing.T) {
	var files []string
	for _, g := range []string{"../../testdata/lab/*/*/*.pcap", "../../examples/*/*/*.pcap"} {
		m, _ := filepath.Glob(g)
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no committed captures")
	}
	td, err := exec.LookPath("tcpdump")
	for _, p := range files {
		name := strings.TrimPrefix(p, "../../")
		t.Run(name, func(t *testing.T) {
			frames, info, probs := ReadFile(p, Options{Source: name, Iface: tcpdump.IfaceFromName(name), MaxFrames: -1})
			if len(probs) > 0 {
				t.Errorf("problems: %v", probs)
			}
			if info.Packets != len(frames) {
				t.Errorf("%d packets, %d frames", info.Packets, len(frames))
			}
			if err != nil {
				t.Skip("tcpdump not installed")
			}
			cmd := exec.Command(td, "-e", "-n", "-vvv", "-r", p)
			cmd.Env = append(os.Environ(), "TZ=UTC")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("tcpdump: %v", err)
			}
			compareWithText(t, frames, textFrames(t, name, string(out)))
		})
	}
}
