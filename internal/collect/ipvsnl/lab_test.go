package ipvsnl

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A dump file holds a lab capture's raw genetlink answers, one per line:
// "info HEX", "config HEX", "service HEX", "dest REQHEX HEX" (REQHEX: the
// GET_DEST request's attributes, naming the service).
type dumpLine struct {
	kind      string
	req, data []byte
}

func readDump(path string) ([]dumpLine, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []dumpLine
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		l := dumpLine{kind: f[0]}
		if l.kind == "dest" && len(f) == 3 {
			if l.req, err = hex.DecodeString(f[1]); err != nil {
				return nil, err
			}
			f = f[1:]
		}
		if l.data, err = hex.DecodeString(f[1]); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

// replay rebuilds what Read and ReadConfig returned from the raw answers.
func replay(lines []dumpLine) (*Table, Config, error) {
	tb := &Table{}
	var cfg Config
	for _, l := range lines {
		var err error
		switch l.kind {
		case "info":
			tb.Info, err = DecodeInfo(l.data)
		case "config":
			cfg, err = DecodeConfig(l.data)
		case "service":
			var s Service
			s, err = DecodeService(l.data)
			tb.Services = append(tb.Services, s)
		case "dest":
			// the request is a service nest without a scheduler: match by key
			var key []byte
			if err = each(l.req, func(typ uint16, v []byte) error {
				if typ == cmdAttrService {
					key = v
				}
				return nil
			}); err != nil {
				break
			}
			i := -1
			for j := range tb.Services {
				if bytes.Equal(serviceKey(&tb.Services[j]), key) {
					i = j
				}
			}
			if i < 0 {
				return nil, cfg, fmt.Errorf("real server of an unknown service %x", l.req)
			}
			var d Dest
			d, err = DecodeDest(l.data, tb.Services[i].AF)
			tb.Services[i].Dests = append(tb.Services[i].Dests, d)
		}
		if err != nil {
			return nil, cfg, fmt.Errorf("%s: %w", l.kind, err)
		}
	}
	return tb, cfg, nil
}

// serviceKey is the GET_DEST request's service nest for s, as conn.dests
// builds it.
func serviceKey(s *Service) []byte {
	b, err := destRequest(*s)
	if err != nil {
		return nil
	}
	var key []byte
	_ = each(b, func(typ uint16, v []byte) error { key = v; return nil })
	return key
}

var labFormats = []struct {
	f    Format
	file string
	args []string
}{
	{FormatList, "ipvsadm-Ln.txt", []string{"-Ln"}},
	{FormatStats, "ipvsadm-Ln-stats.txt", []string{"-Ln", "--stats"}},
	{FormatRate, "ipvsadm-Ln-rate.txt", []string{"-Ln", "--rate"}},
	{FormatTimeout, "ipvsadm-Ln-timeout.txt", []string{"-Ln", "--timeout"}},
}

// TestRealDumps renders the lab's real genetlink answers and compares
// them with what the real ipvsadm printed of the same table at the same
// moment (testdata/genl, made by testdata/capture.sh).
func TestRealDumps(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/genl/*/ipvs.dump")
	if len(dirs) == 0 {
		t.Fatal("no captures in testdata/genl")
	}
	for _, dump := range dirs {
		dir := filepath.Dir(dump)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			lines, err := readDump(dump)
			if err != nil {
				t.Fatal(err)
			}
			tb, cfg, err := replay(lines)
			if err != nil {
				t.Fatal(err)
			}
			if len(tb.Services) == 0 && filepath.Base(dir) != "empty" {
				t.Fatal("no service in the capture")
			}
			for _, lf := range labFormats {
				want, err := os.ReadFile(filepath.Join(dir, lf.file))
				if err != nil {
					t.Fatal(err)
				}
				got := tb.Text(lf.f)
				if lf.f == FormatTimeout {
					got = cfg.Text()
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from the real ipvsadm's\n--- ours\n%s--- ipvsadm\n%s", lf.file, got, want)
				}
			}
		})
	}
}

// TestLabCapture runs in the lab guest, inside a network namespace with a
// real IPVS table (testdata/capture.sh): it reads the table over genetlink,
// records the raw answers, runs the real ipvsadm right before and after,
// and requires ours to equal ipvsadm's when the two runs agree. The rate
// estimator moves every 2 s: the read starts right after it moved, with
// only `ipvsadm --rate` before and after it, so that non-zero rates are
// compared too.
func TestLabCapture(t *testing.T) {
	dir := os.Getenv("IPVSNL_CAPTURE")
	if dir == "" {
		t.Skip("run by testdata/capture.sh in the lab guest, where the kernel has IPVS")
	}
	run := func(args []string) []byte {
		out, err := exec.Command("ipvsadm", args...).Output()
		if err != nil {
			t.Fatalf("ipvsadm %v: %v", args, err)
		}
		return out
	}
	const rate = 2 // labFormats[rate] is --rate
	for try := 1; try <= 10; try++ {
		var before, after [4][]byte
		for i, lf := range labFormats {
			if i != rate {
				before[i] = run(lf.args)
			}
		}
		// wait for the estimator's tick (up to 3 s; all-zero rates never move)
		last := run(labFormats[rate].args)
		for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
			if r := run(labFormats[rate].args); !bytes.Equal(r, last) {
				break
			}
		}
		var dump bytes.Buffer
		rawAnswer = func(cmd uint8, req, answer []byte) {
			switch cmd {
			case cmdGetInfo:
				fmt.Fprintf(&dump, "info %x\n", answer)
			case cmdGetConfig:
				fmt.Fprintf(&dump, "config %x\n", answer)
			case cmdGetService:
				fmt.Fprintf(&dump, "service %x\n", answer)
			case cmdGetDest:
				fmt.Fprintf(&dump, "dest %x %x\n", req, answer)
			}
		}
		before[rate] = run(labFormats[rate].args)
		tb, err := Read(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := ReadConfig(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		rawAnswer = nil
		after[rate] = run(labFormats[rate].args)
		for i, lf := range labFormats {
			if i != rate {
				after[i] = run(lf.args)
			}
		}
		if !equalAll(before[:], after[:]) {
			t.Logf("try %d: ipvsadm's output moved between two runs; again", try)
			continue
		}
		for i, lf := range labFormats {
			got := tb.Text(lf.f)
			if lf.f == FormatTimeout {
				got = cfg.Text()
			}
			if !bytes.Equal(got, before[i]) {
				t.Errorf("%s differs from the real ipvsadm's\n--- ours\n%s--- ipvsadm\n%s", lf.file, got, before[i])
			}
			if err := os.WriteFile(filepath.Join(dir, lf.file), before[i], 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "ipvs.dump"), dump.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("try %d: %d services, %d answers recorded, equal to ipvsadm's", try, len(tb.Services), bytes.Count(dump.Bytes(), []byte("\n")))
		return
	}
	t.Fatal("ipvsadm's output never held still over two runs")
}

func equalAll(a, b [][]byte) bool {
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
