package kernel

import (
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

func TestGrepWords(t *testing.T) {
	for cmd, want := range map[string]string{
		"lsmod | grep ip_vs":                       "ip_vs",
		"lsmod|grep -i IP_VS":                      "ip_vs",
		"lsmod | egrep 'ip_vs|nf_conntrack'":       "ip_vs nf_conntrack",
		"lsmod | grep -E \"ip_vs|br_netfilter\"":   "ip_vs br_netfilter",
		`lsmod | grep 'ip_vs\|nf_conntrack'`:       "ip_vs nf_conntrack",
		"lsmod | grep -v ip_vs":                    "",
		"lsmod | grep ip_vs | wc -l":               "",
		"lsmod | grep 'ip_vs.*'":                   "",
		"lsmod | grep -e ip_vs":                    "",
		"lsmod":                                    "",
		"lsmod | grep ip_vs /etc/modules-load.d/x": "",
	} {
		if got := strings.Join(grepWords(cmd), " "); got != want {
			t.Errorf("%q: got %q, want %q", cmd, got, want)
		}
	}
}

// `lsmod | grep ip_vs` that prints nothing (moby/moby#28168, the user's
// "# no output" under it) says ip_vs is not loaded; one that prints ip_vs's
// line, or a filter for something else, says nothing of the kind.
func TestLsmodFilterNotLoaded(t *testing.T) {
	apply := func(cmd, text string) *evidence.Host {
		h := evidence.NewHost("h")
		applyLsmod(evidence.Doc{Host: "h", Source: "paste.txt", Start: 1, Command: cmd, Text: text}, h)
		return h
	}
	h := apply("lsmod | grep ip_vs", "# no output\n")
	if r, ok := h.Kernel.NotLoaded["ip_vs"]; !ok || r.Source != "paste.txt" {
		t.Errorf("empty grep: NotLoaded %v", h.Kernel.NotLoaded)
	}
	if h.Has(evidence.KindModules) {
		t.Error("a filtered list is not the whole module list")
	}
	h = apply("lsmod | grep ip_vs", "ip_vs_rr               16384  1\nip_vs                 176128  3 ip_vs_rr\n")
	if len(h.Kernel.NotLoaded) != 0 {
		t.Errorf("ip_vs listed: NotLoaded %v", h.Kernel.NotLoaded)
	}
	h = apply("lsmod | grep -v ip_vs", "br_netfilter           32768  0\n")
	if len(h.Kernel.NotLoaded) != 0 {
		t.Errorf("inverted filter: NotLoaded %v", h.Kernel.NotLoaded)
	}
}
