package rules

import (
	"net/netip"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// subjectAddr reads the address of a log subject ("10.0.0.1:80",
// "[2001:db8::1]:80", "10.0.0.1").
func subjectAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return a.Unmap()
	}
	return netip.Addr{}
}

// deadEvidence returns lines saying the real server rip failed its
// health check on d (log lines, or inhibit_on_failure having zeroed it).
func deadEvidence(d *evidence.Host, rip netip.Addr) []evidence.Ref {
	var out []evidence.Ref
	for _, l := range d.Logs {
		if (l.Kind == evidence.LogCheckFailed || l.Kind == evidence.LogRSRemoved) && subjectAddr(l.Subject) == rip {
			out = append(out, l.Ref)
			if len(out) == 3 {
				break
			}
		}
	}
	return out
}
