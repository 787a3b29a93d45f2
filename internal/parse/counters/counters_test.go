package counters

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/parsetest"
)

func load(t testing.TB, name, command string) evidence.Doc {
	t.Helper()
	return parsetest.Fixture(t, "h", name, command)
}

type parser func(evidence.Doc) ([]evidence.Counter, []evidence.Problem)

func TestParsers(t *testing.T) {
	tests := []struct {
		name, file, cmd string
		parse           parser
		min             int              // at least this many counters
		want            map[string]int64 // name → value
		line            map[string]int   // name → source line
	}{
		{"nstat -az", "nstat-az.txt", "nstat -az", ParseNstat, 390, map[string]int64{
			"Ip.InReceives": 4, "Ip.OutRequests": 15, "TcpExt.IPReversePathFilter": 0, "IpExt.InOctets": 336, "Icmp.InMsgs": 4},
			map[string]int{"Ip.InReceives": 2}},
		{"nstat", "nstat.txt", "nstat", ParseNstat, 17, map[string]int64{"IcmpMsg.InType8": 1, "IpExt.InOctets": 168}, nil},
		{"snmp6", "proc-net-snmp6.txt", "cat /proc/net/snmp6", ParseNstat, 20, map[string]int64{"Ip6.InReceives": 1}, nil},
		{"/proc/net/snmp", "proc-net-snmp.txt", "cat /proc/net/snmp", ParseProcNet, 80, map[string]int64{
			"Ip.Forwarding": 2, "Tcp.MaxConn": -1, "Udp.InErrors": 0}, map[string]int{"Ip.Forwarding": 2}},
		{"/proc/net/netstat", "proc-net-netstat.txt", "cat /proc/net/netstat", ParseProcNet, 150, map[string]int64{
			"TcpExt.IPReversePathFilter": 0, "TcpExt.PAWSEstab": 0, "IpExt.InOctets": 504}, nil},
		{"netstat -s", "netstat-s.txt", "netstat -s", ParseNetstatS, 30, map[string]int64{
			"Ip.Forwarding": 2, "Ip.InReceives": 2519, "Tcp.ActiveOpens": 20, "Tcp.OutRsts": 2, "TcpExt.TW": 18,
			"TcpExt.TCPTimeouts": 2, "TcpExt.TCPAbortOnData": 1, "IpExt.InOctets": 118285748, "Icmp.InDestUnreachs": 1,
			"IcmpMsg.InType3": 1, "Udp.InDatagrams": 31}, map[string]int{"Ip.InReceives": 3}},
		{"netstat -s centos7", "netstat-s-centos7.txt", "netstat -s", ParseNetstatS, 40, map[string]int64{
			"TcpExt.PAWSEstab": 1873, "TcpExt.IPReversePathFilter": 57, "TcpExt.ListenOverflows": 9, "TcpExt.ListenDrops": 9,
			"Tcp.OutSegs": 188000, "Tcp.RetransSegs": 311, "Tcp.ActiveOpens": 402, "Udp.NoPorts": 12, "Icmp.OutDestUnreachs": 39,
			"Icmp.InErrors": 0, "Tcp.InErrs": 0, "TcpExt.DelayedACKLost": 410}, nil},
		{"ethtool", "ethtool-S-veth0.txt", "ethtool -S veth0", ParseEthtool, 10, map[string]int64{
			"ethtool.veth0.peer_ifindex": 2, "ethtool.veth0.rx_queue_0_drops": 0}, map[string]int{"ethtool.veth0.peer_ifindex": 2}},
		{"ethtool e1000 by file name", "ethtool-S-e1000.txt", "", ParseEthtool, 46, map[string]int64{"ethtool.e1000.rx_missed_errors": 7}, nil},
		{"ethtool e1000", "ethtool-S-e1000.txt", "ethtool -S ens33 | grep -i miss", ParseEthtool, 46, map[string]int64{"ethtool.ens33.rx_missed_errors": 7}, nil},
		{"conntrack -S", "conntrack-S.txt", "conntrack -S", ParseConntrackStats, 10, map[string]int64{
			"conntrack.drop": 0, "conntrack.invalid": 0, "conntrack.chaintoolong": 0}, map[string]int{"conntrack.drop": 1}},
		{"conntrack -S old", "conntrack-S-centos7.txt", "conntrack -S", ParseConntrackStats, 13, map[string]int64{
			"conntrack.drop": 42, "conntrack.invalid": 600, "conntrack.insert_failed": 1, "conntrack.error": 2}, nil},
		{"/proc/net/stat/nf_conntrack", "proc-net-stat-nf_conntrack.txt", "cat /proc/net/stat/nf_conntrack", ParseConntrackStats, 17, map[string]int64{
			"conntrack.drop": 0, "conntrack.entries": 0}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := load(t, tc.file, tc.cmd)
			cs, probs := tc.parse(doc)
			if len(probs) != 0 {
				t.Errorf("problems: %v", probs)
			}
			if len(cs) < tc.min {
				t.Errorf("got %d counters, want ≥ %d", len(cs), tc.min)
			}
			m := map[string]evidence.Counter{}
			for _, c := range cs {
				m[c.Name] = c
				if c.Ref.Line < 1 || c.Ref.Source != doc.Source {
					t.Errorf("bad ref %+v", c)
				}
			}
			for k, v := range tc.want {
				c, ok := m[k]
				if !ok || c.Value != v {
					t.Errorf("%s = %d (present %v), want %d", k, c.Value, ok, v)
				}
			}
			for k, l := range tc.line {
				if m[k].Ref.Line != l {
					t.Errorf("%s cites line %d, want %d", k, m[k].Ref.Line, l)
				}
			}
		})
	}
}

// The seed's paste glued the output to the command line; the counters
// come back from the command line and cite the prompt line.
func TestEthtoolGlued(t *testing.T) {
	doc := evidence.Doc{Host: "h", Source: "t.txt", Start: 128, Command: "ethtool -S ens33 | grep errorrx_errors: 0tx_errors: 0rx_length_errors: 0rx_over_errors: 0rx_crc_errors: 3rx_frame_errors: 0rx_missed_errors: 0tx_aborted_errors: 0tx_carrier_errors: 0tx_fifo_errors: 0tx_heartbeat_errors: 0tx_window_errors: 0rx_long_length_errors: 0rx_short_length_errors: 0rx_align_errors: 0rx_csum_offload_errors: 0"}
	cs, probs := ParseEthtool(doc)
	if len(probs) != 0 || len(cs) != 16 {
		t.Fatalf("%d counters %v, problems %v", len(cs), cs, probs)
	}
	if cs[0].Name != "ethtool.ens33.rx_errors" || cs[4].Name != "ethtool.ens33.rx_crc_errors" || cs[4].Value != 3 || cs[4].Ref.Line != 127 {
		t.Errorf("%+v %+v", cs[0], cs[4])
	}
	doc.Command = "ethtool -S ens33 | grep droptx_dropped: 0dropped_smbus: 0"
	cs, _ = ParseEthtool(doc)
	if len(cs) != 2 || cs[0].Name != "ethtool.ens33.tx_dropped" || cs[1].Name != "ethtool.ens33.dropped_smbus" {
		t.Errorf("%+v", cs)
	}
}

func TestSplitName(t *testing.T) {
	for in, want := range map[string]string{
		"TcpExtIPReversePathFilter": "TcpExt.IPReversePathFilter", "IpExtInOctets": "IpExt.InOctets",
		"Ip6InReceives": "Ip6.InReceives", "IpInReceives": "Ip.InReceives", "IcmpMsgInType3": "IcmpMsg.InType3",
		"Icmp6InMsgs": "Icmp6.InMsgs", "UdpLiteInErrors": "UdpLite.InErrors", "TcpActiveOpens": "Tcp.ActiveOpens",
		"Udp6InDatagrams": "Udp6.InDatagrams", "MPTcpExtMPCapableSYNRX": "MPTcpExt.MPCapableSYNRX", "Weird": "Weird",
	} {
		if got := SplitName(in); got != want {
			t.Errorf("%s → %s, want %s", in, got, want)
		}
	}
}

func TestParseNumber(t *testing.T) {
	n, ref, p := ParseNumber(evidence.Doc{Source: "x", Start: 5, Text: "\n262144\n"})
	if n != 262144 || ref.Line != 6 || len(p) != 0 {
		t.Errorf("%d %+v %v", n, ref, p)
	}
	_, _, p = ParseNumber(evidence.Doc{Source: "x", Text: "cat: /proc/sys/net/netfilter/nf_conntrack_count: No such file or directory\n"})
	if len(p) != 1 {
		t.Errorf("%v", p)
	}
}

func fuzzSeeds(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.txt")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b), "")
	}
	f.Add("", "ethtool -S ens33 | grep errorrx_errors: 0tx_errors: 0")
}

func fuzzCheck(t *testing.T, doc evidence.Doc, cs []evidence.Counter, probs []evidence.Problem) {
	n := len(doc.Lines())
	for _, c := range cs {
		// Counters recovered from a glued command line cite the prompt line.
		if (c.Ref.Line < 1 || c.Ref.Line > n) && c.Ref.Line != 1 || c.Name == "" {
			t.Fatalf("bad counter %+v (lines %d)", c, n)
		}
	}
	for _, p := range probs {
		if p.Line < 1 || p.Line > n {
			t.Fatalf("bad problem %+v", p)
		}
	}
}

func FuzzParseCounters(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, text, cmd string) {
		doc := evidence.Doc{Source: "f", Text: text, Command: cmd}
		for _, p := range []parser{ParseNstat, ParseProcNet, ParseNetstatS, ParseEthtool, ParseConntrackStats} {
			cs, probs := p(doc)
			fuzzCheck(t, doc, cs, probs)
		}
		_, ref, probs := ParseNumber(doc)
		if ref.Line < 0 || ref.Line > len(doc.Lines()) || len(probs) > 1 {
			t.Fatalf("bad number %+v %v", ref, probs)
		}
	})
}
