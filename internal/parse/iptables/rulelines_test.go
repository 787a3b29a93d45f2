package iptables_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/formattest"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/iptables"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/parsetest"
)

// signature is what a rule means, without where it was printed.
func signature(r evidence.FirewallRule) string {
	return fmt.Sprintf("%s %s %s/%s#%d proto=%s src=%v dst=%v in=%s out=%s dports=%v ct=%v mark=%s sets=%v extra=%q -> %s %s",
		r.Tool, r.Family, r.Table, r.Chain, r.Num, r.Proto, r.Src, r.Dst, r.InIface, r.OutIface, r.DPorts, r.CtState, r.Mark, r.Sets, r.Extra, r.Verdict, r.Target)
}

func signatures(t *testing.T, name, cmd, table string) []string {
	t.Helper()
	doc := parsetest.Fixture(t, "ds1", name, cmd)
	rs, probs := iptables.ParseSave(doc)
	if len(probs) > 0 {
		t.Fatalf("%s: %v", name, probs)
	}
	var out []string
	for _, r := range rs.Rules {
		parsetest.CheckRef(t, doc, r.Ref)
		if table == "" || r.Table == table {
			out = append(out, signature(r))
		}
	}
	slices.Sort(out)
	return out
}

// TestListRulesLikeSave: `iptables -S` (and -S -v, with counters) of the
// director's rules reads as the same rules as iptables-save of them.
func TestListRulesLikeSave(t *testing.T) {
	for _, c := range []struct{ file, cmd, table string }{
		{"nft-S-filter.txt", "iptables -S", "filter"},
		{"nft-S-raw.txt", "iptables -t raw -S", "raw"},
		{"nft-S-v-nat.txt", "iptables -t nat -S -v", "nat"},
	} {
		got := signatures(t, c.file, c.cmd, c.table)
		want := signatures(t, "nft-save.txt", "iptables-save", c.table)
		if len(got) == 0 || !slices.Equal(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", c.file, got, want)
		}
	}
}

// TestLoneRuleLine: `iptables -S INPUT 3` prints one rule; pasted alone it
// is still a rule of the chain it names (its position is not known).
func TestLoneRuleLine(t *testing.T) {
	for _, c := range []struct{ file, cmd, want string }{
		{"nft-S-INPUT-3.txt", "iptables -S INPUT 3", "iptables ip filter/INPUT#1 proto= src={[] false} dst={[] false} in= out= dports=[] ct=[INVALID] mark= sets=[] extra=[] -> DROP "},
		{"nft-S-raw-PREROUTING-1.txt", "iptables -t raw -S PREROUTING 1", "iptables ip raw/PREROUTING#1 proto= src={[] false} dst={[192.0.2.100/32] false} in= out= dports=[] ct=[] mark= sets=[] extra=[] -> DROP "},
		// the same line, without the command that printed it: filter, as iptables defaults to
		{"nft-S-raw-PREROUTING-1.txt", "", "iptables ip filter/PREROUTING#1 proto= src={[] false} dst={[192.0.2.100/32] false} in= out= dports=[] ct=[] mark= sets=[] extra=[] -> DROP "},
	} {
		got := signatures(t, c.file, c.cmd, "")
		if len(got) != 1 || got[0] != c.want {
			t.Errorf("%s (%q): %q", c.file, c.cmd, got)
		}
	}
}

// TestAddCommands: iptables commands as a paste or a script shows them
// (-t, -A, -I with and without a position, -N, ip6tables) read as the rules
// real iptables holds after running them (commands-result-save*.txt).
func TestAddCommands(t *testing.T) {
	got := signatures(t, "commands-added.txt", "", "")
	want := append(signatures(t, "commands-result-save.txt", "iptables-save", ""), signatures(t, "commands-result-save6.txt", "ip6tables-save", "")...)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("commands:\n got %q\nwant %q", got, want)
	}
	doc := parsetest.Fixture(t, "ds1", "commands-added.txt", "")
	rs, _ := iptables.ParseSave(doc)
	for _, r := range rs.Rules {
		if !strings.HasPrefix(r.Ref.Text, "ip") {
			t.Errorf("rule cites %q, not its command", r.Ref.Text)
		}
	}
}

// TestAddCommandAtPrompt: `iptables -A ...` typed at a prompt prints
// nothing; the command itself is the rule, cited on its own line.
func TestAddCommandAtPrompt(t *testing.T) {
	apply := parsetest.Format(t, iptables.Formats(), "iptables").Apply
	h := evidence.NewHost("ds1")
	cmd := "iptables -t raw -I PREROUTING -d 192.0.2.100/32 -j DROP"
	if probs := apply(evidence.Doc{Host: "ds1", Source: "ds1/paste.txt", Start: 8, Command: cmd, Text: ""}, h); len(probs) > 0 {
		t.Fatal(probs)
	}
	if len(h.Firewall.Rules) != 1 {
		t.Fatalf("rules %+v", h.Firewall.Rules)
	}
	r := h.Firewall.Rules[0]
	if r.Table != "raw" || r.Chain != "PREROUTING" || r.Verdict != "DROP" || r.Dst.Prefixes[0].String() != "192.0.2.100/32" ||
		r.Ref.Line != 7 || r.Ref.Text != cmd || r.Counters {
		t.Errorf("%+v", r)
	}
	// an error instead of silence: the rule was not added
	h = evidence.NewHost("ds1")
	probs := apply(evidence.Doc{Host: "ds1", Source: "ds1/paste.txt", Start: 8, Command: cmd, Text: "iptables: No chain/target/match by that name.\n"}, h)
	if len(probs) != 1 || len(h.Firewall.Rules) != 0 {
		t.Errorf("failed command: %v %+v", probs, h.Firewall.Rules)
	}
}

func TestDetectRuleLines(t *testing.T) {
	formattest.Detect(t, []formattest.Case{
		{Command: "iptables -S", Text: fixture(t, "nft-S-filter.txt"), Want: "iptables", Label: "nft-S-filter.txt"},
		{Command: "iptables -S INPUT 3", Text: fixture(t, "nft-S-INPUT-3.txt"), Want: "iptables", Label: "nft-S-INPUT-3.txt"},
		{Command: "iptables -t raw -A PREROUTING -d 192.0.2.100 -j DROP", Text: "", Want: "iptables", Label: "add command"},
		// by content, without a command
		{Base: "fw.txt", Text: fixture(t, "nft-S-filter.txt"), Want: "iptables", Label: "nft-S-filter.txt"},
		{Base: "fw.txt", Text: fixture(t, "nft-S-v-nat.txt"), Want: "iptables", Label: "nft-S-v-nat.txt"},
		{Base: "fw.txt", Text: fixture(t, "nft-S-INPUT-3.txt"), Want: "iptables", Label: "nft-S-INPUT-3.txt"},
		{Base: "fw.txt", Text: fixture(t, "commands-added.txt"), Want: "iptables", Label: "commands-added.txt"},
	})
	// ebtables rules look alike; they are not iptables'
	for _, text := range []string{
		"-A FORWARD -p IPv4 --ip-dst 192.0.2.100 -j DROP\n",
		"-A INPUT -s 52:54:00:12:34:56 -j DROP\n",
		"ebtables -A FORWARD -p ARP --arp-ip-dst 192.0.2.100 -j DROP\n",
	} {
		for _, f := range iptables.Formats() {
			if f.Sniff(text) {
				t.Errorf("%q sniffed as %s", text, f.Name)
			}
		}
	}
}
