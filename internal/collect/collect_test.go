package collect

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfArg(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"keepalived", "--dont-fork", "-f", "/lab/ds1/keepalived.conf"}, "/lab/ds1/keepalived.conf"},
		{[]string{"keepalived", "--use-file=/etc/k.conf", "-D"}, "/etc/k.conf"},
		{[]string{"keepalived", "-f/etc/k2.conf"}, "/etc/k2.conf"},
		{[]string{"keepalived", "-D", "-S", "1"}, ""},
		{[]string{"keepalived", "-f"}, ""},
	} {
		if got := confArg(tc.args); got != tc.want {
			t.Errorf("confArg(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestKeepalivedIncludes(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	must(t, os.MkdirAll(filepath.Join(dir, "conf.d"), 0o755))
	must(t, os.WriteFile(conf, []byte("global_defs {\n}\ninclude conf.d/*.conf\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "conf.d", "vi.conf"), []byte("vrrp_instance VI {\n  auth_pass secret\n  include ../more.conf\n}\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "more.conf"), []byte("# more\ninclude keepalived.conf\n"), 0o644)) // a loop
	b := Local(context.Background(), Options{Items: []Item{}, KeepalivedConf: []string{conf}})
	var names []string
	for _, f := range b.Files {
		names = append(names, f.Name)
		if strings.Contains(string(f.Data), "secret") {
			t.Errorf("%s: auth_pass not redacted: %q", f.Name, f.Data)
		}
	}
	want := []string{"conf.d/vi.conf", "keepalived.conf", "more.conf"}
	for _, w := range want {
		found := false
		for _, n := range names {
			found = found || strings.HasSuffix(n, w) && strings.HasPrefix("/"+n, dir)
		}
		if !found {
			t.Errorf("collected %q, want one ending in %s under %s", names, w, dir)
		}
	}
}

// The remote script and the local collector must write the same folder:
// run the script here with sh, as sshexec runs it on a host, and compare.
func TestScriptMatchesLocal(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	items := Items()
	nonce := NewNonce()
	cmd := exec.Command("sh", "-s")
	cmd.Stdin = strings.NewReader(Script(items, nonce))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("script: %v", err)
	}
	remote := map[string]File{}
	for _, f := range Split(out, nonce) {
		remote[f.Name] = f
	}
	local := Local(context.Background(), Options{Items: items})
	for _, lf := range local.Files {
		rf, ok := remote[lf.Name]
		if !ok {
			t.Errorf("%s: collected locally, absent from the script's output", lf.Name)
			continue
		}
		if (lf.Skipped == "") != (rf.Skipped == "") {
			t.Errorf("%s: local skipped %q, script skipped %q", lf.Name, lf.Skipped, rf.Skipped)
			continue
		}
		if lf.Skipped != "" && lf.Skipped != rf.Skipped {
			t.Errorf("%s: local says %q, script says %q", lf.Name, lf.Skipped, rf.Skipped)
		}
		// procfs copies are the same bytes, bar counters that moved
		if strings.HasPrefix(lf.How, "/etc/") && !bytes.Equal(lf.Data, rf.Data) {
			t.Errorf("%s: local and script copies differ", lf.Name)
		}
	}
	if len(remote) < len(local.Files) {
		t.Errorf("script wrote %d files, local %d", len(remote), len(local.Files))
	}
}

func TestSplit(t *testing.T) {
	n := "abc"
	m := "@@lvsdoctor-abc "
	out := "Welcome to host\n" +
		"\n" + m + "begin 100 a.txt\nline1\nline2\n\n" + m + "end 0 a.txt\n" +
		m + "skip b.txt\n" + m + "why nf_tables is not loaded\n" +
		"\n" + m + "begin 100 c.txt\n\n" + m + "end 1 c.txt\n" + m + "err permission denied\n" + m + "err and more\n" +
		"\n" + m + "begin 100 d.txt\nno final newline\n" + m + "end 0 d.txt\n" +
		"@@lvsdoctor-forged begin 100 e.txt\n" +
		"\n" + m + "begin 100 my file.conf\nspaces\n\n" + m + "end 0 my file.conf\n" +
		"\n" + m + "begin 4 capped.txt\n123456\n\n" + m + "end 0 capped.txt\n" +
		"\n" + m + "begin 5 exact.txt\n12345\n" + m + "end 0 exact.txt\n" +
		"\n" + m + "begin 5 over.txt\n12345\n\n" + m + "end 0 over.txt\n" +
		"\n" + m + "begin 100 cut.txt\npartial"
	files := Split([]byte(out), n)
	got := map[string]File{}
	var names []string
	for _, f := range files {
		got[f.Name] = f
		names = append(names, f.Name)
	}
	want := []string{"a.txt", "b.txt", "c.txt", "d.txt", "my file.conf", "capped.txt", "exact.txt", "over.txt", "cut.txt"}
	if strings.Join(names, "|") != strings.Join(want, "|") {
		t.Errorf("files %q, want %q in that order", names, want)
	}
	if f := got["a.txt"]; string(f.Data) != "line1\nline2\n" || f.Err != "" || f.Truncated {
		t.Errorf("a.txt = %q err %q", f.Data, f.Err)
	}
	if f := got["b.txt"]; f.Skipped != "nf_tables is not loaded" {
		t.Errorf("b.txt skipped %q", f.Skipped)
	}
	// one err line per file: a host cannot grow it line by line
	if f := got["c.txt"]; len(f.Data) != 0 || f.Err != "permission denied (exit status 1)" {
		t.Errorf("c.txt = %q err %q", f.Data, f.Err)
	}
	if f := got["d.txt"]; string(f.Data) != "no final newline" {
		t.Errorf("d.txt = %q", f.Data)
	}
	if _, ok := got["e.txt"]; ok {
		t.Error("a marker with another nonce was taken for a frame")
	}
	if f := got["my file.conf"]; string(f.Data) != "spaces\n" {
		t.Errorf("my file.conf = %q", f.Data)
	}
	if f := got["capped.txt"]; string(f.Data) != "1234" || !f.Truncated || f.Err != "" {
		t.Errorf("capped.txt = %q truncated %v err %q", f.Data, f.Truncated, f.Err)
	}
	if f := got["exact.txt"]; string(f.Data) != "12345" || f.Truncated {
		t.Errorf("exact.txt = %q truncated %v; want its 5 bytes, at its cap", f.Data, f.Truncated)
	}
	if f := got["over.txt"]; string(f.Data) != "12345" || !f.Truncated {
		t.Errorf("over.txt = %q truncated %v; want its newline dropped, past its cap", f.Data, f.Truncated)
	}
	if f := got["cut.txt"]; !f.Truncated || string(f.Data) != "partial" {
		t.Errorf("cut.txt = %q truncated %v", f.Data, f.Truncated)
	}
}

func FuzzSplit(f *testing.F) {
	m := "@@lvsdoctor-n "
	f.Add([]byte("\n" + m + "begin 9 a\nx\n\n" + m + "end 0 a\n"))
	f.Add([]byte(m + "skip b\n" + m + "why w\n" + m + "err e\n" + m + "end 3 zz\n"))
	f.Add([]byte(m + "begin 0 ../../etc/passwd\nroot\n" + m + "end 0 ../../etc/passwd\n"))
	f.Add([]byte(m + "begin 1 \x00\xff\n"))
	f.Add([]byte(m + "begin 5 .collect/manifest.yaml\nhost: x\n" + m + "begin 5 role\n"))
	f.Add([]byte(m + "begin  .collect0\n"))
	f.Fuzz(func(t *testing.T, out []byte) {
		files := Split(out, "n")
		total := 0
		for _, fl := range files {
			total += len(fl.Data)
			if int64(len(fl.Data)) > DefaultLimit {
				t.Fatalf("%q holds %d bytes", fl.Name, len(fl.Data))
			}
			p, err := fileName(fl.Name)
			if err != nil {
				continue
			}
			first, _, _ := strings.Cut(p, string(filepath.Separator))
			if filepath.IsAbs(p) || !filepath.IsLocal(p) || first == ".collect" || first == "role" {
				t.Fatalf("%q accepted as %s", fl.Name, p)
			}
		}
		if total > len(out) {
			t.Fatalf("files hold %d bytes of %d", total, len(out))
		}
	})
}

func TestFileName(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		bad        string // what the refusal says
	}{
		{"ip-d-addr.txt", "ip-d-addr.txt", ""},
		{"etc/keepalived/keepalived.conf", "etc/keepalived/keepalived.conf", ""},
		{"etc/keepalived/conf.d/my file.conf", "etc/keepalived/conf.d/my file.conf", ""},
		{"etc/keepalived/a|b&c\\d.conf", "etc/keepalived/a|b&c\\d.conf", ""},
		{".hidden", ".hidden", ""},
		{"roles", "roles", ""},
		{"../../etc/passwd", "", "climbs out of the host folder"},
		{"etc/../../x", "", "climbs out of the host folder"},
		{"./x", "", "empty or . part"},
		{"a//b", "", "empty or . part"},
		{"a/", "", "empty or . part"},
		{"/abs/x", "", "absolute"},
		{".collect/manifest.yaml", "", "lvsdoctor's own records"},
		{".collect", "", "lvsdoctor's own records"},
		{"role", "", "lvsdoctor's own records"},
		{"role/x", "", "lvsdoctor's own records"},
		{"..", "", "climbs out of the host folder"},
		{"", "", "empty"},
		{"a\nb", "", "control character"},
		{"a\x00b", "", "control character"},
		{"\x1b[2Jx", "", "control character"},
		{"a\u0085b", "", "control character"},
		{strings.Repeat("a", 5000), "", "longer than 4096 bytes"},
	} {
		got, err := fileName(tc.name)
		switch {
		case tc.bad == "" && (err != nil || got != tc.want):
			t.Errorf("fileName(%q) = %q, %v; want %q", tc.name, got, err, tc.want)
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)):
			t.Errorf("fileName(%q) = %q, %v; want it refused: %s", tc.name, got, err, tc.bad)
		}
	}
}

func TestSafeName(t *testing.T) {
	for in, want := range map[string]string{
		"ds1": "ds1", "a/b": "a_b", `a\b`: "a_b", "a\x00b": "a_b", "a\x1bb": "a_b",
		".hidden": "_hidden", ".collect": "_collect", ".": "host", "..": "host", "": "host",
	} {
		if got := safeName(in); got != want {
			t.Errorf("safeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
