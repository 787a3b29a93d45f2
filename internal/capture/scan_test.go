package capture

import (
	"bytes"
	"encoding/binary"
	"fmt"
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
	Deterministic = true
	defer func() { Deterministic = false }()
	files, _ := filepath.Glob("testdata/*.pcap*")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		last := 0
		opt := Options{Source: "f"}
		if len(data) > 0 && data[len(data)-1]&1 == 1 {
			// The parallel reader on odd inputs.
			opt.Prefilter = func(p *Packet) bool { return p.IP.Valid }
		}
		calls := 0
		info, probs := ScanReader(bytes.NewReader(data), opt, func(p *Packet) bool {
			if p.N <= last || opt.Prefilter == nil && p.N != last+1 || p.CapLen < 0 {
				t.Fatalf("packet %d after %d", p.N, last)
			}
			last = p.N
			calls++
			if p.N%3 == 0 {
				if fr := p.Frame(); fr.Ref.Line != p.N {
					t.Fatalf("frame %d cites %d", p.N, fr.Ref.Line)
				}
			}
			return true
		})
		if calls != info.Kept || info.Kept > info.Packets || info.Kept+info.Filtered > info.Packets {
			t.Fatalf("%d callbacks, %+v", calls, info)
		}
		for _, p := range probs {
			if p.Source != "f" || p.Line < 0 || p.Line > info.Packets+1 {
				t.Fatalf("problem %+v", p)
			}
		}
	})
}

// TestScanPrefilter checks the parallel scan against the plain one: every
// packet the prefilter passes is handed on, in order, with the same
// number and headers; the others are counted as skipped; the problems
// are the same.
func TestScanPrefilter(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.pcap")
	// Big enough to be mapped and read in regions; the second with
	// payloads that look like records, to mislead the regions' search
	// for their first record.
	files = append(files, writeBigFile(t, 60000, false), writeBigFile(t, 60000, true))
	cut := filepath.Join(t.TempDir(), "big-cut.pcap")
	if b, err := os.ReadFile(files[len(files)-2]); err != nil || os.WriteFile(cut, b[:len(b)-700], 0o644) != nil {
		t.Fatal("cannot write the cut file")
	}
	files = append(files, cut)
	before := resyncs.Load()
	defer func() {
		if resyncs.Load() == before {
			t.Error("the decoys never misled a region: the fallback went untested")
		}
	}()
	for _, p := range files {
		t.Run(filepath.Base(p), func(t *testing.T) {
			tcp := func(pk *Packet) bool { return pk.IP.Valid && pk.IP.Proto == ProtoTCP && pk.IP.SPort%3 == 0 }
			type seen struct {
				n     int
				src   string
				seq   uint32
				frame string
			}
			var want []seen
			winfo, wprobs := Scan(p, Options{Source: "f"}, func(pk *Packet) bool {
				if tcp(pk) {
					want = append(want, seen{pk.N, pk.IP.Src.String(), pk.IP.Seq, ""})
				}
				return true
			})
			var got []seen
			skipped, last := 0, 0
			info, probs := Scan(p, Options{Source: "f", Prefilter: tcp, Skipped: func(s SkipStats) { skipped += s.Packets }}, func(pk *Packet) bool {
				if pk.N <= last {
					t.Fatalf("packet %d after %d", pk.N, last)
				}
				last = pk.N
				if tcp(pk) {
					got = append(got, seen{pk.N, pk.IP.Src.String(), pk.IP.Seq, ""})
				}
				if pk.N%1000 == 1 {
					if f := pk.Frame(); f.Ref.Line != pk.N {
						t.Fatalf("frame %d cites %d", pk.N, f.Ref.Line)
					}
				}
				return true
			})
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("parallel scan passed %d packets, plain %d", len(got), len(want))
			}
			if info.Packets != winfo.Packets || info.Kept+skipped != winfo.Kept {
				t.Errorf("parallel %+v (+%d skipped), plain %+v", info, skipped, winfo)
			}
			if len(probs) != len(wprobs) {
				t.Fatalf("problems %v, want %v", probs, wprobs)
			}
			for i := range probs {
				if probs[i].Line != wprobs[i].Line || strings.Split(probs[i].Message, " (and ")[0] != strings.Split(wprobs[i].Message, " (and ")[0] {
					t.Errorf("problem %v, want %v", probs[i], wprobs[i])
				}
			}
		})
	}
}

// writeBigFile writes a pcap of n Ethernet/IPv4/TCP packets of varied
// sizes, so that records straddle the parallel reader's buffers; with
// decoys, each payload is a chain of fake record headers.
func writeBigFile(t *testing.T, n int, decoys bool) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), fmt.Sprintf("big-%v.pcap", decoys))
	var b bytes.Buffer
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 262144)
	binary.LittleEndian.PutUint32(hdr[20:], 1)
	b.Write(hdr)
	frame := make([]byte, 1514)
	frame[12], frame[13] = 0x08, 0x00
	ip := frame[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, 6
	copy(ip[12:], []byte{10, 0, 0, 1, 192, 0, 2, 100})
	tcp := ip[20:]
	tcp[12] = 5 << 4
	rec := make([]byte, 16)
	if decoys {
		// Fake records of 20 bytes, chained, where the payload starts.
		fake := frame[14+20+20:]
		for k := 0; k+36 <= len(fake); k += 36 {
			binary.LittleEndian.PutUint32(fake[k:], 1700000000)
			binary.LittleEndian.PutUint32(fake[k+8:], 20)
			binary.LittleEndian.PutUint32(fake[k+12:], 20)
		}
	}
	for i := range n {
		size := 60 + (i*7919)%1454
		binary.BigEndian.PutUint16(ip[2:], uint16(size-14))
		binary.BigEndian.PutUint16(tcp[0:], uint16(i))
		binary.BigEndian.PutUint32(tcp[4:], uint32(i)*2654435761)
		binary.LittleEndian.PutUint32(rec[0:], uint32(1700000000+i/1000))
		binary.LittleEndian.PutUint32(rec[4:], uint32(i%1000)*1000)
		binary.LittleEndian.PutUint32(rec[8:], uint32(size))
		binary.LittleEndian.PutUint32(rec[12:], uint32(size))
		b.Write(rec)
		b.Write(frame[:size])
	}
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
