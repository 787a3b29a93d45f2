package engine

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/rules"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
	"github.com/lvsdoctor/lvsdoctor/internal/trace"
)

// ask is one command whose output would let rules run that could not:
// on a host that lacks it, or on the hosts of a role the case has none of.
type ask struct {
	host *evidence.Host // nil for a role without hosts
	role evidence.Role
	need rules.Need
	ids  []string // the causes it would settle, in rule order
	rank int      // the deepest (lowest) rank among them
	// hidden is what the host's output left out, when the ask is for
	// the command that shows it.
	hidden evidence.Hidden
}

// missing gathers the asks of a case.
type missing struct {
	byHost map[string]map[string]*ask // host → command → ask
	byRole map[evidence.Role]*ask     // role with no host → ask
}

func newMissing() *missing {
	return &missing{byHost: map[string]map[string]*ask{}, byRole: map[evidence.Role]*ask{}}
}

// settled reports whether h holds what n asks for, or other evidence
// that decides the rule as well.
func settled(t *topology.Topology, h *evidence.Host, n rules.Need) bool {
	return h.Has(n.Kind) || n.Settled != nil && n.Settled(t, h)
}

func (m *missing) check(t *topology.Topology, r *rules.Rule) {
	if !applies(t, r) {
		return
	}
	add := func(a *ask) {
		if !slices.Contains(a.ids, r.ID) {
			a.ids = append(a.ids, r.ID)
		}
		if a.rank == 0 || r.Rank < a.rank {
			a.rank = r.Rank
		}
	}
	for _, n := range r.Needs {
		hosts := t.Case.HostsWithRole(n.Role)
		if len(hosts) == 0 {
			// Every cluster has directors and real servers; hypervisors
			// and clients are only worth asking for when they exist.
			if n.Role == evidence.RoleDirector || n.Role == evidence.RoleRealServer {
				if m.byRole[n.Role] == nil {
					m.byRole[n.Role] = &ask{role: n.Role}
				}
				add(m.byRole[n.Role])
			}
			continue
		}
		for _, h := range hosts {
			if settled(t, h, n) {
				// What the outputs say they left out is still open: the
				// command that shows it settles the rule.
				for _, x := range h.HiddenOf(n.Kind) {
					hn := n
					hn.Command, hn.When, hn.Settled = cmp.Or(x.Command, n.Command), "", nil
					if m.byHost[h.Name] == nil {
						m.byHost[h.Name] = map[string]*ask{}
					}
					a := m.byHost[h.Name][hn.Command]
					if a == nil {
						a = &ask{host: h, role: n.Role, need: hn, hidden: x}
						m.byHost[h.Name][hn.Command] = a
					}
					add(a)
				}
				continue
			}
			if n.When != "" && standby(t, h) {
				// A backup director sees none of the traffic a capture or
				// a drop trace waits for: asking settles nothing.
				continue
			}
			if m.byHost[h.Name] == nil {
				m.byHost[h.Name] = map[string]*ask{}
			}
			a := m.byHost[h.Name][n.Command]
			if a == nil {
				a = &ask{host: h, role: n.Role, need: n}
				m.byHost[h.Name][n.Command] = a
			}
			add(a)
		}
	}
}

// standby reports whether h is a director that does not hold the VIP
// while another director does: a VRRP backup.
func standby(t *topology.Topology, h *evidence.Host) bool {
	if h.Role != evidence.RoleDirector || len(t.Services) == 0 || !t.Services[0].VIP.IsValid() {
		return false
	}
	vip := t.Services[0].VIP
	if h.IsLocal(vip) {
		return false
	}
	return slices.ContainsFunc(t.Directors(), func(d *evidence.Host) bool { return d.IsLocal(vip) })
}

// steps are the asks as next steps, the most telling first: the one that
// settles the most open causes; among equals, one on a host that carries
// the traffic before one on a backup director, the deeper causes first,
// then in the case's host order. Asks whose command cannot be filled in
// with the case's values (a capture with no interface known is still
// runnable: -i any) are kept; none is dropped.
func (m *missing) steps(t *topology.Topology, path *trace.Result) []diagnosis.NextStep {
	f := newFiller(t, path)
	for _, asks := range m.byHost {
		// `sysctl -a` prints the conntrack table's fill too: one command.
		for cmd, a := range asks {
			if all := asks["sysctl -a"]; all != nil && strings.HasPrefix(cmd, "sysctl net.netfilter.nf_conntrack_") {
				for _, id := range a.ids {
					if !slices.Contains(all.ids, id) {
						all.ids = append(all.ids, id)
					}
				}
				all.rank = min(all.rank, a.rank)
				delete(asks, cmd)
			}
		}
	}
	type ranked struct {
		step       diagnosis.NextStep
		n, tier    int
		rank, host int
	}
	var all []ranked
	roles := make([]string, 0, len(m.byRole))
	for r := range m.byRole {
		roles = append(roles, string(r))
	}
	sort.Strings(roles)
	for _, r := range roles {
		a := m.byRole[evidence.Role(r)]
		all = append(all, ranked{step: f.roleStep(a), n: len(a.ids), rank: a.rank, host: -1})
	}
	for i, h := range t.Case.Hosts {
		for _, a := range m.byHost[h.Name] {
			all = append(all, ranked{step: f.hostStep(a), n: len(a.ids), tier: f.tier(h), rank: a.rank, host: i})
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i], all[j]
		switch {
		case a.n != b.n:
			return a.n > b.n
		case a.tier != b.tier:
			return a.tier < b.tier
		case a.rank != b.rank:
			return a.rank < b.rank
		case a.host != b.host:
			return a.host < b.host
		}
		return a.step.Command < b.step.Command
	})
	out := make([]diagnosis.NextStep, len(all))
	for i, r := range all {
		out[i] = r.step
	}
	return out
}

// filler fills a Need's placeholders with one case's values.
type filler struct {
	t      *topology.Topology
	svc    *topology.Service // nil when no service is known
	client netip.Addr
	// loose is true for pasted transcripts: what a next step prints is
	// pasted back, so it prints rather than writes a file.
	loose bool
}

func newFiller(t *topology.Topology, path *trace.Result) *filler {
	f := &filler{t: t, client: t.Case.Client.Addr, loose: t.Case.Root == ""}
	if len(t.Services) > 0 {
		f.svc = t.Services[0]
	}
	if !f.client.IsValid() && path != nil {
		for _, fl := range path.Flows {
			if ap, err := netip.ParseAddrPort(fl.Client); err == nil {
				f.client = ap.Addr()
				break
			} else if a, err := netip.ParseAddr(fl.Client); err == nil {
				f.client = a
				break
			}
		}
	}
	return f
}

// tier puts a backup director after the hosts that carry the traffic:
// what it would show (its captures, its drops) is not the failing path.
func (f *filler) tier(h *evidence.Host) int {
	if h.Role != evidence.RoleDirector || f.svc == nil || !f.svc.VIP.IsValid() || h.IsLocal(f.svc.VIP) {
		return 0
	}
	for _, d := range f.t.Directors() {
		if d.IsLocal(f.svc.VIP) {
			return 1
		}
	}
	return 0
}

func (f *filler) hostStep(a *ask) diagnosis.NextStep {
	cmd, why := f.fill(a.host, a.need.Command)
	when := a.need.When
	s := diagnosis.NextStep{On: a.host.Name, Command: cmd, When: when, Settles: a.ids,
		Why: "it would settle " + settleList(a.ids)}
	if x := a.hidden; !x.Ref.IsZero() {
		s.Why = fmt.Sprintf("the output left out %s (%s:%d %q): it would settle %s", x.What, x.Ref.Source, x.Ref.Line,
			evidence.Clip(strings.TrimSpace(x.Ref.Text), 80), settleList(a.ids))
	}
	if why != "" {
		s.Why += " (" + why + ")"
	}
	if a.need.Kind == evidence.KindIPVS && filteredListing(a.host) {
		s.Why += "; the listing given went through a filter or was cut, so it shows only part of the table: paste it unfiltered"
	}
	return s
}

// filteredListing reports whether h's IPVS table was seen only through a
// filter (`ipvsadm -Ln | grep PORT`) or cut by hand.
func filteredListing(h *evidence.Host) bool {
	if h.IPVS == nil {
		return false
	}
	for _, s := range h.IPVS.Services {
		if s.Filtered {
			return true
		}
	}
	return false
}

// roleStep asks for the evidence of a role the case has no host of: one
// collection on each such host gives every rule what it reads.
func (f *filler) roleStep(a *ask) diagnosis.NextStep {
	on := "each " + roleNoun(a.role)
	var addrs []string
	if a.role == evidence.RoleRealServer && f.svc != nil {
		for _, rip := range f.svc.RIPs {
			addrs = append(addrs, rip.String())
		}
	}
	if len(addrs) > 0 {
		if len(addrs) > 4 {
			addrs = append(addrs[:4], "…")
		}
		on += " (" + strings.Join(addrs, ", ") + ")"
	}
	where := "add the folder it writes to the case"
	if f.loose {
		where = "give that folder to lvsdoctor diagnose with the transcript"
	}
	return diagnosis.NextStep{
		On:      on,
		Command: "lvsdoctor collect --dir case --role " + string(a.role),
		Settles: a.ids,
		Why: fmt.Sprintf("the case holds no %s's evidence (%s): it would settle %s",
			roleNoun(a.role), where, settleList(a.ids)),
	}
}

// settleList names the causes a step settles for a person: the first
// eight, in rule order, then how many more. A case with no director's
// evidence at all would otherwise list every director check (45 today), a
// wall nobody reads; the JSON's settles keeps them all.
func settleList(ids []string) string {
	const shown = 8
	if len(ids) <= shown+1 {
		return strings.Join(ids, ", ")
	}
	return fmt.Sprintf("%s and %d more (-o json lists them)", strings.Join(ids[:shown], ", "), len(ids)-shown)
}

func roleNoun(r evidence.Role) string {
	if r == evidence.RoleRealServer {
		return "real server"
	}
	return string(r)
}

// fill replaces the placeholders of cmd with h's values; why says what
// could not be filled in and how the command copes.
func (f *filler) fill(h *evidence.Host, cmd string) (string, string) {
	var why []string
	switch cmd {
	case rules.PlaceKernels:
		return kernelsCommand(h), ""
	case rules.PlaceDomainXML:
		return f.domainsCommand()
	}
	if strings.Contains(cmd, rules.PlaceIface) {
		iface := f.iface(h)
		if iface == "any" {
			why = append(why, "its interfaces are not in the evidence: -i any")
		}
		cmd = strings.ReplaceAll(cmd, rules.PlaceIface, iface)
	}
	if strings.Contains(cmd, rules.PlaceFilter) {
		cmd = strings.ReplaceAll(cmd, rules.PlaceFilter, f.filter(h))
		if f.loose {
			// A transcript is pasted: print the frames, with their MACs.
			cmd = strings.Replace(cmd, "tcpdump -n -i", "tcpdump -e -n -i", 1)
			if i := strings.Index(cmd, " -w "); i >= 0 {
				rest := strings.Fields(cmd[i+4:])
				cmd = cmd[:i] + " " + strings.Join(rest[1:], " ")
			}
		}
	}
	if f.svc != nil && f.svc.VIP.IsValid() {
		vip := f.svc.VIP.String()
		if strings.Contains(cmd, rules.PlaceVIP+":"+rules.PlacePort) {
			ap := vip
			if f.svc.Port != 0 {
				ap = netip.AddrPortFrom(f.svc.VIP, f.svc.Port).String()
			}
			cmd = strings.ReplaceAll(cmd, rules.PlaceVIP+":"+rules.PlacePort, ap)
		}
		cmd = strings.ReplaceAll(cmd, rules.PlaceVIP, vip)
	}
	if f.svc != nil && f.svc.Port != 0 {
		cmd = strings.ReplaceAll(cmd, rules.PlacePort, strconv.Itoa(int(f.svc.Port)))
	}
	if f.loose {
		cmd = strings.TrimSuffix(cmd, " > watch.txt")
	}
	return strings.TrimSpace(cmd), strings.Join(why, "; ")
}

// iface is the interface of h the service's packets cross: the one that
// holds the VIP on a director, the real server's address on a real
// server, the client's on the client; else the one of its default route,
// or its only one; "any" when the evidence does not say.
func (f *filler) iface(h *evidence.Host) string {
	var want []netip.Addr
	switch h.Role {
	case evidence.RoleDirector:
		if f.svc != nil {
			want = append(want, f.svc.VIP)
		}
	case evidence.RoleRealServer:
		if f.svc != nil {
			if rip, ok := f.svc.OwnRIP(h); ok {
				want = append(want, rip)
			}
		}
	case evidence.RoleClient:
		want = append(want, f.client)
	}
	for _, a := range want {
		for _, x := range h.AddrsOf(a) {
			if onPath(x.Iface) {
				return x.Iface
			}
		}
	}
	if h.Role == evidence.RoleDirector && f.svc != nil {
		// A director without the VIP (a backup): the interface its peer
		// holds the VIP on, or the one on the real servers' subnet.
		for _, d := range f.t.Directors() {
			for _, x := range d.AddrsOf(f.svc.VIP) {
				if _, ok := h.Link(x.Iface); ok && onPath(x.Iface) || slices.ContainsFunc(h.Addrs, func(a evidence.Addr) bool { return a.Iface == x.Iface }) && onPath(x.Iface) {
					return x.Iface
				}
			}
		}
		for _, rip := range f.svc.RIPs {
			for _, x := range h.Addrs {
				if x.Iface != "lo" && x.Prefix.Bits() < x.Prefix.Addr().BitLen() && x.Prefix.Masked().Contains(rip) {
					return x.Iface
				}
			}
		}
	}
	for _, r := range h.Routes {
		if (r.Table == "" || r.Table == "main") && r.Dst.Bits() == 0 && r.Dev != "" {
			return r.Dev
		}
	}
	var only string
	for _, x := range h.Addrs {
		if !onPath(x.Iface) || x.Prefix.Addr().IsLoopback() || x.Prefix.Addr().IsLinkLocalUnicast() {
			continue
		}
		if only != "" && only != x.Iface {
			return "any"
		}
		only = x.Iface
	}
	if only != "" {
		return only
	}
	return "any"
}

// onPath reports whether the service's packets may cross an interface
// of that name: not the loopback, not a container or VM bridge the host
// runs for itself, not kube-proxy's dummy that only holds addresses.
func onPath(iface string) bool {
	if iface == "" || iface == "lo" || iface == "kube-ipvs0" {
		return false
	}
	for _, p := range []string{"docker", "veth", "virbr", "br-", "cni", "flannel", "cali", "podman"} {
		if strings.HasPrefix(iface, p) {
			return false
		}
	}
	return true
}

// filter is the capture filter for the service's packets as h sees them,
// quoted for the shell: the client's packets and the forwarded copies,
// whatever LVS rewrote (IPIP in TUN; in NAT and FNAT the real servers'
// port, since neither the client's nor the VIP's address may be left).
func (f *filler) filter(h *evidence.Host) string {
	if f.svc == nil || !f.svc.VIP.IsValid() {
		if f.client.IsValid() {
			return "'host " + f.client.String() + "'"
		}
		return ""
	}
	vip := "host " + f.svc.VIP.String()
	if f.svc.Port != 0 {
		vip += " and port " + strconv.Itoa(int(f.svc.Port))
	}
	parts := []string{vip}
	switch f.svc.Mode {
	case "tun":
		parts = []string{"(" + vip + ")", "ip proto 4"}
	case "nat", "fnat":
		ports := map[uint16]bool{f.svc.Port: true}
		var extra []string
		for _, vs := range f.svc.IPVS {
			for _, d := range vs.Dests {
				if d.Port != 0 && !ports[d.Port] {
					ports[d.Port] = true
					extra = append(extra, "port "+strconv.Itoa(int(d.Port)))
				}
			}
		}
		sort.Strings(extra)
		if f.svc.Port != 0 {
			parts = append([]string{"port " + strconv.Itoa(int(f.svc.Port))}, extra...)
		}
	}
	if f.client.IsValid() && f.svc.Mode == "nat" && h.Role != evidence.RoleClient {
		parts = append(parts, "host "+f.client.String())
	}
	return "'" + strings.Join(parts, " or ") + "'"
}

// kernelsCommand lists the installed kernels the way h's distribution
// keeps them; both ways when it is not known.
func kernelsCommand(h *evidence.Host) string {
	id := strings.ToLower(h.Platform.OSID)
	switch {
	case id == "":
	case strings.Contains(id, "debian") || strings.Contains(id, "ubuntu") || strings.Contains(id, "raspbian") || strings.Contains(id, "mint"):
		return "dpkg -l 'linux-image*'"
	default:
		return "rpm -q kernel"
	}
	return "rpm -q kernel || dpkg -l 'linux-image*'"
}

// domainsCommand prints the director VMs' libvirt definitions: by name
// when the directors are named as their domains usually are.
func (f *filler) domainsCommand() (string, string) {
	var names []string
	for _, d := range f.t.Directors() {
		names = append(names, d.Name)
	}
	switch len(names) {
	case 0:
		return "virsh list --all", "then virsh dumpxml on the director VMs"
	case 1:
		return "virsh dumpxml " + names[0], "if its domain has another name: virsh list --all"
	}
	return "for d in " + strings.Join(names, " ") + `; do virsh dumpxml "$d"; done`, "if the domains have other names: virsh list --all"
}

// notes renders every ask as a sentence of the notes.
func stepNotes(steps []diagnosis.NextStep) []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = s.Note()
	}
	return out
}
