package collect_test

// Benchmarks of a whole collection, as `lvsdoctor collect` does it: every
// item on this host, and the real collection script over SSH to many
// inventory entries served by real sshd instances on loopback.
//
// Over SSH every "host" is this machine, logging in as root, so a login
// runs root's real shell startup files (here ~/.bashrc, which runs pyenv
// init). That is part of what a collection costs on a host that has them,
// so it is measured as is; login-s/op is the same run with an empty
// script, and the collection's own cost is ns/op minus that. The servers
// share this machine's CPU with the client: hosts/s here is bounded by the
// CPU all the collections take together, unlike on a real cluster.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/lvsdoctor/lvsdoctor/internal/collect"
	"github.com/lvsdoctor/lvsdoctor/internal/inventory"
	"github.com/lvsdoctor/lvsdoctor/internal/sshexec"
	"github.com/lvsdoctor/lvsdoctor/internal/sshexec/sshdtest"
)

// mustHaveEvidence fails unless the bundle holds what every Linux host
// yields, so a benchmark never times a collection that silently failed.
func mustHaveEvidence(b *testing.B, bu *collect.Bundle) int {
	b.Helper()
	if bu.Err != "" {
		b.Fatalf("%s: %s", bu.Host, bu.Err)
	}
	seen := map[string]bool{}
	n := 0
	for _, f := range bu.Files {
		n += len(f.Data)
		if len(f.Data) > 0 {
			seen[f.Name] = true
		}
	}
	for _, want := range []string{"ip-d-addr.txt", "ip-route-table-all.txt", "proc-net-snmp.txt", "uname-a.txt"} {
		if !seen[want] {
			b.Fatalf("%s: no %s among %d files", bu.Host, want, len(bu.Files))
		}
	}
	return n
}

func BenchmarkCollectLocal(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Log("not root: firewall rules and some sysctls are skipped, as for a user's collect")
	}
	var bytesTotal, files int
	for b.Loop() {
		bu := collect.Local(context.Background(), collect.Options{})
		bytesTotal += mustHaveEvidence(b, bu)
		for _, f := range bu.Files {
			if len(f.Data) > 0 {
				files++
			}
		}
	}
	b.ReportMetric(float64(bytesTotal)/float64(b.N), "bytes/host")
	b.ReportMetric(float64(files)/float64(b.N), "files/host")
}

func BenchmarkCollectSSH(b *testing.B) {
	servers, key, kh := sshdtest.Cluster(b, 4)
	opt := sshexec.Options{KnownHosts: []string{kh}}
	for _, n := range []int{10, 50, 100} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			// Sixteen full collections at once on a small machine take a
			// while each; the timeout only catches a hung host.
			hosts := sshdtest.Hosts(servers, n, "h", key, 5*time.Minute)
			var bytesTotal int
			cpu0 := sshdtest.ClientCPU()
			for b.Loop() {
				for _, bu := range collect.Remote(context.Background(), hosts, opt) {
					bytesTotal += mustHaveEvidence(b, bu)
				}
			}
			elapsed := b.Elapsed()
			cpu := sshdtest.ClientCPU() - cpu0
			b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "hosts/s")
			b.ReportMetric(float64(bytesTotal)/float64(n*b.N), "bytes/host")
			// lvsdoctor's own side: SSH client, framing, redaction.
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(n*b.N), "client-cpu-ms/host")
			b.ReportMetric(loginOnly(b, hosts, opt).Seconds(), "login-s/op")
		})
	}
}

// loginOnly times the same hosts, the same way, running an empty script:
// the logins and the shells' startup, without the collection.
func loginOnly(b *testing.B, hosts []inventory.Host, opt sshexec.Options) time.Duration {
	b.Helper()
	start := time.Now()
	for _, r := range sshexec.Run(context.Background(), hosts, "", opt) {
		if r.Err != nil || r.ExitStatus != 0 || len(bytes.TrimSpace(r.Stdout)) != 0 {
			b.Fatalf("%s: empty script: %v, status %d, stdout %q", r.Host.Name, r.Err, r.ExitStatus, r.Stdout)
		}
	}
	return time.Since(start)
}
