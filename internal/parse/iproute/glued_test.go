package iproute

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// gluedSeeds are the fixtures' lines and lines with glued keywords.
func gluedSeeds(t testing.TB) []string {
	out := []string{
		"    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00 qlen 1000inet 127.0.0.1/8 scope host lovalid_lft forever",
		"inet 10.0.0.2/8", "x\vinet 1", "é inet6 ::1/128", "éinet6 ::1/128", "\xffvalid_lft forever", "altname enp0s3altname eth9",
		"qlen 1000link/ether", "\tlink/ether", "", "inet", "xinet",
	}
	files, _ := filepath.Glob("testdata/*.txt")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.Split(string(b), "\n")...)
	}
	return out
}

// mayBeGlued must say true wherever gluedRe matches.
func checkGlued(t *testing.T, s string) {
	if !mayBeGlued(s) && gluedRe.MatchString(s) {
		t.Fatalf("mayBeGlued(%q) = false, gluedRe matches", s)
	}
}

func TestMayBeGlued(t *testing.T) {
	for _, s := range gluedSeeds(t) {
		checkGlued(t, s)
	}
	if mayBeGlued("    inet 10.0.0.2/8 brd 10.255.255.255 scope global eth0") {
		t.Errorf("an ordinary inet line screened in")
	}
}

func FuzzMayBeGlued(f *testing.F) {
	for _, s := range gluedSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(checkGlued)
}
