package rules

import (
	"net/netip"
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// spoofFilter is an anti-IP-spoofing filter on one VM port of a
// hypervisor: frames leaving the VM are dropped unless their source IP is
// one of allowed.
type spoofFilter struct {
	hyper   *evidence.Host
	port    string // vnet0
	domain  string
	filter  string // the filter the interface references
	mac     string
	allowed []netip.Addr
	// The evidence, in the order it decides: dropped holds the DROP rules
	// whose counters show drops (the filter at work); config the VM's
	// <filterref> and the filter's definition (the filter is on the port);
	// rules the other lines of the chain (an uncounted DROP, the allowed
	// source's RETURN).
	dropped, config, rules []evidence.Ref
}

// refs is the filter's evidence, the deciding line first: a DROP whose
// counter grew, else the interface's filterref, else the chain's rules.
func (sf spoofFilter) refs() []evidence.Ref {
	out := append([]evidence.Ref(nil), sf.dropped...)
	out = append(out, sf.config...)
	return append(out, sf.rules...)
}

// libvirt's stock filters that include no-ip-spoofing.
var spoofingFilters = map[string]bool{"no-ip-spoofing": true, "clean-traffic": true, "clean-traffic-gateway": true}

// includesIPSpoofing reports whether libvirt filter name is, or includes
// (to depth 8), no-ip-spoofing, with the lines that show it.
func includesIPSpoofing(h *evidence.Host, name string, depth int) (bool, []evidence.Ref) {
	if depth > 8 {
		return false, nil
	}
	for _, f := range h.Libvirt.Filters {
		if f.Name != name {
			continue
		}
		if name == "no-ip-spoofing" {
			var refs []evidence.Ref
			for _, r := range f.Rules {
				if strings.EqualFold(r.Action, "drop") || strings.Contains(r.Attrs["srcipaddr"], "$IP") {
					refs = append(refs, r.Ref)
				}
			}
			return true, append([]evidence.Ref{f.Ref}, refs...)
		}
		for _, sub := range f.FilterRefs {
			if ok, refs := includesIPSpoofing(h, sub, depth+1); ok {
				return true, append([]evidence.Ref{f.Ref}, refs...)
			}
		}
		return false, nil
	}
	// Not dumped: libvirt's stock filters are known.
	return spoofingFilters[name], nil
}

// ebIPChain is the ebtables chain libvirt generates for a port's IP filter.
var ebIPChain = regexp.MustCompile(`^(?:I|O)-(.+)-ipv4-ip$`)

// spoofFilters lists h's anti-spoofing filters on VM ports: from libvirt's
// interface definitions and nwfilters, and from the ebtables chains they
// generate.
func spoofFilters(h *evidence.Host) []spoofFilter {
	var out []spoofFilter
	byPort := map[string]int{}
	for _, itf := range h.Libvirt.Interfaces {
		if itf.FilterRef == "" {
			continue
		}
		ok, refs := includesIPSpoofing(h, itf.FilterRef, 0)
		if !ok {
			continue
		}
		sf := spoofFilter{hyper: h, port: itf.Target, domain: itf.Domain, filter: itf.FilterRef, mac: strings.ToLower(itf.MAC),
			config: append([]evidence.Ref{itf.Ref}, refs...)}
		for k, v := range itf.FilterParams {
			if strings.EqualFold(k, "IP") {
				if a, err := netip.ParseAddr(v); err == nil {
					sf.allowed = append(sf.allowed, a)
				}
			}
		}
		byPort[sf.port] = len(out)
		out = append(out, sf)
	}
	// The ebtables chains libvirt installs say the same without the XML:
	// I-vnet0-ipv4-ip: "-p IPv4 --ip-src 192.0.2.2 -j RETURN" then "-j DROP".
	// A listing with counters (--Lc) and one without show the same rules:
	// the counted one is cited, once.
	type ruleKey struct {
		chain   string
		num     int
		verdict string
	}
	counted := map[ruleKey]bool{}
	for _, r := range h.Firewall.Rules {
		if r.Tool == "ebtables" && r.Counters {
			counted[ruleKey{r.Chain, r.Num, r.Verdict}] = true
		}
	}
	for _, r := range h.Firewall.Rules {
		if r.Tool != "ebtables" {
			continue
		}
		m := ebIPChain.FindStringSubmatch(r.Chain)
		if m == nil || !r.Counters && counted[ruleKey{r.Chain, r.Num, r.Verdict}] {
			continue
		}
		port := m[1]
		i, ok := byPort[port]
		if !ok {
			byPort[port] = len(out)
			out = append(out, spoofFilter{hyper: h, port: port})
			i = len(out) - 1
		}
		sf := &out[i]
		switch strings.ToUpper(r.Verdict) {
		case "RETURN", "ACCEPT":
			if len(r.Src.Prefixes) == 1 && !r.Src.Negate && r.Src.Prefixes[0].Bits() == 32 {
				a := r.Src.Prefixes[0].Addr()
				if !a.IsUnspecified() {
					sf.allowed = appendAddr(sf.allowed, a)
					sf.rules = append(sf.rules, r.Ref)
				}
			}
		case "DROP":
			// The DROP is what bites: cite it before the allowed address,
			// and first of all when its counter shows it dropped.
			if r.Counters && r.Pkts > 0 {
				sf.dropped = append(sf.dropped, r.Ref)
			} else {
				sf.rules = append([]evidence.Ref{r.Ref}, sf.rules...)
			}
		}
	}
	// An ebtables chain without a DROP is no filter.
	var keep []spoofFilter
	for _, sf := range out {
		if len(sf.allowed) > 0 || sf.domain != "" {
			keep = append(keep, sf)
		}
	}
	return keep
}

// appendAddr appends a to s unless it is there already.
func appendAddr(s []netip.Addr, a netip.Addr) []netip.Addr {
	for _, x := range s {
		if x == a {
			return s
		}
	}
	return append(s, a)
}
