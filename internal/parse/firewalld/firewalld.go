// Package firewalld parses `firewall-cmd --list-all` and
// `--list-all-zones` (and firewall-offline-cmd's, which print the same):
// each zone's target, interfaces, sources, services, ports and rich rules,
// so that whether a zone lets a service's port in can be told.
package firewalld

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// maxZones bounds what one listing can make us keep (firewalld ships ten).
const maxZones = 4096

var zoneHeaderRE = regexp.MustCompile(`^([A-Za-z0-9_+.-]{1,64})(?:\s+\(([a-z, ]+)\))?\s*$`)

// Parse reads a listing of one or more zones.
func Parse(doc evidence.Doc) ([]evidence.FirewalldZone, []evidence.Problem) {
	var zones []evidence.FirewalldZone
	var probs []evidence.Problem
	var cur *evidence.FirewalldZone
	list := "" // the key whose values follow on indented lines (rich rules, forward-ports)
	flush := func() {
		if cur != nil {
			zones = append(zones, *cur)
		}
		cur = nil
	}
	for i, l := range doc.Lines() {
		t := strings.TrimSpace(l)
		if t == "" {
			continue
		}
		if l[0] != ' ' && l[0] != '\t' {
			m := zoneHeaderRE.FindStringSubmatch(t)
			if m == nil {
				probs = append(probs, doc.Problemf(i, "firewall-cmd --list-all: line not understood: %q", evidence.Clip(t, 80)))
				continue
			}
			flush()
			if len(zones) >= maxZones {
				break
			}
			cur = &evidence.FirewalldZone{Name: m[1], Ref: doc.Ref(i, l)}
			for _, w := range strings.Split(m[2], ",") {
				switch strings.TrimSpace(w) {
				case "active":
					cur.Active = true
				case "default":
					cur.Default = true
				}
			}
			list = ""
			continue
		}
		if cur == nil {
			probs = append(probs, doc.Problemf(i, "firewall-cmd --list-all: line before any zone: %q", evidence.Clip(t, 80)))
			continue
		}
		key, val, ok := strings.Cut(t, ":")
		if !ok || strings.HasPrefix(t, "rule ") || strings.HasPrefix(t, "port=") {
			switch list {
			case "rich rules":
				cur.RichRules = append(cur.RichRules, doc.Ref(i, l))
			case "forward-ports", "source-ports":
			default:
				probs = append(probs, doc.Problemf(i, "firewall-cmd --list-all: line not understood: %q", evidence.Clip(t, 80)))
			}
			continue
		}
		f := strings.Fields(val)
		list = key
		switch key {
		case "target":
			cur.Target = strings.TrimSpace(val)
		case "interfaces":
			cur.Interfaces = f
		case "sources":
			cur.Sources = f
		case "services":
			cur.Services = f
		case "ports":
			cur.Ports = f
		case "protocols":
			cur.Protocols = f
		case "masquerade":
			cur.Masquerade = strings.TrimSpace(val) == "yes"
		case "rich rules", "forward-ports", "source-ports", "icmp-blocks", "icmp-block-inversion", "forward",
			"ingress-priority", "egress-priority", "summary", "description":
		default:
			probs = append(probs, doc.Problemf(i, "firewall-cmd --list-all: key not understood: %q", evidence.Clip(key, 40)))
		}
	}
	flush()
	return zones, probs
}

// serviceBuiltin are the ports of firewalld's own service definitions
// (/usr/lib/firewalld/services/*.xml, firewalld 1.3) that LVS services
// use; a service not here has unknown ports.
var serviceBuiltin = map[string][]string{
	"http": {"80/tcp"}, "https": {"443/tcp"}, "http3": {"443/udp"}, "ssh": {"22/tcp"},
	"dns": {"53/tcp", "53/udp"}, "mysql": {"3306/tcp"}, "postgresql": {"5432/tcp"},
	"dhcpv6-client": {"546/udp"}, "smtp": {"25/tcp"}, "smtps": {"465/tcp"}, "imaps": {"993/tcp"},
	"pop3s": {"995/tcp"}, "ldap": {"389/tcp"}, "ldaps": {"636/tcp"}, "redis": {"6379/tcp"},
	"ntp": {"123/udp"}, "cockpit": {"9090/tcp"}, "kube-apiserver": {"6443/tcp"},
}

// Allows says whether zone z lets a new connection to proto/port in:
// Matches when its target accepts or a port or service opens it, NoMatch
// when nothing in the listing does, MayMatch when a rich rule or a
// service of unknown ports might.
func Allows(z evidence.FirewalldZone, proto string, port uint16) evidence.Match {
	if strings.EqualFold(z.Target, "ACCEPT") {
		return evidence.Matches
	}
	if portsHold(z.Ports, proto, port) {
		return evidence.Matches
	}
	res := evidence.NoMatch
	for _, s := range z.Services {
		ps, ok := serviceBuiltin[s]
		if !ok {
			res = evidence.MayMatch
			continue
		}
		if portsHold(ps, proto, port) {
			return evidence.Matches
		}
	}
	if len(z.RichRules) > 0 {
		res = evidence.MayMatch
	}
	return res
}

func portsHold(ports []string, proto string, port uint16) bool {
	for _, p := range ports {
		num, pr, _ := strings.Cut(p, "/")
		if !strings.EqualFold(pr, proto) {
			continue
		}
		lo, hi, isRange := strings.Cut(num, "-")
		a, err1 := strconv.ParseUint(lo, 10, 16)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.ParseUint(hi, 10, 16)
		}
		if err1 == nil && err2 == nil && uint64(port) >= a && uint64(port) <= b {
			return true
		}
	}
	return false
}

// ZoneOf returns the zone an interface is bound to, and whether one is.
func ZoneOf(zones []evidence.FirewalldZone, iface string) (evidence.FirewalldZone, bool) {
	for _, z := range zones {
		for _, i := range z.Interfaces {
			if i == iface {
				return z, true
			}
		}
	}
	return evidence.FirewalldZone{}, false
}
