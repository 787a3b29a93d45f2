package droptrace

import (
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/parsetest"
)

// testdata/prototype-scenarios.txt is the real output of the droptrace
// prototype (shared/reference/droptrace/tests/scenarios.sh) on this
// machine's kernel: seven namespace scenarios, each a real drop.
func TestParseWatchPrototypeScenarios(t *testing.T) {
	doc := parsetest.Fixture(t, "lb", "prototype-scenarios.txt", "")
	r, probs := ParseWatch(doc)
	if len(probs) > 0 {
		t.Errorf("problems: %v", probs)
	}
	type want struct {
		reason, at, netns, dev, proto, src, dst string
		sport, dport                            uint16
		flags                                   string
		attributed                              bool
	}
	got := map[string]want{}
	for _, d := range r.Drops {
		w := want{d.Reason, d.Location, d.Netns, d.Dev, d.Proto, d.Src.String(), d.Dst.String(), d.SPort, d.DPort, d.Flags, len(d.Attribution) > 0}
		if _, ok := got[d.Reason+d.Proto]; !ok {
			got[d.Reason+d.Proto] = w
		}
	}
	for key, w := range map[string]want{
		"IP_RPFILTERicmp":   {"IP_RPFILTER", "ip_rcv_finish_core+0x25b", "dt-lb", "lb0", "icmp", "198.18.0.5", "203.0.113.10", 0, 0, "", true},
		"NETFILTER_DROPtcp": {"NETFILTER_DROP", "nft_do_chain+0x3e8", "dt-lb", "lb0", "tcp", "192.0.2.1", "203.0.113.10", 45540, 8080, "S", true},
		"NETFILTER_DROPudp": {"NETFILTER_DROP", "nft_do_chain+0x3e8", "dt-lb", "lb0", "udp", "192.0.2.1", "203.0.113.10", 59058, 9090, "", false},
		"NO_SOCKETtcp":      {"NO_SOCKET", "tcp_v4_rcv+0x91", "dt-lb", "lb0", "tcp", "192.0.2.1", "203.0.113.10", 46746, 81, "S", false},
		"NO_SOCKETudp":      {"NO_SOCKET", "__udp4_lib_rcv+0x4bc", "dt-lb", "lb0", "udp", "192.0.2.1", "203.0.113.10", 58085, 5353, "", false},
		"OTHERHOSTicmp":     {"OTHERHOST", "ip_rcv_core+0x22c", "dt-lb", "lb0", "icmp", "192.0.2.1", "203.0.113.10", 0, 0, "", false},
		"IP_NOPROTOipip":    {"IP_NOPROTO", "ip_local_deliver_finish+0x81", "dt-lb", "lb0", "ipip", "192.0.2.1", "192.0.2.2", 0, 0, "", false},
	} {
		if got[key] != w {
			t.Errorf("%s: got %+v\nwant %+v", key, got[key], w)
		}
	}
	for _, d := range r.Drops {
		if d.Proto == "ipip" && (d.Inner == nil || d.Inner.Dst.String() != "203.0.113.10" || d.Inner.DPort != 80 || d.Inner.Flags != "S") {
			t.Errorf("IPIP inner %+v", d.Inner)
		}
		if d.Reason == "IP_RPFILTER" && len(d.Attribution) > 0 && !strings.Contains(d.Attribution[0].Text, "203.0.113.10 -> 198.18.0.5") {
			t.Errorf("rp_filter attributed to %q, want the reverse lookup", d.Attribution[0].Text)
		}
		if d.Reason == "NETFILTER_DROP" && d.Proto == "tcp" && !strings.Contains(d.Attribution[0].Text, `comment="block VIP:8080"`) {
			t.Errorf("nft drop attributed to %q", d.Attribution[0].Text)
		}
	}
	if len(r.Drops) != 11 || len(r.Stats) != 8 {
		t.Errorf("%d drops, %d stats lines; want 11, 8", len(r.Drops), len(r.Stats))
	}
	if s := r.Stats[0]; s.Events != 8 || s.Calls != 24 || s.Matched != 8 || s.Lost != 0 || s.Ref.Line == 0 {
		t.Errorf("first stats %+v", s)
	}
}

func TestParseWatchBadLines(t *testing.T) {
	doc := evidence.Doc{Source: "h/watch.txt", Start: 1, Text: "10:00:00.1 kfree_skb reason=NO_SOCKET(3) at=x netns=a:1 dev=e/1 tcp nonsense\n" +
		"10:00:00.2 kfree_skb garbage\n" +
		"10:00:00.3 kfree_skb reason=NO_SOCKET(3) at=tcp_v4_rcv+0x91 netns=4026532178 dev=eth0/2 tcp 192.0.2.1:1 > 192.0.2.100:80 flags=S len=40\n" +
		"lvsdoctor watch: 1 events; bpf: calls=9 matched=1 lost=3\n"}
	r, probs := ParseWatch(doc)
	if len(probs) != 2 || probs[0].Line != 1 || probs[1].Line != 2 {
		t.Errorf("problems %v", probs)
	}
	if len(r.Drops) != 1 || r.Drops[0].Netns != "4026532178" || r.Drops[0].Ref.Line != 3 {
		t.Errorf("drops %+v", r.Drops)
	}
	if len(r.Stats) != 1 || r.Stats[0].Lost != 3 {
		t.Errorf("stats %+v", r.Stats)
	}
}

func FuzzParseWatch(f *testing.F) {
	parsetest.Seed(f)
	f.Fuzz(func(t *testing.T, text string) {
		doc := evidence.Doc{Source: "f", Start: 1, Text: text}
		r, probs := ParseWatch(doc)
		n := len(doc.Lines())
		for _, d := range r.Drops {
			if d.Ref.Line < 1 || d.Ref.Line > n || d.Reason == "" {
				t.Fatalf("drop %+v of %d lines", d, n)
			}
		}
		for _, p := range probs {
			if p.Line < 1 || p.Line > n {
				t.Fatalf("problem line %d of %d", p.Line, n)
			}
		}
	})
}
