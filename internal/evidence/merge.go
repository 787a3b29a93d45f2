package evidence

import (
	"net/netip"
	"strings"
)

// Updates of a host by what a parser read; several formats show the same
// facts (`ip addr` and `ifconfig` both show addresses).

// MergeLinks adds links, completing a link already known by name (`ip
// link` then `ip -d link`: the second tells the kind).
func (h *Host) MergeLinks(links []Link) {
	for _, l := range links {
		found := false
		for i := range h.Links {
			e := &h.Links[i]
			if e.Name != l.Name {
				continue
			}
			found = true
			if l.Kind != "" && (e.Kind == "" || e.Kind == "ether" || e.Kind == "tunnel") {
				e.Kind = l.Kind
			}
			if e.MAC == "" {
				e.MAC = l.MAC
			}
			if e.MTU == 0 {
				e.MTU = l.MTU
			}
			if e.Index == 0 {
				e.Index = l.Index
			}
			if e.State == "" {
				e.State = l.State
			}
			if e.Master == "" {
				e.Master = l.Master
			}
			break
		}
		if !found {
			h.Links = append(h.Links, l)
		}
	}
}

// MergeAddrs adds addresses not already known on the same interface.
func (h *Host) MergeAddrs(addrs []Addr) {
	type key struct {
		iface string
		addr  netip.Addr
	}
	seen := map[key]bool{}
	for _, a := range h.Addrs {
		seen[key{a.Iface, a.Prefix.Addr()}] = true
	}
	for _, a := range addrs {
		k := key{a.Iface, a.Prefix.Addr()}
		if seen[k] {
			continue
		}
		seen[k] = true
		h.Addrs = append(h.Addrs, a)
	}
}

// MergeRoutes adds routes not already known (same table, type, device,
// destination and gateway).
func (h *Host) MergeRoutes(routes []Route) {
	type key struct {
		table, typ, dev string
		dst             netip.Prefix
		gw              netip.Addr
	}
	seen := map[key]bool{}
	for _, r := range h.Routes {
		seen[key{r.Table, r.Type, r.Dev, r.Dst, r.Gateway}] = true
	}
	for _, r := range routes {
		k := key{r.Table, r.Type, r.Dev, r.Dst, r.Gateway}
		if seen[k] {
			continue
		}
		seen[k] = true
		h.Routes = append(h.Routes, r)
	}
}

// MergeListeners adds listening sockets not already known (`ss` and
// `netstat` may both be given).
func (h *Host) MergeListeners(ls []Listener) {
	type key struct {
		proto string
		addr  netip.Addr
		any   bool
		port  uint16
	}
	seen := map[key]bool{}
	for _, l := range h.Listeners {
		seen[key{l.Proto, l.Addr, l.Any, l.Port}] = true
	}
	for _, l := range ls {
		k := key{l.Proto, l.Addr, l.Any, l.Port}
		if seen[k] {
			continue
		}
		seen[k] = true
		h.Listeners = append(h.Listeners, l)
	}
}

// SetSysctls stores the values and mirrors the conntrack fill level, which
// rules read from h.Conntrack whichever way it was shown.
func (h *Host) SetSysctls(s []Sysctl) {
	for _, x := range s {
		h.Sysctls[x.Key] = x
		switch x.Key {
		case "net.netfilter.nf_conntrack_count", "net.nf_conntrack_count":
			if n, ok := atoi64(x.Value); ok {
				h.Conntrack.Count, h.Conntrack.CountRef = n, x.Ref
				h.MarkSeen(KindConntrack, x.Ref)
			}
		case "net.netfilter.nf_conntrack_max", "net.nf_conntrack_max", "net.ipv4.netfilter.ip_conntrack_max":
			if n, ok := atoi64(x.Value); ok {
				h.Conntrack.Max, h.Conntrack.MaxRef = n, x.Ref
				h.MarkSeen(KindConntrack, x.Ref)
			}
		}
	}
}

// SetCounters stores counters by name; a later reading replaces an earlier.
func (h *Host) SetCounters(cs []Counter) {
	for _, c := range cs {
		h.Counters[c.Name] = c
	}
}

// AddFirewall adds the rules and chains of one listing.
func (h *Host) AddFirewall(rules []FirewallRule, chains []Chain) {
	h.Firewall.Rules = append(h.Firewall.Rules, rules...)
	h.Firewall.Chains = append(h.Firewall.Chains, chains...)
}

// atoi64 reads a non-negative decimal of at most 18 digits.
func atoi64(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	var n int64
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// MaxSockets bounds the connected sockets a host keeps: a busy server's
// `ss -tn` lists a million; the rules look for a few stuck ones.
const MaxSockets = 4096

// AddSockets keeps connected sockets up to MaxSockets, the ones with bytes
// queued first (the ones a rule may care about).
func (h *Host) AddSockets(ss []Socket) {
	for _, queued := range []bool{true, false} {
		for _, s := range ss {
			if (s.SendQ > 0 || s.RecvQ > 0) == queued && len(h.Sockets) < MaxSockets {
				h.Sockets = append(h.Sockets, s)
			}
		}
	}
}
