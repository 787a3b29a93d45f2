package keepalived

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// includer resolves includes the way a case directory does: by base name
// in testdata/conf.d.
func includer(t testing.TB) func(string) ([]evidence.Doc, error) {
	return func(pattern string) ([]evidence.Doc, error) {
		m, err := filepath.Glob(filepath.Join("testdata", "conf.d", filepath.Base(pattern)))
		if err != nil {
			return nil, err
		}
		sort.Strings(m)
		var out []evidence.Doc
		for _, f := range m {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			out = append(out, evidence.Doc{Host: "ds1", Source: "ds1/conf.d/" + filepath.Base(f), Start: 1, Text: string(b)})
		}
		return out, nil
	}
}

func load(t testing.TB, name string) evidence.Doc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return evidence.Doc{Host: "ds1", Source: "ds1/" + name, Start: 1, Text: string(b), Include: includer(t)}
}

// issues lists the issues that stand whatever the host's keepalived
// version; onlyV2 those that stand only if it is 2.x.
func issues(c *evidence.KeepalivedConfig) []string {
	var out []string
	for _, i := range c.Issues {
		if !i.OnlyV2 {
			out = append(out, fmt.Sprintf("%d %s", i.Ref.Line, i.Keyword))
		}
	}
	return out
}

func onlyV2(c *evidence.KeepalivedConfig) []string {
	var out []string
	for _, i := range c.Issues {
		if i.OnlyV2 {
			out = append(out, fmt.Sprintf("%d %s", i.Ref.Line, i.Keyword))
		}
	}
	return out
}

// noSecret fails when a password of the fixtures shows up anywhere in what
// the parser returns.
func noSecret(t *testing.T, name string, v ...any) {
	t.Helper()
	b, _ := json.Marshal(v)
	for _, s := range []string{"secret1", "s3cr3t", "abcdefghij", "verylongpassword123", "1111"} {
		if strings.Contains(string(b), s) {
			t.Errorf("%s: password %q leaked: %s", name, s, b)
		}
	}
}

func TestLabConfig(t *testing.T) {
	c, probs := ParseConfig(load(t, "lab-director.conf"))
	noSecret(t, "lab", c, probs)
	if len(probs) != 0 || len(c.Issues) != 0 {
		t.Fatalf("problems %v issues %v", probs, issues(c))
	}
	if c.RouterID != "director" || c.VRRPStrict != nil || len(c.VRRPInstances) != 1 || len(c.VirtualServers) != 1 {
		t.Fatalf("%+v", c)
	}
	vi := c.VRRPInstances[0]
	want := evidence.VRRPInstance{Name: "VI_1", State: "BACKUP", Interface: "eth0", VRID: 51, Priority: 100, AdvertInt: 1, AuthType: "PASS"}
	if vi.Name != want.Name || vi.State != want.State || vi.Interface != want.Interface || vi.VRID != want.VRID || vi.Priority != want.Priority || vi.AdvertInt != want.AdvertInt || vi.AuthType != want.AuthType || vi.Ref.Line != 6 {
		t.Errorf("instance %+v", vi)
	}
	if len(vi.VIPs) != 1 || vi.VIPs[0].Prefix != netip.MustParsePrefix("192.0.2.100/32") || vi.VIPs[0].Dev != "eth0" || vi.VIPs[0].Label != "eth0:1" || vi.VIPs[0].Ref.Line != 17 {
		t.Errorf("vips %+v", vi.VIPs)
	}
	vs := c.VirtualServers[0]
	if vs.Addr != netip.MustParseAddr("192.0.2.100") || vs.Port != 80 || vs.Proto != "TCP" || vs.LbAlgo != "rr" || vs.LbKind != "DR" || vs.LbKindRef.Line != 23 || vs.DelayLoop != 2 || len(vs.RealServers) != 2 {
		t.Errorf("vs %+v", vs)
	}
	rs := vs.RealServers[1]
	if rs.Addr != netip.MustParseAddr("192.0.2.12") || rs.Port != 80 || rs.Weight != 1 || rs.Check == nil || rs.Check.Type != "HTTP_GET" || len(rs.Check.URLs) != 1 || rs.Check.URLs[0] != "/" {
		t.Errorf("rs %+v %+v", rs, rs.Check)
	}
}

func TestSeeds(t *testing.T) {
	c, probs := ParseConfig(load(t, "seed002-1.3.5-dr.conf"))
	noSecret(t, "seed002", c, probs)
	if len(probs) != 0 || len(issues(c)) != 0 {
		t.Errorf("1.3 file: %v %v", probs, issues(c))
	}
	if vi := c.VRRPInstances[0]; vi.Interface != "enahisic2i0" || vi.VIPs[0].Prefix.String() != "192.0.2.9/24" {
		t.Errorf("inline comments: %+v", vi)
	}
	if vs := c.VirtualServers[0]; vs.Persistence != 60 || vs.LbKind != "DR" || vs.RealServers[0].Check.ConnectPort != 80 {
		t.Errorf("vs %+v", vs)
	}

	c, probs = ParseConfig(load(t, "seed003-fnat-fork.conf"))
	noSecret(t, "seed003", c, probs)
	if len(probs) != 0 || len(issues(c)) != 0 {
		t.Errorf("fork file: %v %v", probs, issues(c))
	}
	g := c.LocalAddrGroups["laddr_g1"]
	if len(g) != 1 || g[0].From != netip.MustParseAddr("198.51.100.105") || g[0].To != g[0].From || g[0].Ref.Line != 6 {
		t.Errorf("laddr %+v", g)
	}
	vs := c.VirtualServers[0]
	if vs.LbKind != "FNAT" || vs.LaddrGroup != "laddr_g1" || vs.LaddrRef.Line != 32 || vs.Persistence != 50 {
		t.Errorf("fnat vs %+v", vs)
	}
	if !c.VRRPInstances[0].Nopreempt || c.VRRPInstances[0].VIPs[0].Prefix.String() != "198.51.100.79/32" {
		t.Errorf("vi %+v", c.VRRPInstances[0])
	}
}

func TestForkInline(t *testing.T) {
	c, probs := ParseConfig(load(t, "fork-laddr-inline.conf"))
	if len(probs) != 0 || len(issues(c)) != 0 {
		t.Errorf("%v %v", probs, issues(c))
	}
	g := c.LocalAddrGroups["laddr_g1"]
	if len(g) != 2 || g[1].From.String() != "10.0.0.2" || g[1].To.String() != "10.0.0.20" || !g[1].Contains(netip.MustParseAddr("10.0.0.7")) {
		t.Errorf("laddr_g1 %+v", g)
	}
	if g := c.LocalAddrGroups["laddr_g2"]; len(g) != 1 || g[0].To.String() != "198.51.100.12" {
		t.Errorf("laddr_g2 %+v", g)
	}
	e := c.VSGroups["vsg1"]
	if len(e) != 5 || e[3].Addr.String() != "192.0.2.103" || e[3].Port != 80 || e[4].FWMark != 9 {
		t.Errorf("vsg %+v", e)
	}
	vs := c.VirtualServers[0]
	rs := vs.RealServers[0]
	if vs.Group != "vsg1" || rs.Weight != 3 || !rs.InhibitOnFailure || rs.Check.URLs[0] != "/healthz" {
		t.Errorf("vs %+v rs %+v", vs, rs)
	}
}

func TestV2WithIncludes(t *testing.T) {
	c, probs := ParseConfig(load(t, "v2-main.conf"))
	noSecret(t, "v2", c, probs)
	if len(probs) != 0 {
		t.Errorf("problems %v", probs)
	}
	if got := issues(c); strings.Join(got, ";") != "9 auth_pass;21 real_server" {
		t.Errorf("issues %v", c.Issues)
	}
	if c.Issues[0].Ref.Source != "ds1/conf.d/vi2.conf" || !strings.Contains(c.Issues[0].Ref.Text, "auth_pass <redacted>") {
		t.Errorf("auth issue ref %+v", c.Issues[0].Ref)
	}
	if c.VRRPStrict == nil || c.VRRPStrict.Line != 5 || c.RouterID != "ds1" {
		t.Errorf("global %+v", c)
	}
	if len(c.VRRPInstances) != 2 {
		t.Fatalf("instances %d", len(c.VRRPInstances))
	}
	v1, v2 := c.VRRPInstances[0], c.VRRPInstances[1]
	if v1.UnicastSrc.String() != "192.0.2.2" || len(v1.UnicastPeers) != 1 || v1.UnicastPeers[0].String() != "192.0.2.3" || v1.Ref.Line != 27 {
		t.Errorf("VI_1 %+v", v1)
	}
	if len(v1.VIPs) != 2 || v1.VIPs[1].Prefix.String() != "192.0.2.101/32" || v1.VIPs[1].Label != "" {
		t.Errorf("VI_1 vips %+v", v1.VIPs)
	}
	if v2.Name != "VI_2" || !v2.Nopreempt || v2.Ref.Source != "ds1/conf.d/vi2.conf" || v2.Ref.Line != 1 || v2.AuthType != "PASS" {
		t.Errorf("VI_2 %+v", v2)
	}
	if len(c.VirtualServers) != 2 {
		t.Fatalf("vs %d", len(c.VirtualServers))
	}
	vs := c.VirtualServers[0]
	if vs.LbAlgo != "wlc" || vs.LbKind != "DR" || vs.Persistence != 300 || vs.Ref.Source != "ds1/conf.d/vs.conf" {
		t.Errorf("vs %+v", vs)
	}
	if ck := vs.RealServers[1].Check; ck.Type != "TCP_CHECK" || ck.ConnectIP.String() != "192.0.2.12" || ck.ConnectPort != 8443 {
		t.Errorf("check %+v", ck)
	}
	if ck := vs.RealServers[0].Check; ck.Type != "SSL_GET" || ck.URLs[0] != "/health" {
		t.Errorf("ssl check %+v", ck)
	}
	fw := c.VirtualServers[1]
	if fw.FWMark != 7 || fw.LbKind != "TUN" || fw.RealServers[0].Check.Type != "MISC_CHECK" || fw.RealServers[0].Port != 0 {
		t.Errorf("fwmark vs %+v", fw)
	}
}

func TestInvalid(t *testing.T) {
	c, probs := ParseConfig(load(t, "invalid-2x.conf"))
	noSecret(t, "invalid", c, probs)
	if len(probs) != 0 {
		t.Errorf("problems %v", probs)
	}
	want := "3 vrrp_strcit;4 lvs_id;7 state;9 virtual_router_id;14 auth_pass;20 track_script;23 virtual_server;26 lb_kind;31 nb_get_retry"
	if got := strings.Join(issues(c), ";"); got != want {
		for _, i := range c.Issues {
			t.Logf("%d %s: %s", i.Ref.Line, i.Keyword, i.Message)
		}
		t.Errorf("issues\n%s\nwant\n%s", got, want)
	}
	for _, i := range c.Issues {
		if i.Keyword == "auth_pass" && i.Ref.Text != "auth_pass <redacted>" {
			t.Errorf("auth_pass ref text %q", i.Ref.Text)
		}
	}
	if c.RouterID != "ds1" {
		t.Errorf("router id %q", c.RouterID)
	}
}

func TestV1File(t *testing.T) {
	c, probs := ParseConfig(load(t, "v12-lvs_id.conf"))
	if len(probs) != 0 || len(issues(c)) != 0 {
		t.Errorf("1.2 file: %v %v", probs, c.Issues)
	}
	// its 1.x keywords are problems only under a 2.x keepalived
	if got := strings.Join(onlyV2(c), ";"); got != "9 lvs_id;31 nat_mask;43 nb_get_retry" {
		t.Errorf("1.2 file: 2.x-only issues %q", got)
	}
	if c.RouterID != "LVS_DEVEL" || c.VirtualServers[0].LbKind != "NAT" {
		t.Errorf("%+v", c)
	}
}

func TestIncludeUnavailable(t *testing.T) {
	d := load(t, "v2-main.conf")
	d.Include = nil
	c, probs := ParseConfig(d)
	if len(probs) != 1 || probs[0].Line != 57 || !strings.Contains(probs[0].Message, "/etc/keepalived/conf.d/*.conf") {
		t.Errorf("problems %v", probs)
	}
	if len(c.VRRPInstances) != 1 {
		t.Errorf("instances %d", len(c.VRRPInstances))
	}
	d.Include = func(string) ([]evidence.Doc, error) { return nil, errors.New("permission denied") }
	_, probs = ParseConfig(d)
	if len(probs) != 1 || !strings.Contains(probs[0].Message, "permission denied") {
		t.Errorf("problems %v", probs)
	}
	d.Include = func(string) ([]evidence.Doc, error) { return nil, nil }
	_, probs = ParseConfig(d)
	if len(probs) != 1 || !strings.Contains(probs[0].Message, "matched no file") {
		t.Errorf("problems %v", probs)
	}
	// An include of itself must not loop.
	d.Include = func(string) ([]evidence.Doc, error) { return []evidence.Doc{d}, nil }
	_, probs = ParseConfig(d)
	if len(probs) == 0 {
		t.Errorf("self include not reported")
	}
}

func TestTokenizer(t *testing.T) {
	cases := []struct {
		in   string
		want string
	}{
		{`virtual_server 192.0.2.1 80 { lb_kind DR`, `virtual_server|192.0.2.1|80|{|lb_kind|DR`},
		{`lb_kind DR#comment`, `lb_kind|DR`},
		{`lb_kind DR !comment`, `lb_kind|DR`},
		{`notify_master "/bin/echo a b" # x`, `notify_master|/bin/echo a b`},
		{`}}`, `}|}`},
		{`auth_pass "unterminated`, `auth_pass|unterminated`},
	}
	for _, c := range cases {
		var got []string
		for _, tk := range lineTokens(c.in) {
			got = append(got, tk.s)
		}
		if strings.Join(got, "|") != c.want {
			t.Errorf("%q: %q, want %q", c.in, strings.Join(got, "|"), c.want)
		}
	}
	// Braces on their own lines, blocks on one line, unbalanced braces.
	doc := evidence.Doc{Source: "x", Text: "vrrp_instance V\n{\nstate MASTER\nvirtual_ipaddress { 192.0.2.1/24 }\nauthentication {\nauth_pass abc }\n}\n}\nvirtual_server 192.0.2.1 80 {\nprotocol TCP\n"}
	c, _ := ParseConfig(doc)
	if len(c.VRRPInstances) != 1 || c.VRRPInstances[0].State != "MASTER" || len(c.VRRPInstances[0].VIPs) != 1 {
		t.Errorf("%+v", c.VRRPInstances)
	}
	got := issues(c)
	if strings.Join(got, ";") != "8 };9 virtual_server" {
		t.Errorf("issues %v", c.Issues)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"auth_pass 1111":                  "auth_pass <redacted>",
		"authentication { auth_pass x1 }": "authentication { auth_pass <redacted> }",
		`  AUTH_PASS "a b c"`:             `  AUTH_PASS <redacted>`,
		"auth_type PASS":                  "auth_type PASS",
		"auth_pass":                       "auth_pass",
	} {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// reShown finds what follows auth_pass in a cited line.
var reShown = regexp.MustCompile(`(?i)auth_pass\s*("[^"]*"?|[^\s"]+)`)

func FuzzParseConfig(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.conf")
	more, _ := filepath.Glob("testdata/conf.d/*.conf")
	for _, p := range append(files, more...) {
		b, _ := os.ReadFile(p)
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, text string) {
		doc := evidence.Doc{Host: "h", Source: "f", Start: 2, Text: text}
		doc.Include = func(string) ([]evidence.Doc, error) {
			return []evidence.Doc{{Host: "h", Source: "g", Start: 1, Text: text}}, nil
		}
		n := len(doc.Lines())
		c, probs := ParseConfig(doc)
		check := func(what string, r evidence.Ref) {
			max := n + 2
			if r.Source == "g" {
				max = n + 1
			}
			if r.Line < 1 || r.Line >= max {
				t.Fatalf("%s ref %v outside the document (%d lines)", what, r, n)
			}
			for _, m := range reShown.FindAllStringSubmatch(r.Text, -1) {
				if m[1] != "<redacted>" {
					t.Fatalf("%s ref shows a password: %q", what, r.Text)
				}
			}
		}
		for _, i := range c.Issues {
			check("issue", i.Ref)
		}
		for _, v := range c.VRRPInstances {
			check("instance", v.Ref)
			for _, x := range v.VIPs {
				check("vip", x.Ref)
			}
		}
		for _, v := range c.VirtualServers {
			check("vs", v.Ref)
			for _, r := range v.RealServers {
				check("rs", r.Ref)
			}
		}
		_ = probs
	})
}

// TestSyncDaemon: global_defs' lvs_sync_daemon is kept with its line, so
// a rule can tell a pair that syncs connections from one that does not.
func TestSyncDaemon(t *testing.T) {
	text := "global_defs {\n    router_id lb1\n    lvs_sync_daemon eth0 VI_1 id 51\n}\n"
	c, probs := ParseConfig(evidence.Doc{Host: "lb1", Source: "lb1/keepalived.conf", Start: 1, Text: text})
	if len(probs) != 0 || len(issues(c)) != 0 {
		t.Fatalf("problems %v issues %v", probs, issues(c))
	}
	if c.LVSSyncDaemon == nil || c.LVSSyncDaemon.Line != 3 {
		t.Fatalf("lvs_sync_daemon not kept: %+v", c.LVSSyncDaemon)
	}
	c, _ = ParseConfig(evidence.Doc{Host: "lb1", Source: "lb1/keepalived.conf", Start: 1, Text: "global_defs {\n    router_id lb1\n}\n"})
	if c.LVSSyncDaemon != nil {
		t.Errorf("no lvs_sync_daemon line, got %+v", c.LVSSyncDaemon)
	}
}

// accept and no_accept are kept with their lines: vrrp_strict's drop
// depends on them.
func TestAcceptMode(t *testing.T) {
	text := "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n priority 100\n accept\n virtual_ipaddress {\n  192.0.2.100\n }\n}\n" +
		"vrrp_instance B {\n interface eth0\n virtual_router_id 2\n priority 100\n no_accept\n virtual_ipaddress {\n  192.0.2.101\n }\n}\n" +
		"vrrp_instance C {\n interface eth0\n virtual_router_id 3\n priority 100\n virtual_ipaddress {\n  192.0.2.102\n }\n}\n"
	c, _ := ParseConfig(evidence.Doc{Host: "d", Source: "d/keepalived.conf", Start: 1, Text: text})
	if c == nil || len(c.VRRPInstances) != 3 {
		t.Fatalf("%+v", c)
	}
	for i, w := range []struct {
		accept string
		line   int
	}{{"accept", 5}, {"no_accept", 14}, {"", 0}} {
		vi := c.VRRPInstances[i]
		if vi.Accept != w.accept || vi.AcceptRef.Line != w.line {
			t.Errorf("%s: %q line %d, want %q line %d", vi.Name, vi.Accept, vi.AcceptRef.Line, w.accept, w.line)
		}
	}
}

// TestIntentReadings: what the rules hold against the table and the log:
// "..." elisions are no keyword, a quoted line of virtual_server settings
// is read as one (and checked), lvs_timeouts and weights keep their lines.
func TestIntentReadings(t *testing.T) {
	doc := func(text string) evidence.Doc {
		return evidence.Doc{Host: "h", Source: "paste.txt", Start: 1, Text: text}
	}
	c, _ := ParseConfig(doc("virtual_server fwmark 31 {\n  lb_kind DR\n  real_server 1.1.1.1 0 {\n    weight 0\n    MISC_CHECK { ... }\n  }\n}\n"))
	for _, is := range c.Issues {
		if strings.Contains(is.Message, "...") {
			t.Errorf("an elision taken for a keyword: %s", is.Message)
		}
	}
	if rs := c.VirtualServers[0].RealServers[0]; rs.Weight != 0 || rs.WeightRef.Line != 4 {
		t.Errorf("weight %d from line %d, want 0 from line 4", rs.Weight, rs.WeightRef.Line)
	}
	c, _ = ParseConfig(doc(" persistence_timeout 4294967295\n"))
	if len(c.LVSFragment) != 1 || len(c.Issues) != 1 || !strings.Contains(c.Issues[0].Message, "is above 2678400") {
		t.Errorf("fragment %v, issues %+v: want the out-of-range value reported", c.LVSFragment, c.Issues)
	}
	c, _ = ParseConfig(doc(" persistence_timeout 300\n"))
	if len(c.LVSFragment) != 1 || len(c.Issues) != 0 {
		t.Errorf("fragment %v, issues %+v: want a clean fragment", c.LVSFragment, c.Issues)
	}
	c, _ = ParseConfig(doc("global_defs {\n   lvs_timeouts tcp 7200 tcpfin 120 udp 300\n}\n"))
	if c.LVSTimeouts == nil || c.LVSTimeoutTCP != 7200 || c.LVSTimeoutFin != 120 || c.LVSTimeoutUDP != 300 || c.LVSSyncDaemon != nil {
		t.Errorf("lvs_timeouts %v %d %d %d", c.LVSTimeouts, c.LVSTimeoutTCP, c.LVSTimeoutFin, c.LVSTimeoutUDP)
	}
	if !LVSKeywordLine(" persistence_timeout 4294967295") || LVSKeywordLine("net.ipv4.vs.conntrack = 1") || LVSKeywordLine("global_defs {") {
		t.Error("LVSKeywordLine")
	}
}

// TestInstanceFragment: vrrp_instance settings quoted without their
// instance, between lines of prose, are checked as inside one: a unicast
// peer glued to the next is reported with what keepalived does with it,
// the prose is skipped with one problem, and no instance is invented.
func TestInstanceFragment(t *testing.T) {
	text := "keepalived.conf 中设置\n\n unicast_peer {\n        192.168.2.54192.168.2.56\n    }\n\n正确的应该是：\nunicast_peer {\n        192.168.2.54\n        192.168.2.56\n    }\n"
	if !Formats()[0].Sniff(text) {
		t.Fatal("a unicast_peer block is not sniffed as keepalived.conf")
	}
	cfg, probs := ParseConfig(evidence.Doc{Host: "h", Source: "paste", Start: 1, Text: text})
	if len(cfg.VRRPInstances) != 0 || len(cfg.VRRPFragment) != 2 {
		t.Fatalf("instances %d, fragment lines %d; want 0 and 2", len(cfg.VRRPInstances), len(cfg.VRRPFragment))
	}
	if len(cfg.Issues) != 1 {
		t.Fatalf("issues = %+v, want the glued peer's only", cfg.Issues)
	}
	is := cfg.Issues[0]
	for _, want := range []string{`malformed unicast peer address[192.168.2.54192.168.2.56]. Skipping...`, "192.168.2.54 and 192.168.2.56"} {
		if !strings.Contains(is.Message, want) {
			t.Errorf("issue %q does not say %q", is.Message, want)
		}
	}
	if is.Ref.Line != 4 {
		t.Errorf("issue cites line %d, want 4", is.Ref.Line)
	}
	if len(probs) != 1 || !strings.Contains(probs[0].Message, "2 lines around the vrrp_instance settings") {
		t.Errorf("problems = %+v, want the two prose lines skipped", probs)
	}
	// A whole configuration is not a fragment.
	cfg, _ = ParseConfig(evidence.Doc{Source: "x", Text: "vrrp_instance V {\n unicast_peer {\n  10.0.0.2\n }\n}\n"})
	if len(cfg.VRRPInstances) != 1 || len(cfg.VRRPFragment) != 0 {
		t.Errorf("a configuration read as a fragment: %+v", cfg)
	}
}
