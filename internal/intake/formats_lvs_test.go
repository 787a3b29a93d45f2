package intake

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvsdoctor/lvsdoctor/internal/parse/ipvsadm"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/keepalived"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/syslog"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
)

func lvsFixture(t *testing.T, pkg, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "parse", pkg, "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func formatName(k *format.Format) string {
	if k == nil {
		return "<nil>"
	}
	return k.Name
}

// isFormatOf reports whether name is one of fs.
func isFormatOf(fs []format.Format, name string) bool {
	return slices.ContainsFunc(fs, func(f format.Format) bool { return f.Name == name })
}

func TestLVSDetect(t *testing.T) {
	cases := []struct {
		command, base, pkg, fixture, want string
	}{
		// by command
		{"ipvsadm -Ln", "", "ipvsadm", "lab/ipvsadm-Ln.txt", "ipvsadm"},
		{"ipvsadm -L -n --stats", "", "ipvsadm", "lab/ipvsadm-Ln-stats.txt", "ipvsadm"},
		{"ipvsadm -lnc", "", "ipvsadm", "lab/ipvsadm-Lnc.txt", "ipvsadm"},
		{"/sbin/ipvsadm -Sn", "", "ipvsadm", "lab/ipvsadm-Sn.txt", "ipvsadm"},
		{"ipvsadm-save -n", "", "ipvsadm", "lab/ipvsadm-Sn.txt", "ipvsadm"},
		{"cat /proc/net/ip_vs", "", "ipvsadm", "lab/proc-ip_vs.txt", "ipvsadm"},
		{"cat /proc/net/ip_vs_conn", "", "ipvsadm", "lab/proc-ip_vs_conn.txt", "ipvsadm"},
		{"watch -n.5 'ipvsadm -Ln -c'", "", "ipvsadm", "hand/watch-Lnc.txt", "ipvsadm"},
		{"cat /etc/keepalived/keepalived.conf", "", "keepalived", "lab-director.conf", "keepalived-conf"},
		{"cat /etc/keepalived/conf.d/vs.conf", "", "keepalived", "conf.d/vs.conf", "keepalived-conf"},
		{"journalctl -u keepalived", "", "syslog", "hand/journal-keepalived-2.2.7.txt", "logs"},
		{"journalctl -u keepalived --since \"5 minutes ago\" | grep -i error", "", "syslog", "hand/journal-keepalived-2.2.7.txt", "logs"},
		{"journalctl -k", "", "syslog", "hand/journal-k.txt", "logs"},
		{"dmesg -T", "", "syslog", "lab/dmesg-T.txt", "logs"},
		{"tail -n 200 /var/log/messages", "", "syslog", "hand/messages-centos6-1.2.txt", "logs"},
		{"grep -i keepalived /var/log/syslog", "", "syslog", "hand/rsyslog-iso.txt", "logs"},
		{"keepalived -t -f /etc/keepalived/keepalived.conf", "", "syslog", "hand/keepalived-t-invalid.txt", "logs"},
		// by file name
		{"", "ipvsadm-Ln.txt", "ipvsadm", "lab/ipvsadm-Ln.txt", "ipvsadm"},
		{"", "ipvsadm.txt", "ipvsadm", "lab/ipvsadm-Lnc.txt", "ipvsadm"},
		{"", "ip_vs_conn", "ipvsadm", "lab/proc-ip_vs_conn.txt", "ipvsadm"},
		{"", "proc-ip_vs_stats.txt", "ipvsadm", "lab/proc-ip_vs_stats.txt", "ipvsadm"},
		{"", "keepalived.conf", "keepalived", "seed003-fnat-fork.conf", "keepalived-conf"},
		{"", "keepalived.log", "syslog", "lab/keepalived-console-director.log", "logs"},
		{"", "journal.txt", "syslog", "hand/journal-k.txt", "logs"},
		{"", "messages", "syslog", "hand/messages-centos6-1.2.txt", "logs"},
		{"", "messages-20241121", "syslog", "hand/messages-centos6-1.2.txt", "logs"},
		{"", "dmesg.txt", "syslog", "lab/dmesg.txt", "logs"},
		{"", "kern.log", "syslog", "hand/kern-log.txt", "logs"},
		{"", "syslog", "syslog", "hand/rsyslog-iso.txt", "logs"},
		// by content
		{"", "a.txt", "ipvsadm", "lab/ipvsadm-Ln.txt", "ipvsadm"},
		{"", "a.txt", "ipvsadm", "lab/ipvsadm-Ln-rate.txt", "ipvsadm"},
		{"", "a.txt", "ipvsadm", "lab/ipvsadm-Ln-thresholds.txt", "ipvsadm"},
		{"", "a.txt", "ipvsadm", "lab/ipvsadm-Lnc.txt", "ipvsadm"},
		{"", "a.txt", "ipvsadm", "lab/ipvsadm-Sn.txt", "ipvsadm"},
		{"", "a.txt", "ipvsadm", "lab/proc-ip_vs.txt", "ipvsadm"},
		{"", "a.txt", "ipvsadm", "lab/proc-ip_vs_conn.txt", "ipvsadm"},
		{"", "a.txt", "ipvsadm", "lab/proc-ip_vs_stats.txt", "ipvsadm"},
		{"", "a.txt", "ipvsadm", "hand/seed001-lost-newlines.txt", "ipvsadm"},
		{"", "a.txt", "ipvsadm", "hand/dpvs-pipe-joined.txt", "ipvsadm"},
		{"", "lb.conf", "keepalived", "seed002-1.3.5-dr.conf", "keepalived-conf"},
		{"", "vs.conf", "keepalived", "conf.d/vs.conf", "keepalived-conf"},
		{"", "vi2.conf", "keepalived", "conf.d/vi2.conf", "keepalived-conf"},
		{"", "v2.conf", "keepalived", "v2-main.conf", "keepalived-conf"},
		{"", "a.txt", "syslog", "hand/messages-centos7-1.3.txt", "logs"},
		{"", "a.txt", "syslog", "lab/keepalived-console-ds2.log", "logs"},
		{"", "a.txt", "syslog", "lab/dmesg.txt", "logs"},
		{"", "a.txt", "syslog", "lab/dmesg-T.txt", "logs"},
		{"", "a.txt", "syslog", "hand/kern-log.txt", "logs"},
		{"", "a.txt", "syslog", "hand/keepalived-t-fnat-fork.txt", "logs"},
	}
	for _, c := range cases {
		k, by := Detect(c.command, c.base, true, lvsFixture(t, c.pkg, c.fixture))
		if formatName(k) != c.want {
			t.Errorf("Detect(%q, %q, %s) = %s (by %s), want %s", c.command, c.base, c.fixture, formatName(k), by, c.want)
		}
	}
	// Others' formats must not be taken for ours.
	for _, text := range []string{
		"server {\n    listen 80;\n    server_name example.com;\n}\n",
		"Chain INPUT (policy ACCEPT)\ntarget     prot opt source               destination\n",
		"-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT\n",
		"1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000\n",
		"net.ipv4.conf.all.rp_filter = 1\n",
	} {
		if k, _ := Detect("", "x.txt", true, text); k != nil && (k.Name == "ipvsadm" || k.Name == "keepalived-conf" || k.Name == "logs") {
			t.Errorf("%q detected as %s", text, k.Name)
		}
	}
}

func lvsApply(t *testing.T, h *evidence.Host, kind, cmd, pkg, fixture string) []evidence.Problem {
	t.Helper()
	doc := evidence.Doc{Host: h.Name, Source: h.Name + "/" + filepath.Base(fixture), Start: 1, Command: cmd, Text: lvsFixture(t, pkg, fixture)}
	k, _ := Detect(cmd, filepath.Base(fixture), true, doc.Text)
	if formatName(k) != kind {
		t.Fatalf("%s detected as %s", fixture, formatName(k))
	}
	return k.Apply(doc, h)
}

func TestLVSApplyIPVSMerge(t *testing.T) {
	h := evidence.NewHost("ds1")
	for _, f := range []struct{ cmd, file string }{
		{"ipvsadm -Ln", "lab/ipvsadm-Ln.txt"},
		{"ipvsadm -Ln --stats", "lab/ipvsadm-Ln-stats.txt"},
		{"ipvsadm -Ln --rate", "lab/ipvsadm-Ln-rate.txt"},
		{"ipvsadm -Lnc", "lab/ipvsadm-Lnc.txt"},
		{"cat /proc/net/ip_vs_stats", "lab/proc-ip_vs_stats.txt"},
	} {
		if probs := lvsApply(t, h, "ipvsadm", f.cmd, "ipvsadm", f.file); len(probs) != 0 {
			t.Errorf("%s: %v", f.file, probs)
		}
	}
	if h.IPVS == nil || len(h.IPVS.Services) != 4 {
		t.Fatalf("one table expected: %+v", h.IPVS)
	}
	var web *evidence.VirtualService
	for _, s := range h.IPVS.Services {
		if s.Key() == "TCP 192.0.2.100:80" {
			web = s
		}
	}
	if web == nil || web.Stats == nil || web.Rate == nil || len(web.Dests) != 2 || web.Dests[0].Stats == nil || web.Dests[0].Method != "Route" {
		t.Fatalf("stats not attached: %+v", web)
	}
	if h.IPVS.TotalConns != 10 || len(h.IPVS.Conns) != 4 || h.IPVS.Totals == nil {
		t.Errorf("conns %d/%d totals %+v", h.IPVS.TotalConns, len(h.IPVS.Conns), h.IPVS.Totals)
	}
	for _, k := range []evidence.Kind{evidence.KindIPVS, evidence.KindIPVSStats, evidence.KindIPVSConns} {
		if !h.Has(k) {
			t.Errorf("kind %s not marked", k)
		}
	}
	if r := h.Seen[evidence.KindIPVS][0]; r.Source != "ds1/ipvsadm-Ln.txt" || r.Line != 1 {
		t.Errorf("seen ref %+v", r)
	}
}

func TestLVSApplyPartialAndErrors(t *testing.T) {
	// --stats alone does not say the weights: the table is not "seen".
	h := evidence.NewHost("ds1")
	lvsApply(t, h, "ipvsadm", "ipvsadm -Ln --stats", "ipvsadm", "hand/seed003-stats-4194304.txt")
	if h.IPVS == nil || len(h.IPVS.Services) != 2 || h.Has(evidence.KindIPVS) || !h.Has(evidence.KindIPVSStats) {
		t.Errorf("stats only: %+v %v", h.IPVS, h.SeenKinds())
	}
	// A filtered listing is evidence of what it shows, not of what it hides.
	h = evidence.NewHost("ds1")
	lvsApply(t, h, "ipvsadm", "ipvsadm -Ln | grep -A2 443", "ipvsadm", "lab/ipvsadm-Ln.txt")
	if h.Has(evidence.KindIPVS) || h.IPVS == nil {
		t.Errorf("filtered: %v", h.SeenKinds())
	}
	// An empty table is evidence.
	h = evidence.NewHost("ds1")
	lvsApply(t, h, "ipvsadm", "ipvsadm -Ln", "ipvsadm", "lab/ipvsadm-Ln-empty.txt")
	if !h.Has(evidence.KindIPVS) || h.IPVS == nil || len(h.IPVS.Services) != 0 {
		t.Errorf("empty: %v", h.SeenKinds())
	}
	// No IPVS in the kernel: an event, no table.
	h = evidence.NewHost("ds1")
	if probs := lvsApply(t, h, "ipvsadm", "ipvsadm -Ln", "ipvsadm", "hand/unavailable.txt"); len(probs) != 0 {
		t.Errorf("unavailable: %v", probs)
	}
	if h.IPVS != nil || h.Has(evidence.KindIPVS) || len(h.Logs) != 1 || h.Logs[0].Kind != evidence.LogIPVSInitFailed {
		t.Errorf("unavailable: %+v %+v", h.IPVS, h.Logs)
	}
	// The same, as a kernel without ip_vs really answers (modprobe errors first).
	for _, f := range []struct{ cmd, file string }{
		{"ipvsadm -Ln", "lab2/unavailable-ipvsadm-Ln.txt"},
		{"ipvsadm -Lnc", "lab2/unavailable-ipvsadm-Lnc.txt"},
		{"cat /proc/net/ip_vs", "lab2/unavailable-cat-proc-ip_vs.txt"},
	} {
		h = evidence.NewHost("ds1")
		if probs := lvsApply(t, h, "ipvsadm", f.cmd, "ipvsadm", f.file); len(probs) != 0 || h.IPVS != nil || len(h.Logs) != 1 || h.Has(evidence.KindIPVSConns) {
			t.Errorf("%s: %v %+v %+v", f.file, probs, h.IPVS, h.Logs)
		}
	}
	// Version output: nothing, no complaint.
	h = evidence.NewHost("ds1")
	if probs := lvsApply(t, h, "ipvsadm", "ipvsadm --version", "ipvsadm", "lab/ipvsadm-version.txt"); len(probs) != 0 || h.IPVS != nil {
		t.Errorf("version: %v", probs)
	}
}

func TestLVSApplyKeepalived(t *testing.T) {
	h := evidence.NewHost("ds1")
	probs := lvsApply(t, h, "keepalived-conf", "", "keepalived", "seed003-fnat-fork.conf")
	if len(probs) != 0 || h.Keepalived == nil || len(h.Keepalived.VirtualServers) != 2 || !h.Has(evidence.KindKeepalived) {
		t.Fatalf("%v %+v", probs, h.Keepalived)
	}
	if vs := h.Keepalived.VirtualServers[0]; vs.LbKind != "FNAT" || vs.LaddrGroup != "laddr_g1" {
		t.Errorf("vs %+v", vs)
	}
	// A pasted transcript cannot follow includes: the include is named.
	h = evidence.NewHost("ds1")
	probs = lvsApply(t, h, "keepalived-conf", "cat /etc/keepalived/keepalived.conf", "keepalived", "v2-main.conf")
	if len(probs) != 1 || !strings.Contains(probs[0].Message, "/etc/keepalived/conf.d/*.conf") {
		t.Errorf("include problem: %v", probs)
	}
	b, _ := json.Marshal(h.Keepalived)
	if strings.Contains(string(b), "s3cr3t") {
		t.Errorf("password leaked: %s", b)
	}
}

// TestLVSCaseDirectory runs the whole intake over a case folder: the
// keepalived.conf includes its conf.d files, which are then not read twice.
func TestLVSCaseDirectory(t *testing.T) {
	root := t.TempDir()
	ds1 := filepath.Join(root, "ds1")
	if err := os.MkdirAll(filepath.Join(ds1, "conf.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, pkg, fixture string) {
		if err := os.WriteFile(filepath.Join(ds1, name), []byte(lvsFixture(t, pkg, fixture)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("keepalived.conf", "keepalived", "v2-main.conf")
	write("conf.d/vi2.conf", "keepalived", "conf.d/vi2.conf")
	write("conf.d/vs.conf", "keepalived", "conf.d/vs.conf")
	write("ipvsadm-Ln.txt", "ipvsadm", "lab/ipvsadm-Ln.txt")
	write("ipvsadm-Lnc.txt", "ipvsadm", "lab/ipvsadm-Lnc.txt")
	write("journal.txt", "syslog", "hand/journal-keepalived-2.2.7.txt")
	write("dmesg.txt", "syslog", "lab/dmesg.txt")
	c, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range c.Problems {
		t.Errorf("problem: %v", p)
	}
	h := c.Lookup("ds1")
	if h == nil || h.Keepalived == nil {
		t.Fatalf("host %+v", h)
	}
	k := h.Keepalived
	if len(k.VRRPInstances) != 2 || len(k.VirtualServers) != 2 {
		t.Errorf("instances %d vs %d", len(k.VRRPInstances), len(k.VirtualServers))
	}
	if src := k.VRRPInstances[1].Ref.Source; src != "ds1/conf.d/vi2.conf" {
		t.Errorf("included source %q", src)
	}
	if h.IPVS == nil || len(h.IPVS.Services) != 4 || h.IPVS.TotalConns != 10 {
		t.Errorf("ipvs %+v", h.IPVS)
	}
	kinds := map[string]int{}
	for _, e := range h.Logs {
		kinds[e.Kind]++
	}
	if kinds[evidence.LogVRRPMaster] != 2 || kinds[evidence.LogConntrackFull] != 10 || kinds[evidence.LogMartianSource] != 2 {
		t.Errorf("log kinds %v", kinds)
	}
	vip := netip.MustParsePrefix("192.0.2.100/24")
	if k.VRRPInstances[0].VIPs[0].Prefix != vip {
		t.Errorf("vip %v", k.VRRPInstances[0].VIPs[0])
	}
}

func FuzzLVSFormats(f *testing.F) {
	for _, p := range []string{"ipvsadm/testdata/lab/ipvsadm-Ln.txt", "ipvsadm/testdata/hand/seed001-lost-newlines.txt",
		"keepalived/testdata/v2-main.conf", "syslog/testdata/hand/messages-centos6-1.2.txt"} {
		b, _ := os.ReadFile(filepath.Join("..", "parse", p))
		for _, cmd := range []string{"", "ipvsadm -Ln", "ipvsadm -Lnc", "cat /etc/keepalived/keepalived.conf", "journalctl -u keepalived"} {
			f.Add(cmd, string(b))
		}
	}
	f.Fuzz(func(t *testing.T, cmd, text string) {
		// a slow input is a bug too: crash the worker so the input is kept
		watchdog := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("input took over 10s: cmd %q, %d bytes", cmd, len(text))) })
		defer watchdog.Stop()
		for _, k := range lvsFormats() {
			h := evidence.NewHost("h")
			k.Apply(evidence.Doc{Host: "h", Source: "f", Start: 1, Command: cmd, Text: text}, h)
			k.Sniff(text)
		}
	})
}

// TestLVSLabFormats reads the lab VM's real captures (testdata/lab/formats,
// each file starting with the "$ command" that printed it) through intake.
func TestLVSLabFormats(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "lab", "formats")
	if _, err := os.Stat(filepath.Join(dir, "INDEX")); err != nil {
		t.Skip("no lab formats captured")
	}
	ours := map[string]bool{}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	root := t.TempDir()
	for _, f := range files {
		base := filepath.Base(f)
		if !(strings.HasPrefix(base, "ipvsadm") || strings.HasPrefix(base, "proc-net-ip_vs") ||
			strings.HasPrefix(base, "keepalived") || strings.HasPrefix(base, "dmesg")) {
			continue
		}
		ours[base] = true
		// one host per file: each is a separate situation
		hd := filepath.Join(root, strings.NewReplacer(".", "_").Replace(base))
		if err := os.MkdirAll(hd, 0o755); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(f)
		if err := os.WriteFile(filepath.Join(hd, base), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if len(ours) < 20 {
		t.Fatalf("only %d lab files", len(ours))
	}
	c, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range c.Problems {
		t.Errorf("problem: %v", p)
	}
	host := func(base string) *evidence.Host {
		h := c.Lookup(strings.NewReplacer(".", "_").Replace(base))
		if h == nil {
			t.Fatalf("no host for %s", base)
		}
		return h
	}
	for _, base := range []string{"ipvsadm-Ln-no-ipvs.txt", "proc-net-ip_vs-no-ipvs.txt", "keepalived-no-ipvs.journal.log", "keepalived-no-ipvs.console.log"} {
		h := host(base)
		found := false
		for _, e := range h.Logs {
			found = found || e.Kind == evidence.LogIPVSInitFailed
		}
		if !found || h.IPVS != nil {
			t.Errorf("%s: IPVS missing not seen: %+v", base, h.Logs)
		}
	}
	for _, base := range []string{"ipvsadm-Ln.txt", "ipvsadm-Ln-sort.txt", "ipvsadm-Ln-exact.txt", "ipvsadm-Sn.txt", "proc-net-ip_vs.txt"} {
		h := host(base)
		if h.IPVS == nil || len(h.IPVS.Services) == 0 || !h.Has(evidence.KindIPVS) {
			t.Errorf("%s: no table", base)
		}
	}
	for _, base := range []string{"ipvsadm-Lnc.txt", "ipvsadm-Lnc-exact.txt", "proc-net-ip_vs_conn.txt"} {
		if h := host(base); h.IPVS == nil || h.IPVS.TotalConns == 0 || !h.Has(evidence.KindIPVSConns) {
			t.Errorf("%s: no connections", base)
		}
	}
	for _, base := range []string{"ipvsadm-Ln-stats.txt", "ipvsadm-Ln-rate.txt", "proc-net-ip_vs_stats.txt", "proc-net-ip_vs_stats_percpu.txt"} {
		if h := host(base); !h.Has(evidence.KindIPVSStats) {
			t.Errorf("%s: no stats", base)
		}
	}
	for _, base := range []string{"keepalived-director.conf", "keepalived-valid.conf", "keepalived-invalid.conf"} {
		h := host(base)
		if h.Keepalived == nil || len(h.Keepalived.VRRPInstances)+len(h.Keepalived.VirtualServers) == 0 {
			t.Errorf("%s: no config", base)
		}
		if base == "keepalived-invalid.conf" && len(h.Keepalived.Issues) == 0 {
			t.Errorf("%s: no issues", base)
		}
		if base != "keepalived-invalid.conf" && len(h.Keepalived.Issues) != 0 {
			t.Errorf("%s: issues in a valid config: %+v", base, h.Keepalived.Issues)
		}
	}
	kinds := func(base string) map[string]int {
		m := map[string]int{}
		for _, e := range host(base).Logs {
			m[e.Kind]++
		}
		return m
	}
	for _, base := range []string{"keepalived-director.journal.log", "keepalived-director.console.log"} {
		k := kinds(base)
		if k[evidence.LogVRRPMaster] == 0 || k[evidence.LogVRRPBackup] == 0 || k[evidence.LogVRRPFault] == 0 || k[evidence.LogRSRemoved] == 0 || k[evidence.LogRSAdded] == 0 {
			t.Errorf("%s: %v", base, k)
		}
	}
	if k := kinds("keepalived-t-invalid.txt"); k[evidence.LogConfigError] == 0 {
		t.Errorf("keepalived -t: %v", k)
	}
	if k := kinds("dmesg-martian.txt"); k[evidence.LogMartianSource] == 0 {
		t.Errorf("martian: %v", k)
	}
	if k := kinds("dmesg-conntrack-full.txt"); k[evidence.LogConntrackFull] == 0 {
		t.Errorf("conntrack: %v", k)
	}
}

// `keepalived -v` (on stderr, collected with 2>&1) gives the host's
// keepalived version, by command, file name or content.
func TestKeepalivedVersionFormat(t *testing.T) {
	for _, tc := range []struct{ name, text string }{
		{"keepalived-v.txt", "$ keepalived -v\nKeepalived v2.2.7 (01/16,2022)\n\nCopyright(C) 2001-2022 Alexandre Cassen, <acassen@gmail.com>\n"},
		{"version.txt", "Keepalived v1.3.5 (03/19,2017), git commit v1.3.5-6-g6fa32f2\n"},
	} {
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, "ds1"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "ds1", tc.name), []byte(tc.text), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		h := c.Lookup("ds1")
		if len(c.Problems) > 0 || h == nil || len(h.Logs) != 1 || h.Logs[0].Kind != evidence.LogKeepalivedVersion ||
			!strings.HasPrefix(tc.text[strings.Index(tc.text, "Keepalived v")+len("Keepalived v"):], h.Logs[0].Subject) {
			t.Errorf("%s: problems %v, host %+v", tc.name, c.Problems, h)
		}
	}
}

// lvsFormats are the formats these tests are about.
func lvsFormats() []format.Format {
	return slices.Concat(ipvsadm.Formats(), keepalived.Formats(), syslog.Formats())
}

// TestListingInsideProse: an ipvsadm listing pasted in the middle of a
// question (no command names it) is read from its header to its last
// listing line; the prose before and after is reported as two
// unrecognised blocks, not as lines the listing refused, and the prose's
// lines keep their numbers.
func TestListingInsideProse(t *testing.T) {
	paste := "请教一个问题：\n--vs 192.0.2.30:16443 \\\n\t3台master的ipvsadm -Ln均可以看到ipvs均生效。\n\n" +
		"IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n" +
		"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\nTCP  192.0.2.30:16443 rr\n" +
		"  -> 192.0.2.31:6443              Masq    1      0          0  \n  \n\t但是在master01上执行 curl 时报错\n请问？\n"
	p := filepath.Join(t.TempDir(), "question.txt")
	if err := os.WriteFile(p, []byte(paste), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	h := c.Lookup("question")
	if h == nil || h.IPVS == nil || len(h.IPVS.Services) != 1 || len(h.IPVS.Services[0].Dests) != 1 {
		t.Fatalf("listing not read: %+v", h)
	}
	if r := h.IPVS.Services[0].Ref; r.Line != 8 {
		t.Errorf("service line cited as %d, want 8", r.Line)
	}
	var got []string
	for _, pr := range c.Problems {
		got = append(got, fmt.Sprintf("%d %s", pr.Line, pr.Message))
	}
	want := []string{"1 unrecognised content: not used", "11 unrecognised content: not used"}
	if !slices.Equal(got, want) {
		t.Errorf("problems %q, want %q", got, want)
	}
}
