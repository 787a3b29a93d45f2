package intake

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
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
