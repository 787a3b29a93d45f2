package iproute_test

import (
	"slices"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/formattest"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/iproute"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/parsetest"
)

// hostOf reads fixtures through the formats' Apply, as intake does.
func hostOf(t *testing.T, blocks ...[3]string) *evidence.Host {
	t.Helper()
	h := evidence.NewHost("rs1")
	for _, b := range blocks {
		doc := parsetest.Fixture(t, "rs1", b[1], b[2])
		if probs := parsetest.Format(t, iproute.Formats(), b[0]).Apply(doc, h); len(probs) > 0 {
			t.Fatalf("%s: %v", b[1], probs)
		}
	}
	return h
}

func addrSet(h *evidence.Host) []string {
	var out []string
	for _, a := range h.Addrs {
		out = append(out, a.Iface+" "+a.Prefix.String())
	}
	slices.Sort(out)
	return out
}

func linkSet(h *evidence.Host) []string {
	var out []string
	for _, l := range h.Links {
		out = append(out, l.Name+" "+l.MAC+" "+l.State)
	}
	slices.Sort(out)
	return out
}

// TestBriefLikeFull: `ip -br addr` / `ip -br link` of a DR real server
// (the VIP on lo, real captures, also with `ip -c` colours) give the same
// addresses and links as `ip addr` / `ip link` of the same namespace.
func TestBriefLikeFull(t *testing.T) {
	full := hostOf(t, [3]string{"ip-addr", "ip-addr-rs.txt", "ip addr"})
	wantAddrs := addrSet(full)
	if !slices.Contains(wantAddrs, "lo 192.0.2.100/32") || len(wantAddrs) != 7 {
		t.Fatalf("ip addr: %v", wantAddrs)
	}
	for _, c := range [][3]string{
		{"ip-addr", "ip-br-a-rs.txt", "ip -br a"},
		{"ip-addr", "ip-c-br-a-rs.txt", "ip -c=always -br a"},
		{"ip-addr", "ip-br-a-rs.txt", ""},
		{"ip-addr", "ip-c-br-a-rs.txt", ""},
	} {
		h := hostOf(t, c)
		if got := addrSet(h); !slices.Equal(got, wantAddrs) {
			t.Errorf("%s (%q): %v, want %v", c[1], c[2], got, wantAddrs)
		}
		if !h.Has(evidence.KindAddrs) {
			t.Errorf("%s: addresses not marked seen", c[1])
		}
		for _, a := range h.Addrs {
			for _, r := range a.Ref.Text {
				if r == 0x1b {
					t.Errorf("%s: a colour escape kept in %q", c[1], a.Ref.Text)
				}
			}
		}
	}
	// -4: the IPv4 addresses only
	h := hostOf(t, [3]string{"ip-addr", "ip-br-4-a-rs.txt", "ip -br -4 a"})
	if got := addrSet(h); !slices.Equal(got, []string{"eth0 192.0.2.21/24", "lo 127.0.0.1/8", "lo 192.0.2.100/32"}) {
		t.Errorf("ip -br -4 a: %v", got)
	}

	fullLinks := linkSet(hostOf(t, [3]string{"ip-link", "ip-link-rs.txt", "ip link"}))
	for _, c := range [][3]string{
		{"ip-link", "ip-br-link-rs.txt", "ip -br link"},
		{"ip-link", "ip-c-br-link-rs.txt", "ip -br -c=always link"},
		{"ip-link", "ip-br-link-rs.txt", ""},
	} {
		h := hostOf(t, c)
		if got := linkSet(h); len(got) != 3 || !slices.Equal(got, fullLinks) {
			t.Errorf("%s (%q): %v, want %v", c[1], c[2], got, fullLinks)
		}
		if !h.Has(evidence.KindLinks) {
			t.Errorf("%s: links not marked seen", c[1])
		}
	}
}

func TestDetectBrief(t *testing.T) {
	text := func(name string) string { return parsetest.Fixture(t, "h", name, "").Text }
	formattest.Detect(t, []formattest.Case{
		{Command: "ip -br a", Text: text("ip-br-a-rs.txt"), Want: "ip-addr", Label: "ip-br-a-rs.txt"},
		{Command: "ip -br link", Text: text("ip-br-link-rs.txt"), Want: "ip-link", Label: "ip-br-link-rs.txt"},
		// by content, without the command
		{Base: "out.txt", Text: text("ip-br-a-rs.txt"), Want: "ip-addr", Label: "ip-br-a-rs.txt"},
		{Base: "out.txt", Text: text("ip-br-4-a-rs.txt"), Want: "ip-addr", Label: "ip-br-4-a-rs.txt"},
		{Base: "out.txt", Text: text("ip-br-a-show-lo.txt"), Want: "ip-addr", Label: "ip-br-a-show-lo.txt"},
		{Base: "out.txt", Text: text("ip-br-a.txt"), Want: "ip-addr", Label: "ip-br-a.txt"},
		{Base: "out.txt", Text: text("ip-c-br-a-rs.txt"), Want: "ip-addr", Label: "ip-c-br-a-rs.txt"},
		{Base: "out.txt", Text: text("ip-br-link-rs.txt"), Want: "ip-link", Label: "ip-br-link-rs.txt"},
		{Base: "out.txt", Text: text("ip-br-link.txt"), Want: "ip-link", Label: "ip-br-link.txt"},
		{Base: "out.txt", Text: text("ip-c-br-link-rs.txt"), Want: "ip-link", Label: "ip-c-br-link-rs.txt"},
	})
	formattest.NoFalseSniff(t, iproute.Formats()[2:], []string{text("ip-br-a-rs.txt"), text("ip-br-link-rs.txt")})
	// a word and a state are not enough
	for _, s := range []string{"eth0 UP\nlo UNKNOWN\n", "Status: UP 1 2\n"} {
		for _, f := range iproute.Formats() {
			if f.Sniff != nil && f.Sniff(s) {
				t.Errorf("%q sniffed as %s", s, f.Name)
			}
		}
	}
}
