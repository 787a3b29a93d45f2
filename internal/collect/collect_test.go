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

func TestRedact(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		n              int
	}{
		{"auth_pass keeps its length", "    auth_pass s3cr3t-pw\n", "    auth_pass *********\n", 1},
		{"auth_pass in a block", "authentication {\n  auth_type PASS\n  auth_pass 1111\n}\n", "authentication {\n  auth_type PASS\n  auth_pass ****\n}\n", 1},
		{"key=value", "api_key=abcd1234 other=1\n", "api_key=<redacted> other=1\n", 1},
		{"yaml", "password: hunter2\n", "password: <redacted>\n", 1},
		{"libvirt graphics passwd", "<graphics type='vnc' port='-1' passwd='vncpw'/>\n", "<graphics type='vnc' port='-1' passwd='<redacted>'/>\n", 1},
		{"token in a header", "Authorization-Token abc.def.ghi\n", "Authorization-Token <redacted>\n", 1},
		{"pem", "x\n-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\nBBBB\n-----END OPENSSH PRIVATE KEY-----\ny\n",
			"x\n-----BEGIN OPENSSH PRIVATE KEY-----\n<redacted>\n-----END OPENSSH PRIVATE KEY-----\ny\n", 1},
		{"nothing to hide", "net.ipv4.conf.all.rp_filter = 1\nauth_type PASS\n", "net.ipv4.conf.all.rp_filter = 1\nauth_type PASS\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, n := Redact([]byte(tc.in))
			if string(got) != tc.want || n != tc.n {
				t.Errorf("Redact(%q) = %q, %d; want %q, %d", tc.in, got, n, tc.want, tc.n)
			}
		})
	}
}

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
		"\n" + m + "begin a.txt\nline1\nline2\n\n" + m + "end a.txt 0\n" +
		m + "skip b.txt nf_tables is not loaded\n" +
		"\n" + m + "begin c.txt\n\n" + m + "end c.txt 1\n" + m + "err c.txt permission denied\n" +
		"\n" + m + "begin d.txt\nno final newline\n" + m + "end d.txt 0\n" +
		"@@lvsdoctor-forged begin e.txt\n" +
		"\n" + m + "begin cut.txt\npartial"
	files := Split([]byte(out), n)
	got := map[string]File{}
	for _, f := range files {
		got[f.Name] = f
	}
	if f := got["a.txt"]; string(f.Data) != "line1\nline2\n" || f.Err != "" {
		t.Errorf("a.txt = %q err %q", f.Data, f.Err)
	}
	if f := got["b.txt"]; f.Skipped != "nf_tables is not loaded" {
		t.Errorf("b.txt skipped %q", f.Skipped)
	}
	if f := got["c.txt"]; len(f.Data) != 0 || f.Err != "permission denied (exit status 1)" {
		t.Errorf("c.txt = %q err %q", f.Data, f.Err)
	}
	if f := got["d.txt"]; string(f.Data) != "no final newline" {
		t.Errorf("d.txt = %q", f.Data)
	}
	if _, ok := got["e.txt"]; ok {
		t.Error("a marker with another nonce was taken for a frame")
	}
	if f := got["cut.txt"]; !f.Truncated || string(f.Data) != "partial" {
		t.Errorf("cut.txt = %q truncated %v", f.Data, f.Truncated)
	}
}

func FuzzSplit(f *testing.F) {
	m := "@@lvsdoctor-n "
	f.Add([]byte("\n" + m + "begin a\nx\n\n" + m + "end a 0\n"))
	f.Add([]byte(m + "skip b why\n" + m + "err b e\n" + m + "end zz 3\n"))
	f.Add([]byte(m + "begin ../../etc/passwd\nroot\n" + m + "end ../../etc/passwd 0\n"))
	f.Add([]byte(m + "begin \x00\xff\n"))
	f.Fuzz(func(t *testing.T, out []byte) {
		files := Split(out, "n")
		total := 0
		for _, fl := range files {
			total += len(fl.Data)
			if _, err := inside("/case/h", fl.Name); err == nil {
				p, _ := inside("/case/h", fl.Name)
				if !strings.HasPrefix(p, "/case/h/") {
					t.Fatalf("%q escapes the host folder: %s", fl.Name, p)
				}
			}
		}
		if total > len(out) {
			t.Fatalf("files hold %d bytes of %d", total, len(out))
		}
	})
}

func TestInside(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		bad        bool
	}{
		{"ip-d-addr.txt", "/c/h/ip-d-addr.txt", false},
		{"etc/keepalived/keepalived.conf", "/c/h/etc/keepalived/keepalived.conf", false},
		{"../../etc/passwd", "/c/h/etc/passwd", false},
		{"/abs/x", "/c/h/abs/x", false},
		{".collect/manifest.yaml", "", true},
		{"..", "", true},
		{"", "", true},
	} {
		got, err := inside("/c/h", tc.name)
		if (err != nil) != tc.bad || (!tc.bad && got != tc.want) {
			t.Errorf("inside(%q) = %q, %v", tc.name, got, err)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
