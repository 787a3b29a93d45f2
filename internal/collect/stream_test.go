package collect

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lvsdoctor/lvsdoctor/internal/memtest"
)

// lines repeats one line forever, so a test can stream hundreds of MB
// that are never in memory.
type lines string

func (l lines) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], l)
	}
	return n, nil
}

func repeat(line string, n int64) io.Reader { return io.LimitReader(lines(line), n) }

// A 300 MB stream costs the memory of the file being read, up to its
// cap, not the stream's: what is past a cap, outside frames, or in a
// marker line too long to be one, is dropped as it goes by.
func TestSplitStreamBoundedMemory(t *testing.T) {
	m := "@@lvsdoctor-n "
	const mb = 1 << 20
	stream := io.MultiReader(
		strings.NewReader("a login banner\n"),
		// a file past its cap (a keepalived file's)
		strings.NewReader("\n"+m+"begin 16777216 etc/keepalived/big.conf\n"),
		repeat("virtual_server 192.0.2.1 80 { real_server 192.0.2.11 80 { weight 1 } }\n", 150*mb),
		strings.NewReader("\n"+m+"end 0 etc/keepalived/big.conf\n"),
		// output outside any frame
		repeat("noise outside frames\n", 50*mb),
		// a file of one 50 MB line, past its cap
		strings.NewReader("\n"+m+"begin 8388608 one-line.txt\n"),
		repeat("x", 50*mb),
		strings.NewReader("\n"+m+"end 0 one-line.txt\n"),
		// a marker line of 50 MB: no name is that long
		strings.NewReader(m+"begin 100 "),
		repeat("n", 50*mb),
		strings.NewReader("\n"),
		strings.NewReader("\n"+m+"begin 1000 small.txt\nhello\n\n"+m+"end 0 small.txt\n"),
		// and a file the stream stops inside of
		strings.NewReader("\n"+m+"begin 4194304 cut.txt\n"),
		repeat("y\n", 1*mb),
	)
	type seen struct {
		size      int
		truncated bool
		err       string
	}
	got := map[string]seen{}
	var order []string

	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	var err error
	heap := memtest.PeakHeap(func() {
		err = splitStream(stream, "n", func(f File) error {
			got[f.Name] = seen{len(f.Data), f.Truncated, f.Err}
			order = append(order, f.Name)
			return nil
		})
	})
	took := time.Since(start)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("300 MB in %v: peak heap %d MB above the baseline, %d MB allocated in all", took, heap/mb, alloc/mb)
	if heap > 64*mb {
		t.Errorf("peak heap %d MB above the baseline; want under 64 MB", heap/mb)
	}
	if alloc > 128*mb {
		t.Errorf("%d MB allocated for a 300 MB stream: it was buffered", alloc/mb)
	}

	want := map[string]seen{
		"etc/keepalived/big.conf": {16 << 20, true, ""},
		"one-line.txt":            {8 << 20, true, ""},
		"small.txt":               {len("hello\n"), false, ""},
		"cut.txt":                 {1 << 20, true, "output ended inside this file"},
	}
	for name, w := range want {
		if g := got[name]; g != w {
			t.Errorf("%s: %+v, want %+v", name, g, w)
		}
	}
	if len(order) != len(want) {
		t.Errorf("files %q; want %d (the overlong marker dropped)", order, len(want))
	}
}

func TestSplitStreamForgedFrames(t *testing.T) {
	m := "@@lvsdoctor-n "
	out := m + "end 0 nothing-open\n" +
		"\n" + m + "begin 100 a.txt\nA\n" +
		m + "begin 100 b.txt\nB\n\n" + m + "end 0 b.txt\n" + // a begin inside a.txt
		m + "err " + strings.Repeat("e", 100) + "\n" +
		m + "err second\n" +
		m + "skip s.txt\n" + m + "why first\n" + m + "why second\n" +
		m + "skip t.txt\n" +
		"\n" + m + "begin 100 c.txt\nC\n\n" + m + "end nope c.txt\n" +
		m + "frobnicate c.txt\n"
	files := Split([]byte(out), "n")
	var got []string
	for _, f := range files {
		got = append(got, f.Name+"|"+string(f.Data)+"|"+f.Err+"|"+f.Skipped)
	}
	want := []string{
		"a.txt|A\n|a new file began before this one ended|",
		"b.txt|B\n||",
		"s.txt|||first",
		"t.txt|||skipped (no reason given)",
		"c.txt|C\n|exit status \"nope\"|",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Names from a host are checked before they become paths: a forged one
// is refused for that file alone, noted in the manifest, and the folder
// and its manifest stay lvsdoctor's.
func TestWriteRefusesForgedNames(t *testing.T) {
	root := t.TempDir()
	b := &Bundle{Host: "evil", Role: "realserver", Files: []File{
		{Name: "ok.txt", Data: []byte("fine\n")},
		{Name: ".collect/manifest.yaml", Data: []byte("host: forged\n")},
		{Name: "../../etc/x", Data: []byte("pwn\n")},
		{Name: "/abs", Data: []byte("pwn\n")},
		{Name: "", Data: []byte("pwn\n")},
		{Name: "role", Data: []byte("director\n")},
		{Name: "ctl\x1b[2J", Data: []byte("pwn\n")},
		{Name: "ok.txt", Data: []byte("second copy\n")},
		{Name: "ok.txt/under", Data: []byte("pwn\n")},
		{Name: "etc/keepalived/conf.d/my file.conf", Data: []byte("spaces\n")},
	}}
	dir, err := b.Write(root)
	if err != nil {
		t.Fatalf("a forged name failed the host: %v", err)
	}
	var written []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			written = append(written, rel)
		}
		return nil
	})
	sort.Strings(written)
	want := []string{"evil/.collect/manifest.yaml", "evil/etc/keepalived/conf.d/my file.conf", "evil/ok.txt", "evil/role"}
	if strings.Join(written, "|") != strings.Join(want, "|") {
		t.Errorf("wrote %q, want %q", written, want)
	}
	for _, c := range [][2]string{{"ok.txt", "fine\n"}, {"role", "realserver\n"}, {"etc/keepalived/conf.d/my file.conf", "spaces\n"}} {
		if data, _ := os.ReadFile(filepath.Join(dir, c[0])); string(data) != c[1] {
			t.Errorf("%s holds %q, want %q", c[0], data, c[1])
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, ".collect", "manifest.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := yaml.Unmarshal(data, &m); err != nil || m.Host != "evil" || len(m.Files) != len(b.Files) {
		t.Fatalf("manifest %v: %s", err, data)
	}
	for i, e := range m.Files {
		refused := i != 0 && i != len(m.Files)-1
		if refused != strings.HasPrefix(e.Error, "not saved: ") || refused != (b.Files[i].Err != "") || refused && e.Bytes != 0 {
			t.Errorf("manifest entry %q: error %q, %d bytes; bundle error %q", e.File, e.Error, e.Bytes, b.Files[i].Err)
		}
	}
	if !strings.Contains(b.Files[2].Err, `refused file name "../../etc/x"`) || !strings.Contains(b.Files[7].Err, "sent twice") {
		t.Errorf("errors %q, %q", b.Files[2].Err, b.Files[7].Err)
	}
}

// Names with spaces, quotes and shell metacharacters round-trip: the real
// script, run by sh, finds them (keepalived includes), frames them, and
// they are written under the same name.
func TestScriptNamesRoundTrip(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	tmp := t.TempDir()
	kdir := filepath.Join(tmp, "etc", "keepalived")
	must(t, os.MkdirAll(filepath.Join(kdir, "conf.d"), 0o755))
	conf := filepath.Join(kdir, "keepalived.conf")
	must(t, os.WriteFile(conf, []byte("global_defs {\n}\ninclude conf.d/*\n"), 0o644))
	odd := []string{"my file.conf", " leading.conf", "trailing.conf ", `back\slash.conf`, "pipe|amp&.conf", `quote'dq".conf`, "dollar$HOME.conf", "star*.conf", "-n.conf"}
	for _, n := range odd {
		must(t, os.WriteFile(filepath.Join(kdir, "conf.d", n), []byte("# "+n+"\n"), 0o644))
	}
	spaced := filepath.Join(tmp, "my item.txt")
	must(t, os.WriteFile(spaced, []byte("item with a space\n"), 0o644))
	items := []Item{
		{File: "my item.txt", Path: spaced},
		{File: "fails.txt", Cmd: []string{"sh", "-c", `echo 'oops | & \ / $M' >&2; exit 3`}},
	}
	nonce := NewNonce()
	script := strings.ReplaceAll(Script(items, nonce), DefaultKeepalivedConf, conf)
	cmd := exec.Command("sh", "-s")
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("script: %v", err)
	}
	files := map[string]File{}
	for _, f := range Split(out, nonce) {
		files[f.Name] = f
	}
	if f := files["my item.txt"]; string(f.Data) != "item with a space\n" || f.Err != "" {
		t.Errorf("my item.txt: %q %q; got files %q", f.Data, f.Err, keys(files))
	}
	if f := files["fails.txt"]; f.Err != `oops | & \ / $M (exit status 3)` {
		t.Errorf("fails.txt: error %q", f.Err)
	}
	for _, n := range odd {
		name := strings.TrimPrefix(filepath.Join(kdir, "conf.d", n), "/")
		if f := files[name]; string(f.Data) != "# "+n+"\n" {
			t.Errorf("%q: %q; got files %q", name, f.Data, keys(files))
		}
	}

	var b Bundle
	b.Host = "rs1"
	for _, f := range files {
		b.Files = append(b.Files, f)
	}
	dir, err := b.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range odd {
		p := filepath.Join(dir, kdir, "conf.d", n)
		if data, err := os.ReadFile(p); err != nil || string(data) != "# "+n+"\n" {
			t.Errorf("%s: %q, %v", p, data, err)
		}
	}
}

func keys(m map[string]File) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// slowStore keeps files only when told to, like a redaction that takes
// its time.
type slowStore struct {
	release chan struct{}
	kept    atomic.Int32
}

func (s *slowStore) keep(*Bundle, *File) error { <-s.release; s.kept.Add(1); return nil }
func (s *slowStore) done(*Bundle)              {}

// A file being redacted and stored does not hold up the host's next files
// (its output goes on arriving), up to maxPending bytes waiting.
func TestHostWriterPipelines(t *testing.T) {
	st := &slowStore{release: make(chan struct{})}
	b := &Bundle{Host: "ds1"}
	w := newHostWriter(b, st)
	var waiting chan error
	putNow := func(f File) bool {
		res := make(chan error, 1)
		go func() { res <- w.put(f) }()
		select {
		case err := <-res:
			if err != nil {
				t.Fatal(err)
			}
			return true
		case <-time.After(200 * time.Millisecond):
			waiting = res
			return false
		}
	}
	if !putNow(File{Name: "big.txt", Data: make([]byte, maxPending)}) {
		t.Fatal("the first file waited")
	}
	for i := 0; i < 3; i++ {
		if !putNow(File{Name: "small.txt", Data: make([]byte, 1<<20)}) {
			t.Fatalf("small file %d waited for the big one to be stored", i)
		}
	}
	if putNow(File{Name: "over.txt", Data: make([]byte, maxPending)}) {
		t.Fatal("a file past maxPending bytes waiting did not wait")
	}
	close(st.release)
	if err := <-waiting; err != nil {
		t.Fatal(err)
	}
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	if st.kept.Load() != 5 || len(b.Files) != 5 {
		t.Errorf("kept %d, bundle holds %d; want all 5", st.kept.Load(), len(b.Files))
	}
}
