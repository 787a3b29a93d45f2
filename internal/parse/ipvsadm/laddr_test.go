package ipvsadm

import (
	"fmt"
	"slices"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/parsetest"
)

// TestParseLocalAddrs: `ipvsadm -G` of Alibaba's LVS (printed with the
// source's own formats, testdata/README.md): each service with its local
// addresses' port conflicts and connections, each cited by its line.
func TestParseLocalAddrs(t *testing.T) {
	doc := parsetest.Fixture(t, "h", "hand/alibaba-G.txt", "ipvsadm -G")
	groups, probs := ParseLocalAddrs(doc)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	var got []string
	for _, g := range groups {
		parsetest.CheckRef(t, doc, g.Ref)
		line := fmt.Sprintf("%s total %d:", g.VIP, g.Total)
		for _, a := range g.Addrs {
			parsetest.CheckRef(t, doc, a.Ref)
			line += fmt.Sprintf(" %s %d/%d", a.Addr, a.Conflicts, a.Conns)
		}
		got = append(got, line)
	}
	want := []string{"10.72.8.50:7443 total 2: 10.72.9.21 1201/3 10.72.9.22 1187/2",
		"10.72.8.50:8443 total 2: 10.72.9.21 48211/1 10.72.9.22 47765/0"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	// Detected by its title without the command, and never taken for
	// the table listing.
	if f := LocalAddrFormat(); !f.Sniff(doc.Text) || f.Sniff("IP Virtual Server version 1.2.1 (size=4096)\n") {
		t.Error("sniff")
	}
	h := evidence.NewHost("h")
	if probs := LocalAddrFormat().Apply(doc, h); len(probs) > 0 || h.IPVS == nil || len(h.IPVS.LocalAddrs) != 2 || len(h.IPVS.Services) != 0 {
		t.Errorf("apply: %v %+v", probs, h.IPVS)
	}
}
