package nltext

import (
	"fmt"
	"net/netip"
	"os/exec"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/iproute"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/sockets"
	"golang.org/x/sys/unix"
)

// A fidelity case renders one command both ways in the lab.
type fidelityCase struct {
	name    string
	command string   // the command line, as a collected file would record it
	real    []string // the real command
	mine    func() ([]byte, error)
	parse   func(evidence.Doc) (any, []evidence.Problem)
}

func parseAddr(d evidence.Doc) (any, []evidence.Problem) { return iproute.ParseAddr(d) }
func parseLink(d evidence.Doc) (any, []evidence.Problem) { return iproute.ParseLink(d) }
func parseRoute(d evidence.Doc) (any, []evidence.Problem) {
	return iproute.ParseRoute(d)
}
func parseRule(d evidence.Doc) (any, []evidence.Problem)  { return iproute.ParseRule(d) }
func parseNeigh(d evidence.Doc) (any, []evidence.Problem) { return iproute.ParseNeigh(d) }
func parseSS(d evidence.Doc) (any, []evidence.Problem)    { return sockets.ParseSS(d) }

func routeCase(family int, table string) fidelityCase {
	cmd := "ip route show table " + table
	real := []string{"ip", "route", "show", "table", table}
	if family == unix.AF_INET6 {
		cmd = "ip -6 route show table " + table
		real = []string{"ip", "-6", "route", "show", "table", table}
	}
	return fidelityCase{name: strings.ReplaceAll(cmd, " ", "_"), command: cmd, real: real,
		mine: func() ([]byte, error) { return Route(family, table) }, parse: parseRoute}
}

func fidelityCases() []fidelityCase {
	cs := []fidelityCase{
		{"addr", "ip -d addr show", []string{"ip", "-d", "addr", "show"}, Addr, parseAddr},
		{"link", "ip -d link show", []string{"ip", "-d", "link", "show"}, Link, parseLink},
		{"rule", "ip rule show", []string{"ip", "rule", "show"}, func() ([]byte, error) { return Rule(unix.AF_INET) }, parseRule},
		{"rule6", "ip -6 rule show", []string{"ip", "-6", "rule", "show"}, func() ([]byte, error) { return Rule(unix.AF_INET6) }, parseRule},
		{"neigh", "ip neigh show", []string{"ip", "neigh", "show"}, Neigh, parseNeigh},
		{"ss", "ss -lntup", []string{"ss", "-lntup"}, Listeners, parseSS},
	}
	for _, t := range []string{"main", "local", "all", "100"} {
		cs = append(cs, routeCase(unix.AF_UNSPEC, t), routeCase(unix.AF_INET6, t))
	}
	return cs
}

// allowedDiffs are the only ways our text may differ from the real
// tool's: values that change by themselves between the two reads (bridge
// timers, the lifetimes of addresses and routes that expire).
var allowedDiffs = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`(hello_timer|tcn_timer|topology_change_timer|gc_timer|hold_timer|message_age_timer|forward_delay_timer)\s+[0-9]+\.[0-9]+`), "$1 <timer>"},
	{regexp.MustCompile(`(valid_lft|preferred_lft) [0-9]+sec`), "$1 <n>sec"},
	{regexp.MustCompile(`expires [0-9]+sec`), "expires <n>sec"},
}

func normalize(s string) string {
	for _, d := range allowedDiffs {
		s = d.re.ReplaceAllString(s, d.repl)
	}
	return s
}

// withoutRefs returns v with every evidence.Ref zeroed, so that facts from
// two sources compare equal when only their provenance differs.
func withoutRefs(v any) any {
	rv := reflect.ValueOf(v)
	cp := reflect.New(rv.Type()).Elem()
	cp.Set(rv)
	zeroRefs(cp)
	return cp.Interface()
}

var refType = reflect.TypeOf(evidence.Ref{})

func zeroRefs(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == refType {
			v.Set(reflect.Zero(refType))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Field(i).CanSet() {
				zeroRefs(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.IsNil() {
			return
		}
		cp := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(cp, v)
		for i := 0; i < cp.Len(); i++ {
			zeroRefs(cp.Index(i))
		}
		v.Set(cp)
	}
}

// lineDiff describes where two texts first differ, line by line.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	n := 0
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  real: %q\n  ours: %q\n", i+1, wl, gl)
			if n++; n == 5 {
				break
			}
		}
	}
	return b.String()
}

// compareOnce renders c both ways; it returns "" when the texts agree up
// to allowedDiffs and the parsers read the same evidence from both.
func compareOnce(t *testing.T, l *lab, c fidelityCase) (string, int) {
	real, err := l.real(c.real...)
	if err != nil {
		t.Fatal(err)
	}
	var mine []byte
	var merr error
	if err := l.in(func() { mine, merr = c.mine() }); err != nil {
		t.Fatal(err)
	}
	if merr != nil {
		t.Fatalf("%s: %v", c.name, merr)
	}
	doc := func(src string, text []byte) evidence.Doc {
		return evidence.Doc{Host: "lab", Source: "lab/" + src, Start: 1, Command: c.command, Text: string(text)}
	}
	realEv, realProbs := c.parse(doc("real.txt", real))
	mineEv, mineProbs := c.parse(doc("ours.txt", mine))
	if len(realProbs) != 0 {
		t.Fatalf("%s: the parser has problems with the real tool's output: %v", c.name, realProbs)
	}
	var msg strings.Builder
	if len(mineProbs) != 0 {
		fmt.Fprintf(&msg, "parser problems with our text: %v\n", mineProbs)
	}
	if !reflect.DeepEqual(withoutRefs(realEv), withoutRefs(mineEv)) {
		fmt.Fprintf(&msg, "evidence differs:\n  real: %+v\n  ours: %+v\n", withoutRefs(realEv), withoutRefs(mineEv))
	}
	if nr, nm := normalize(string(real)), normalize(string(mine)); nr != nm {
		if textVersion() {
			fmt.Fprintf(&msg, "text differs:\n%s", lineDiff(nr, nm))
		} else {
			t.Logf("%s: text differs from this host's %s (evidence is equal; the text is 6.1's):\n%s", c.name, ipVersion, lineDiff(nr, nm))
		}
	}
	return msg.String(), strings.Count(string(real), "\n")
}

var (
	ipVersionOnce sync.Once
	ipVersion     string
)

// textVersion reports whether the host's iproute2 is the 6.1 whose text
// nltext reproduces; with another version only the evidence must agree.
func textVersion() bool {
	ipVersionOnce.Do(func() {
		out, _ := exec.Command("ip", "-V").Output()
		ipVersion = strings.TrimSpace(string(out))
	})
	return strings.Contains(ipVersion, "iproute2-6.1.")
}

// TestFidelity compares, for every function, the evidence lvsdoctor's
// parsers read from our text with what they read from the real command run
// in the same namespace, and the texts themselves line by line.
func TestFidelity(t *testing.T) {
	l := getLab(t)
	for _, m := range l.missing {
		t.Logf("not covered, link kind missing: %s", m)
	}
	for _, c := range fidelityCases() {
		t.Run(c.name, func(t *testing.T) {
			// Neighbour states and timers move on their own; a difference
			// that is real shows up on every try.
			var diff string
			var lines int
			for try := 0; try < 3; try++ {
				if diff, lines = compareOnce(t, l, c); diff == "" {
					break
				}
			}
			if diff != "" {
				t.Fatalf("%s differs from %s:\n%s", c.name, strings.Join(c.real, " "), diff)
			}
			if lines == 0 {
				t.Fatalf("%s printed nothing: the lab is not set up", strings.Join(c.real, " "))
			}
			t.Logf("%d lines identical up to the allowed differences", lines)
		})
	}
}

// TestFidelityCoversLab makes sure the comparison saw what the lab set up,
// so that equal-but-empty outputs cannot pass.
func TestFidelityCoversLab(t *testing.T) {
	l := getLab(t)
	var addr, route, rules, neigh, ss []byte
	err := l.in(func() {
		addr, _ = Addr()
		route, _ = Route(unix.AF_UNSPEC, "all")
		rules, _ = Rule(unix.AF_INET)
		neigh, _ = Neigh()
		ss, _ = Listeners()
	})
	if err != nil {
		t.Fatal(err)
	}
	doc := func(cmd string, b []byte) evidence.Doc {
		return evidence.Doc{Host: "lab", Source: "lab/x", Command: cmd, Text: string(b)}
	}
	ifs, _ := iproute.ParseAddr(doc("ip -d addr show", addr))
	want := map[string]string{"lo": "", "veth0": "veth", "veth1": "veth", "br0": "bridge", "vx0": "vxlan", "mv0": "macvlan"}
	for _, ln := range ifs.Links {
		if k, ok := want[ln.Name]; ok && (k == "" || ln.Kind == k) {
			delete(want, ln.Name)
		}
		if ln.Name == "veth1" && ln.Master != "br0" {
			t.Errorf("veth1's master is %q, want br0", ln.Master)
		}
	}
	if len(want) != 0 {
		t.Errorf("links missing or of the wrong kind: %v", want)
	}
	found := map[string]bool{}
	for _, a := range ifs.Addrs {
		switch {
		case a.Iface == "lo" && a.Prefix == netip.MustParsePrefix("192.0.2.60/32") && a.Label == "lo:0":
			found["vip on lo:0"] = true
		case a.Label == "veth0:1" && a.Secondary:
			found["secondary with label"] = true
		case a.Prefix == netip.MustParsePrefix("2001:db8:2::1/64"):
			found["ipv6"] = true
		}
	}
	if len(found) != 3 {
		t.Errorf("addresses found: %v, want vip on lo:0, secondary with label, ipv6", found)
	}
	routes, _ := iproute.ParseRoute(doc("ip route show table all", route))
	tables := map[string]bool{}
	for _, r := range routes {
		tables[r.Table] = true
	}
	for _, tb := range []string{"main", "local", "100"} {
		if !tables[tb] {
			t.Errorf("no route of table %s in ip route show table all", tb)
		}
	}
	rs, _ := iproute.ParseRule(doc("ip rule show", rules))
	var sel []string
	for _, r := range rs {
		sel = append(sel, r.Selector+" → "+r.Table)
	}
	joined := strings.Join(sel, "; ")
	for _, w := range []string{"from 192.0.2.0/24 → 100", "fwmark 0x1/0xff → 100"} {
		if !strings.Contains(joined, w) {
			t.Errorf("rule %q missing from %s", w, joined)
		}
	}
	ns, _ := iproute.ParseNeigh(doc("ip neigh show", neigh))
	states := map[string]bool{}
	for _, n := range ns {
		states[n.State] = true
	}
	if !states["PERMANENT"] || !states["router STALE"] && !states["STALE"] {
		t.Errorf("neighbour states %v lack PERMANENT or STALE", states)
	}
	ls, _ := sockets.ParseSS(doc("ss -lntup", ss))
	procs := 0
	for _, x := range ls {
		if x.Process == "nltext.test" {
			procs++
		}
	}
	if procs < 12 {
		t.Errorf("ss shows %d sockets of the helper process, want its 12:\n%s", procs, ss)
	}
}

// TestListenersNoSockDiag: a kernel that has no sock_diag and cannot load
// it (module loading disabled) fails every request; Listeners then reads
// /proc/net as when sock_diag is merely not loaded, instead of failing.
func TestListenersNoSockDiag(t *testing.T) {
	l := getLab(t)
	var fallback, procNet []byte
	var ferr, perr error
	if err := l.in(func() {
		diagSocketsFn = func() ([]sockEntry, error) {
			return nil, fmt.Errorf("sock_diag tcp family 2: %w", unix.EPROTONOSUPPORT)
		}
		defer func() { diagSocketsFn = diagSockets }()
		fallback, ferr = Listeners()
		forceProcNet = true
		defer func() { forceProcNet = false }()
		procNet, perr = Listeners()
	}); err != nil {
		t.Fatal(err)
	}
	if ferr != nil || perr != nil {
		t.Fatalf("Listeners: %v / %v", ferr, perr)
	}
	if string(fallback) != string(procNet) || !strings.Contains(string(fallback), ":8082") {
		t.Errorf("without sock_diag:\n%s\nfrom /proc/net:\n%s", fallback, procNet)
	}
}

// TestListenersProcNet checks the path taken when sock_diag would load a
// module: the same sockets and processes, with the two differences /proc
// imposes (IPv6 wildcards as "*", Send-Q 0 for listeners).
func TestListenersProcNet(t *testing.T) {
	l := getLab(t)
	real, err := l.real("ss", "-lntup")
	if err != nil {
		t.Fatal(err)
	}
	var mine []byte
	var merr error
	if err := l.in(func() {
		forceProcNet = true
		defer func() { forceProcNet = false }()
		mine, merr = Listeners()
	}); err != nil {
		t.Fatal(err)
	}
	if merr != nil {
		t.Fatal(merr)
	}
	doc := func(b []byte) evidence.Doc {
		return evidence.Doc{Host: "lab", Source: "lab/ss", Command: "ss -lntup", Text: string(b)}
	}
	realLs, p1 := sockets.ParseSS(doc(real))
	mineLs, p2 := sockets.ParseSS(doc(mine))
	if len(p1)+len(p2) != 0 {
		t.Fatalf("parser problems: %v %v", p1, p2)
	}
	key := func(x evidence.Listener) string {
		a := "any"
		if !x.Any {
			a = x.Addr.String()
		}
		return fmt.Sprintf("%s %s %d %s", x.Proto, a, x.Port, x.Process)
	}
	set := func(ls []evidence.Listener) map[string]int {
		m := map[string]int{}
		for _, x := range ls {
			m[key(x)]++
		}
		return m
	}
	if r, m := set(realLs), set(mineLs); !reflect.DeepEqual(r, m) || len(r) < 12 {
		t.Fatalf("from /proc/net:\n%v\nfrom ss:\n%v\n%s", m, r, mine)
	}
	if !strings.Contains(string(mine), "*:8082") || strings.Contains(string(mine), "[::]:8082") {
		t.Errorf("a v6only wildcard read from /proc/net should print as ss's fallback does (*:8082):\n%s", mine)
	}
}
