package ipvsnl

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
)

// The encoders below lay the attributes out as the kernel's
// ip_vs_genl_fill_service/_dest/_stats do (net/netipvs/ip_vs_ctl.c), so
// the decoders meet what a kernel sends; the lab's captures
// (testdata/genl) are the real thing.

const statsPad = 11 // IPVS_STATS_ATTR_PAD

func encStats(ae *netlink.AttributeEncoder, typ uint16, s Stats, all64, pad bool) {
	ae.Nested(typ, func(n *netlink.AttributeEncoder) error {
		vals := []uint64{s.Conns, s.InPkts, s.OutPkts, s.InBytes, s.OutBytes, s.CPS, s.InPPS, s.OutPPS, s.InBPS, s.OutBPS}
		for i, v := range vals {
			a := uint16(i + 1)
			if all64 || a == statsInBytes || a == statsOutBytes {
				if pad {
					n.Bytes(statsPad, nil) // nla_put_u64_64bit's alignment pad
				}
				n.Uint64(a, v)
			} else {
				n.Uint32(a, uint32(v))
			}
		}
		return nil
	})
}

func encService(s Service, pad bool) []byte {
	ae := netlink.NewAttributeEncoder()
	ae.Nested(cmdAttrService, func(n *netlink.AttributeEncoder) error {
		n.Uint16(svcAttrAF, s.AF)
		if s.FWMark != 0 {
			n.Uint32(svcAttrFWMark, s.FWMark)
		} else {
			n.Uint16(svcAttrProtocol, s.Protocol)
			n.Bytes(svcAttrAddr, s.Addr[:])
			n.Bytes(svcAttrPort, binary.BigEndian.AppendUint16(nil, s.Port))
		}
		n.String(svcAttrSchedName, s.Sched)
		if s.PE != "" {
			n.String(svcAttrPEName, s.PE)
		}
		fl := binary.NativeEndian.AppendUint32(nil, s.Flags)
		n.Bytes(svcAttrFlags, binary.NativeEndian.AppendUint32(fl, 0xffffffff))
		n.Uint32(svcAttrTimeout, s.Timeout)
		n.Uint32(svcAttrNetmask, s.Netmask)
		encStats(n, svcAttrStats, s.Stats, false, pad)
		encStats(n, svcAttrStats64, s.Stats, true, pad)
		return nil
	})
	b, err := ae.Encode()
	if err != nil {
		panic(err)
	}
	return b
}

func encDest(d Dest, pad bool) []byte {
	ae := netlink.NewAttributeEncoder()
	ae.Nested(cmdAttrDest, func(n *netlink.AttributeEncoder) error {
		n.Bytes(destAttrAddr, d.Addr[:])
		n.Bytes(destAttrPort, binary.BigEndian.AppendUint16(nil, d.Port))
		n.Uint32(destAttrFwdMethod, d.FwdMethod)
		n.Uint32(destAttrWeight, d.Weight)
		n.Uint8(destAttrTunType, d.TunType)
		n.Bytes(destAttrTunPort, binary.BigEndian.AppendUint16(nil, d.TunPort))
		n.Uint16(destAttrTunFlags, d.TunFlags)
		n.Uint32(destAttrUThresh, d.UThresh)
		n.Uint32(destAttrLThresh, d.LThresh)
		n.Uint32(destAttrActiveConns, d.ActiveConns)
		n.Uint32(destAttrInactConns, d.InactConns)
		n.Uint32(destAttrPersistConns, d.PersistConns)
		n.Uint16(destAttrAddrFamily, d.AF)
		encStats(n, destAttrStats, d.Stats, false, pad)
		encStats(n, destAttrStats64, d.Stats, true, pad)
		return nil
	})
	b, err := ae.Encode()
	if err != nil {
		panic(err)
	}
	return b
}

func encInfo(in Info) []byte {
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(infoVersion, in.Version)
	ae.Uint32(infoConnTabSize, in.ConnTabSize)
	b, _ := ae.Encode()
	return b
}

func encConfig(c Config) []byte {
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(cmdAttrTimeoutTCP, c.TCP)
	ae.Uint32(cmdAttrTimeoutTCPFin, c.TCPFin)
	ae.Uint32(cmdAttrTimeoutUDP, c.UDP)
	b, _ := ae.Encode()
	return b
}

// decodeTable decodes a table from kernel-shaped answers.
func decodeTable(t *testing.T, tb *Table, pad bool) *Table {
	t.Helper()
	in, err := DecodeInfo(encInfo(tb.Info))
	if err != nil {
		t.Fatal(err)
	}
	out := &Table{Info: in}
	for _, s := range tb.Services {
		ds, err := DecodeService(encService(s, pad))
		if err != nil {
			t.Fatalf("service %+v: %v", s, err)
		}
		for _, d := range s.Dests {
			dd, err := DecodeDest(encDest(d, pad), ds.AF)
			if err != nil {
				t.Fatalf("dest %+v: %v", d, err)
			}
			ds.Dests = append(ds.Dests, dd)
		}
		out.Services = append(out.Services, ds)
	}
	return out
}

func TestDecodeRoundTrip(t *testing.T) {
	for _, pad := range []bool{false, true} {
		for _, tb := range []*Table{formatsTable(), lab2Table()} {
			got := decodeTable(t, tb, pad)
			if !reflect.DeepEqual(got, tb) {
				t.Errorf("pad=%v: decoded\n%+v\nwant\n%+v", pad, got, tb)
			}
		}
	}
	// the whole path: kernel-shaped answers to the real ipvsadm's text
	tb := decodeTable(t, formatsTable(), false)
	if got, want := string(tb.Text(FormatStats)), golden(t, "testdata/lab/formats/ipvsadm-Ln-stats.txt"); got != want {
		t.Errorf("decoded table prints\n%s\nwant\n%s", got, want)
	}
	c, err := DecodeConfig(encConfig(Config{900, 120, 300}))
	if err != nil || c != (Config{900, 120, 300}) {
		t.Errorf("config: %+v %v", c, err)
	}
}

func TestDecodeAsLibipvs(t *testing.T) {
	s := formatsTable().Services[2]
	s.Dests = nil
	// a kernel before 4.1 sends only the 32-bit statistics
	ae := netlink.NewAttributeEncoder()
	ae.Nested(cmdAttrService, func(n *netlink.AttributeEncoder) error {
		n.Uint16(svcAttrAF, afInet)
		n.Uint16(svcAttrProtocol, protoTCP)
		n.Bytes(svcAttrAddr, s.Addr[:])
		n.Bytes(svcAttrPort, []byte{0, 80})
		n.String(svcAttrSchedName, "a-scheduler-name-longer-than-15")
		n.Bytes(svcAttrFlags, []byte{0x05, 0, 0, 0, 0x04, 0, 0, 0}) // flags & mask: ops only
		n.Uint32(svcAttrTimeout, 0)
		n.Uint32(svcAttrNetmask, 0xffffffff)
		n.Uint32(99, 1) // unknown: ignored
		encStats(n, svcAttrStats, Stats{Conns: 7, InBytes: 1 << 40}, false, false)
		return nil
	})
	b, _ := ae.Encode()
	got, err := DecodeService(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Sched != "a-scheduler-nam" || got.Flags != svcFOnePacket || got.Stats.Conns != 7 || got.Stats.InBytes != 1<<40 || got.Port != 80 {
		t.Errorf("decoded %+v", got)
	}

	// a real server without IPVS_DEST_ATTR_ADDR_FAMILY takes the service's
	d := Dest{Addr: ip("2001:db8::1"), Port: 80, FwdMethod: route, Weight: 1}
	b = encDest(d, false)
	ae = netlink.NewAttributeEncoder()
	ae.Nested(cmdAttrDest, func(n *netlink.AttributeEncoder) error {
		return each(b[4:], func(typ uint16, v []byte) error {
			if typ != destAttrAddrFamily {
				n.Bytes(typ, v)
			}
			return nil
		})
	})
	b, _ = ae.Encode()
	gd, err := DecodeDest(b, afInet6)
	if err != nil || gd.AF != afInet6 {
		t.Errorf("dest without family: %+v %v", gd, err)
	}

	// what libipvs refuses, refused
	for name, bad := range map[string][]byte{
		"no service nest": encInfo(Info{1, 2}),
		"garbage":         {0xff, 0xff, 0xff},
		"no scheduler": func() []byte {
			ae := netlink.NewAttributeEncoder()
			ae.Nested(cmdAttrService, func(n *netlink.AttributeEncoder) error {
				n.Uint16(svcAttrAF, afInet)
				n.Uint32(svcAttrFWMark, 1)
				n.Bytes(svcAttrFlags, make([]byte, 8))
				n.Uint32(svcAttrTimeout, 0)
				n.Uint32(svcAttrNetmask, 0)
				return nil
			})
			b, _ := ae.Encode()
			return b
		}(),
		"short stats64": func() []byte {
			ae := netlink.NewAttributeEncoder()
			ae.Nested(cmdAttrService, func(n *netlink.AttributeEncoder) error {
				n.Uint16(svcAttrAF, afInet)
				n.Uint32(svcAttrFWMark, 1)
				n.String(svcAttrSchedName, "rr")
				n.Bytes(svcAttrFlags, make([]byte, 8))
				n.Uint32(svcAttrTimeout, 0)
				n.Uint32(svcAttrNetmask, 0)
				encStats(n, svcAttrStats64, Stats{}, false, false) // 32-bit counters where 64 are due
				return nil
			})
			b, _ := ae.Encode()
			return b
		}(),
	} {
		if _, err := DecodeService(bad); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	if _, err := DecodeDest(encService(s, false), afInet); err == nil {
		t.Error("a service answer decoded as a real server")
	}
	if _, err := DecodeInfo(encConfig(Config{})); err == nil {
		t.Error("info without its attributes decoded")
	}
}

// Without /proc/net/ip_vs nothing is asked: no socket is even opened.
func TestNotLoadedNeverDials(t *testing.T) {
	defer func(p string, d func(time.Time) (*netlink.Conn, error)) { procIPVS, dialGenl = p, d }(procIPVS, dialGenl)
	procIPVS = filepath.Join(t.TempDir(), "ip_vs")
	dials := 0
	dialGenl = func(time.Time) (*netlink.Conn, error) {
		dials++
		return nil, errors.New("refused by the test")
	}
	for _, f := range []Format{FormatList, FormatStats, FormatRate, FormatTimeout} {
		out, err := Show(t.Context(), f)
		if !errors.Is(err, ErrNotLoaded) || out != nil {
			t.Errorf("%s: %q, %v", f.Command(), out, err)
		}
	}
	if _, err := Read(t.Context()); !errors.Is(err, ErrNotLoaded) {
		t.Errorf("Read: %v", err)
	}
	if dials != 0 {
		t.Fatalf("%d generic netlink sockets opened without ip_vs loaded", dials)
	}
	if err := os.WriteFile(procIPVS, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(t.Context()); err == nil || errors.Is(err, ErrNotLoaded) || !strings.Contains(err.Error(), "refused by the test") {
		t.Errorf("with ip_vs present the socket is opened: %v", err)
	}
}

// On this host as it is: without ip_vs the real defaults refuse, and
// ip_vs is still not loaded afterwards.
func TestRealHostWithoutIPVS(t *testing.T) {
	if _, err := os.Stat("/proc/net/ip_vs"); err == nil {
		t.Skip("ip_vs is loaded on this host: the lab scenario 'collect' tests reading it")
	}
	_, err := Show(t.Context(), FormatList)
	if !errors.Is(err, ErrNotLoaded) {
		t.Fatalf("Show: %v", err)
	}
	if _, err := os.Stat("/proc/net/ip_vs"); err == nil {
		t.Fatal("ip_vs got loaded")
	}
	if m, _ := os.ReadFile("/proc/modules"); strings.Contains(string(m), "ip_vs ") {
		t.Fatal("ip_vs is in /proc/modules")
	}
}
