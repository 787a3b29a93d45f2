package redact

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type tcase struct {
	name, in, want string
	n              int
}

func run(t *testing.T, cases []tcase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, n := Bytes([]byte(tc.in))
			if string(got) != tc.want || n != tc.n {
				t.Errorf("Bytes(%q)\n got  %q, %d\n want %q, %d", tc.in, got, n, tc.want, tc.n)
			}
			if again, n2 := Bytes(got); string(again) != string(got) || n2 != 0 {
				t.Errorf("twice: %q, %d", again, n2)
			}
			if s := String(tc.in); s != tc.want {
				t.Errorf("String(%q) = %q", tc.in, s)
			}
		})
	}
}

func TestAuthPass(t *testing.T) {
	run(t, []tcase{
		{"own line keeps its length", "    auth_pass s3cr3t-pw\n", "    auth_pass *********\n", 1},
		{"in a block", "authentication {\n  auth_type PASS\n  auth_pass 1111\n}\n", "authentication {\n  auth_type PASS\n  auth_pass ****\n}\n", 1},
		{"one-line block", "    authentication { auth_type PASS auth_pass s3cret }\n", "    authentication { auth_type PASS auth_pass ****** }\n", 1},
		{"one-line block, glued braces and ;", "authentication {auth_type PASS; auth_pass s3cret}", "authentication {auth_type PASS; auth_pass ******}", 1},
		{"glued after {", "authentication {auth_pass s3cret}", "authentication {auth_pass ******}", 1},
		{"conditional", "        @lb1 auth_pass abc123\n", "        @lb1 auth_pass ******\n", 1},
		{"negative conditional", "        @^lb2 auth_pass abc123\n", "        @^lb2 auth_pass ******\n", 1},
		{"two conditions", "@lb1 @lb2 auth_pass abc123", "@lb1 @lb2 auth_pass ******", 1},
		{"one per host", "@lb1 auth_pass aaaa\n@lb2 auth_pass bbbbbbbbbb\n", "@lb1 auth_pass ****\n@lb2 auth_pass **********\n", 2},
		{"quoted", `auth_pass "a b"`, `auth_pass "***"`, 1},
		{"single-quoted", `auth_pass 'a b c'`, `auth_pass '*****'`, 1},
		{"unterminated quote", "auth_pass \"a b  \n", "auth_pass \"***  \n", 1},
		{"comment stays for the length", "auth_pass ab#cd", "auth_pass **#**", 1},
		{"trailing comment", "auth_pass 12345678 # shared with lb2", "auth_pass ******** # shared with lb2", 1},
		{"CRLF", "auth_pass s3cret\r\n", "auth_pass ******\r\n", 1},
		{"upper case", `  AUTH_PASS "a b c"`, `  AUTH_PASS "*****"`, 1},
		{"yaml", "auth_pass: s3cret", "auth_pass: ******", 1},
		{"stars stay stars", "auth_pass ********\n", "auth_pass ********\n", 0},
		{"placeholder stays", "auth_pass <redacted>", "auth_pass <redacted>", 0},
		{"no value", "auth_pass\n", "auth_pass\n", 0},
		{"not the keyword, still key-like", "xauth_pass s3cret\nauth_passwd s3cret\n", "xauth_pass <redacted>\nauth_passwd <redacted>\n", 2},
	})
}

func TestDefinitions(t *testing.T) {
	run(t, []tcase{
		{"reference stays, definition goes", "$VRRP=s3cret\nvrrp_instance VI {\n authentication {\n  auth_pass $VRRP\n }\n}\n",
			"$VRRP=******\nvrrp_instance VI {\n authentication {\n  auth_pass $VRRP\n }\n}\n", 1},
		{"defined after use", "auth_pass ${X}\n$X=abc\n", "auth_pass ${X}\n$X=***\n", 1},
		{"braced in a one-line block", "authentication { auth_pass ${AUTH} }\n$AUTH=abcd\n", "authentication { auth_pass ${AUTH} }\n$AUTH=****\n", 1},
		{"lower-case name defined here", "$pw=abc\nauth_pass $pw\n", "$pw=***\nauth_pass $pw\n", 1},
		{"secret by its name", "$DB_PASSWORD=hunter2\n$API_TOKEN= abc\n", "$DB_PASSWORD=*******\n$API_TOKEN= ***\n", 2},
		{"conditional definitions", "@lb1 $PASS=s3cret\n@^lb1 $PASS=other\n", "@lb1 $PASS=******\n@^lb1 $PASS=*****\n", 2},
		{"quoted value keeps its quotes", `$PASS="a b"`, `$PASS="* *"`, 1},
		{"multi-line: only the first line", "$SECRET_BLOCK=abc \\\n  state MASTER \\\n  priority 100\n",
			"$SECRET_BLOCK=*** \\\n  state MASTER \\\n  priority 100\n", 1},
		{"multi-line block holding auth_pass", "$INSTANCE= \\\n  auth_pass s3cret \\\n  state MASTER\n",
			"$INSTANCE= \\\n  auth_pass ****** \\\n  state MASTER\n", 1},
		// collect redacts file by file: the definition may be in another one.
		{"upper-case reference defined elsewhere", "auth_pass $VRRP_PASS\n", "auth_pass $VRRP_PASS\n", 0},
		{"a literal that looks like a reference", "auth_pass $ecret12\n", "auth_pass ********\n", 1},
		{"braces that name nothing", "auth_pass ${}0\nauth_pass ${A}b\n", "auth_pass ****\nauth_pass *****\n", 2},
		{"other definitions stay", "$PRIORITY=100\n$IF=eth0\n", "$PRIORITY=100\n$IF=eth0\n", 0},
		{"not a definition (a space before =), still key-like", "$PASS =abc\n", "$PASS =<redacted>\n", 1},
	})
}

func TestKeyLike(t *testing.T) {
	run(t, []tcase{
		{"key=value", "api_key=abcd1234 other=1\n", "api_key=<redacted> other=1\n", 1},
		{"yaml", "password: hunter2\n", "password: <redacted>\n", 1},
		{"json", `{"password": "hunter2", "user": "x"}`, `{"password": "<redacted>", "user": "x"}`, 1},
		{"libvirt graphics passwd", "<graphics type='vnc' port='-1' passwd='vncpw'/>\n", "<graphics type='vnc' port='-1' passwd='<redacted>'/>\n", 1},
		{"token in a header line", "Authorization-Token abc.def.ghi\n", "Authorization-Token <redacted>\n", 1},
		{"key value at line start", "  secret s3cret\n", "  secret <redacted>\n", 1},
		{"keepalived -d dump", " Password = s3cret\n", " Password = <redacted>\n", 1},
		{"wireguard", "PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\nPresharedKey = abc=\n", "PrivateKey = <redacted>\nPresharedKey = <redacted>\n", 2},
		{"connection string", "Server=db;Password=p4ss;User=x", "Server=db;Password=<redacted>;User=x", 1},
		{"query string", "GET /api?token=abc&x=1", "GET /api?token=<redacted>&x=1", 1},
		{"*_pass", "db_pass=abc smtp-pass: def", "db_pass=<redacted> smtp-pass: <redacted>", 2},
		{"*_key", "net.ipv4.tcp_fastopen_key = 00000000-00000000-00000000-00000000\n", "net.ipv4.tcp_fastopen_key = <redacted>\n", 1},
	})
}

func TestCommands(t *testing.T) {
	run(t, []tcase{
		{"mysql glued -p", `misc_path "/usr/bin/mysql -uroot -pSECRET -e 'select 1'"`, `misc_path "/usr/bin/mysql -uroot -p<redacted> -e 'select 1'"`, 1},
		{"--password=", `misc_path "/bin/check --password=X"`, `misc_path "/bin/check --password=<redacted>"`, 1},
		{"curl -u", `misc_path "curl -u user:pass http://10.0.0.11/health"`, `misc_path "curl -u user:<redacted> http://10.0.0.11/health"`, 1},
		{"curl --user=", `misc_path "curl --user=u:p http://10.0.0.11/"`, `misc_path "curl --user=u:<redacted> http://10.0.0.11/"`, 1},
		{"vrrp_script", `    script "/usr/local/bin/check.sh -pSECRET"`, `    script "/usr/local/bin/check.sh -p<redacted>"`, 1},
		{"notify --pass quoted", `notify_master "/etc/keepalived/master.sh --pass 's p'"`, `notify_master "/etc/keepalived/master.sh --pass '<redacted>'"`, 1},
		{"notify --db-password", `notify_backup "/x.sh --db-password s3"`, `notify_backup "/x.sh --db-password <redacted>"`, 1},
		{"openssl pass:", "openssl rsa -passin pass:S3cr3t -in k.pem", "openssl rsa -passin pass:<redacted> -in k.pem", 1},
		{"--password prompting", "mysql --password -h db", "mysql --password -h db", 0},
		{"-p apart is a port", `script "/usr/local/bin/check.sh -p 80"`, `script "/usr/local/bin/check.sh -p 80"`, 0},
		{"URL", "curl http://user:pass@192.0.2.11/x", "curl http://user:<redacted>@192.0.2.11/x", 1},
		{"URL, @ in the password", "db = postgres://app:p@ss@db.example:5432/app", "db = postgres://app:<redacted>@db.example:5432/app", 1},
		{"URL without password", "url http://user@host/ and http://192.0.2.1:8080/x@y", "url http://user@host/ and http://192.0.2.1:8080/x@y", 0},
		{"Authorization header", `misc_path "curl -H 'Authorization: Bearer abc.def' http://x/"`, `misc_path "curl -H 'Authorization: Bearer <redacted>' http://x/"`, 1},
	})
}

func TestKeyBlocks(t *testing.T) {
	run(t, []tcase{
		{"pem", "x\n-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\nBBBB\n-----END OPENSSH PRIVATE KEY-----\ny\n",
			"x\n-----BEGIN OPENSSH PRIVATE KEY-----\n<redacted>\n-----END OPENSSH PRIVATE KEY-----\ny\n", 1},
		{"encrypted pkcs8", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIF\n-----END ENCRYPTED PRIVATE KEY-----\n",
			"-----BEGIN ENCRYPTED PRIVATE KEY-----\n<redacted>\n-----END ENCRYPTED PRIVATE KEY-----\n", 1},
		{"rsa with headers", "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,ABC\n\nMIIE\n-----END RSA PRIVATE KEY-----\n",
			"-----BEGIN RSA PRIVATE KEY-----\n<redacted>\n-----END RSA PRIVATE KEY-----\n", 1},
		{"pgp", "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\nlQOYBF\n=AbCd\n-----END PGP PRIVATE KEY BLOCK-----\n",
			"-----BEGIN PGP PRIVATE KEY BLOCK-----\n<redacted>\n-----END PGP PRIVATE KEY BLOCK-----\n", 1},
		{"ssh2", "---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nAAAA\n---- END SSH2 ENCRYPTED PRIVATE KEY ----\n",
			"---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\n<redacted>\n---- END SSH2 ENCRYPTED PRIVATE KEY ----\n", 1},
		{"yaml block keeps its indentation", "key: |\n  -----BEGIN RSA PRIVATE KEY-----\n  MIIE\n  AAAA\n  -----END RSA PRIVATE KEY-----\nnext: 1\n",
			"key: |\n  -----BEGIN RSA PRIVATE KEY-----\n  <redacted>\n  -----END RSA PRIVATE KEY-----\nnext: 1\n", 1},
		{"json, one line", `{"private_key": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n", "n": 1}`,
			`{"private_key": "-----BEGIN PRIVATE KEY-----<redacted>-----END PRIVATE KEY-----\n", "n": 1}`, 1},
		{"CRLF", "-----BEGIN RSA PRIVATE KEY-----\r\nMIIE\r\n-----END RSA PRIVATE KEY-----\r\n",
			"-----BEGIN RSA PRIVATE KEY-----\r\n<redacted>\r\n-----END RSA PRIVATE KEY-----\r\n", 1},
		{"no END, at the end of the input", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIF\nABCD",
			"-----BEGIN ENCRYPTED PRIVATE KEY-----\n<redacted>", 1},
		{"no END, stops at the next evidence", "-----BEGIN EC PRIVATE KEY-----\nMHcC\nAQEE\n\n$ ip addr\n1: lo: <LOOPBACK>\n",
			"-----BEGIN EC PRIVATE KEY-----\n<redacted>\n\n$ ip addr\n1: lo: <LOOPBACK>\n", 1},
		{"no END, pgp", "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\nlQOYBF\n\n\ndb_password = x\n",
			"-----BEGIN PGP PRIVATE KEY BLOCK-----\n<redacted>\n\n\ndb_password = <redacted>\n", 2},
		// The price of the rule: a base64-looking line right after a cut-off
		// key goes with it.
		{"no END, base64-looking line", "-----BEGIN RSA PRIVATE KEY-----\nMIIE\nOK\n$ ip rule\n",
			"-----BEGIN RSA PRIVATE KEY-----\n<redacted>\n$ ip rule\n", 1},
		{"two blocks", "-----BEGIN RSA PRIVATE KEY-----\nAA\n-----END RSA PRIVATE KEY-----\n-----BEGIN EC PRIVATE KEY-----\nBB\n-----END EC PRIVATE KEY-----\n",
			"-----BEGIN RSA PRIVATE KEY-----\n<redacted>\n-----END RSA PRIVATE KEY-----\n-----BEGIN EC PRIVATE KEY-----\n<redacted>\n-----END EC PRIVATE KEY-----\n", 2},
		{"public parts stay", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN PGP PUBLIC KEY BLOCK-----\nmQEN\n",
			"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN PGP PUBLIC KEY BLOCK-----\nmQEN\n", 0},
	})
}

// negatives are real evidence (from testdata/lab) and keepalived's own
// words that hold a trigger word or look like a secret, and are none.
var negatives = []string{
	"net.ipv4.conf.all.rp_filter = 0",
	"kernel.keys.maxkeys = 200",
	"kernel.keys.persistent_keyring_expiry = 259200",
	"net.ipv4.ipfrag_secret_interval = 0",
	"net.ipv4.vs.cache_bypass = 0",
	"dev.mac_hid.mouse_button3_keycode = 100",
	"TcpExtTCPFastOpenPassiveAltKey  0                  0.0",
	"MPTcpExtMPJoinNoTokenFound      0                  0.0",
	"TcpPassiveOpens                 0                  0.0",
	"        auth_type PASS",
	"TCP  192.0.2.100:80 rr persistent 300",
	"TCP 01:46  FIN_WAIT    192.0.2.10:49688   192.0.2.100:80     192.0.2.12:80",
	"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn",
	"[5:300] -A PREROUTING -d 192.0.2.100/32 -p tcp -m tcp --dport 80 -j DROP",
	`    script "/usr/bin/pgrep -x haproxy"`,
	"06:48:57.942845 52:54:00:00:00:0c > 52:54:00:00:00:02, ethertype ARP (0x0806), length 42: Request who-has 192.0.2.2 tell 192.0.2.12, length 28",
	"Nov 21 06:48:41 director Keepalived[179]: Command line: 'keepalived' '--dont-fork' '--log-console' '--log-detail' '-S' '1' '-f'",
	"Nov 21 07:06:20 director Keepalived_vrrp[185]: (VI_VIP) Strict mode does not support authentication. Ignoring.",
	"Nov 21 07:34:35 director Keepalived_healthcheckers[195]: Gained quorum 1+0=1 <= 2 for VS [192.0.2.100]:tcp:80",
	"$ cat /proc/sys/net/netfilter/nf_conntrack_max",
	"[Sat Nov 21 10:05:19 2026] Loaded X.509 cert 'Build time autogenerated kernel key: 8963f707e289edc09df337a240938134371a5bb8'",
	// keepalived names the peer that sent a bad password: evidence.
	"Nov 21 07:40:01 director Keepalived_vrrp[196]: (VI_1) received an invalid passwd from 192.0.2.3!",
	"Nov 21 07:40:01 director sshd[900]: Failed password for root from 192.0.2.9 port 22 ssh2",
	"-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT",
	"$PRIORITY=100",
}

func TestNothingToHide(t *testing.T) {
	for _, c := range negatives {
		for _, in := range []string{c, c + "\n"} {
			b := []byte(in)
			got, n := Bytes(b)
			if n != 0 || string(got) != in || &got[0] != &b[0] {
				t.Errorf("Bytes(%q) = %q, %d; want it back, the same slice", in, got, n)
			}
		}
	}
	got, n := Bytes([]byte(strings.Join(negatives, "\n")))
	if n != 0 || string(got) != strings.Join(negatives, "\n") {
		t.Errorf("all together: %q, %d", got, n)
	}
}

// TestLab runs every text file of the lab captures: the only secrets there
// are auth_pass and two sysctl keys.
func TestLab(t *testing.T) {
	var files []string
	for _, g := range []string{"*.txt", "*.conf", "*.log"} {
		m, _ := filepath.Glob(filepath.Join("../../testdata/lab/*/*", g))
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Skip("no lab captures")
	}
	for _, f := range files {
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out, n := Bytes(in)
		a, o := strings.Split(string(in), "\n"), strings.Split(string(out), "\n")
		if len(a) != len(o) {
			t.Fatalf("%s: %d lines became %d", f, len(a), len(o))
		}
		changed := 0
		for i := range a {
			if a[i] == o[i] {
				continue
			}
			changed++
			switch {
			case strings.Contains(a[i], "auth_pass"), strings.HasPrefix(a[i], "net.ipv4.tcp_fastopen_key = "), strings.HasPrefix(a[i], "net.core.netdev_rss_key = "):
			default:
				t.Errorf("%s:%d: %q became %q", f, i+1, a[i], o[i])
			}
		}
		if changed != n {
			t.Errorf("%s: %d lines changed, %d counted", f, changed, n)
		}
	}
}

func TestNoAllocation(t *testing.T) {
	in := lnc(1 << 20)
	if a := testing.AllocsPerRun(5, func() { Bytes(in) }); a != 0 {
		t.Errorf("%v allocations for a connection table", a)
	}
}

// lnc returns about size bytes of `ipvsadm -Lnc` output.
func lnc(size int) []byte {
	var b bytes.Buffer
	b.WriteString("$ ipvsadm -Lnc\nIPVS connection entries\npro expire state       source             virtual            destination\n")
	states := []string{"ESTABLISHED", "FIN_WAIT   ", "TIME_WAIT  ", "SYN_RECV   ", "CLOSE      "}
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "TCP %02d:%02d  %s 10.%d.%d.%d:%-5d 192.0.2.10:80      10.0.0.%d:80\n",
			i%15, i%60, states[i%len(states)], i>>16&255, i>>8&255, i&255, 1024+i%64000, 11+i%4)
	}
	return b.Bytes()
}

func BenchmarkBytesNoSecrets(b *testing.B) {
	in := lnc(10 << 20)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, n := Bytes(in); n != 0 {
			b.Fatal(n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(in)), "ns/byte")
}

// BenchmarkBytesSysctl is `sysctl -a`, where some lines hold a trigger
// word and one a secret (tcp_fastopen_key).
func BenchmarkBytesSysctl(b *testing.B) {
	one, err := os.ReadFile("../../testdata/lab/dr-healthy/director/sysctl-a.txt")
	if err != nil {
		b.Skip(err)
	}
	in := bytes.Repeat(one, 10<<20/len(one)+1)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		Bytes(in)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(in)), "ns/byte")
}
