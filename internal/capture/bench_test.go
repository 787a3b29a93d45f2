package capture

import (
	"bufio"
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// writeBig writes a pcap of n packets: a director's view of many clients
// opening connections to a VIP (SYN in, SYN forwarded with the
// director's MAC), each a 74-byte Ethernet/IPv4/TCP frame with options.
func writeBig(b *testing.B, n int) string {
	b.Helper()
	p := filepath.Join(b.TempDir(), "big.pcap")
	out, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	bw := bufio.NewWriterSize(out, 1<<20)
	w := pcapgo.NewWriter(bw)
	if err := w.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
		b.Fatal(err)
	}
	frame := make([]byte, 74)
	copy(frame[0:6], []byte{0x52, 0x54, 0, 0, 0, 2})
	copy(frame[6:12], []byte{0x52, 0x54, 0, 0, 0, 1})
	binary.BigEndian.PutUint16(frame[12:], 0x0800)
	ip := frame[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(ip[2:], 60)
	binary.BigEndian.PutUint16(ip[6:], 0x4000)
	copy(ip[16:20], []byte{192, 0, 2, 100})
	tcp := ip[20:]
	binary.BigEndian.PutUint16(tcp[2:], 80)
	tcp[12], tcp[13] = 10<<4, 0x02
	binary.BigEndian.PutUint16(tcp[14:], 64240)
	copy(tcp[20:], []byte{2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7})
	t0 := time.Date(2026, 11, 21, 7, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		client := netip.AddrFrom4([4]byte{203, 0, byte(113 + i>>24&1), byte(i >> 8)}).As4()
		copy(ip[12:16], client[:])
		ip[15] = byte(i)
		binary.BigEndian.PutUint16(ip[4:], uint16(i))
		binary.BigEndian.PutUint16(tcp[0:], uint16(1024+i%60000))
		binary.BigEndian.PutUint32(tcp[4:], uint32(i)*7919)
		if i%2 == 1 {
			frame[5], frame[11] = 0x0b, 2 // forwarded to a real server
		} else {
			frame[5], frame[11] = 2, 1
		}
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * 10 * time.Microsecond), CaptureLength: 74, Length: 74}
		if err := w.WritePacket(ci, frame); err != nil {
			b.Fatal(err)
		}
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkReadMillion reads a 1,000,000-packet capture: everything kept,
// the default bound, and a filter on one client.
func BenchmarkReadMillion(b *testing.B) {
	p := writeBig(b, 1000000)
	st, _ := os.Stat(p)
	for _, c := range []struct {
		name string
		opt  Options
	}{
		{"all", Options{MaxFrames: -1}},
		{"default-bound", Options{}},
		{"filter", Options{MaxFrames: -1, Addrs: []netip.Addr{netip.MustParseAddr("203.0.113.7")}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(st.Size())
			b.ReportAllocs()
			for b.Loop() {
				frames, info, probs := ReadFile(p, c.opt)
				if info.Packets == 0 || len(frames) == 0 || len(probs) > 1 {
					b.Fatalf("%d frames %+v %v", len(frames), info, probs)
				}
				b.ReportMetric(float64(len(frames)), "frames")
			}
		})
	}
}
