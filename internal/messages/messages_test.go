package messages

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/catalog"
)

var (
	projects = map[string]bool{"keepalived": true, "linux": true, "ipvsadm": true, "iproute2": true, "libvirt": true, "firewalld": true, "moby": true, "kubernetes": true, "ipset": true}
	logKinds = map[string]bool{"keepalived": true, "kernel": true, "stderr": true, "libvirt": true, "firewalld": true, "daemon": true}
)

// (a) the table loads and every entry says where it comes from and what it
// means.
func TestTableLoads(t *testing.T) {
	all := All()
	if len(all) < 60 {
		t.Fatalf("%d entries, want 60 or more", len(all))
	}
	seen := map[string]bool{}
	for _, e := range all {
		if seen[e.ID] {
			t.Errorf("duplicate id %s", e.ID)
		}
		seen[e.ID] = true
		if !strings.HasPrefix(e.ID, e.Project+".") {
			t.Errorf("%s: id does not start with its project %q", e.ID, e.Project)
		}
		if !projects[e.Project] {
			t.Errorf("%s: project %q", e.ID, e.Project)
		}
		if e.Repo == "" || e.Source == "" || e.Version == "" || e.Format == "" || e.Pattern == "" {
			t.Errorf("%s: repo, source, version, format and match are all required", e.ID)
		}
		if !logKinds[e.Log] {
			t.Errorf("%s: log %q", e.ID, e.Log)
		}
		if e.Log == "keepalived" && e.Process == "" {
			t.Errorf("%s: keepalived entries need their syslog ident in process", e.ID)
		}
		switch {
		case e.Benign && len(e.Causes) > 0:
			t.Errorf("%s: benign and causes at once", e.ID)
		case e.Benign && e.Why == "":
			t.Errorf("%s: benign needs why", e.ID)
		case !e.Benign && len(e.Causes) == 0:
			t.Errorf("%s: neither causes nor benign", e.ID)
		}
		if len(Verbs(e.Format)) < len(e.Args) {
			t.Errorf("%s: %d args for %d verbs", e.ID, len(e.Args), len(Verbs(e.Format)))
		}
		if len(e.Key) < 4 {
			t.Errorf("%s: key %q too short to screen lines with", e.ID, e.Key)
		}
		if p, ok := Lookup(e.ID); !ok || p.ID != e.ID {
			t.Errorf("%s: Lookup", e.ID)
		}
	}
}

// (b) each entry's pattern matches a line built from its own format, in
// every syntax its log kind reaches a paste in, and Match picks that entry
// and no other: a typo in either the format or the pattern, or two
// patterns that overlap, fail here.
func TestFormatsMatchTheirPattern(t *testing.T) {
	for _, e := range All() {
		msg, err := expand(e.Format, e.Args)
		if err != nil {
			t.Errorf("%s: %v", e.ID, err)
			continue
		}
		if !strings.Contains(msg, e.Key) {
			t.Errorf("%s: key %q not in %q", e.ID, e.Key, msg)
		}
		for _, line := range logLines(&e, msg) {
			if !e.re.MatchString(line) {
				t.Errorf("%s: pattern %s does not match %q", e.ID, e.Pattern, line)
				continue
			}
			got, ok := Match(line)
			switch {
			case !ok:
				t.Errorf("%s: Match(%q) found nothing", e.ID, line)
			case got.ID != e.ID && got.ID != e.SameAs:
				t.Errorf("%s: Match(%q) = %s", e.ID, line, got.ID)
			}
		}
	}
}

// logLines puts msg in the syntaxes a paste shows it in.
func logLines(e *Entry, msg string) []string {
	full := e.Prefix + msg
	switch e.Log {
	case "keepalived":
		return []string{
			"Apr  4 10:13:47 lb1 " + e.Process + "[1234]: " + full,                  // syslog, 1.x and 2.x
			"Apr 04 10:13:47 lb1 " + e.Process + "[1234]: " + full,                  // journalctl -u keepalived
			"2024-04-04T10:13:47.123456+02:00 lb1 " + e.Process + "[1234]: " + full, // rsyslog ISO, short-iso
			"Wed Apr  4 10:13:47 2018: " + full,                                     // keepalived --log-console
			full,                                                                    // the message alone
		}
	case "kernel":
		return []string{
			"[ 1234.567890] " + full,                             // dmesg
			"[Wed Apr  4 10:13:47 2018] " + full,                 // dmesg -T
			"Apr  4 10:13:47 lb1 kernel: [ 1234.567890] " + full, // kern.log, /var/log/messages
			"Apr 04 10:13:47 lb1 kernel: " + full,                // journalctl -k
			full,
		}
	case "libvirt":
		return []string{
			"2024-04-04 10:13:47.123+0000: 1234: error : virNWFilterDoInstantiate:512 : " + full, // libvirtd.log
			"Apr 04 10:13:47 hv1 libvirtd[1234]: " + full,                                        // journal
			"error: " + full, // virsh
		}
	case "daemon":
		return []string{
			`time="2017-10-12T17:28:13Z" level=error msg="` + full + `"`,                                 // logrus text (dockerd, kube-proxy of kube-router/moby's ipvs)
			"kube-proxy-wzccp kube-proxy time=\"2017-10-12T17:28:13Z\" level=error msg=\"" + full + "\"", // kubectl logs --prefix
			"ERRO[0089] " + full, // dockerd on a terminal
			"E1116 12:53:34.421604       1 server_others.go:339] " + full, // klog
			full,
		}
	case "firewalld":
		return []string{
			"2024-04-04 10:13:47 " + full,                 // /var/log/firewalld
			"Apr 04 10:13:47 lb1 firewalld[812]: " + full, // journal
		}
	}
	return []string{full} // stderr: the command's own output
}

// verbValue is a plausible value of the kind a conversion prints.
func verbValue(v string) (string, error) {
	conv := v[len(v)-1:]
	if i := strings.IndexByte(v, 'p'); i > 0 && i < len(v)-1 {
		// kernel %p extensions
		switch ext := v[i+1:]; {
		case strings.HasPrefix(ext, "I4"), strings.HasPrefix(ext, "i4"):
			return "192.0.2.100", nil
		case strings.HasPrefix(ext, "I6"), strings.HasPrefix(ext, "i6"):
			return "2001:db8::64", nil
		case strings.HasPrefix(ext, "S"), strings.HasPrefix(ext, "s"), strings.HasPrefix(ext, "F"):
			return "ip_vs_conn_new+0x1a4/0x5e0 [ip_vs]", nil
		case strings.HasPrefix(ext, "M"):
			return "52:54:00:12:34:56", nil
		}
		return "", fmt.Errorf("unknown %%p extension %s", v)
	}
	// Go understands the flags, width and precision of C; drop the n$
	// position and the length modifiers.
	spec := regexp.MustCompile(`^%(?:\d+\$)?`).ReplaceAllString(v[:len(v)-1], "%")
	spec = strings.TrimRight(spec, "hlLqjzt")
	spec = strings.ReplaceAll(spec, "*", "")
	switch conv {
	case "s", "S":
		return fmt.Sprintf(spec+"s", "VI_1"), nil
	case "d", "i", "u":
		return fmt.Sprintf(spec+"d", 42), nil
	case "x", "X", "o":
		return fmt.Sprintf(spec+conv, 42), nil
	case "c":
		return "c", nil
	case "v", "q":
		return "value", nil
	case "e", "E", "f", "F", "g", "G", "a", "A":
		return fmt.Sprintf(spec+"f", 1.5), nil
	case "p":
		return "00000000c0ffee00", nil
	case "m":
		return "Connection refused", nil // glibc's strerror(errno)
	case "n":
		return "", nil
	}
	return "", fmt.Errorf("unknown conversion %s", v)
}

// expand prints a format the way its program would: args for the verbs
// that have one, a value of the verb's kind for the others. The first line
// is what one log line shows.
func expand(format string, args []string) (string, error) {
	s := Unescape(format)
	n := 0
	var err error
	out := verb.ReplaceAllStringFunc(s, func(v string) string {
		if v == "%%" {
			return "%"
		}
		idx := n
		if m := regexp.MustCompile(`^%(\d+)\$`).FindStringSubmatch(v); m != nil {
			idx, _ = strconv.Atoi(m[1])
			idx--
		}
		n++
		if idx < len(args) {
			return args[idx]
		}
		val, e := verbValue(v)
		if e != nil {
			err = e
		}
		return val
	})
	line, _, _ := strings.Cut(out, "\n")
	return line, err
}

func TestExpand(t *testing.T) {
	for _, c := range []struct {
		format string
		args   []string
		want   string
	}{
		{`%s: %s %pI4:%d - %s\n`, []string{"rr", "TCP"}, "rr: TCP 192.0.2.100:42 - VI_1"},
		{`%s: FWM %u 0x%08X - %s\n`, nil, "VI_1: FWM 42 0x0000002A - VI_1"},
		{`checksum: pkt 0x%4.4x, %zu%%`, nil, "checksum: pkt 0x002a, 42%"},
		{`Device \"%s\" does not exist.\n`, []string{"tunl0"}, `Device "tunl0" does not exist.`},
		{`on interface %1$s index %2$d`, []string{"vnet0"}, "on interface vnet0 index 42"},
		{`Can't initialize ipvs: %s\nAre you sure`, nil, "Can't initialize ipvs: VI_1"},
		{`error %d (%m)`, nil, "error 42 (Connection refused)"},
		{`[%pI6c]:%d called from %pS`, nil, "[2001:db8::64]:42 called from ip_vs_conn_new+0x1a4/0x5e0 [ip_vs]"},
	} {
		got, err := expand(c.format, c.args)
		if err != nil || got != c.want {
			t.Errorf("expand(%q, %q) = %q, %v; want %q", c.format, c.args, got, err, c.want)
		}
	}
}

// (c) every cause named is in the catalog, unless the entry says it
// proposes a new one; and an entry marked new does propose one.
func TestCausesInCatalog(t *testing.T) {
	for _, e := range All() {
		unknown := 0
		for _, id := range e.Causes {
			if _, ok := catalog.Lookup(id); !ok {
				unknown++
				if !e.New {
					t.Errorf("%s: cause %s is not in the catalog (mark the entry new: true if it is a proposal)", e.ID, id)
				}
			}
		}
		if e.New && unknown == 0 {
			t.Errorf("%s: new: true but every cause is in the catalog", e.ID)
		}
	}
}

// realLines ties lines of this repository's test data to the entry they
// must match: every line of testdata/ and examples/ holding the probe is
// checked. The probes are longer than the table's keys so that a line
// that only quotes a message (a README, an expectation) is not taken.
var realLines = []struct {
	probe string
	want  []string
}{
	{"bogus VRRP packet received on ", []string{"keepalived.vrrp.bogus.v1"}},
	{") ignoring received advertisment...", []string{"keepalived.vrrp.ignoring-advert.v1"}},
	{"ip address associated with VRID not present in received packet : ", []string{"keepalived.vrrp.vip-not-present.v12"}},
	{"one or more VIP associated with VRID mismatch actual MASTER advert", []string{"keepalived.vrrp.vip-mismatch.v12"}},
	{"IPVS: bind local address: no port available", []string{"linux.ipvs.fnat-no-port"}},
	{"IPVS: Can't initialize ipvs: Protocol not available", []string{"keepalived.ipvs.init-failed"}},
	{"WEB socket bind failed. Rescheduling", []string{"keepalived.check.web-bind-failed"}},
	{") setting protocol iptable drop rule", []string{"keepalived.vrrp.iptable-drop-rule.v1"}},
	{"Failed to remove iptable drop rule to vip ", []string{"keepalived.vrrp.iptable-drop-failed.v1"}},
	{" - no destination available", []string{"linux.ipvs.no-destination"}},
	{") Invalid real server ip address/port ", []string{"keepalived.check.invalid-rs-address"}},
	{"table full, dropping packet", []string{"linux.conntrack.table-full"}},
	{") Entering MASTER STATE", []string{"keepalived.vrrp.master", "keepalived.vrrp.master.v1"}},
	{") Entering FAULT STATE", []string{"keepalived.vrrp.fault", "keepalived.vrrp.fault.v1"}},
	{") removing firewall drop rule", []string{"keepalived.vrrp.firewall-drop-rule"}},
	{") Strict mode does not support authentication", []string{"keepalived.vrrp.strict-no-auth"}},
	{"Lost quorum ", []string{"keepalived.check.quorum-lost", "keepalived.check.quorum-lost.v1"}},
	{"Gained quorum ", []string{"keepalived.check.quorum-gained"}},
	{"Disabling service [", []string{"keepalived.check.rs-removed", "keepalived.check.rs-removed.v20", "keepalived.check.rs-removed.v1"}},
	{"Removing service [", []string{"keepalived.check.rs-removed", "keepalived.check.rs-removed.v20", "keepalived.check.rs-removed.v1"}},
	{"Adding service [", []string{"keepalived.check.rs-added", "keepalived.check.rs-added.v20", "keepalived.check.rs-added.v1"}},
	{"TCP connection to [192.0.2.11]:tcp:80 failed.", []string{"keepalived.check.tcp-failed"}},
	{"TCP_CHECK on service [", []string{"keepalived.check.tcp-check-failed", "keepalived.check.tcp-check-failed-retries"}},
	{"TCP connection to [", nil}, // success lines: nothing, failures: above
	{" with lower priority ", []string{"keepalived.vrrp.lower-prio-master"}},
	{") Sending/queueing gratuitous ARPs on ", []string{"keepalived.vrrp.garp"}},
	{"IPVS: ipvs loaded.", []string{"linux.ipvs.loaded"}},
	{"IPVS: Registered protocols (", []string{"linux.ipvs.registered-protocols"}},
	{"Netlink reflector reports IP ", []string{"keepalived.check.reflector-ip"}},
	{"Unknown keyword '", []string{"keepalived.parser.unknown-keyword"}},
	{"\nCan't initialize ipvs: Protocol not available", []string{"ipvsadm.init-failed"}},
}

// (d) real lines of this repository's test data match the right entry, and
// ordinary lines match nothing.
func TestRealLines(t *testing.T) {
	found := make([]int, len(realLines))
	for _, root := range []string{"../../testdata", "../../examples"} {
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if ext := filepath.Ext(path); ext != ".log" && ext != ".txt" {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for n, line := range strings.Split(string(data), "\n") {
				line = strings.TrimSuffix(line, "\r")
				for i, r := range realLines {
					probe := r.probe
					if strings.HasPrefix(probe, "\n") { // the whole line
						if line != probe[1:] {
							continue
						}
					} else if !strings.Contains(line, probe) {
						continue
					}
					found[i]++
					got, ok := Match(line)
					if r.want == nil {
						if ok && !strings.Contains(got.ID, ".tcp-") {
							t.Errorf("%s:%d: %q matched %s", path, n+1, line, got.ID)
						}
						continue
					}
					if !ok {
						t.Errorf("%s:%d: %q matched nothing, want %v", path, n+1, line, r.want)
					} else if !contains(r.want, got.ID) {
						t.Errorf("%s:%d: %q matched %s, want %v", path, n+1, line, got.ID, r.want)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range realLines {
		if found[i] == 0 {
			t.Errorf("no line of testdata/ or examples/ holds %q: the test data moved; update realLines", r.probe)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ordinaryLines are lines every paste is full of and that say nothing of
// a cause: they must match no entry.
var ordinaryLines = []string{
	"net.netfilter.nf_conntrack_max = 262144",
	"net.netfilter.nf_conntrack_count = 1823",
	"net.ipv4.vs.conntrack = 0",
	"net.ipv4.conf.all.arp_ignore = 1",
	"2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group default qlen 1000",
	"    inet 192.0.2.10/24 brd 192.0.2.255 scope global eth0",
	"    inet 192.0.2.100/32 scope global eth0",
	"    inet6 fe80::5054:ff:fe12:3456/64 scope link",
	"       valid_lft forever preferred_lft forever",
	"TCP  192.0.2.100:80 rr",
	"  -> 192.0.2.11:80                Route   1      0          0",
	"IP Virtual Server version 1.2.1 (size=4096)",
	"ip_vs                 177152  6 ip_vs_rr",
	"nf_conntrack          172032  2 nf_nat,ip_vs",
	"Apr  4 10:13:47 lb1 systemd[1]: Started Session 42 of user root.",
	"Apr  4 10:13:47 lb1 Keepalived_healthcheckers[1234]: TCP connection to [192.0.2.11]:tcp:80 success.",
	"Apr  4 10:13:47 lb1 Keepalived_vrrp[1234]: (VI_1) setting VIPs.",
	"Apr  4 10:13:47 lb1 Keepalived_vrrp[1234]: Registering gratuitous ARP shared channel",
	"Apr  4 10:13:47 lb1 Keepalived[1233]: Starting Keepalived v2.2.8 (04/04,2023), git commit v2.2.7-154-g292b299e+",
	"[    2.345678] e1000: eth0 NIC Link is Up 1000 Mbps Full Duplex, Flow Control: RX",
	"[ 1234.567890] IPv4: martian source 192.0.2.100 from 192.0.2.1, on dev tunl0",
	"-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT",
	"tcp   LISTEN 0      511          0.0.0.0:80        0.0.0.0:*    users:((\"nginx\",pid=812,fd=6))",
	"",
}

func TestOrdinaryLinesMatchNothing(t *testing.T) {
	for _, line := range ordinaryLines {
		if e, ok := Match(line); ok {
			t.Errorf("%q matched %s", line, e.ID)
		}
	}
	// command outputs the lab collected: none of them is a message
	files, _ := filepath.Glob("../../testdata/lab/collect/*/*.txt")
	n := 0
	for _, path := range files {
		base := filepath.Base(path)
		if strings.HasPrefix(base, "dmesg") || strings.Contains(base, "journal") {
			continue // kernel logs hold messages
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			n++
			if e, ok := Match(line); ok {
				t.Errorf("%s:%d: %q matched %s", path, i+1, line, e.ID)
			}
		}
	}
	if n == 0 {
		t.Error("no collected command output found under testdata/lab/collect")
	}
}

func TestFields(t *testing.T) {
	e, ok := Match("Mar  9 21:28:43 k8s4 Keepalived_vrrp[8548]: (VI_1) ip address associated with VRID 51 not present in MASTER advert: 192.168.1.10")
	if !ok {
		t.Fatal("no match")
	}
	f := e.Fields("(VI_1) ip address associated with VRID 51 not present in MASTER advert: 192.168.1.10")
	if f["instance"] != "VI_1" || f["vrid"] != "51" || f["vip"] != "192.168.1.10" {
		t.Errorf("Fields = %v", f)
	}
	if !e.Decides() {
		t.Errorf("%s should decide a case", e.ID)
	}
}

func TestLongestLiteral(t *testing.T) {
	for format, want := range map[string]string{
		`(%s) received an invalid passwd!`:                                        ") received an invalid passwd!",
		`%s: %s %pI4:%d - %s\n`:                                                   " - ",
		`Device \"%s\" does not exist.\n`:                                         `" does not exist.`,
		`Can't initialize ipvs: %s\nAre you sure that IP Virtual Server is built`: "Are you sure that IP Virtual Server is built",
	} {
		if got := LongestLiteral(format); got != want {
			t.Errorf("LongestLiteral(%q) = %q, want %q", format, got, want)
		}
	}
}

// (e) the cost of a line that is no message, the common case in a log.
func BenchmarkMatchNoMessage(b *testing.B) {
	lines := benchLines(100000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, l := range lines {
			if _, ok := Match(l); ok {
				b.Fatalf("%q matched", l)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(lines)), "ns/line")
}

// BenchmarkMatchMessage is the other case: a line that is one.
func BenchmarkMatchMessage(b *testing.B) {
	line := "Apr  4 10:13:47 lb1 kernel: [ 1234.567890] IPVS: rr: TCP 192.0.2.100:80 - no destination available"
	for i := 0; i < b.N; i++ {
		if _, ok := Match(line); !ok {
			b.Fatal("no match")
		}
	}
}

// benchLines makes n ordinary lines of the kinds a pasted bundle holds.
func benchLines(n int) []string {
	kinds := []func(i int) string{
		func(i int) string { return fmt.Sprintf("net.ipv4.conf.eth%d.rp_filter = %d", i%4, i%3) },
		func(i int) string {
			return fmt.Sprintf("    inet 10.%d.%d.%d/24 brd 10.%d.%d.255 scope global eth0", i%200, i%250, i%240, i%200, i%250)
		},
		func(i int) string {
			return fmt.Sprintf("Apr  4 10:%02d:%02d lb1 systemd[1]: Started Session %d of user root.", i%60, i%60, i)
		},
		func(i int) string {
			return fmt.Sprintf("Apr  4 10:%02d:%02d lb1 Keepalived_healthcheckers[1234]: TCP connection to [192.0.2.%d]:tcp:80 success.", i%60, i%60, i%250)
		},
		func(i int) string {
			return fmt.Sprintf("[%6d.%06d] eth0: renamed from veth%x", i, i%1000000, i)
		},
		func(i int) string {
			return fmt.Sprintf("  -> 192.0.2.%d:80                Route   1      %d          %d", i%250, i%17, i%31)
		},
		func(i int) string {
			return fmt.Sprintf("Apr  4 10:%02d:%02d lb1 sshd[%d]: Accepted publickey for root from 198.51.100.%d port %d ssh2", i%60, i%60, 1000+i, i%250, 40000+i%20000)
		},
	}
	out := make([]string, n)
	for i := range out {
		out[i] = kinds[i%len(kinds)](i)
	}
	return out
}
