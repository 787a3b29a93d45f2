package e2e

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/engine"
	"github.com/lvsdoctor/lvsdoctor/internal/intake"
	"github.com/lvsdoctor/lvsdoctor/internal/rules"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

// genCase writes a DR case: one director whose service has nRS real
// servers and an `ipvsadm -Lnc` of nConns lines, and nRS real-server
// folders with ip addr, sysctl and ss output.
func genCase(tb testing.TB, dir string, nRS, nConns int) {
	tb.Helper()
	w := func(p, s string) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	rip := func(i int) string { return fmt.Sprintf("10.%d.%d.%d", 1+i/65536, (i/256)%256, 1+i%250) }
	ds := filepath.Join(dir, "ds1")
	w(filepath.Join(dir, "case.yaml"), "vip: 192.0.2.100\nport: 80\nproto: tcp\n")
	ln := "$ ipvsadm -Ln\nIP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\nTCP  192.0.2.100:80 wlc\n"
	for i := 0; i < nRS; i++ {
		ln += fmt.Sprintf("  -> %s:80%sRoute   1      %d          %d\n", rip(i), "              ", nConns/nRS, 3)
	}
	w(filepath.Join(ds, "ipvsadm-Ln.txt"), ln)
	w(filepath.Join(ds, "ip-addr.txt"), "$ ip addr\n1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n    inet 127.0.0.1/8 scope host lo\n       valid_lft forever preferred_lft forever\n2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group default qlen 1000\n    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff\n    inet 10.0.0.2/8 brd 10.255.255.255 scope global eth0\n       valid_lft forever preferred_lft forever\n    inet 192.0.2.100/32 scope global eth0\n       valid_lft forever preferred_lft forever\n")
	f, err := os.Create(filepath.Join(ds, "ipvsadm-Lnc.txt"))
	if err != nil {
		tb.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintf(bw, "$ ipvsadm -Lnc\nIPVS connection entries\npro expire state       source             virtual            destination\n")
	for i := 0; i < nConns; i++ {
		fmt.Fprintf(bw, "TCP 14:%02d  ESTABLISHED 203.0.113.%d:%d 192.0.2.100:80     %s:80\n", i%60, 1+i%250, 1024+i%60000, rip(i%nRS))
	}
	bw.Flush()
	f.Close()
	for i := 0; i < nRS; i++ {
		rs := filepath.Join(dir, fmt.Sprintf("rs%04d", i))
		w(filepath.Join(rs, "ip-addr.txt"), fmt.Sprintf("$ ip addr\n1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n    inet 127.0.0.1/8 scope host lo\n       valid_lft forever preferred_lft forever\n    inet 192.0.2.100/32 scope global lo\n       valid_lft forever preferred_lft forever\n2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group default qlen 1000\n    link/ether 52:54:00:aa:%02x:%02x brd ff:ff:ff:ff:ff:ff\n    inet %s/8 brd 10.255.255.255 scope global eth0\n       valid_lft forever preferred_lft forever\n", i/256, i%256, rip(i)))
		w(filepath.Join(rs, "sysctl.txt"), "$ sysctl -a\nnet.ipv4.conf.all.arp_ignore = 1\nnet.ipv4.conf.all.arp_announce = 2\nnet.ipv4.conf.all.rp_filter = 0\nnet.ipv4.conf.eth0.arp_ignore = 1\nnet.ipv4.conf.eth0.arp_announce = 2\nnet.ipv4.conf.eth0.rp_filter = 0\nnet.ipv4.conf.lo.arp_ignore = 0\n")
		w(filepath.Join(rs, "ss.txt"), "$ ss -lntp\nState  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\nLISTEN 0      511          0.0.0.0:80        0.0.0.0:*    users:((\"nginx\",pid=812,fd=6))\n")
		w(filepath.Join(rs, "ip-route.txt"), "$ ip route\ndefault via 10.0.0.1 dev eth0\n10.0.0.0/8 dev eth0 proto kernel scope link src "+rip(i)+"\n")
	}
}

// BenchmarkDiagnose measures a whole diagnose (read, parse, rules, rank)
// as the case grows; ns/op should grow linearly with both sizes: 2,000
// real servers at most 2.1 times what 1,000 cost, at either table size
// (issue 11), and ten times the connection lines less than ten times the
// time. bench/diagnose.sh compares the binary with awk on the same files.
func BenchmarkDiagnose(b *testing.B) {
	for _, sz := range []struct{ rs, conns int }{
		{100, 100_000}, {1000, 100_000}, {2000, 100_000},
		{1000, 1_000_000}, {2000, 1_000_000},
	} {
		b.Run(fmt.Sprintf("rs=%d/conns=%d", sz.rs, sz.conns), func(b *testing.B) {
			dir := b.TempDir()
			genCase(b, dir, sz.rs, sz.conns)
			b.ResetTimer()
			for b.Loop() {
				c, err := intake.Load(dir)
				if err != nil {
					b.Fatal(err)
				}
				d := engine.Run(c, topology.Hints{}, rules.All())
				if d.HasCritical() {
					b.Fatalf("generated healthy case has critical findings: %+v", d.Findings[0])
				}
			}
		})
	}
}

// The generated healthy case must diagnose clean: the benchmark measures
// real work, not an early exit.
func TestGeneratedCaseIsHealthy(t *testing.T) {
	dir := t.TempDir()
	genCase(t, dir, 20, 1000)
	c, err := intake.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	d := engine.Run(c, topology.Hints{}, rules.All())
	for _, f := range d.Findings {
		if f.Severity == "critical" {
			t.Errorf("critical finding on the generated healthy case: %s %s: %s", f.ID, f.Host, f.Title)
		}
	}
	if len(c.Problems) > 0 {
		t.Errorf("input problems on generated case: %v", c.Problems[:min(3, len(c.Problems))])
	}
	ds := c.Lookup("ds1")
	if ds == nil || ds.IPVS == nil || len(ds.IPVS.Services) != 1 || len(ds.IPVS.Services[0].Dests) != 20 || ds.IPVS.TotalConns != 1000 {
		t.Fatalf("director not parsed: %+v", ds)
	}
}

// TestGenerateBenchCase writes the benchmark's case where bench/diagnose.sh
// asks for it (LVSDOCTOR_GEN_CASE); otherwise it does nothing.
func TestGenerateBenchCase(t *testing.T) {
	dir := os.Getenv("LVSDOCTOR_GEN_CASE")
	if dir == "" {
		t.Skip("only for bench/diagnose.sh")
	}
	rs, _ := strconv.Atoi(os.Getenv("LVSDOCTOR_GEN_RS"))
	conns, _ := strconv.Atoi(os.Getenv("LVSDOCTOR_GEN_CONNS"))
	genCase(t, dir, max(rs, 1), max(conns, 1))
}
