package ipvsadm

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// fixtureCommands maps each fixture to the command that printed it.
var fixtureCommands = map[string]string{
	"lab/ipvsadm-Ln.txt":                   "ipvsadm -Ln",
	"lab/ipvsadm-L-n.txt":                  "ipvsadm -L -n",
	"lab/ipvsadm-L.txt":                    "ipvsadm -L",
	"lab/ipvsadm-Ln-stats.txt":             "ipvsadm -Ln --stats",
	"lab/ipvsadm-Ln-stats2.txt":            "ipvsadm -Ln --stats",
	"lab/ipvsadm-Ln-stats-exact.txt":       "ipvsadm -Ln --stats --exact",
	"lab/ipvsadm-Ln-rate.txt":              "ipvsadm -Ln --rate",
	"lab/ipvsadm-Ln-rate2.txt":             "ipvsadm -Ln --rate",
	"lab/ipvsadm-Ln-sort.txt":              "ipvsadm -Ln --sort",
	"lab/ipvsadm-Ln-exact.txt":             "ipvsadm -Ln --exact",
	"lab/ipvsadm-Ln-thresholds.txt":        "ipvsadm -Ln --thresholds",
	"lab/ipvsadm-Ln-persistent-conn.txt":   "ipvsadm -Ln --persistent-conn",
	"lab/ipvsadm-Ln-t.txt":                 "ipvsadm -Ln -t 192.0.2.100:80",
	"lab/ipvsadm-Ln-empty.txt":             "ipvsadm -Ln",
	"lab/ipvsadm-Lnc.txt":                  "ipvsadm -Lnc",
	"lab/ipvsadm-L-n-c.txt":                "ipvsadm -L -n -c",
	"lab/ipvsadm-Lc.txt":                   "ipvsadm -Lc",
	"lab/ipvsadm-Lnc-exact.txt":            "ipvsadm -Lnc --exact",
	"lab/ipvsadm-Sn.txt":                   "ipvsadm -Sn",
	"lab/ipvsadm-S.txt":                    "ipvsadm -S",
	"lab/ipvsadm-Sn-empty.txt":             "ipvsadm -Sn",
	"lab/proc-ip_vs.txt":                   "cat /proc/net/ip_vs",
	"lab/proc-ip_vs-empty.txt":             "cat /proc/net/ip_vs",
	"lab/proc-ip_vs_conn.txt":              "cat /proc/net/ip_vs_conn",
	"lab/proc-ip_vs_conn_sync.txt":         "cat /proc/net/ip_vs_conn_sync",
	"lab/proc-ip_vs_stats.txt":             "cat /proc/net/ip_vs_stats",
	"lab/proc-ip_vs_stats_percpu.txt":      "cat /proc/net/ip_vs_stats_percpu",
	"hand/centos7-1.27-Sn.txt":             "ipvsadm -Sn",
	"hand/centos6-1.26-stats-suffix.txt":   "ipvsadm -Ln --stats",
	"hand/fnat-proc-ip_vs_conn.txt":        "cat /proc/net/ip_vs_conn",
	"hand/watch-Lnc.txt":                   "watch -n.5 'ipvsadm -Ln -c'",
	"hand/Lnc-persistent-conn.txt":         "ipvsadm -Lnc --persistent-conn",
	"hand/seed004-blank-lines-markers.txt": "ipvsadm -ln --sort",
	"lab2/ipvsadm-Ln.txt":                  "ipvsadm -Ln",
	"lab2/ipvsadm-Sn.txt":                  "ipvsadm -Sn",
	"lab2/ipvsadm-Ln-stats.txt":            "ipvsadm -Ln --stats",
	"lab2/ipvsadm-Ln-thresholds.txt":       "ipvsadm -Ln --thresholds",
	"lab2/ipvsadm-Lnc.txt":                 "ipvsadm -Lnc",
	"lab2/proc-ip_vs.txt":                  "cat /proc/net/ip_vs",
	"lab2/proc-ip_vs_conn.txt":             "cat /proc/net/ip_vs_conn",
	"lab2/ka-ipvsadm-Ln.txt":               "ipvsadm -Ln",
	"lab2/unavailable-ipvsadm-Ln.txt":      "ipvsadm -Ln",
	"lab2/unavailable-ipvsadm-Lnc.txt":     "ipvsadm -Lnc",
	"lab2/unavailable-cat-proc-ip_vs.txt":  "cat /proc/net/ip_vs",
}

func load(t testing.TB, name string) evidence.Doc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return evidence.Doc{Host: "ds1", Source: "ds1/" + filepath.Base(name), Start: 1, Command: fixtureCommands[name], Text: string(b)}
}

func svcByKey(ipvs *evidence.IPVS, key string) *evidence.VirtualService {
	for _, s := range ipvs.Services {
		if s.Key() == key {
			return s
		}
	}
	return nil
}

func destOf(s *evidence.VirtualService, ap string) *evidence.RealServer {
	want := netip.MustParseAddrPort(ap)
	for _, d := range s.Dests {
		if netip.AddrPortFrom(d.Addr, d.Port) == want {
			return d
		}
	}
	return nil
}

// summary renders a table compactly for comparison.
func summary(ipvs *evidence.IPVS) string {
	if ipvs == nil {
		return "<nil>"
	}
	var b strings.Builder
	for _, s := range ipvs.Services {
		fmt.Fprintf(&b, "%s %s p=%d", s.Key(), s.Scheduler, s.Persistent)
		if s.Stats != nil {
			fmt.Fprintf(&b, " stats=%v", statsNums(s.Stats))
		}
		if s.Rate != nil {
			fmt.Fprintf(&b, " rate=%v", *s.Rate)
		}
		b.WriteString("\n")
		for _, d := range s.Dests {
			fmt.Fprintf(&b, "  %s %s w=%d a=%d i=%d", netip.AddrPortFrom(d.Addr, d.Port), d.Method, d.Weight, d.ActiveConn, d.InActConn)
			if d.Stats != nil {
				fmt.Fprintf(&b, " stats=%v", statsNums(d.Stats))
			}
			if d.Rate != nil {
				fmt.Fprintf(&b, " rate=%v", *d.Rate)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func TestDetect(t *testing.T) {
	cases := []struct {
		cmd, file string
		want      Format
	}{
		{"ipvsadm -Ln", "lab/ipvsadm-Ln.txt", FormatList},
		{"ipvsadm -lcn", "lab/ipvsadm-Lnc.txt", FormatConns},
		{"ipvsadm -L -n -c", "lab/ipvsadm-L-n-c.txt", FormatConns},
		{"ipvsadm -Sn", "lab/ipvsadm-Sn.txt", FormatSave},
		{"ipvsadm --save -n", "lab/ipvsadm-Sn.txt", FormatSave},
		{"ipvsadm", "lab/ipvsadm-Ln.txt", FormatList},
		{"cat /proc/net/ip_vs", "lab/proc-ip_vs.txt", FormatProc},
		{"cat /proc/net/ip_vs_conn", "lab/proc-ip_vs_conn.txt", FormatProcConns},
		{"cat /proc/net/ip_vs_stats", "lab/proc-ip_vs_stats.txt", FormatProcStats},
		{"", "lab/ipvsadm-Ln.txt", FormatList},
		{"", "lab/ipvsadm-Ln-stats.txt", FormatList},
		{"", "lab/ipvsadm-Lnc.txt", FormatConns},
		{"", "lab/ipvsadm-Sn.txt", FormatSave},
		{"", "lab/proc-ip_vs.txt", FormatProc},
		{"", "lab/proc-ip_vs_conn.txt", FormatProcConns},
		{"", "lab/proc-ip_vs_conn_sync.txt", FormatProcConns},
		{"", "lab/proc-ip_vs_stats.txt", FormatProcStats},
		{"", "lab/proc-ip_vs_stats_percpu.txt", FormatProcStats},
		{"", "hand/seed001-lost-newlines.txt", FormatList},
		{"", "hand/fnat-proc-ip_vs_conn.txt", FormatProcConns},
		{"", "hand/unavailable.txt", FormatUnknown},
	}
	for _, c := range cases {
		d := load(t, c.file)
		if got := Detect(c.cmd, d.Text); got != c.want {
			t.Errorf("Detect(%q, %s) = %v, want %v", c.cmd, c.file, got, c.want)
		}
	}
}

const labTable = `TCP 192.0.2.100:80 rr p=0
  192.0.2.11:80 Route w=1 a=0 i=3
  192.0.2.12:80 Route w=1 a=0 i=3
TCP 192.0.2.100:443 wlc p=60
  192.0.2.11:443 Route w=3 a=3 i=0
  192.0.2.12:443 Route w=0 a=0 i=0
UDP 192.0.2.100:53 rr p=0
  192.0.2.11:53 Tunnel w=1 a=0 i=0
  192.0.2.12:5353 Masq w=1 a=0 i=0
FWM 7 sh p=0
  192.0.2.11:0 Route w=1 a=0 i=0
`

func TestParseListLab(t *testing.T) {
	for _, f := range []string{"lab/ipvsadm-Ln.txt", "lab/ipvsadm-L-n.txt", "lab/ipvsadm-L.txt", "lab/ipvsadm-Ln-sort.txt", "lab/ipvsadm-Ln-exact.txt"} {
		ipvs, probs := Parse(load(t, f))
		if len(probs) != 0 {
			t.Errorf("%s: problems %v", f, probs)
		}
		if got := summary(ipvs); got != labTable {
			t.Errorf("%s:\n%s\nwant\n%s", f, got, labTable)
		}
		if ipvs.Version != "1.2.1" || ipvs.TableRef.Line != 1 {
			t.Errorf("%s: version %q ref %v", f, ipvs.Version, ipvs.TableRef)
		}
		s := svcByKey(ipvs, "TCP 192.0.2.100:443")
		if s == nil || s.Ref.Line != 7 || !strings.Contains(s.Ref.Text, "persistent 60") {
			t.Errorf("%s: 443 service ref %+v", f, s)
		}
		if d := destOf(s, "192.0.2.12:443"); d == nil || d.Ref.Line != 9 {
			t.Errorf("%s: dest ref %+v", f, d)
		}
	}
}

func TestParseProcList(t *testing.T) {
	ipvs, probs := Parse(load(t, "lab/proc-ip_vs.txt"))
	if len(probs) != 0 {
		t.Errorf("problems %v", probs)
	}
	s := svcByKey(ipvs, "TCP 192.0.2.100:443")
	if s == nil || s.Scheduler != "wlc" || s.Persistent != -1 {
		t.Fatalf("443: %+v", s)
	}
	if d := destOf(s, "192.0.2.11:443"); d == nil || d.Weight != 3 || d.ActiveConn != 3 || d.Method != "Route" {
		t.Errorf("443 dest %+v", d)
	}
	if s := svcByKey(ipvs, "FWM 7"); s == nil || s.Scheduler != "sh" || len(s.Dests) != 1 {
		t.Errorf("fwm: %+v", s)
	}
	u := svcByKey(ipvs, "UDP 192.0.2.100:53")
	if u == nil || destOf(u, "192.0.2.12:5353") == nil || destOf(u, "192.0.2.12:5353").Method != "Masq" {
		t.Errorf("udp: %s", summary(ipvs))
	}
	// Merging the ipvsadm listing fills the persistence timeout in seconds.
	m := Merge(ipvs, mustParse(t, "lab/ipvsadm-Ln.txt"))
	if s := svcByKey(m, "TCP 192.0.2.100:443"); s.Persistent != 60 {
		t.Errorf("merged persistence %d", s.Persistent)
	}
}

func mustParse(t *testing.T, f string) *evidence.IPVS {
	t.Helper()
	ipvs, _ := Parse(load(t, f))
	if ipvs == nil {
		t.Fatalf("%s: nil", f)
	}
	return ipvs
}

func TestStatsRateMerge(t *testing.T) {
	ipvs := mustParse(t, "lab/ipvsadm-Ln.txt")
	ipvs = Merge(ipvs, mustParse(t, "lab/ipvsadm-Ln-stats.txt"))
	ipvs = Merge(ipvs, mustParse(t, "lab/ipvsadm-Ln-rate.txt"))
	ipvs = Merge(ipvs, mustParse(t, "lab/ipvsadm-Lnc.txt"))
	ipvs = Merge(ipvs, mustParse(t, "lab/proc-ip_vs_stats.txt"))
	if len(ipvs.Services) != 4 {
		t.Fatalf("services: %s", summary(ipvs))
	}
	s := svcByKey(ipvs, "TCP 192.0.2.100:80")
	if s.Stats == nil || s.Stats.Conns != 6 || s.Stats.InPkts != 42 || s.Stats.InBytes != 2340 || s.Stats.OutPkts != 0 {
		t.Errorf("svc stats %+v", s.Stats)
	}
	if s.Rate == nil || s.Rate.InBPS != 292 {
		t.Errorf("svc rate %+v", s.Rate)
	}
	d := destOf(s, "192.0.2.11:80")
	if d.Method != "Route" || d.Stats == nil || d.Stats.Conns != 3 || d.Rate == nil || d.Rate.InPPS != 3 {
		t.Errorf("dest %+v stats %+v rate %+v", d, d.Stats, d.Rate)
	}
	if !strings.Contains(d.Ref.Text, "Route") {
		t.Errorf("dest ref should be the plain listing's: %q", d.Ref.Text)
	}
	if ipvs.TotalConns != 10 || len(ipvs.Conns) != 4 {
		t.Errorf("conns %d groups %d", ipvs.TotalConns, len(ipvs.Conns))
	}
	if ipvs.Totals == nil || ipvs.Totals.InPkts != 0x2D || ipvs.Totals.InBytes != 0x9D8 || ipvs.TotalsRate == nil || ipvs.TotalsRate.InBPS != 0x13B {
		t.Errorf("totals %+v %+v", ipvs.Totals, ipvs.TotalsRate)
	}
	// Stats alone (no plain listing) still make services and dests.
	st := mustParse(t, "lab/ipvsadm-Ln-stats.txt")
	if d := destOf(svcByKey(st, "UDP 192.0.2.100:53"), "192.0.2.12:5353"); d == nil || d.Stats == nil {
		t.Errorf("stats-only dest %+v", d)
	}
}

func TestParseConns(t *testing.T) {
	for _, f := range []string{"lab/ipvsadm-Lnc.txt", "lab/ipvsadm-L-n-c.txt", "lab/ipvsadm-Lc.txt", "lab/ipvsadm-Lnc-exact.txt", "lab/proc-ip_vs_conn.txt", "lab/proc-ip_vs_conn_sync.txt"} {
		ipvs, probs := Parse(load(t, f))
		if len(probs) != 0 {
			t.Errorf("%s: %v", f, probs)
		}
		if ipvs.TotalConns != 10 {
			t.Errorf("%s: total %d", f, ipvs.TotalConns)
		}
		var tmpl *evidence.ConnGroup
		wantLine := 11 // two title lines
		if strings.Contains(f, "proc") {
			wantLine = 10
		}
		sum := 0
		for _, g := range ipvs.Conns {
			sum += g.Count
			if g.Template {
				tmpl = g
			}
		}
		if sum != 10 || len(ipvs.Conns) != 4 {
			t.Errorf("%s: %d groups sum %d", f, len(ipvs.Conns), sum)
		}
		if tmpl == nil || tmpl.Dest != netip.MustParseAddrPort("192.0.2.11:443") || tmpl.Virtual != netip.MustParseAddrPort("192.0.2.100:443") || tmpl.States["NONE"] != 1 || tmpl.First.Line != wantLine {
			t.Errorf("%s: template %+v", f, tmpl)
		}
		for _, g := range ipvs.Conns {
			if g.Dest == netip.MustParseAddrPort("192.0.2.11:443") && !g.Template && g.States["SYN_RECV"] != 3 {
				t.Errorf("%s: 443 states %v", f, g.States)
			}
		}
	}
}

func TestParseSave(t *testing.T) {
	for _, f := range []string{"lab/ipvsadm-Sn.txt", "lab/ipvsadm-S.txt"} {
		ipvs, probs := Parse(load(t, f))
		if len(probs) != 0 {
			t.Errorf("%s: %v", f, probs)
		}
		want := strings.ReplaceAll(labTable, " a=3 i=0", " a=0 i=0")
		want = strings.ReplaceAll(want, " a=0 i=3", " a=0 i=0")
		if got := summary(ipvs); got != want {
			t.Errorf("%s:\n%s\nwant\n%s", f, got, want)
		}
	}
	ipvs, _ := Parse(load(t, "hand/centos7-1.27-Sn.txt"))
	if s := svcByKey(ipvs, "TCP 192.0.2.66:80"); s == nil || s.Persistent != 50 {
		t.Errorf("centos7 -Sn: %s", summary(ipvs))
	}
}

func TestHandVariants(t *testing.T) {
	cases := []struct {
		file  string
		want  string
		probs int
	}{
		{"hand/seed001-lost-newlines.txt", "UDP 192.0.2.60:52002 rr p=0\n  192.0.2.48:52002 Route w=1 a=0 i=0\n  192.0.2.98:52002 Route w=1 a=0 i=0\n", 0},
		{"hand/seed004-blank-lines-markers.txt", "TCP 192.0.2.208:80 rr p=0\n  192.0.2.226:80 Route w=2 a=0 i=0\n", 0},
		{"hand/seed003-stats-4194304.txt", "TCP 198.51.100.79:7443  p=0 stats={29 1611 0 137797 0}\n  198.51.100.175:7443  w=0 a=0 i=0 stats={27 1586 0 135331 0}\n  198.51.100.176:7443  w=0 a=0 i=0 stats={2 25 0 2466 0}\nTCP 198.51.100.79:8443  p=0 stats={6 72 0 16952 0}\n  198.51.100.211:8443  w=0 a=0 i=0 stats={6 72 0 16952 0}\n", 0},
		{"hand/dpvs-pipe-joined.txt", "TCP 203.0.113.1:80 rr p=0\n  198.51.100.1:80 FullNat w=100 a=0 i=0\n  198.51.100.2:80 FullNat w=100 a=0 i=0\nTCP 203.0.113.1:81 rr p=0\n  198.51.100.21:80 FullNat w=100 a=0 i=0\n  198.51.100.22:80 FullNat w=100 a=0 i=0\n", 0},
		{"hand/fnat-alibaba-Ln.txt", "TCP 198.51.100.79:7443 rr p=50\n  198.51.100.175:7443 FullNat w=1 a=12 i=3\n  198.51.100.176:7443 FullNat w=1 a=0 i=0\nTCP 198.51.100.79:8443 rr p=50\n  198.51.100.211:8443 FullNat w=1 a=0 i=0\n  198.51.100.217:8443 FullNat w=1 a=0 i=0\n", 0},
		{"hand/centos6-1.26-stats-suffix.txt", "TCP 192.0.2.100:80  p=0 stats={8726391 147285000 0 12057000000 0}\n  192.0.2.11:80  w=0 a=0 i=0 stats={4363196 73642000 0 6028000000 0}\n  192.0.2.12:80  w=0 a=0 i=0 stats={4363195 73643000 0 6029000000 0}\nTCP 192.0.2.100:443  p=0 stats={102934 2093852 0 178000000000 0}\n  192.0.2.11:443  w=0 a=0 i=0 stats={51467 1046926 0 89000000000 0}\n  192.0.2.12:443  w=0 a=0 i=0 stats={51467 1046926 0 89000000000 0}\n", 0},
		{"hand/rate-suffix.txt", "TCP 203.0.113.10:80  p=0 rate={412 18320 0 14000000 0}\n  192.0.2.11:80  w=0 a=0 i=0 rate={205 9140 0 7000000 0}\n  192.0.2.12:80  w=0 a=0 i=0 rate={207 9180 0 7000000 0}\n", 0},
		{"hand/ipv6-Ln.txt", "TCP [2001:db8::100]:80 wrr p=0\n  [2001:db8::11]:80 Route w=1 a=0 i=0\n  [2001:db8::12]:80 Route w=1 a=0 i=0\nFWM 9 rr p=0\n  [2001:db8::11]:0 Route w=1 a=0 i=0\n", 0},
		{"hand/dpvs-1.9-Ln.txt", "TCP 192.0.2.1:80 rr p=0\n  198.51.100.30:80 FullNat w=100 a=0 i=37\n  198.51.100.130:80 FullNat w=100 a=0 i=34\nTCP [2001:db8::1]:80 conhash p=0\n  198.51.100.30:80 FullNat w=100 a=0 i=0\n  198.51.100.30:8080 FullNat w=100 a=0 i=0\n  198.51.100.130:8080 FullNat w=100 a=0 i=3\n", 0},
		{"hand/anonymised-xyz.txt", "TCP invalid AddrPort rr p=0\n  invalid AddrPort Route w=2 a=0 i=0\nUDP invalid AddrPort rr p=0\n  invalid AddrPort Route w=1 a=0 i=0\n", 4},
	}
	for _, c := range cases {
		ipvs, probs := Parse(load(t, c.file))
		if len(probs) != c.probs {
			t.Errorf("%s: problems %v", c.file, probs)
		}
		if got := summary(ipvs); got != c.want {
			t.Errorf("%s:\n%s\nwant\n%s", c.file, got, c.want)
		}
	}
	ipvs, _ := Parse(load(t, "hand/anonymised-xyz.txt"))
	if ipvs.Services[0].Port != 80 || ipvs.Services[1].Port != 52002 {
		t.Errorf("anonymised ports kept: %+v", ipvs.Services[0])
	}
	ipvs, _ = Parse(load(t, "hand/fnat-alibaba-Ln.txt"))
	if f := ipvs.Services[0].Flags; strings.Join(f, " ") != "persistent 50 synproxy" {
		t.Errorf("flags %q", f)
	}
	ipvs, _ = Parse(load(t, "hand/seed001-lost-newlines.txt"))
	if r := ipvs.Services[0].Dests[1].Ref; r.Line != 3 || r.Text != "-> 192.0.2.98:52002 Route 1 0 0" {
		t.Errorf("joined-line ref %+v", r)
	}
}

func TestConnVariants(t *testing.T) {
	for _, f := range []string{"hand/fnat-proc-ip_vs_conn.txt", "hand/fnat-Lnc.txt"} {
		ipvs, probs := Parse(load(t, f))
		if len(probs) != 0 {
			t.Errorf("%s: %v", f, probs)
		}
		if ipvs.TotalConns != 3 || len(ipvs.Conns) != 2 {
			t.Fatalf("%s: %d conns %d groups", f, ipvs.TotalConns, len(ipvs.Conns))
		}
		g := ipvs.Conns[0]
		if g.Virtual != netip.MustParseAddrPort("198.51.100.79:7443") || g.Dest != netip.MustParseAddrPort("198.51.100.175:7443") || g.States["ESTABLISHED"] != 1 || g.States["SYN_RECV"] != 1 {
			t.Errorf("%s: group %+v", f, g)
		}
		if !ipvs.Conns[1].Template {
			t.Errorf("%s: template not recognised", f)
		}
	}
	ipvs, probs := Parse(load(t, "hand/watch-Lnc.txt"))
	if len(probs) != 0 || ipvs.TotalConns != 4 || len(ipvs.Conns) != 4 {
		t.Errorf("watch: %v %d %d", probs, ipvs.TotalConns, len(ipvs.Conns))
	}
	ipvs, probs = Parse(load(t, "hand/Lnc-persistent-conn.txt"))
	if len(probs) != 0 || ipvs.TotalConns != 2 || len(ipvs.Conns) != 2 || ipvs.Conns[0].Proto != "UDP" || !ipvs.Conns[1].Template {
		t.Errorf("pe conns: %v %+v", probs, ipvs.Conns)
	}
}

func TestUnavailable(t *testing.T) {
	d := load(t, "hand/unavailable.txt")
	d.Command = "ipvsadm -Ln"
	ipvs, probs := Parse(d)
	if ipvs != nil || len(probs) != 1 || probs[0].Line != 1 {
		t.Errorf("got %v %v", ipvs, probs)
	}
	ev, ok := Unavailable(d)
	if !ok || ev.Kind != evidence.LogIPVSInitFailed || ev.Ref.Line != 1 {
		t.Errorf("event %+v", ev)
	}
	if _, ok := Unavailable(load(t, "lab/ipvsadm-Ln.txt")); ok {
		t.Error("a table is not an error")
	}
}

func TestEmpty(t *testing.T) {
	for _, f := range []string{"lab/ipvsadm-Ln-empty.txt", "lab/proc-ip_vs-empty.txt", "lab/ipvsadm-Sn-empty.txt"} {
		ipvs, probs := Parse(load(t, f))
		if ipvs == nil || len(ipvs.Services) != 0 || len(probs) != 0 {
			t.Errorf("%s: %v %v", f, ipvs, probs)
		}
	}
}

func TestOddOutputs(t *testing.T) {
	for f, cmd := range map[string]string{
		"lab/ipvsadm-version.txt":    "ipvsadm --version",
		"lab/ipvsadm-Ln-timeout.txt": "ipvsadm -L --timeout",
		"lab/ipvsadm-Ln-bad.txt":     "ipvsadm -Ln -t 192.0.2.200:80",
	} {
		d := load(t, f)
		d.Command = cmd
		if _, probs := Parse(d); len(probs) != 0 {
			t.Errorf("%s: %v", f, probs)
		}
	}
	if Detect("", "ipvsadm v1.26 2008/5/15 (compiled with popt and IPVS v1.2.1)\n") != FormatVersion {
		t.Error("version by content")
	}
	if !Partial("ipvsadm -Ln | grep 80") || !Partial("ipvsadm -Ln -t 192.0.2.1:80") || Partial("ipvsadm -Lnc") || Partial("ipvsadm -Ln --stats") {
		t.Error("Partial")
	}
	if Detect("ipvsadm -Ln | grep -c Route", "") != FormatList {
		t.Error("a pipe's flags are not ipvsadm's")
	}
}

func TestListModes(t *testing.T) {
	th := mustParse(t, "lab/ipvsadm-Ln-thresholds.txt")
	if d := destOf(svcByKey(th, "TCP 192.0.2.100:443"), "192.0.2.11:443"); d.ActiveConn != 3 || d.Method != "" {
		t.Errorf("thresholds %+v", d)
	}
	pc := mustParse(t, "lab/ipvsadm-Ln-persistent-conn.txt")
	if d := destOf(svcByKey(pc, "TCP 192.0.2.100:443"), "192.0.2.11:443"); d.Weight != 3 || d.ActiveConn != 3 {
		t.Errorf("persistent-conn %+v", d)
	}
	one := mustParse(t, "lab/ipvsadm-Ln-t.txt")
	if len(one.Services) != 1 || len(one.Services[0].Dests) != 2 {
		t.Errorf("single service: %s", summary(one))
	}
}

func TestGarbage(t *testing.T) {
	in := []string{
		"", "\x00\x01\x02", "TCP", "TCP  ", "-> ", "->", "FWM x rr", "TCP 1.2.3.4:99999 rr",
		"TCP  192.0.2.1:80 rr\n  -> 192.0.2.2:80 Route x y z", strings.Repeat("A", 1<<20),
		"Prot LocalAddress:Port Conns\nTCP 192.0.2.1:80 1 2\n -> 192.0.2.1:80 1 2 3",
		"-A -t", "-a -t 1.2.3.4:80 -r", "-A -f x", "pro expire state\nTCP 1 2 3 4 5",
		"Pro FromIP\nTCP ZZZZZZZZ 0000 C0000201 0050 C0000201 0050 NONE 1",
		"Total\n1 2 3 4 5 6 7",
	}
	for _, s := range in {
		for _, cmd := range []string{"", "ipvsadm -Ln", "ipvsadm -Lnc", "ipvsadm -Sn", "cat /proc/net/ip_vs_stats", "cat /proc/net/ip_vs"} {
			Parse(evidence.Doc{Source: "x", Command: cmd, Text: s})
		}
	}
}

// TestProseAfterOutput: what people paste after an output (their own
// notes, another command) is one problem, not one per line, and never a
// real server (seed 001 has "xx:8c ------> xx:8d" in its notes).
func TestProseAfterOutput(t *testing.T) {
	prose := "配置无误\n3.2 继续分析抓包结果\nFrame-351,mac地址xx:8c ------> xx:8d,即: 1.15 —> 1.59\nMac地址xx:8d ------> xx:9a, 即: 1.59 —> 1.48\nTCP 是同一个包\n"
	for _, c := range []struct{ cmd, file string }{
		{"ipvsadm -Ln", "hand/seed001-lost-newlines.txt"},
		{"ipvsadm -Ln", "lab/ipvsadm-Ln.txt"},
		{"ipvsadm -Lnc", "lab/ipvsadm-Lnc.txt"},
		{"ipvsadm -Sn", "lab/ipvsadm-Sn.txt"},
	} {
		d := load(t, c.file)
		d.Command = c.cmd
		before, _ := Parse(d)
		d.Text += prose
		after, probs := Parse(d)
		if len(probs) != 1 || !strings.Contains(probs[0].Message, "more lines from here on") {
			t.Errorf("%s: %v", c.file, probs)
		}
		if summary(before) != summary(after) || before.TotalConns != after.TotalConns {
			t.Errorf("%s: prose changed the table:\n%s", c.file, summary(after))
		}
	}
	// One odd line inside a table is reported alone and the rest is read.
	d := load(t, "lab/ipvsadm-Ln.txt")
	lines := strings.Split(d.Text, "\n")
	d.Text = strings.Join(append(lines[:5:5], append([]string{"[root@ds1 ~]#"}, lines[5:]...)...), "\n")
	ipvs, probs := Parse(d)
	if len(probs) != 1 || probs[0].Line != 6 || summary(ipvs) != labTable {
		t.Errorf("odd line: %v\n%s", probs, summary(ipvs))
	}
}

const lab2Table = `TCP 192.0.2.100:80 rr p=0
  192.0.2.11:80 Route w=1 a=0 i=2
  192.0.2.12:80 Route w=1 a=0 i=2
TCP 192.0.2.100:81 rr p=0
TCP 192.0.2.100:8080 wrr p=300
  192.0.2.11:8080 Route w=5 a=0 i=0
UDP 192.0.2.100:5060 rr p=0
  192.0.2.11:5060 Route w=1 a=0 i=0
SCTP 192.0.2.100:3868 rr p=0
  192.0.2.12:3868 Route w=1 a=0 i=0
TCP [2001:db8::100]:80 wlc p=0
  [2001:db8::11]:80 Route w=1 a=0 i=0
  [2001:db8::12]:8080 Masq w=2 a=0 i=0
FWM 9 rr p=0
`

func TestLab2(t *testing.T) {
	ipvs, probs := Parse(load(t, "lab2/ipvsadm-Ln.txt"))
	if len(probs) != 0 || summary(ipvs) != lab2Table {
		t.Errorf("-Ln: %v\n%s", probs, summary(ipvs))
	}
	if f := strings.Join(svcByKey(ipvs, "TCP 192.0.2.100:8080").Flags, " "); f != "persistent 300 mask 255.255.255.0" {
		t.Errorf("flags %q", f)
	}
	if f := strings.Join(svcByKey(ipvs, "UDP 192.0.2.100:5060").Flags, " "); f != "ops" {
		t.Errorf("ops flags %q", f)
	}
	// The kernel's own file: same table, hex, persistence in jiffies,
	// IPv6 in full form; it lists real servers in hash order.
	proc, probs := Parse(load(t, "lab2/proc-ip_vs.txt"))
	if len(probs) != 0 || len(proc.Services) != 7 {
		t.Fatalf("proc: %v\n%s", probs, summary(proc))
	}
	if s := svcByKey(proc, "TCP [2001:db8::100]:80"); s == nil || destOf(s, "[2001:db8::12]:8080") == nil || destOf(s, "[2001:db8::12]:8080").Method != "Masq" {
		t.Errorf("proc ipv6: %s", summary(proc))
	}
	if s := svcByKey(proc, "TCP 192.0.2.100:8080"); s.Persistent != -1 {
		t.Errorf("proc persistence %d", s.Persistent)
	}
	if s := svcByKey(proc, "SCTP 192.0.2.100:3868"); s == nil || len(s.Dests) != 1 {
		t.Errorf("proc sctp: %s", summary(proc))
	}
	save, probs := Parse(load(t, "lab2/ipvsadm-Sn.txt"))
	want := strings.NewReplacer(" a=0 i=2", " a=0 i=0").Replace(lab2Table)
	if len(probs) != 0 || summary(save) != want {
		t.Errorf("-Sn: %v\n%s", probs, summary(save))
	}
	st, probs := Parse(load(t, "lab2/ipvsadm-Ln-stats.txt"))
	if len(probs) != 0 || len(st.Services) != 7 || svcByKey(st, "FWM 9") == nil {
		t.Errorf("stats: %v\n%s", probs, summary(st))
	}
	ka, _ := Parse(load(t, "lab2/ka-ipvsadm-Ln.txt"))
	if d := ka.Services[0].Dests; len(d) != 1 || d[0].Weight != 0 {
		t.Errorf("inhibited: %s", summary(ka))
	}
	for _, f := range []string{"lab2/unavailable-ipvsadm-Ln.txt", "lab2/unavailable-ipvsadm-Lnc.txt", "lab2/unavailable-cat-proc-ip_vs.txt"} {
		d := load(t, f)
		ev, ok := Unavailable(d)
		if !ok || ev.Kind != evidence.LogIPVSInitFailed {
			t.Errorf("%s: not seen as unavailable", f)
		}
		if ipvs, probs := Parse(d); ipvs != nil || len(probs) != 1 {
			t.Errorf("%s: %v %v", f, ipvs, probs)
		}
	}
}

// statsNums prints the counters without the line they came from.
func statsNums(s *evidence.Stats) any {
	return struct{ Conns, InPkts, OutPkts, InBytes, OutBytes uint64 }{s.Conns, s.InPkts, s.OutPkts, s.InBytes, s.OutBytes}
}

// TestTimeoutsAndDaemon: `ipvsadm -L --timeout` keeps its three timeouts
// and `ipvsadm -L --daemon` its sync daemon lines (the daemon's format is
// ipvsadm.c's print_daemon: "%s sync daemon (mcast=%s, syncid=%d").
func TestTimeoutsAndDaemon(t *testing.T) {
	d := load(t, "lab/ipvsadm-Ln-timeout.txt")
	d.Command = "ipvsadm -L --timeout"
	ipvs, probs := Parse(d)
	if len(probs) != 0 || ipvs == nil || ipvs.Timeouts == nil {
		t.Fatalf("timeout: %v %v", ipvs, probs)
	}
	if to := ipvs.Timeouts; to.TCP != 900 || to.TCPFin != 120 || to.UDP != 300 || to.Ref.Line != 1 {
		t.Errorf("timeouts %+v", to)
	}
	bad := evidence.Doc{Host: "ds1", Source: "ds1/t.txt", Start: 1, Command: "ipvsadm -L --timeout", Text: "Timeout (tcp tcpfin udp): 900 x 300\n"}
	if ipvs, probs := Parse(bad); len(probs) != 1 || (ipvs != nil && ipvs.Timeouts != nil) {
		t.Errorf("bad timeout: %v %v", ipvs, probs)
	}
	dm := evidence.Doc{Host: "ds1", Source: "ds1/daemon.txt", Start: 1, Command: "ipvsadm -L --daemon",
		Text: "master sync daemon (mcast=eth0, syncid=51)\nbackup sync daemon (mcast=eth0, syncid=51)\n"}
	ipvs, probs = Parse(dm)
	if len(probs) != 0 || ipvs == nil || len(ipvs.SyncDaemons) != 2 || ipvs.SyncDaemons[1].Line != 2 {
		t.Errorf("daemon: %+v %v", ipvs, probs)
	}
	merged := Merge(mustParse(t, "lab/ipvsadm-Ln.txt"), ipvs)
	if len(merged.SyncDaemons) != 2 {
		t.Errorf("merge lost the sync daemons: %+v", merged.SyncDaemons)
	}
}

// DPVS's ipvsadm prints size=0 (its daemon has no global connection
// table); the kernel's table is never that small.
func TestDPVSBanner(t *testing.T) {
	for text, want := range map[string]bool{
		"IP Virtual Server version 0.0.0 (size=0)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\nTCP  192.0.2.100:0 rr persistent 360\n  -> 192.0.2.11:0              Route   1      0          0\n": true,
		"IP Virtual Server version 1.9.5 (size=0)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n":                                                                                                   true,
		"IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n":                                                                                                false,
	} {
		ipvs, _ := Parse(evidence.Doc{Host: "d", Source: "d/ipvsadm-Ln.txt", Start: 1, Command: "ipvsadm -Ln", Text: text})
		if ipvs == nil || ipvs.DPVS != want {
			t.Errorf("%q: %+v, want DPVS %v", text[:40], ipvs, want)
		}
	}
}

// TestFilteredListing: a listing through grep, or one the user cut with
// "......", may have lost real-server lines: its services say so, and a
// complete listing of the same service clears it.
func TestFilteredListing(t *testing.T) {
	grep := evidence.Doc{Host: "n", Source: "n/x", Start: 2, Command: "ipvsadm -Ln | grep 31201",
		Text: "TCP  192.0.2.2:31201 rr\nTCP  127.0.0.1:31201 rr\n"}
	cut := evidence.Doc{Host: "n", Source: "n/y", Start: 2, Command: "ipvsadm -ln",
		Text: "......\nTCP  192.0.2.50:802 rr\n  -> 192.0.2.76:8080              Masq    1      0          0\n......\n"}
	whole := evidence.Doc{Host: "n", Source: "n/z", Start: 2, Command: "ipvsadm -Ln",
		Text: "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\nTCP  192.0.2.2:31201 rr\n  -> 10.244.1.14:8080             Masq    1      0          0\n"}
	g, _ := Parse(grep)
	c, probs := Parse(cut)
	w, _ := Parse(whole)
	if len(probs) != 0 {
		t.Errorf("elision lines are no problem: %v", probs)
	}
	for _, s := range append(g.Services, c.Services...) {
		if !s.Filtered {
			t.Errorf("%s: not marked filtered", s.Key())
		}
	}
	if w.Services[0].Filtered {
		t.Errorf("a whole listing is not filtered")
	}
	m := Merge(g, w)
	if s := svcByKey(m, "TCP 192.0.2.2:31201"); s.Filtered || len(s.Dests) != 1 {
		t.Errorf("merged with the whole listing: filtered %v, %d dests", s.Filtered, len(s.Dests))
	}
	if s := svcByKey(m, "TCP 127.0.0.1:31201"); !s.Filtered {
		t.Errorf("a service only the grep showed stays filtered")
	}
}
