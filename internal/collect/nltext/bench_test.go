package nltext

import (
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

// benchPair measures a renderer against running the real command, both
// from a thread inside the lab namespace (a child process inherits the
// forking thread's namespace, so the real tool pays no extra setns/exec).
// The ratio real/nltext is what to report.
func benchPair(b *testing.B, real []string, mine func() ([]byte, error)) {
	l := getLab(b)
	run := func(b *testing.B, f func() error) {
		n := b.N
		var ferr error
		b.ResetTimer()
		if err := l.in(func() {
			for i := 0; i < n && ferr == nil; i++ {
				ferr = f()
			}
		}); err != nil {
			b.Fatal(err)
		}
		if ferr != nil {
			b.Fatal(ferr)
		}
	}
	b.Run("nltext", func(b *testing.B) {
		b.ReportAllocs()
		run(b, func() error { _, err := mine(); return err })
	})
	b.Run("real", func(b *testing.B) {
		run(b, func() error { return exec.Command(real[0], real[1:]...).Run() })
	})
}

func BenchmarkAddr(b *testing.B) { benchPair(b, []string{"ip", "-d", "addr", "show"}, Addr) }
func BenchmarkLink(b *testing.B) { benchPair(b, []string{"ip", "-d", "link", "show"}, Link) }
func BenchmarkRoute(b *testing.B) {
	benchPair(b, []string{"ip", "route", "show", "table", "all"}, func() ([]byte, error) { return Route(unix.AF_UNSPEC, "all") })
}
func BenchmarkRule(b *testing.B) {
	benchPair(b, []string{"ip", "rule", "show"}, func() ([]byte, error) { return Rule(unix.AF_INET) })
}
func BenchmarkNeigh(b *testing.B)     { benchPair(b, []string{"ip", "neigh", "show"}, Neigh) }
func BenchmarkListeners(b *testing.B) { benchPair(b, []string{"ss", "-lntup"}, Listeners) }
