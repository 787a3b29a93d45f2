package ipvsnl

import (
	"path/filepath"
	"testing"
)

// The fuzz targets feed each decoder arbitrary bytes, seeded with the lab's
// real answers (testdata/genl) and kernel-shaped ones. Whatever decodes is
// printed in every format, and must survive a re-encode.

// realAnswers are the lab captures' answers of one kind.
func realAnswers(f *testing.F, kind string) [][]byte {
	dumps, _ := filepath.Glob("testdata/genl/*/ipvs.dump")
	var out [][]byte
	for _, d := range dumps {
		lines, err := readDump(d)
		if err != nil {
			f.Fatal(err)
		}
		for _, l := range lines {
			if l.kind == kind {
				out = append(out, l.data)
			}
		}
	}
	if len(out) == 0 && kind != "dest" && kind != "service" {
		f.Fatalf("no real %s answer in testdata/genl", kind)
	}
	return out
}

func printAll(tb *Table) {
	for _, f := range []Format{FormatList, FormatStats, FormatRate} {
		tb.Text(f)
	}
}

func FuzzDecodeService(f *testing.F) {
	for _, b := range realAnswers(f, "service") {
		f.Add(b)
	}
	for _, tb := range []*Table{formatsTable(), lab2Table()} {
		for _, s := range tb.Services {
			f.Add(encService(s, true))
		}
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeService(b)
		if err != nil {
			return
		}
		printAll(&Table{Services: []Service{s, s, {}}})
		if s.FWMark != 0 {
			s.Protocol, s.Addr, s.Port = 0, [16]byte{}, 0 // a fwmark service is named by its mark alone
		}
		again, err := DecodeService(encService(s, false))
		if err != nil || !equalService(again, s) {
			t.Fatalf("re-encoded %+v decodes as %+v (%v)", s, again, err)
		}
	})
}

func equalService(a, b Service) bool {
	a.Dests, b.Dests = nil, nil
	return a.AF == b.AF && a.Protocol == b.Protocol && a.Addr == b.Addr && a.Port == b.Port && a.FWMark == b.FWMark &&
		a.Sched == b.Sched && a.PE == b.PE && a.Flags == b.Flags && a.Timeout == b.Timeout && a.Netmask == b.Netmask && a.Stats == b.Stats
}

func FuzzDecodeDest(f *testing.F) {
	for _, b := range realAnswers(f, "dest") {
		f.Add(b, uint16(afInet))
	}
	for _, tb := range []*Table{formatsTable(), lab2Table()} {
		for _, s := range tb.Services {
			for _, d := range s.Dests {
				f.Add(encDest(d, true), s.AF)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, af uint16) {
		d, err := DecodeDest(b, af)
		if err != nil {
			return
		}
		s := Service{AF: af, Protocol: protoTCP, Sched: "rr", Dests: []Dest{d, d, {}}}
		printAll(&Table{Services: []Service{s}})
		again, err := DecodeDest(encDest(d, false), af)
		if err != nil || again != d {
			t.Fatalf("re-encoded %+v decodes as %+v (%v)", d, again, err)
		}
	})
}

func FuzzDecodeInfo(f *testing.F) {
	for _, b := range realAnswers(f, "info") {
		f.Add(b)
	}
	f.Add(encInfo(Info{0x010201, 4096}))
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := DecodeInfo(b)
		if err != nil {
			return
		}
		printAll(&Table{Info: in})
		if again, err := DecodeInfo(encInfo(in)); err != nil || again != in {
			t.Fatalf("re-encoded %+v decodes as %+v (%v)", in, again, err)
		}
	})
}

func FuzzDecodeConfig(f *testing.F) {
	for _, b := range realAnswers(f, "config") {
		f.Add(b)
	}
	f.Add(encConfig(Config{900, 120, 300}))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeConfig(b)
		if err != nil {
			return
		}
		c.Text()
		if again, err := DecodeConfig(encConfig(c)); err != nil || again != c {
			t.Fatalf("re-encoded %+v decodes as %+v (%v)", c, again, err)
		}
	})
}
