package intake

import (
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// TestElidedLines: a line a person put where they cut an output ("...",
// "(12 more lines)", "<snip>") is not read as output, and says that what
// the block shows is incomplete, with the command that shows it whole.
// The rules are `iptables -t mangle -S` of iptables 1.8.9 in a netns,
// cut by hand as a ticket would.
func TestElidedLines(t *testing.T) {
	rules := "-P PREROUTING ACCEPT\n-P INPUT ACCEPT\n%s\n" +
		"-A PREROUTING -d 192.0.2.101/32 -p tcp -m tcp --dport 8080 -j MARK --set-xmark 0x3/0xffffffff\n"
	for _, cut := range []string{"...", "…", "[...]", "<snip>", "(12 more lines)", "... (3 more rules) ...", "--More--"} {
		c := &evidence.Case{}
		h := c.Host("lb1")
		doc := evidence.Doc{Host: "lb1", Source: "paste.txt", Start: 2, Command: "iptables -t mangle -S", Text: strings.Replace(rules, "%s", cut, 1)}
		dispatch(c, h, doc, "", false)
		if len(c.Problems) > 0 {
			t.Errorf("%q: problems %v", cut, c.Problems)
		}
		hd := h.HiddenOf(evidence.KindFirewall)
		if len(hd) != 1 || hd[0].Command != "iptables -t mangle -S" || hd[0].Ref.Line != 4 || hd[0].Ref.Text != cut {
			t.Errorf("%q: hidden %+v", cut, hd)
		}
		if len(h.Firewall.Rules) != 1 {
			t.Errorf("%q: %d rules", cut, len(h.Firewall.Rules))
		}
	}
	// Dots inside a line are output, not a cut.
	c := &evidence.Case{}
	h := c.Host("lb1")
	dispatch(c, h, evidence.Doc{Host: "lb1", Source: "paste.txt", Start: 1, Command: "iptables -S",
		Text: "-P INPUT ACCEPT\n-A INPUT -m comment --comment \"wait...\" -j ACCEPT\n"}, "", false)
	if len(h.Hidden) > 0 || len(c.Problems) > 0 {
		t.Errorf("hidden %+v, problems %v", h.Hidden, c.Problems)
	}
}
