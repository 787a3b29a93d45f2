package capture

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// TestScanAgreesWithRead checks the scanner against the reader on every
// fixture: the same packets, the same problems, Frame() the same frame,
// and headers read in place that say what the frame says.
func TestScanAgreesWithRead(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.pcap*")
	if len(files) < 10 {
		t.Fatalf("only %d fixtures", len(files))
	}
	for _, p := range files {
		t.Run(filepath.Base(p), func(t *testing.T) {
			opt := Options{Host: "h", Source: filepath.Base(p), MaxFrames: -1}
			want, winfo, wprobs := ReadFile(p, opt)
			var got []evidence.Frame
			n := 0
			info, probs := Scan(p, opt, func(pk *Packet) bool {
				n++
				if pk.N != n {
					t.Fatalf("packet %d numbered %d", n, pk.N)
				}
				f := pk.Frame()
				checkHeaders(t, pk, &f)
				got = append(got, f)
				return true
			})
			if len(got) != len(want) {
				t.Fatalf("scan saw %d frames, read %d", len(got), len(want))
			}
			for i := range got {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Fatalf("frame %d:\nscan %+v\nread %+v", i+1, got[i], want[i])
				}
			}
			if info.Packets != winfo.Packets || info.Format != winfo.Format {
				t.Errorf("info %+v, read %+v", info, winfo)
			}
			// The reader also reports malformed headers, which the scanner
			// does not judge; the damage that stops reading must agree.
			for _, wp := range wprobs {
				if strings.Contains(wp.Message, "ends in the middle") || strings.Contains(wp.Message, "snap length") || strings.Contains(wp.Message, "empty file") {
					found := false
					for _, gp := range probs {
						// The scanner reads inside more tunnels than the
						// decoder: it may count more cut frames, from the same first.
						found = found || gp.Line == wp.Line && strings.HasPrefix(gp.Message, strings.Split(wp.Message, " (and ")[0])
					}
					if !found {
						t.Errorf("scan lacks problem %v (has %v)", wp, probs)
					}
				}
			}
		})
	}
}

// checkHeaders compares what the scanner read in place with the frame the
// full decoder made of the same packet.
func checkHeaders(t *testing.T, pk *Packet, f *evidence.Frame) {
	t.Helper()
	if pk.HasSrcMAC && f.SrcMAC != "" && hexColon(pk.SrcMAC[:]) != f.SrcMAC {
		t.Fatalf("frame %d: src MAC %x, frame %s", pk.N, pk.SrcMAC, f.SrcMAC)
	}
	if pk.ARP.Valid {
		if f.ARPIP != pk.ARP.TargetIP && f.ARPIP != pk.ARP.SenderIP {
			t.Fatalf("frame %d: ARP %+v, frame %+v", pk.N, pk.ARP, f)
		}
		return
	}
	ip := &pk.IP
	g := f
	if pk.Tunnel != NoTunnel {
		if f.Inner == nil {
			t.Fatalf("frame %d: %s tunnel, frame without inner packet", pk.N, pk.Tunnel)
		}
		if pk.Outer.Src != f.Src || pk.Outer.Dst != f.Dst {
			t.Fatalf("frame %d: outer %v>%v, frame %v>%v", pk.N, pk.Outer.Src, pk.Outer.Dst, f.Src, f.Dst)
		}
		g = f.Inner
	}
	if !ip.Valid {
		return
	}
	if ip.Src != g.Src || ip.Dst != g.Dst {
		t.Fatalf("frame %d: %v>%v, frame %v>%v", pk.N, ip.Src, ip.Dst, g.Src, g.Dst)
	}
	if ip.HasPorts && (ip.SPort != g.SPort || ip.DPort != g.DPort) {
		t.Fatalf("frame %d: ports %d>%d, frame %d>%d", pk.N, ip.SPort, ip.DPort, g.SPort, g.DPort)
	}
	if ip.Src.Is4() && g.IPID >= 0 && int(ip.ID) != g.IPID {
		t.Fatalf("frame %d: id %d, frame %d", pk.N, ip.ID, g.IPID)
	}
	if ip.Proto == ProtoTCP && g.HasSeq && ip.Seq != g.Seq {
		t.Fatalf("frame %d: seq %d, frame %d", pk.N, ip.Seq, g.Seq)
	}
	if ip.Proto == ProtoTCP && !pk.Cut && tcpFlags(ip.Flags) != g.Flags {
		t.Fatalf("frame %d: flags %s, frame %s", pk.N, tcpFlags(ip.Flags), g.Flags)
	}
	if ip.HasTS && !strings.Contains(f.Ref.Text, "TS val ") {
		t.Fatalf("frame %d: TS option not in %q", pk.N, f.Ref.Text)
	}
}

func TestScanStops(t *testing.T) {
	n := 0
	info, _ := Scan("testdata/br0.pcap", Options{}, func(*Packet) bool { n++; return n < 5 })
	if n != 5 || info.Packets != 5 {
		t.Fatalf("stopped after %d callbacks, %d packets", n, info.Packets)
	}
}

func TestScanMissingFile(t *testing.T) {
	_, probs := Scan("testdata/none.pcap", Options{Host: "h", Source: "none.pcap"}, func(*Packet) bool { return true })
	if len(probs) != 1 || probs[0].Source != "none.pcap" || !strings.Contains(probs[0].Message, "no such file") {
		t.Fatalf("%v", probs)
	}
}

// FuzzScan checks that no input makes the scanner panic and that a frame
// made during the scan is numbered as the packet.
func FuzzScan(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.pcap*")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		last := 0
		info, probs := ScanReader(bytes.NewReader(data), Options{Source: "f"}, func(p *Packet) bool {
			if p.N != last+1 || p.CapLen < 0 {
				t.Fatalf("packet %d after %d", p.N, last)
			}
			last = p.N
			if p.N%3 == 0 {
				if fr := p.Frame(); fr.Ref.Line != p.N {
					t.Fatalf("frame %d cites %d", p.N, fr.Ref.Line)
				}
			}
			return true
		})
		if last != info.Kept || info.Kept > info.Packets {
			t.Fatalf("%d callbacks, %+v", last, info)
		}
		for _, p := range probs {
			if p.Source != "f" || p.Line < 0 || p.Line > info.Packets+1 {
				t.Fatalf("problem %+v", p)
			}
		}
	})
}
