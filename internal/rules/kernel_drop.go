package rules

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

var kernelDrop = &Rule{
	ID:   "kernel.drop",
	Doc:  "Kernel drop tracing (lvsdoctor watch) saw packets of the service dropped: the reason and the place, mapped onto the cause they point to.",
	Rank: 40,
	Needs: []Need{
		{Role: evidence.RoleRealServer, Kind: evidence.KindDrops, Command: "lvsdoctor watch --vip <VIP>:<port> --duration 60s > watch.txt", When: "as root, " + WhileRetrying},
		{Role: evidence.RoleDirector, Kind: evidence.KindDrops, Command: "lvsdoctor watch --vip <VIP>:<port> --duration 60s > watch.txt", When: "as root, " + WhileRetrying},
	},
	Run: func(p *Pass) {
		byHost := map[*evidence.Host][]evidence.Drop{}
		for _, h := range p.Case.Hosts {
			for _, st := range h.DropStats {
				if st.Lost > 0 {
					p.Notef("%s: the drop tracer lost %d events (ring buffer full): it saw fewer drops than happened", h.Name, st.Lost)
				}
			}
			for _, d := range h.Drops {
				// a watch sees every namespace: a drop in a namespace named
				// after another host of the case is that host's
				at := h
				if o := p.Case.Lookup(d.Netns); o != nil {
					at = o
				}
				byHost[at] = append(byHost[at], d)
			}
		}
		for _, h := range p.Case.Hosts {
			for _, g := range dropGroups(p, h, byHost[h]) {
				reportDropGroup(p, h, g)
			}
		}
	},
}

// dropCauses maps the kernel's drop reasons (enum skb_drop_reason, as the
// running kernel names them) and the IPVS probes' reasons onto the causes
// they are the kernel's side of, by the role of the host that dropped.
// It is data for this rule only: each cause named here declares
// kernel.drop among its own Explains (TestDropCausesExplainKernelDrop
// holds the two together), so a drop and its cause are one group, the
// cause first.
var dropCauses = map[string]map[evidence.Role][]string{
	"IP_RPFILTER": {
		evidence.RoleRealServer: {"rs.rp-filter-strict"},
		evidence.RoleDirector:   {"director.rp-filter-drops-clients"},
	},
	"NETFILTER_DROP": {
		evidence.RoleRealServer: {"rs.firewall-drops-vip"},
		evidence.RoleDirector:   {"director.firewall-drops-vip", "keepalived.vrrp-strict", "director.conntrack-invalid-drop"},
		evidence.RoleHypervisor: {"hypervisor.bridge-netfilter-drop", "hypervisor.nwfilter-no-ip-spoofing"},
	},
	"NO_SOCKET": {
		evidence.RoleRealServer: {"rs.app-not-listening", "rs.app-bound-wrong-address"},
		evidence.RoleDirector:   {"director.no-virtual-service"},
	},
	"OTHERHOST":         {"": {"net.arp-conflict", "net.stale-arp"}},
	"IP_NOPROTO":        {"": {"rs.tunnel-not-ready"}},
	"PKT_TOO_BIG":       {"": {"net.tunnel-mtu"}},
	"IP_LOCAL_SOURCE":   {"": {"rs.accept-local"}},
	"IP_INVALID_SOURCE": {"": {"rs.accept-local"}},
	"NEIGH_FAILED":      {"": {"director.dr-rs-not-on-link", "net.stale-arp"}},
	"IPVS_NO_DEST":      {"": {"director.no-available-realserver"}},
	"IPVS_NO_SERVICE":   {"": {"director.no-virtual-service"}},
}

// benignDrops are frees the kernel counts as drops that are normal
// traffic: pure ACKs after close, retransmitted data already received.
var benignDrops = map[string]bool{"NOT_SPECIFIED": true, "TCP_OLD_DATA": true, "TCP_OLD_SEQUENCE": true, "TCP_CLOSE": true}

type dropGroup struct {
	reason, location, netns, dev string
	drops                        []evidence.Drop
	service                      *topology.Service
}

// dropGroups gathers h's drops of the services' packets by reason and
// place. Without an identified service every drop counts.
func dropGroups(p *Pass, h *evidence.Host, drops []evidence.Drop) []*dropGroup {
	byKey := map[string]*dropGroup{}
	var out []*dropGroup
	for _, d := range drops {
		if benignDrops[d.Reason] || d.Reason == "OTHERHOST" && onBridge(p, d) {
			continue
		}
		if d.By == "ipvs" {
			d.Reason = "IPVS_DROP" // the verdict was IPVS's hook's, not a firewall's
		}
		s, ok := serviceOfDrop(p, d)
		if !ok {
			continue
		}
		key := d.Reason + "\x00" + d.Location + "\x00" + d.Netns + "\x00" + d.Dev
		g := byKey[key]
		if g == nil {
			g = &dropGroup{reason: d.Reason, location: d.Location, netns: d.Netns, dev: d.Dev, service: s}
			byKey[key] = g
			out = append(out, g)
		}
		g.drops = append(g.drops, d)
	}
	return foldIPVS(out)
}

// foldIPVS puts IPVS's drop verdicts with the decision they follow from
// (no real server, no service): one finding for what IPVS did.
func foldIPVS(gs []*dropGroup) []*dropGroup {
	var decision *dropGroup
	for _, g := range gs {
		if g.reason == "IPVS_NO_DEST" || g.reason == "IPVS_NO_SERVICE" {
			decision = g
			break
		}
	}
	if decision == nil {
		return gs
	}
	out := gs[:0]
	for _, g := range gs {
		if g.reason == "IPVS_DROP" {
			decision.drops = append(decision.drops, g.drops...)
			continue
		}
		out = append(out, g)
	}
	sort.SliceStable(decision.drops, func(i, j int) bool { return decision.drops[i].Ref.Line < decision.drops[j].Ref.Line })
	return out
}

// onBridge tells a drop on a bridge device: a bridge's own stack sees the
// frames it floods for other hosts, and frees them as OTHERHOST.
func onBridge(p *Pass, d evidence.Drop) bool {
	for _, h := range p.Case.Hosts {
		for _, l := range h.Links {
			if l.Name == d.Dev && l.Kind == "bridge" {
				return true
			}
		}
	}
	return strings.HasPrefix(d.Dev, "virbr") || strings.HasPrefix(d.Dev, "br") && !strings.Contains(d.Dev, ".")
}

// serviceOfDrop tells whether a drop is of a service's traffic: to or
// from the VIP (outer or IPIP inner header), and the port when known.
func serviceOfDrop(p *Pass, d evidence.Drop) (*topology.Service, bool) {
	svcs := p.Services()
	if len(svcs) == 0 {
		return nil, true
	}
	for _, s := range svcs {
		anyPort := func(x *evidence.Drop, p uint16) bool {
			return s.Port == 0 || p == 0 || p == s.Port || x.Proto == "icmp"
		}
		for x := &d; x != nil; x = x.Inner {
			// a request to the VIP, or a reply from it
			if x.Dst == s.VIP && anyPort(x, x.DPort) || x.Src == s.VIP && anyPort(x, x.SPort) {
				return s, true
			}
		}
	}
	return nil, false
}

func reportDropGroup(p *Pass, h *evidence.Host, g *dropGroup) {
	causes := CausesOfDrop(g.reason, h.Role)
	first := g.drops[0]
	where := g.location
	if g.dev != "" {
		where += " on " + g.dev
	}
	if g.netns != "" && g.netns != h.Name {
		where += " (netns " + g.netns + ")"
	}
	flow := flowText(first)
	n := 0 // the packets, not the IPVS verdict events folded in with them
	for _, d := range g.drops {
		if d.Reason == g.reason {
			n++
		}
	}
	title := fmt.Sprintf("%s's kernel dropped %d packet(s) of %s: %s at %s", h.Name, n, flow, g.reason, where)
	expl := fmt.Sprintf("The kernel freed the packets as dropped with reason %s (its enum skb_drop_reason) in %s. ", g.reason, g.location)
	var fix []string
	if len(causes) > 0 {
		expl += "That reason is the kernel's side of " + strings.Join(causes, " or ") + "; the finding for it, when the other evidence shows it, comes first."
		fix = append(fix, "lvsdoctor explain "+causes[0])
	} else {
		expl += "No cause in the catalog is mapped to this reason; the place names the kernel function that dropped them."
	}
	ev := []evidence.Ref{}
	for i, d := range g.drops {
		if i == 3 {
			break
		}
		ev = append(ev, d.Ref)
		ev = append(ev, d.Attribution...)
	}
	severity := diagnosis.Critical
	if g.service == nil {
		severity = diagnosis.Warning
	}
	p.Report(diagnosis.Finding{
		Severity:    severity,
		Host:        h.Name,
		Title:       title,
		Explanation: expl,
		Evidence:    ev,
		Fix:         fix,
	})
}

// CausesOfDrop lists the causes a reason points to on a host of role r.
func CausesOfDrop(reason string, r evidence.Role) []string {
	m := dropCauses[reason]
	if c, ok := m[r]; ok {
		return c
	}
	if c, ok := m[""]; ok {
		return c
	}
	var all []string
	for _, c := range m {
		all = append(all, c...)
	}
	sort.Strings(all)
	return all
}

func flowText(d evidence.Drop) string {
	x := d
	if d.Inner != nil {
		x = *d.Inner
	}
	ep := func(a netip.Addr, port uint16) string {
		if port == 0 {
			return a.String()
		}
		return netip.AddrPortFrom(a, port).String()
	}
	s := fmt.Sprintf("%s %s > %s", x.Proto, ep(x.Src, x.SPort), ep(x.Dst, x.DPort))
	if d.Inner != nil {
		s += " (in IPIP)"
	}
	return s
}
