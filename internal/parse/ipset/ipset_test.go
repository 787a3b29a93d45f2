package ipset_test

import (
	"net/netip"
	"regexp"
	"slices"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
	"github.com/lvsdoctor/lvsdoctor/internal/fwsim"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/formattest"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/ipset"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/iptables"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/parsetest"
)

func parse(t *testing.T, name, cmd string) map[string]evidence.IPSet {
	t.Helper()
	doc := parsetest.Fixture(t, "ds1", name, cmd)
	sets, probs := ipset.Parse(doc)
	if len(probs) > 0 {
		t.Fatalf("%s: %v", name, probs)
	}
	out := map[string]evidence.IPSet{}
	for _, s := range sets {
		parsetest.CheckRef(t, doc, s.Ref)
		for _, m := range s.Members {
			parsetest.CheckRef(t, doc, m.Ref)
		}
		out[s.Name] = s
	}
	return out
}

func members(s evidence.IPSet) []string {
	var out []string
	for _, m := range s.Members {
		t := m.Text
		if m.Nomatch {
			t += " nomatch"
		}
		out = append(out, t)
	}
	return out
}

// TestListAndSave: `ipset list` and `ipset save` of the same sets read the
// same (fixtures from ipset 7.17, see testdata/README.md).
func TestListAndSave(t *testing.T) {
	want := map[string]struct {
		typ, family string
		members     []string
	}{
		"keepalived":         {"hash:ip", "inet", []string{"192.0.2.100", "192.0.2.101"}},
		"keepalived_if6":     {"hash:net,iface", "inet6", []string{"fe80::/64,eth0"}},
		"KUBE-CLUSTER-IP":    {"hash:ip,port", "inet", []string{"10.96.0.1,tcp:443", "10.96.0.10,udp:53"}},
		"KUBE-LOAD-BALANCER": {"hash:ip,port", "inet", nil},
		"blocklist":          {"hash:net", "inet", []string{"198.51.100.7 nomatch", "198.51.100.0/25", "203.0.113.0/24"}},
		"ports":              {"bitmap:port", "", []string{"80", "443"}},
		"lan":                {"bitmap:ip", "", []string{"192.0.2.10", "192.0.2.11", "192.0.2.12"}},
		"KUBE-LOOP-BACK":     {"hash:ip,port,ip", "inet", []string{"10.244.1.5,tcp:8080,10.244.1.5"}},
		"allsets":            {"list:set", "", []string{"keepalived"}},
	}
	for _, f := range []struct{ name, cmd string }{{"ipset-list.txt", "ipset list"}, {"ipset-save.txt", "ipset save"}} {
		sets := parse(t, f.name, f.cmd)
		if len(sets) != len(want) {
			t.Errorf("%s: %d sets, want %d", f.name, len(sets), len(want))
		}
		for name, w := range want {
			s := sets[name]
			if s.Type != w.typ || s.Family != w.family || !s.MembersShown || !slices.Equal(members(s), w.members) {
				t.Errorf("%s: %s = %s %s shown=%v %v, want %s %s %v", f.name, name, s.Type, s.Family, s.MembersShown, members(s), w.typ, w.family, w.members)
			}
		}
	}
}

// TestTerse: `ipset list -t` and `ipset list -n` name the sets but not
// their members, which stay unknown (never empty).
func TestTerse(t *testing.T) {
	for _, f := range []struct{ name, cmd string }{{"ipset-list-t.txt", "ipset list -t"}, {"ipset-L-n.txt", "ipset -L -n"}} {
		sets := parse(t, f.name, f.cmd)
		if len(sets) != 9 {
			t.Errorf("%s: %d sets", f.name, len(sets))
		}
		if s := sets["keepalived"]; s.MembersShown || len(s.Members) > 0 {
			t.Errorf("%s: keepalived %+v", f.name, s)
		}
	}
	one := parse(t, "ipset-list-keepalived.txt", "ipset list keepalived")
	if s := one["keepalived"]; len(one) != 1 || !slices.Equal(members(s), []string{"192.0.2.100", "192.0.2.101"}) {
		t.Errorf("ipset list keepalived: %v", one)
	}
}

func TestDetect(t *testing.T) {
	text := func(name string) string { return parsetest.Fixture(t, "h", name, "").Text }
	formattest.Detect(t, []formattest.Case{
		{Command: "ipset list", Text: text("ipset-list.txt"), Want: "ipset", Label: "ipset-list.txt"},
		{Command: "ipset -L -n", Text: text("ipset-L-n.txt"), Want: "ipset", Label: "ipset-L-n.txt"},
		{Command: "/usr/sbin/ipset save", Text: text("ipset-save.txt"), Want: "ipset", Label: "ipset-save.txt"},
		{Command: "ipset list -t", Text: text("ipset-list-t.txt"), Want: "ipset", Label: "ipset-list-t.txt"},
		{Base: "ipset.txt", Text: text("ipset-list-keepalived.txt"), Want: "ipset", Label: "ipset-list-keepalived.txt"},
		{Base: "ipsets.conf", Text: text("ipset-save.txt"), Want: "ipset", Label: "ipset-save.txt"},
		// by content
		{Base: "fw.txt", Text: text("ipset-list.txt"), Want: "ipset", Label: "ipset-list.txt"},
		{Base: "fw.txt", Text: text("ipset-list-t.txt"), Want: "ipset", Label: "ipset-list-t.txt"},
		{Base: "fw.txt", Text: text("ipset-save.txt"), Want: "ipset", Label: "ipset-save.txt"},
		// the rules that use the sets stay iptables
		{Base: "fw.txt", Text: text("iptables-save-match-set.txt"), Want: "iptables", Label: "iptables-save-match-set.txt"},
		{Command: "iptables -S", Text: text("iptables-S-match-set.txt"), Want: "iptables", Label: "iptables-S-match-set.txt"},
	})
	formattest.NoFalseSniff(t, ipset.Formats(), formattest.OtherOutputs)
	formattest.NoFalseSniff(t, ipset.Formats(), []string{text("iptables-save-match-set.txt"), text("iptables-L-nv-match-set.txt")})
}

// host reads the iptables fixture cmd/name and, when given, an ipset
// fixture into one host through the formats' Apply, as intake does.
func host(t *testing.T, rulesFile, rulesCmd, setsFile, setsCmd string) *evidence.Host {
	t.Helper()
	h := evidence.NewHost("ds1")
	doc := parsetest.Fixture(t, "ds1", rulesFile, rulesCmd)
	if probs := parsetest.Format(t, iptables.Formats(), "iptables").Apply(doc, h); len(probs) > 0 {
		t.Fatal(probs)
	}
	if setsFile != "" {
		doc := parsetest.Fixture(t, "ds1", setsFile, setsCmd)
		if probs := parsetest.Format(t, ipset.Formats(), "ipset").Apply(doc, h); len(probs) > 0 {
			t.Fatal(probs)
		}
		if !h.Has(evidence.KindIPSets) {
			t.Fatal("ipsets not marked seen")
		}
	}
	return h
}

func pkt(src, dst string, port uint16) evidence.Packet {
	return evidence.Packet{Proto: "tcp", Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), DPort: port, CtState: "NEW"}
}

// TestMatchSetResolved: the rules that real iptables printed with -m set,
// walked with the sets' members known: a DROP whose set holds the VIP
// drops the VIP, for certain; the same rules do not touch other addresses.
func TestMatchSetResolved(t *testing.T) {
	rules := []struct{ file, cmd string }{
		{"iptables-save-match-set.txt", "iptables-save"},
		{"iptables-S-match-set.txt", "iptables -S"},
		{"iptables-L-nv-match-set.txt", "iptables -L -n -v"},
	}
	sets := []struct{ file, cmd string }{{"ipset-list.txt", "ipset list"}, {"ipset-save.txt", "ipset save"}}
	for _, r := range rules {
		for _, s := range sets {
			h := host(t, r.file, r.cmd, s.file, s.cmd)
			label := r.file + "+" + s.file
			// the VIP is in set keepalived: keepalived_in drops it
			v := fwsim.Walk(&h.Firewall, pkt("203.0.113.50", "192.0.2.100", 80), "prerouting", "input")
			if !v.Dropped || !v.Sure || v.Rule == nil || v.Rule.Chain != "keepalived_in" || len(v.UnknownSets) > 0 {
				t.Errorf("%s: VIP: %+v", label, v)
			}
			// a cluster IP: not in keepalived, in KUBE-CLUSTER-IP (so the
			// negated ACCEPT does not match); its source is in blocklist
			v = fwsim.Walk(&h.Firewall, pkt("203.0.113.50", "10.96.0.1", 443), "prerouting", "input")
			if !v.Dropped || !v.Sure || v.Rule == nil || v.Rule.Verdict != "REJECT" {
				t.Errorf("%s: blocklisted source: %+v", label, v)
			}
			// 198.51.100.7 is a nomatch exception of blocklist's /25: port
			// 443 is in bitmap:port ports, accepted
			v = fwsim.Walk(&h.Firewall, pkt("198.51.100.7", "10.96.0.1", 443), "prerouting", "input")
			if v.Dropped || !v.Sure {
				t.Errorf("%s: nomatch exception: %+v", label, v)
			}
			v = fwsim.Walk(&h.Firewall, pkt("198.51.100.8", "10.96.0.1", 443), "prerouting", "input")
			if !v.Dropped || v.Rule == nil || v.Rule.Verdict != "REJECT" {
				t.Errorf("%s: blocklisted /25: %+v", label, v)
			}
			// not a cluster IP:port: the negated match accepts before any drop
			v = fwsim.Walk(&h.Firewall, pkt("203.0.113.50", "192.0.2.50", 80), "prerouting", "input")
			if v.Dropped || !v.Sure {
				t.Errorf("%s: other address: %+v", label, v)
			}
		}
	}
}

// TestMatchSetUnknown: without ipset output, or with a listing that hides
// the members, a drop through a set is neither assumed nor ruled out, and
// the walk names the set.
func TestMatchSetUnknown(t *testing.T) {
	for _, s := range []struct{ file, cmd string }{{"", ""}, {"ipset-list-t.txt", "ipset list -t"}} {
		h := host(t, "iptables-save-match-set.txt", "iptables-save", s.file, s.cmd)
		v := fwsim.Walk(&h.Firewall, pkt("203.0.113.50", "192.0.2.100", 80), "prerouting", "input")
		if v.Dropped && v.Sure {
			t.Errorf("%q: a drop through an unknown set taken as sure: %+v", s.file, v)
		}
		var names []string
		for _, u := range v.UnknownSets {
			names = append(names, u.Set)
		}
		if !slices.Contains(names, "keepalived") {
			t.Errorf("%q: unknown sets %v", s.file, names)
		}
		possible := false
		for _, r := range v.Possible {
			possible = possible || r.Chain == "keepalived_in"
		}
		if !possible {
			t.Errorf("%q: keepalived_in's drop not among the possible: %+v", s.file, v)
		}
	}
}

func FuzzParse(f *testing.F) {
	parsetest.Seed(f)
	f.Fuzz(func(t *testing.T, text string) {
		for _, cmd := range []string{"ipset list", "ipset list -n"} {
			sets, _ := ipset.Parse(evidence.Doc{Host: "h", Source: "h/x", Start: 1, Command: cmd, Text: text})
			for _, s := range sets {
				if len(s.Members) > 0 && !s.MembersShown {
					t.Fatalf("members of a set not shown: %+v", s)
				}
			}
		}
	})
}

// An ipset command's own error that the message table ties to a cause is
// evidence on its host (field case kubernetes-65461): the ipset that
// cannot create kube-proxy's sets with comments.
func TestCommandErrors(t *testing.T) {
	var f format.Format
	for _, x := range ipset.Formats() {
		if x.Name == "ipset-command" {
			f = x
		}
	}
	cmd := "ipset create foo hash:ip comment"
	if f.Apply == nil || !slices.ContainsFunc(f.Commands, func(re *regexp.Regexp) bool { return re.MatchString(cmd) }) {
		t.Fatalf("no format for %q", cmd)
	}
	doc := evidence.Doc{Host: "n", Source: "paste.txt", Start: 4, Command: cmd,
		Text: "ipset v6.29: Unknown argument: `comment'\nTry `ipset help' for more information.\n"}
	h := evidence.NewHost("n")
	f.Apply(doc, h)
	if len(h.Logs) != 1 || h.Logs[0].Message != "ipset.create.unknown-argument-comment" || h.Logs[0].Ref.Line != 4 {
		t.Errorf("logs %+v", h.Logs)
	}
	if !f.ErrorIsEvidence(doc) {
		t.Error("the error is evidence")
	}
	h = evidence.NewHost("n")
	f.Apply(evidence.Doc{Host: "n", Source: "paste.txt", Start: 1, Command: "ipset --version", Text: "ipset v7.10, protocol version: 7\n"}, h)
	if len(h.Logs) != 0 {
		t.Errorf("a version is no error: %+v", h.Logs)
	}
}
