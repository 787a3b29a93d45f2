package redact

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// canary is the secret the seeds hide in every syntax.
const canary = "S3cr3tCanary"

// guarded are syntaxes whose value must be gone whatever surrounds them,
// as long as the prefix starts a line and the canary and suffix follow it
// unbroken. Each was checked against every rule that could run before the
// one that hides it: none can take the line or the value away from it.
var guarded = []struct{ prefix, suffix string }{
	{"auth_pass ", ""},
	{"\tauth_pass ", ""},
	{"@lb1 auth_pass ", ""},
	{"@^lb2 auth_pass ", ""},
	{"authentication { auth_type PASS auth_pass ", " }"},
	{"authentication {auth_type PASS; auth_pass ", "}"},
	{`auth_pass "`, `"`},
	{"$PASS=", ""},
	{"@lb1 $VRRP_PASS=", ""},
	{"password=", ""},
	{"password: ", ""},
	{"api_key=", ""},
	{`<graphics type='vnc' port='-1' passwd='`, `'/>`},
	{`misc_path "/usr/bin/mysql -uroot -p`, ` -e 'select 1'"`},
	{`misc_path "/bin/check --password=`, `"`},
	{`misc_path "curl -u user:`, ` http://10.0.0.11/"`},
	{`script "/usr/local/bin/check.sh --pass `, `"`},
	{"http://user:", "@host/"},
	{"-----BEGIN RSA PRIVATE KEY-----\n", "\n-----END RSA PRIVATE KEY-----"},
	{"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n", "\n"},
	{"-----BEGIN ENCRYPTED PRIVATE KEY-----\n", "\n"},
	{"-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\n", "\n=AbCd\n-----END PGP PRIVATE KEY BLOCK-----"},
}

// mustHide reports whether in holds the canary once, in a guarded syntax.
func mustHide(in []byte) bool {
	if bytes.Count(in, []byte(canary)) != 1 {
		return false
	}
	for _, g := range guarded {
		w := []byte(g.prefix + canary + g.suffix)
		if bytes.HasPrefix(in, w) || bytes.Contains(in, append([]byte("\n"), w...)) {
			return true
		}
	}
	return false
}

func FuzzRedact(f *testing.F) {
	for _, g := range guarded {
		f.Add([]byte(g.prefix + canary + g.suffix))
		f.Add([]byte("vrrp_instance VI_1 {\n  state MASTER\n" + g.prefix + canary + g.suffix + "\n}\n"))
	}
	f.Add([]byte("$P=" + canary + "\nauth_pass $P\n"))
	f.Add([]byte("auth_pass ${PASS}\n$PASS=" + canary + "\n"))
	f.Add([]byte(`{"private_key": "-----BEGIN PRIVATE KEY-----\n` + canary + `\n-----END PRIVATE KEY-----\n"}`))
	f.Add([]byte("openssl rsa -passin pass:" + canary + " -in k.pem"))
	f.Add([]byte(`curl -H "Authorization: Bearer ` + canary + `" http://x/`))
	for _, c := range negatives {
		f.Add([]byte(c))
	}
	// Whole captures, but small ones: big seeds slow every mutation.
	for _, p := range []string{"dr-healthy/director/keepalived.conf", "dr-healthy/director/ipvsadm-Lnc.txt", "dr-healthy/director/sysctl-a.txt"} {
		if b, err := os.ReadFile(filepath.Join("../../testdata/lab", p)); err == nil {
			if len(b) > 2048 {
				b = b[:bytes.LastIndexByte(b[:2048], '\n')+1]
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		keep := bytes.Clone(in)
		out, n := Bytes(in)
		if !bytes.Equal(in, keep) {
			t.Fatalf("Bytes wrote to its input")
		}
		if n == 0 && (!bytes.Equal(out, in) || len(in) > 0 && &out[0] != &in[0]) {
			t.Fatalf("nothing counted, yet a new slice or other bytes: %q -> %q", in, out)
		}
		if n > 0 && bytes.Equal(out, in) {
			t.Fatalf("counted %d, changed nothing: %q", n, in)
		}
		again, n2 := Bytes(out)
		if n2 != 0 || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent:\n in    %q\n once  %q\n twice %q (%d)", in, out, again, n2)
		}
		if s := String(string(in)); s != string(out) {
			t.Fatalf("String %q, Bytes %q", s, out)
		}
		if mustHide(in) && bytes.Contains(out, []byte(canary)) {
			t.Fatalf("the canary survived:\n in  %q\n out %q", in, out)
		}
	})
}

// TestGuarded keeps the fuzz check honest: every guarded syntax is
// recognized by mustHide and hidden, alone and inside a configuration.
func TestGuarded(t *testing.T) {
	for _, g := range guarded {
		for _, in := range []string{
			g.prefix + canary + g.suffix,
			"vrrp_instance VI_1 {\n  state MASTER\n" + g.prefix + canary + g.suffix + "\n}\n",
		} {
			if !mustHide([]byte(in)) {
				t.Errorf("mustHide(%q) = false", in)
			}
			if out, _ := Bytes([]byte(in)); bytes.Contains(out, []byte(canary)) {
				t.Errorf("Bytes(%q) = %q", in, out)
			}
		}
	}
}
