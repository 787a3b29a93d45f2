package rules

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
	"github.com/lvsdoctor/lvsdoctor/internal/trace"
)

// Rule is one root cause's detector.
type Rule struct {
	// ID is the cause ID from the catalog that the findings carry.
	ID string
	// Doc says in one sentence what the rule checks.
	Doc string
	// Needs declares the evidence the rule reads. When a host of the role
	// lacks it, the engine says in the notes which command would settle it.
	Needs []Need
	// Explains lists causes that this one, when found, is the reason for:
	// they are ranked after it and linked to it.
	Explains []string
	// Modes limits the rule to services forwarded in these modes (dr,
	// tun, nat, fnat); empty means any. It keeps notes about evidence
	// that would not matter for the case's mode out of the report.
	Modes []string
	// Rank orders causes when several are found: lower is deeper (a
	// configuration fault before the packet symptom it produces). The
	// tiers in use:
	//
	//   - 2-9: the service cannot work at all: no IPVS, the test run from
	//     a director, keepalived.conf broken, no virtual service or real
	//     server, the VIP not on the director, a forwarding method that
	//     cannot reach the real servers (DR port remap or off-link, TUN
	//     not ready, ip_forward off, accept_local)
	//   - 10-18: a host or network setting on the path that drops or
	//     diverts the packets: rp_filter, FNAT local addresses, the VIP,
	//     gateway or return route of real servers, hypervisor and cloud
	//     anti-spoofing, VRRP blocked or split, a backup director's
	//     forwarding loop, drift, full conntrack tables, vrrp_strict,
	//     stale connection entries, conntrack INVALID drops
	//   - 20-28: firewalls and the application: firewall drops, ARP not
	//     suppressed, nothing listening, tcp_tw_recycle
	//   - 30-50: conditions that explain part of the traffic or only
	//     point at a cause: a suspect kernel, tunnel MTU, stale ARP,
	//     conn_reuse_mode delays, kernel drop events, the return path,
	//     ARP conflicts
	//   - 70: ICMP unreachables seen in the captures
	//   - 80-90: packet-path symptoms read from captures (trace.*): where
	//     the packets were last seen, explained by any deeper cause
	Rank int
	// Requires lists the results of shared analyses the rule reads,
	// which the engine computes once per case and hands to every rule
	// that declares them (as go/analysis's Requires and ResultOf).
	Requires []Requirement
	// Disputed, when set, reports whether h's other evidence rules the
	// cause out although a message logged there names it: ReportLogged
	// then leaves h to the rules that read that evidence (IPVS shown in
	// the kernel against kube-proxy's "modules are not loaded").
	Disputed func(h *evidence.Host) bool
	Run      func(*Pass)
}

// Requirement names a shared analysis a rule reads.
type Requirement string

// PacketPath is the packet tracer's path of a service through the case's
// captures (Pass.PacketPath).
const PacketPath Requirement = "packet-path"

// Results are the shared analyses of one case, computed by the engine.
type Results struct {
	// PacketPath traces a service's packets through the case's captures;
	// nil when the case has none. The engine computes it once per
	// service, whichever rules ask, and the diagnosis carries it.
	PacketPath func(s *topology.Service) *trace.Result
}

// Need is one kind of evidence on hosts of one role.
type Need struct {
	Role evidence.Role
	Kind evidence.Kind
	// Command is what the user should run to provide it: a command line
	// and nothing else (no prose: When says when). The engine fills in
	// the case's values for the placeholders it holds (Placeholders), so
	// that the next steps it prints can be pasted.
	Command string
	// When says when the command must run to show anything ("while the
	// client retries"); empty when any time will do.
	When string
	// Settled, when set, reports whether h's other evidence already
	// decides the rule without Kind (a filtered listing that shows the
	// service port's listener): the engine then asks for nothing, since
	// asking for output whose answer the case holds wastes the reader's
	// time.
	Settled func(t *topology.Topology, h *evidence.Host) bool
}

// The placeholders a Need's Command may hold, filled in per host by the
// engine from the case (the service, case.yaml's client, the host's
// addresses and routes, its distribution, the hypervisor's domains).
const (
	PlaceVIP       = "<VIP>"     // the service's VIP
	PlacePort      = "<port>"    // the service's port
	PlaceIface     = "<iface>"   // the host's interface on the service's path ("any" when unknown)
	PlaceFilter    = "<filter>"  // a capture filter for the service's packets as this host sees them
	PlaceKernels   = "<kernels>" // the command that lists the installed kernels on the host's distribution
	PlaceDomainXML = "<domains>" // the command that prints the director VMs' libvirt XML
)

// Generic is the need's command as documentation shows it, for no case
// in particular: the placeholders that stand for a whole command spelt
// out, the others (<VIP>, <iface>) left for the reader.
func (n Need) Generic() string {
	switch n.Command {
	case PlaceKernels:
		return "rpm -q kernel || dpkg -l 'linux-image*'"
	case PlaceDomainXML:
		return "virsh dumpxml <director VM>"
	}
	return strings.ReplaceAll(n.Command, PlaceFilter, "'host <VIP> and port <port>'")
}

// Capture is the Need command of every rule that reads packets: one
// capture per host serves them all, so they share it.
const Capture = "tcpdump -n -i <iface> -w <iface>.pcap <filter>"

// WhileRetrying is when a capture or a drop trace shows the failure.
const WhileRetrying = "while the client retries"

// AppliesTo reports whether the rule concerns a service in mode m (an
// unknown mode concerns every rule).
func (r *Rule) AppliesTo(m string) bool {
	if len(r.Modes) == 0 || m == "" {
		return true
	}
	for _, x := range r.Modes {
		if x == m {
			return true
		}
	}
	return false
}

// Pass is one rule's run over a case.
type Pass struct {
	Topo     *topology.Topology
	Case     *evidence.Case
	rule     *Rule
	results  Results
	findings []diagnosis.Finding
	notes    []string
}

// NewPass prepares a run of r with the case's shared results.
func NewPass(r *Rule, t *topology.Topology, res Results) *Pass {
	return &Pass{Topo: t, Case: t.Case, rule: r, results: res}
}

// PacketPath is s's packet path through the case's captures, nil when
// there are none. Only a rule that requires PacketPath may ask: what a
// rule reads is declared, so that the engine knows what to compute.
func (p *Pass) PacketPath(s *topology.Service) *trace.Result {
	if !slices.Contains(p.rule.Requires, PacketPath) {
		panic(fmt.Sprintf("rule %s reads the packet path without requiring it", p.rule.ID))
	}
	if p.results.PacketPath == nil || s == nil {
		return nil
	}
	return p.results.PacketPath(s)
}

// Findings returns what the run reported.
func (p *Pass) Findings() []diagnosis.Finding { return p.findings }

// Notes returns what the run could not decide.
func (p *Pass) Notes() []string { return p.notes }

// Report records a finding of the rule's cause. Findings without evidence
// are a bug in the rule: they are turned into a note instead, so that the
// report never claims what it cannot show.
func (p *Pass) Report(f diagnosis.Finding) {
	f.ID = p.rule.ID
	f.Rank = p.rule.Rank
	var ev []evidence.Ref
	seen := map[evidence.Ref]bool{}
	for _, r := range f.Evidence {
		if r.IsZero() || seen[r] {
			continue
		}
		seen[r] = true
		ev = append(ev, r)
	}
	f.Evidence = ev
	if len(f.Evidence) == 0 {
		p.notes = append(p.notes, fmt.Sprintf("%s: %s (suspected on %s, but no line of evidence shows it)", f.ID, f.Title, f.Host))
		return
	}
	if f.Fix == nil {
		f.Fix = []string{}
	}
	p.findings = append(p.findings, f)
}

// minorRank puts a finding after those of every rule of the same
// severity (rules rank below 100).
const minorRank = 100

// ReportMinor records a finding that ranks after every other finding of
// its severity: what is worth saying but proves no cause on its own
// (keyword noise, a difference from a peer), so that a cause a rule
// proves comes first.
func (p *Pass) ReportMinor(f diagnosis.Finding) {
	n := len(p.findings)
	p.Report(f)
	if len(p.findings) > n {
		p.findings[n].Rank = minorRank + p.rule.Rank
	}
}

// Notef records what the rule could not decide and what would settle it.
func (p *Pass) Notef(format string, args ...any) {
	p.notes = append(p.notes, p.rule.ID+": "+fmt.Sprintf(format, args...))
}

// Services are the services under diagnosis.
func (p *Pass) Services() []*topology.Service { return p.Topo.Services }

// Directors lists the directors.
func (p *Pass) Directors() []*evidence.Host { return p.Topo.Directors() }

// ActiveDirectors lists the directors that carry s's traffic: those that
// own the VIP when any is known to, else all. A VRRP backup's table and
// firewall do not touch the traffic until it takes over.
func (p *Pass) ActiveDirectors(s *topology.Service) []*evidence.Host {
	var owners []*evidence.Host
	for _, d := range p.Directors() {
		if s.VIP.IsValid() && d.IsLocal(s.VIP) {
			owners = append(owners, d)
		}
	}
	if len(owners) > 0 {
		return owners
	}
	return p.Directors()
}

// IsActive reports whether d is one of s's active directors.
func (p *Pass) IsActive(s *topology.Service, d *evidence.Host) bool {
	for _, a := range p.ActiveDirectors(s) {
		if a == d {
			return true
		}
	}
	return false
}

// RealServers lists the real servers.
func (p *Pass) RealServers() []*evidence.Host { return p.Topo.RealServers() }

// RealServersOf lists the real-server hosts of s: hosts owning one of its
// RIPs, else every real server of the case.
func (p *Pass) RealServersOf(s *topology.Service) []*evidence.Host {
	var out []*evidence.Host
	seen := map[string]bool{}
	for _, rip := range s.RIPs {
		if h := p.Topo.HostOwning(rip); h != nil && !seen[h.Name] && h.Role != evidence.RoleDirector {
			seen[h.Name] = true
			out = append(out, h)
		}
	}
	if len(out) == 0 {
		return p.RealServers()
	}
	for _, h := range p.RealServers() {
		if !seen[h.Name] {
			out = append(out, h)
		}
	}
	return out
}

// RIPOf returns the real-server address of host h within service s.
// The service indexes its RIPs: a scan per real server made the rules
// quadratic in the number of real servers.
func (p *Pass) RIPOf(s *topology.Service, h *evidence.Host) (netip.Addr, bool) {
	return s.OwnRIP(h)
}

// reportMerged reports fs as one finding. The engine links a cause to
// its consequences by cause ID and host, so a rule that explains others
// gives each host one finding per service, listing every item.
func reportMerged(p *Pass, fs []diagnosis.Finding, title string) {
	switch len(fs) {
	case 0:
		return
	case 1:
		p.Report(fs[0])
		return
	}
	m := fs[0]
	m.Title = title
	m.Evidence = nil
	m.Fix = nil
	var parts, common []string
	seenFix := map[string]int{}
	for _, f := range fs {
		for _, x := range f.Fix {
			seenFix[x]++
		}
	}
	for _, f := range fs {
		if f.Severity.Rank() < m.Severity.Rank() {
			m.Severity = f.Severity
		}
		parts = append(parts, f.Title)
		m.Evidence = append(m.Evidence, f.Evidence...)
		for _, x := range f.Fix {
			switch n := seenFix[x]; {
			case n == len(fs):
				common = append(common, x) // said once, after the specific fixes
				seenFix[x] = -1
			case n > 0:
				m.Fix = append(m.Fix, x)
				seenFix[x] = -1
			}
		}
	}
	m.Fix = append(m.Fix, common...)
	m.Explanation = fs[0].Explanation + " In detail: " + strings.Join(parts, "; ") + "."
	p.Report(m)
}
