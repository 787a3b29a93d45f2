package redact

import (
	"bytes"
	"testing"
	"time"
)

func TestAdversarial(t *testing.T) {
	for _, unit := range []string{"password=", "auth_pass ", "a", "key ", "-----BEGIN RSA PRIVATE KEY-----", "-----BEGIN RSA PRIVATE KEY-----\n", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n", "$P=", "auth_pass $P ", "http://u:", "@", "misc_path -pX -u a:b ", "pass", "Authorization: ", "auth_pass \"", "x_y_z_", "\n$PASS=x\nauth_pass $PASS\n"} {
		in := bytes.Repeat([]byte(unit), 1<<20/len(unit))
		t0 := time.Now()
		_, n := Bytes(in)
		t.Logf("%-40q %8v n=%d", unit, time.Since(t0), n)
	}
}

func TestFlood(t *testing.T) {
	for _, l := range []string{"Nov 21 07:40:01 director Keepalived_vrrp[196]: (VI_1) received an invalid passwd from 192.0.2.3!\n", "-A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 22 -j ACCEPT\n", "net.ipv4.tcp_fastopen_key = 00000000-00000000-00000000-00000000\n", "        auth_pass Lv5-s3cr\n"} {
		in := bytes.Repeat([]byte(l), 100<<20/len(l))
		t0 := time.Now()
		_, n := Bytes(in)
		d := time.Since(t0)
		t.Logf("%-40.40q %8v %.2f ns/byte n=%d", l, d, float64(d.Nanoseconds())/float64(len(in)), n)
	}
}

func BenchmarkAuthFlood(b *testing.B) {
	in := bytes.Repeat([]byte("        auth_pass Lv5-s3cr\n"), 10<<20/27)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		Bytes(in)
	}
}
