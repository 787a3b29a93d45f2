package casedir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// folder lays out a case folder beside a secret outside it.
func folder(t *testing.T) (*Folder, string) {
	t.Helper()
	out := t.TempDir()
	secret := filepath.Join(out, "secret")
	if err := os.WriteFile(secret, []byte("outside"), 0o600); err != nil {
		t.Fatal(err)
	}
	in := t.TempDir()
	for name, target := range map[string]string{
		"out-file":  secret,
		"out-dir":   out,
		"rel-out":   "../" + filepath.Base(out) + "/secret",
		"in-file":   "plain.txt",
		"chain":     "in-file",
		"chain-out": "out-file",
		"dev":       "/dev/zero",
		"loop":      "loop",
	} {
		if err := os.Symlink(target, filepath.Join(in, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(in, "plain.txt"), []byte("inside\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(in, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(in, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := Open(in)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, secret
}

func TestOpenFileStaysInside(t *testing.T) {
	f, _ := folder(t)
	for _, tc := range []struct {
		name    string
		outside bool
		regular bool // not regular: refused as such
		ok      bool
	}{
		{name: "plain.txt", ok: true},
		{name: "in-file", ok: true},
		{name: "chain", ok: true},
		{name: "out-file", outside: true},
		{name: "out-dir/secret", outside: true},
		{name: "rel-out", outside: true},
		{name: "chain-out", outside: true},
		{name: "../secret", outside: true},
		{name: "sub/../../secret", outside: true},
		{name: "/etc/passwd", outside: true},
		{name: "dev", outside: true},
		{name: "fifo", regular: true},
		{name: "sub", regular: true},
		{name: "loop"},
	} {
		fh, _, err := f.OpenFile(tc.name)
		switch {
		case tc.ok:
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
				continue
			}
			fh.Close()
		case tc.outside:
			if !errors.Is(err, ErrOutside) {
				t.Errorf("%s: want ErrOutside, got %v", tc.name, err)
			}
		case tc.regular:
			if !errors.Is(err, ErrNotRegular) {
				t.Errorf("%s: want ErrNotRegular, got %v", tc.name, err)
			}
		default:
			if err == nil {
				fh.Close()
				t.Errorf("%s: opened", tc.name)
			}
		}
		if err != nil && strings.Contains(err.Error(), f.Path) {
			t.Errorf("%s: the message names the operator's path: %v", tc.name, err)
		}
	}
}

func TestSubRefusesLinks(t *testing.T) {
	f, _ := folder(t)
	if _, err := f.Sub("out-dir"); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("a symlinked folder was opened: %v", err)
	}
	s, err := f.Sub("sub")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, _, err := s.OpenFile("../plain.txt"); !errors.Is(err, ErrOutside) {
		t.Errorf("a sub folder reached its parent: %v", err)
	}
}

func TestOpenRegularRefusesSpecialFiles(t *testing.T) {
	f, _ := folder(t)
	for _, p := range []string{filepath.Join(f.Path, "fifo"), "/dev/zero", f.Path} {
		if fh, _, err := OpenRegular(p); !errors.Is(err, ErrNotRegular) {
			if fh != nil {
				fh.Close()
			}
			t.Errorf("%s: want ErrNotRegular, got %v", p, err)
		}
	}
	if _, _, err := OpenNoFollow(filepath.Join(f.Path, "in-file")); err == nil || !strings.Contains(err.Error(), "not followed") {
		t.Errorf("OpenNoFollow followed a link: %v", err)
	}
}

func TestReadBounds(t *testing.T) {
	data := strings.Repeat("0123456789", 2000) // 20,000 bytes
	got, err := Read(strings.NewReader(data), int64(len(data)), 12345, nil)
	var te *TruncatedError
	if !errors.As(err, &te) || te.Limit != 12345 || len(got) != 12345 || string(got) != data[:12345] {
		t.Errorf("cut at 12345: %d bytes, %v", len(got), err)
	}
	got, err = Read(strings.NewReader(data), int64(len(data)), int64(len(data)), nil)
	if err != nil || string(got) != data {
		t.Errorf("a file of exactly the limit: %d bytes, %v", len(got), err)
	}
	// The head check stops after the first KiBs.
	asked := 0
	got, err = Read(strings.NewReader(data), int64(len(data)), 1<<20, func(h []byte) bool { asked = len(h); return false })
	if err != nil || len(got) != headBytes || asked != headBytes {
		t.Errorf("head refused: read %d bytes, head saw %d, %v", len(got), asked, err)
	}
	// A size that lies (a sparse file, a growing one) does not size the buffer past the limit.
	got, err = Read(strings.NewReader("short\n"), 1<<40, 1<<20, nil)
	if err != nil || string(got) != "short\n" {
		t.Errorf("lying size: %q %v", got, err)
	}
}
