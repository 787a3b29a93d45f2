package intake

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// BenchmarkLoadManyHosts loads cases of 5,000 and 20,000 host folders:
// the time per host must stay flat (a host lookup by scan made 50,000
// folders take minutes). Compare the ns/host of the two sizes.
func BenchmarkLoadManyHosts(b *testing.B) {
	for _, n := range []int{5000, 20000} {
		dir := b.TempDir()
		for i := range n {
			h := fmt.Sprintf("h%05d", i)
			if err := os.Mkdir(filepath.Join(dir, h), 0o755); err != nil {
				b.Fatal(err)
			}
			text := fmt.Sprintf("[root@%s ~]# ip addr\n1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN\n    inet 127.0.0.1/8 scope host lo\n", h)
			if err := os.WriteFile(filepath.Join(dir, h, "ip-addr.txt"), []byte(text), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			for b.Loop() {
				c, err := Load(dir)
				if err != nil || len(c.Hosts) != n {
					b.Fatalf("%v: %d hosts", err, len(c.Hosts))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/host")
		})
	}
}

// BenchmarkAlsoLogLines: the look for log lines under another command's
// output runs on every block of every case, so on a block without any it
// must cost next to nothing (a literal screen before the sniffer's
// regular expressions: ~10 µs a block without it, measured 2026-12-07).
func BenchmarkAlsoLogLines(b *testing.B) {
	for name, text := range map[string]string{
		"ip-addr":           "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN\n    inet 127.0.0.1/8 scope host lo\n",
		"uname-then-syslog": "Linux hostname 3.10.0-327.22.2.el7.x86_64 #1 SMP Thu Jun 9 10:09:10 EDT 2016 x86_64 x86_64 x86_64 GNU/Linux\nJun 13 14:36:58 hostname Keepalived_vrrp[18932]: VRRP_Instance(VI_48) setting protocol iptable drop rule\n",
	} {
		cmd := map[string]string{"ip-addr": "ip addr", "uname-then-syslog": "uname -a"}[name]
		f, _ := Detect(cmd, "", false, text)
		if f == nil {
			b.Fatalf("%s: no format", name)
		}
		doc := evidence.Doc{Host: "h", Source: "h/paste", Start: 2, Command: cmd, Text: text}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				alsoLogLines(evidence.NewHost("h"), doc, f)
			}
		})
	}
}
