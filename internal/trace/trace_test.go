package trace

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvsdoctor/lvsdoctor/internal/catalog"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/finding"
	"github.com/lvsdoctor/lvsdoctor/internal/trace/tracegen"
)

const labDir = "../../testdata/lab"

// labInputs lists a lab case's captures as the CLI does: one point per
// file, the host its folder, the role its role file.
func labInputs(t *testing.T, name string) []Input {
	t.Helper()
	dir := filepath.Join(labDir, name)
	hosts, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var in []Input
	for _, h := range hosts {
		if !h.IsDir() {
			continue
		}
		role := ""
		if b, err := os.ReadFile(filepath.Join(dir, h.Name(), "role")); err == nil {
			role = strings.TrimSpace(string(b))
		}
		files, _ := filepath.Glob(filepath.Join(dir, h.Name(), "*.pcap"))
		for _, f := range files {
			in = append(in, Input{Point: Point{Host: h.Name(), Role: evidence.Role(role), Source: h.Name() + "/" + filepath.Base(f)}, Path: f})
		}
	}
	if len(in) == 0 {
		t.Fatalf("%s: no captures", name)
	}
	return in
}

var labVIP = Config{VIP: netip.MustParseAddr("192.0.2.100"), Port: 80, Proto: "tcp"}

func outcomes(r *Result) map[string]int {
	m := map[string]int{}
	for _, f := range r.Flows {
		m[f.Outcome]++
	}
	return m
}

// findingIDs maps the IDs of the result's findings and observations to
// their first instance.
func findingIDs(r *Result) map[string]*finding.Finding {
	m := map[string]*finding.Finding{}
	for _, list := range [][]finding.Finding{r.Findings, r.Observations} {
		for i := range list {
			f := &list[i]
			if m[f.ID] == nil {
				m[f.ID] = f
			}
		}
	}
	return m
}

// checkEvidence makes sure every finding cites packets: a file, a frame
// number and the frame's rendering with its time.
func checkEvidence(t *testing.T, r *Result) {
	t.Helper()
	for _, f := range r.Findings {
		if _, ok := catalog.Lookup(f.ID); !ok {
			t.Errorf("finding %s is not a cause of the catalog", f.ID)
		}
	}
	for _, f := range r.Observations {
		if !strings.HasPrefix(f.ID, "packet.") {
			t.Errorf("observation %s is not a packet.* observation", f.ID)
		}
	}
	for _, f := range append(r.Findings[:len(r.Findings):len(r.Findings)], r.Observations...) {
		if len(f.Evidence) == 0 {
			t.Errorf("%s without evidence", f.ID)
		}
		for _, e := range f.Evidence {
			if e.Source == "" || e.Line <= 0 || len(e.Text) < 15 || e.Text[2] != ':' {
				t.Errorf("%s: evidence %+v is not a frame", f.ID, e)
			}
		}
	}
}

// TestLabCases traces the lab's real captures: each case's story, told by
// the packets alone.
func TestLabCases(t *testing.T) {
	for _, c := range []struct {
		name     string
		mode     string
		outcomes map[string]int // at least these
		finding  string         // a finding the packets must give
		host     string         // on this host
		between  []string       // where the connections were lost
		healthy  bool           // no critical finding
	}{
		{name: "dr-healthy", mode: "dr", outcomes: map[string]int{"answered": 4}, healthy: true},
		{name: "tun-healthy", mode: "tun", outcomes: map[string]int{"answered": 4}, healthy: true},
		{name: "nat-healthy", mode: "nat", outcomes: map[string]int{"answered": 4}, healthy: true},
		// Seed 004: the hypervisor's nwfilter drops the director's DR frames.
		{name: "hypervisor.nwfilter-no-ip-spoofing", mode: "dr", outcomes: map[string]int{"lost-in-transit": 4}, finding: "trace.lost-in-transit", host: "hypervisor", between: []string{"director", "hypervisor"}},
		// Seed 001: the cloud's anti-spoofing drops them between the VMs.
		{name: "net.vpc-antispoof", mode: "dr", outcomes: map[string]int{"lost-in-transit": 4}, finding: "trace.lost-in-transit"},
		{name: "hypervisor.bridge-netfilter-drop", outcomes: map[string]int{"lost-in-transit": 4}, finding: "trace.lost-in-transit", host: "director", between: []string{"hypervisor", "director"}},
		{name: "director.firewall-drops-vip", outcomes: map[string]int{"not-forwarded": 4}, finding: "trace.director-not-forwarding", host: "director"},
		{name: "rs.firewall-drops-vip", mode: "dr", outcomes: map[string]int{"rs-not-replying": 4}, finding: "trace.rs-not-replying"},
		{name: "director.ip-forward-off", mode: "nat", outcomes: map[string]int{"reply-lost": 4}, finding: "trace.reply-lost", host: "director"},
		{name: "rs.nat-gateway-wrong", mode: "nat", outcomes: map[string]int{"reply-bypassed-director": 2, "answered": 2}, finding: "trace.reply-lost", host: "rs1"},
		{name: "rs.app-not-listening", mode: "dr", outcomes: map[string]int{"refused": 2, "answered": 2}, finding: ObsReset, host: "rs1"},
		{name: "director.no-virtual-service", outcomes: map[string]int{"refused": 4}, finding: ObsReset, host: "director"},
		{name: "net.tunnel-mtu", mode: "tun", finding: "net.tunnel-mtu"},
		{name: "rs.arp-not-suppressed", finding: "net.arp-conflict"},
		{name: "director.vip-owned-twice", finding: ObsVRRPTwoMaster},
		{name: "director.dr-rs-not-on-link", outcomes: map[string]int{"looping": 2}, finding: ObsLoop},
		{name: "director.vip-not-local", finding: ObsARPUnanswered, host: "client"},
		{name: "director.conntrack-table-full", outcomes: map[string]int{"not-forwarded": 5, "answered": 120}, finding: "trace.director-not-forwarding"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := Run(labInputs(t, c.name), labVIP)
			if c.mode != "" && r.Service.Mode != c.mode {
				t.Errorf("mode %q (%s), want %q", r.Service.Mode, r.Service.ModeWhy, c.mode)
			}
			got := outcomes(r)
			for o, n := range c.outcomes {
				if got[o] != n {
					t.Errorf("outcomes %v, want %d %s", got, n, o)
				}
			}
			ids := findingIDs(r)
			if c.finding != "" {
				f := ids[c.finding]
				if f == nil {
					t.Fatalf("no %s among %v", c.finding, keys(ids))
				}
				if c.host != "" && f.Host != c.host {
					t.Errorf("%s on %s, want %s", c.finding, f.Host, c.host)
				}
			}
			for _, f := range r.Flows {
				if c.between != nil && f.Outcome == "lost-in-transit" && strings.Join(f.LostBetween, ">") != strings.Join(c.between, ">") {
					t.Errorf("connection %d lost between %v, want %v", f.ID, f.LostBetween, c.between)
				}
				if f.Outcome != "incomplete" && f.LastSeen == nil {
					t.Errorf("connection %d: no last sighting", f.ID)
				}
			}
			if c.healthy {
				for _, f := range r.Findings {
					if f.Severity == finding.Critical {
						t.Errorf("healthy case: %s: %s", f.ID, f.Title)
					}
				}
			}
			checkEvidence(t, r)
		})
	}
}

// TestLabTimeline checks the hop-by-hop path of the seed 004 story: the
// client's SYN seen at the client, on the bridge, arriving at the
// director, leaving it with the real server's MAC, and nowhere after.
func TestLabTimeline(t *testing.T) {
	r := Run(labInputs(t, "hypervisor.nwfilter-no-ip-spoofing"), labVIP)
	f := r.Flows[0]
	var steps []string
	for _, h := range f.Hops {
		mark := "+"
		if !h.Seen {
			mark = "-"
		}
		steps = append(steps, mark+h.Step+"@"+h.Host)
	}
	want := []string{"+client sends@client", "+on the way to the director@hypervisor", "+director receives@director",
		"+director forwards@director", "-on the way to the real server@hypervisor", "-real server receives@"}
	for i, w := range want {
		if i >= len(steps) || !strings.HasPrefix(steps[i], w) {
			t.Fatalf("hops %v, want %v", steps, want)
		}
	}
	fw := f.Hops[3]
	if !fw.LastSeen || !strings.Contains(fw.Change, "MACs rewritten") || !strings.Contains(fw.Change, "52:54:00:00:00:02 (director) >") {
		t.Errorf("forward hop %+v", fw)
	}
	if f.LastSeen == nil || f.LastSeen.Host != "director" || f.LastSeen.Source != "director/eth0.pcap" || f.LastSeen.Frame != 22 || f.LastSeen.Time != "06:51:14.911010" {
		t.Errorf("last seen %+v", f.LastSeen)
	}
}

func keys(m map[string]*finding.Finding) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// cluster writes a generated capture set and returns its inputs.
func cluster(t *testing.T, c tracegen.Cluster) []Input {
	t.Helper()
	files, err := tracegen.WriteCluster(t.TempDir(), c)
	if err != nil {
		t.Fatal(err)
	}
	var in []Input
	for _, p := range files {
		host := strings.TrimSuffix(filepath.Base(p), ".pcap")
		role := map[string]evidence.Role{"client": evidence.RoleClient, "director": evidence.RoleDirector, "rs1": evidence.RoleRealServer, "rs2": evidence.RoleRealServer, "hv": evidence.RoleHypervisor}[host]
		in = append(in, Input{Point: Point{Host: host, Role: role, Source: filepath.Base(p)}, Path: p})
	}
	return in
}

var genVIP = Config{VIP: tracegen.VIP, Port: tracegen.VPort}

// TestModes follows the same connections through each forwarding mode:
// the mode is inferred from the copies, every connection answered, the
// forwarded hop says what changed.
func TestModes(t *testing.T) {
	for _, c := range []struct {
		name    string
		c       tracegen.Cluster
		mode    string
		change  string
		rewrite string // Hop.Rewrite of the forwarded hop
	}{
		{"dr", tracegen.Cluster{Mode: "dr"}, "dr", "MACs rewritten", "mac"},
		{"tun", tracegen.Cluster{Mode: "tun"}, "tun", "encapsulated (IPIP 192.0.2.2 → 192.0.2.1", "ipip"},
		{"nat", tracegen.Cluster{Mode: "nat"}, "nat", "destination rewritten 192.0.2.100:80 → 198.51.100.1", "nat"},
		{"fnat", tracegen.Cluster{Mode: "fnat"}, "fnat", "both addresses rewritten: 198.51.100.2:500", "fnat"},
		{"fnat-seq-rewritten", tracegen.Cluster{Mode: "fnat", SeqShift: 123456789}, "fnat", "both addresses rewritten", "fnat"},
		{"fnat-toa-no-timestamps", tracegen.Cluster{Mode: "fnat", TOA: true, NoTS: true, SeqShift: 99}, "fnat", "both addresses rewritten", "fnat"},
		// A cooked capture has no MACs: the DR rewrite cannot be seen.
		{"dr-cooked", tracegen.Cluster{Mode: "dr", Cooked: true}, "dr", "sent out", ""},
		{"dr-snaplen-60", tracegen.Cluster{Mode: "dr", SnapLen: 60}, "dr", "MACs rewritten", "mac"},
		{"nat-out-of-order", tracegen.Cluster{Mode: "nat", Shuffle: true}, "nat", "destination rewritten", "nat"},
		{"dr-vxlan-underlay", tracegen.Cluster{Mode: "dr", Underlay: true}, "dr", "MACs rewritten", "mac"},
		{"tun-vxlan-underlay", tracegen.Cluster{Mode: "tun", Underlay: true}, "tun", "encapsulated (IPIP", "ipip"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := Run(cluster(t, c.c), genVIP)
			if r.Service.Mode != c.mode {
				t.Errorf("mode %q, want %q", r.Service.Mode, c.mode)
			}
			if got := outcomes(r); got["answered"] != 3 || len(r.Flows) != 3 {
				t.Fatalf("outcomes %v", got)
			}
			for _, f := range r.Flows {
				fw := hop(f, "director forwards")
				if fw == nil || !strings.Contains(fw.Change, c.change) {
					t.Errorf("connection %d: forward hop %+v, want %q", f.ID, fw, c.change)
				} else if fw.Rewrite != c.rewrite {
					t.Errorf("connection %d: forward hop's rewrite %q, want %q", f.ID, fw.Rewrite, c.rewrite)
				}
				if in := hop(f, "director receives"); in != nil && in.Rewrite != "" {
					t.Errorf("connection %d: the client's packet arriving has rewrite %q", f.ID, in.Rewrite)
				}
				rs := hop(f, "real server receives")
				if rs == nil || !rs.Seen {
					t.Errorf("connection %d: real server hop %+v", f.ID, rs)
				}
				if c.mode == "nat" || c.mode == "fnat" {
					if back := hop(f, "director sends the reply back"); back == nil || !back.Seen || !strings.Contains(back.Change, "source rewritten back") || back.Rewrite != c.mode {
						t.Errorf("connection %d: reply hop %+v (want rewrite %q)", f.ID, back, c.mode)
					}
				}
				if c.mode == "fnat" && f.Local == "" {
					t.Errorf("connection %d: no FNAT local address", f.ID)
				}
			}
			for _, f := range r.Findings {
				if f.Severity == finding.Critical {
					t.Errorf("%s: %s", f.ID, f.Title)
				}
			}
			if c.c.Underlay {
				for _, f := range r.Flows {
					h := hop(f, "on the way to the real server")
					if h == nil || !h.Seen || h.Host != "hv" || !strings.Contains(h.Change, "carried over VXLAN 10.0.0.1 → 10.0.0.2") {
						t.Errorf("connection %d: underlay hop %+v", f.ID, h)
					}
				}
			}
			if hc := findingIDs(r)[ObsHealthCheck]; hc == nil || hc.Severity != finding.Info || !strings.Contains(hc.Title, "benign") {
				t.Errorf("keepalived's connect-then-reset checks: %+v", hc)
			}
			if c.c.Shuffle && !strings.Contains(strings.Join(r.Notes, "\n"), "earlier than the one before") {
				t.Errorf("out-of-order times not noted: %v", r.Notes)
			}
		})
	}
}

func hop(f Flow, step string) *Hop {
	for i := range f.Hops {
		if f.Hops[i].Step == step {
			return &f.Hops[i]
		}
	}
	return nil
}

// TestClockSkew: the real server's clock 3.2 s ahead and the client's
// 1.5 s behind; the packets still match, the offsets are measured, and a
// capture is not taken to have missed what it saw "early".
func TestClockSkew(t *testing.T) {
	for _, mode := range []string{"dr", "nat", "fnat"} {
		t.Run(mode, func(t *testing.T) {
			r := Run(cluster(t, tracegen.Cluster{Mode: mode, Skew: map[string]time.Duration{"rs1": 3200 * time.Millisecond, "rs2": 3200 * time.Millisecond, "client": -1500 * time.Millisecond}}), genVIP)
			if got := outcomes(r); got["answered"] != 3 {
				t.Fatalf("outcomes %v", got)
			}
			off := map[string]string{}
			for _, p := range r.Points {
				off[p.Host] = p.ClockOffset
			}
			// The client's capture is read first: it is the reference.
			if !strings.HasPrefix(off["rs1"], "+4.70") || !strings.HasPrefix(off["director"], "+1.50") {
				t.Errorf("offsets %v", off)
			}
			if findingIDs(r)[ObsClockSkew] == nil {
				t.Error("no clock-skew finding")
			}
			// In path order despite the clocks.
			f := r.Flows[0]
			if f.Hops[0].Step != "client sends" || hop(f, "real server receives") == nil {
				t.Errorf("hops %+v", f.Hops)
			}
		})
	}
}

// TestLosses: where the generated cluster drops packets, the trace says so.
func TestLosses(t *testing.T) {
	for _, c := range []struct {
		name    string
		c       tracegen.Cluster
		outcome string
		finding string
		between []string
	}{
		{"forward-dr", tracegen.Cluster{Mode: "dr", Drop: "forward"}, "lost-in-transit", "trace.lost-in-transit", []string{"director", "rs"}},
		{"forward-fnat", tracegen.Cluster{Mode: "fnat", Drop: "forward"}, "lost-in-transit", "trace.lost-in-transit", []string{"director", "rs"}},
		{"rs-silent-tun", tracegen.Cluster{Mode: "tun", Drop: "rs"}, "rs-not-replying", "trace.rs-not-replying", nil},
		{"reply-dr", tracegen.Cluster{Mode: "dr", Drop: "reply"}, "reply-lost", "trace.reply-lost", []string{"rs", "client"}},
		{"refused-nat", tracegen.Cluster{Mode: "nat", Refuse: true}, "refused", ObsReset, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := Run(cluster(t, c.c), genVIP)
			if got := outcomes(r); got[c.outcome] != 3 {
				t.Fatalf("outcomes %v, want 3 %s", got, c.outcome)
			}
			if findingIDs(r)[c.finding] == nil {
				t.Errorf("no %s in %v", c.finding, keys(findingIDs(r)))
			}
			for _, f := range r.Flows {
				if c.between != nil && (len(f.LostBetween) != 2 || !strings.HasPrefix(f.LostBetween[0], c.between[0]) || !strings.HasPrefix(f.LostBetween[1], c.between[1])) {
					t.Errorf("connection %d lost between %v", f.ID, f.LostBetween)
				}
			}
			if c.c.Drop == "forward" && findingIDs(r)[ObsSYNRetransmit] == nil {
				t.Error("retransmitted SYNs not reported")
			}
			checkEvidence(t, r)
		})
	}
}

// TestTruncated: a capture cut short in the middle of a packet still
// gives its packets before the cut, and the cut is reported.
func TestTruncated(t *testing.T) {
	in := cluster(t, tracegen.Cluster{Mode: "dr"})
	for _, i := range in {
		if i.Host == "rs1" {
			b, err := os.ReadFile(i.Path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(i.Path, b[:len(b)-30], 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	r := Run(in, genVIP)
	found := false
	for _, p := range r.Problems {
		found = found || p.Source == "rs1.pcap" && strings.Contains(p.Message, "ends in the middle of frame")
	}
	if !found {
		t.Errorf("problems %v", r.Problems)
	}
	if got := outcomes(r); got["answered"] != 3 {
		t.Errorf("outcomes %v", got)
	}
}

// TestFindVIP: without --vip the VIP is the address whose connections
// the director forwards.
func TestFindVIP(t *testing.T) {
	for _, mode := range []string{"dr", "tun"} {
		r := Run(cluster(t, tracegen.Cluster{Mode: mode}), Config{})
		if r.Service.VIP != tracegen.VIP.String() || r.Service.Port != tracegen.VPort || len(r.Flows) != 3 {
			t.Errorf("%s: service %+v, %d flows", mode, r.Service, len(r.Flows))
		}
	}
	r := Run(labInputs(t, "dr-healthy"), Config{})
	if r.Service.VIP != "192.0.2.100" || !strings.Contains(r.Service.VIPFrom, "VRRP") {
		t.Errorf("lab: %+v", r.Service)
	}
}

// TestFromFrames traces frames read by the capture reader as a case
// holds them, with roles and no streaming.
func TestFromFrames(t *testing.T) {
	in := labInputs(t, "hypervisor.nwfilter-no-ip-spoofing")
	byHost := map[string]*evidence.Host{}
	var hosts []*evidence.Host
	for _, i := range in {
		h := byHost[i.Host]
		if h == nil {
			h = evidence.NewHost(i.Host)
			h.Role = i.Role
			byHost[i.Host] = h
			hosts = append(hosts, h)
		}
		frames, _, _ := readAll(t, i)
		h.Frames = append(h.Frames, frames...)
	}
	r := FromFrames(hosts, labVIP)
	if got := outcomes(r); got["lost-in-transit"] != 4 {
		t.Fatalf("outcomes %v", got)
	}
	if f := findingIDs(r)["trace.lost-in-transit"]; f == nil || f.Host != "hypervisor" {
		t.Errorf("findings %v", keys(findingIDs(r)))
	}
}
