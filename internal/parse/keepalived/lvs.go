package keepalived

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

func (p *parser) virtualServer(st *stmt) {
	vs := &evidence.KVirtualServer{Ref: p.sref(st)}
	switch {
	case arg(st, 0) == "fwmark":
		n, err := strconv.ParseUint(arg(st, 1), 0, 32)
		if err != nil {
			p.stIssue(st, "virtual_server fwmark needs a mark number")
		}
		vs.FWMark = uint32(n)
	case arg(st, 0) == "group":
		vs.Group = strings.Clone(arg(st, 1))
		if vs.Group == "" {
			p.stIssue(st, "virtual_server group needs a name")
		} else {
			p.vsgRefs = append(p.vsgRefs, nameRef{vs.Group, p.sref(st), "virtual_server"})
		}
	default:
		a, port, ok := addrPort(st.args)
		if !ok {
			p.stIssue(st, "virtual_server needs an address and a port (or fwmark N, or group NAME)")
		}
		vs.Addr, vs.Port = a, port
	}
	protoSet := false
	for _, s := range st.block {
		switch s.kw {
		case "delay_loop":
			if n, err := strconv.ParseFloat(arg(s, 0), 64); err == nil && n > 0 {
				vs.DelayLoop = int(n)
			} else {
				p.stIssue(s, "delay_loop must be a positive number of seconds")
			}
		case "lb_algo", "lvs_sched":
			if s.kw == "lvs_sched" {
				p.v2Hints = append(p.v2Hints, p.sref(s))
			}
			vs.LbAlgo = strings.Clone(arg(s, 0))
			if !schedulers[vs.LbAlgo] {
				p.stIssue(s, fmt.Sprintf("unknown scheduler %q", evidence.Clip(vs.LbAlgo, 64)))
			}
		case "lb_kind", "lvs_method":
			if s.kw == "lvs_method" {
				p.v2Hints = append(p.v2Hints, p.sref(s))
			}
			p.lbKind(vs, s)
		case "protocol":
			protoSet = true
			vs.Proto = strings.ToUpper(arg(s, 0))
			if vs.Proto != "TCP" && vs.Proto != "UDP" && vs.Proto != "SCTP" {
				p.stIssue(s, fmt.Sprintf("protocol %q is not TCP, UDP or SCTP", evidence.Clip(arg(s, 0), 64)))
			}
		case "persistence_timeout":
			vs.Persistence = p.persistenceTimeout(s)
			vs.PersistenceRef = p.sref(s)
		case "laddr_group_name":
			p.forkHint(s)
			vs.LaddrGroup = strings.Clone(arg(s, 0))
			vs.LaddrRef = p.sref(s)
			p.laddrRefs = append(p.laddrRefs, nameRef{vs.LaddrGroup, p.sref(s), "laddr_group_name"})
		case "syn_proxy", "est_timeout":
			p.forkHint(s)
		case "real_server":
			if rs := p.realServer(s, vs); rs != nil {
				vs.RealServers = append(vs.RealServers, rs)
			}
		case "sorry_server":
			if _, _, ok := addrPort(s.args); !ok {
				p.stIssue(s, "sorry_server needs an address and a port")
			}
		default:
			if s.hasBlock && known("virtual_server", s.kw) {
				continue
			}
			p.unknownOrMisplaced(s, "virtual_server")
		}
	}
	if !protoSet && vs.FWMark == 0 && vs.Group == "" {
		p.stIssue(st, "no protocol: keepalived 2.x then uses UDP (1.x used TCP); say `protocol TCP` or `protocol UDP`")
	}
	if (vs.LbKind == "DR" || vs.LbKind == "TUN") && vs.FWMark == 0 && vs.Group == "" {
		for _, rs := range vs.RealServers {
			if rs.Port != 0 && vs.Port != 0 && rs.Port != vs.Port {
				p.addIssue("real_server", fmt.Sprintf("real server port %d differs from the virtual port %d: %s cannot change ports, keepalived resets it to %d", rs.Port, vs.Port, vs.LbKind, vs.Port), rs.Ref)
			}
		}
	}
	if vs.LbKind == "" && len(vs.RealServers) > 0 {
		p.stIssue(st, "no lb_kind: keepalived uses NAT")
	}
	p.cfg.VirtualServers = append(p.cfg.VirtualServers, vs)
}

func (p *parser) lbKind(vs *evidence.KVirtualServer, s *stmt) {
	raw := strings.ToUpper(arg(s, 0))
	vs.LbKindRef = p.sref(s)
	switch raw {
	case "DR", "NAT", "TUN":
		vs.LbKind = raw
	case "FNAT", "FULLNAT":
		vs.LbKind = "FNAT"
		p.deferred = append(p.deferred, deferredIssue{kw: s.kw, ref: p.sref(s), when: "stock",
			msg: "lb_kind FNAT is understood only by the FULLNAT fork (Alibaba LVS keepalived); stock keepalived rejects it and uses NAT"})
	default:
		vs.LbKind = raw
		p.stIssue(s, fmt.Sprintf("unknown lb_kind %q: keepalived uses NAT", evidence.Clip(arg(s, 0), 64)))
	}
}

// addrPort reads "IP PORT", "IP:PORT" or "[IP]:PORT" arguments.
func addrPort(args []string) (netip.Addr, uint16, bool) {
	if len(args) >= 2 {
		a, err1 := netip.ParseAddr(args[0])
		n, err2 := strconv.ParseUint(args[1], 10, 16)
		if err1 == nil && err2 == nil {
			return a.Unmap(), uint16(n), true
		}
	}
	if len(args) >= 1 {
		if ap, err := netip.ParseAddrPort(args[0]); err == nil {
			return ap.Addr().Unmap(), ap.Port(), true
		}
		if a, err := netip.ParseAddr(args[0]); err == nil {
			return a.Unmap(), 0, len(args) == 1
		}
	}
	return netip.Addr{}, 0, false
}

var checkers = map[string]bool{
	"TCP_CHECK": true, "HTTP_GET": true, "SSL_GET": true, "MISC_CHECK": true, "SMTP_CHECK": true,
	"DNS_CHECK": true, "UDP_CHECK": true, "PING_CHECK": true, "FILE_CHECK": true, "BFD_CHECK": true,
}

func (p *parser) realServer(st *stmt, vs *evidence.KVirtualServer) *evidence.KRealServer {
	rs := &evidence.KRealServer{Weight: 1, Ref: p.sref(st)}
	a, port, ok := addrPort(st.args)
	if !ok {
		p.stIssue(st, "real_server needs an address and a port")
		return nil
	}
	if port == 0 && vs.FWMark == 0 {
		port = vs.Port
	}
	rs.Addr, rs.Port = a, port
	for _, s := range st.block {
		switch {
		case s.kw == "weight":
			n, err := strconv.Atoi(arg(s, 0))
			if err != nil || n < 0 {
				p.stIssue(s, "weight must be a non-negative number")
			}
			rs.Weight = n
			rs.WeightRef = p.sref(s)
		case s.kw == "inhibit_on_failure":
			rs.InhibitOnFailure = true
		case checkers[s.kw]:
			c := p.check(s)
			if rs.Check == nil {
				rs.Check = c
			}
		default:
			if s.hasBlock && known("real_server", s.kw) {
				continue
			}
			p.unknownOrMisplaced(s, "real_server")
		}
	}
	return rs
}

func (p *parser) check(st *stmt) *evidence.KCheck {
	c := &evidence.KCheck{Type: st.kw, Ref: p.sref(st)}
	where := st.kw
	if where == "SSL_GET" {
		where = "HTTP_GET"
	}
	var walk func(block []*stmt, where string)
	walk = func(block []*stmt, where string) {
		for _, s := range block {
			switch s.kw {
			case "connect_ip":
				if a, err := netip.ParseAddr(arg(s, 0)); err == nil {
					c.ConnectIP, c.ConnectIPRef = a.Unmap(), p.sref(s)
				} else {
					p.stIssue(s, "connect_ip is not an IP address")
				}
			case "connect_port":
				n, err := strconv.ParseUint(arg(s, 0), 10, 16)
				if err != nil {
					p.stIssue(s, "connect_port is not a port number")
				}
				c.ConnectPort, c.ConnectPortRef = uint16(n), p.sref(s)
			case "url":
				for _, u := range s.block {
					if u.kw == "path" {
						if len(c.URLs) < 64 {
							c.URLs = append(c.URLs, strings.Clone(arg(u, 0)))
						}
					} else if !known("url", u.kw) {
						p.unknownOrMisplaced(u, "url")
					}
				}
			case "host":
				// SMTP_CHECK of 1.x: host { connect_ip ... connect_port ... }
				walk(s.block, where)
			case "retry":
				p.v2Hints = append(p.v2Hints, p.sref(s))
			default:
				if s.hasBlock && known(where, s.kw) {
					continue
				}
				p.unknownOrMisplaced(s, where)
			}
		}
	}
	walk(st.block, where)
	return c
}

func (p *parser) vsGroup(st *stmt) {
	name := arg(st, 0)
	if name == "" {
		p.stIssue(st, "virtual_server_group without a name")
		return
	}
	var entries []evidence.KVSGroupEntry
	for _, s := range st.block {
		ref := p.sref(s)
		if s.kw == "fwmark" {
			n, err := strconv.ParseUint(arg(s, 0), 0, 32)
			if err != nil {
				p.stIssue(s, "fwmark needs a mark number")
				continue
			}
			entries = append(entries, evidence.KVSGroupEntry{FWMark: uint32(n), Ref: ref})
			continue
		}
		from, to, ok := addrRange(s.kw)
		if !ok {
			p.stIssue(s, fmt.Sprintf("virtual_server_group entry %q is not an address or range", evidence.Clip(s.kw, 64)))
			continue
		}
		port := uint16(0)
		if n, err := strconv.ParseUint(arg(s, 0), 10, 16); err == nil {
			port = uint16(n)
		} else {
			p.stIssue(s, "virtual_server_group entry needs a port")
		}
		for a, k := from, 0; k < 256; a, k = a.Next(), k+1 {
			entries = append(entries, evidence.KVSGroupEntry{Addr: a, Port: port, Ref: ref})
			if a == to || !a.IsValid() {
				break
			}
		}
	}
	p.cfg.VSGroups[strings.Clone(name)] = append(p.cfg.VSGroups[name], entries...)
}

// addrRange reads "10.0.0.2", "10.0.0.2-20" (last byte) or the fork's
// "10.0.0.2-10.0.0.20".
func addrRange(s string) (netip.Addr, netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), a.Unmap(), true
	}
	i := strings.LastIndexByte(s, '-')
	if i <= 0 {
		return netip.Addr{}, netip.Addr{}, false
	}
	from, err := netip.ParseAddr(s[:i])
	if err != nil {
		return netip.Addr{}, netip.Addr{}, false
	}
	from = from.Unmap()
	if to, err := netip.ParseAddr(s[i+1:]); err == nil {
		if to.Unmap().Less(from) {
			return netip.Addr{}, netip.Addr{}, false
		}
		return from, to.Unmap(), true
	}
	if from.Is4() {
		n, err := strconv.ParseUint(s[i+1:], 10, 8)
		b := from.As4()
		if err != nil || byte(n) < b[3] {
			return netip.Addr{}, netip.Addr{}, false
		}
		b[3] = byte(n)
		return from, netip.AddrFrom4(b), true
	}
	n, err := strconv.ParseUint(s[i+1:], 16, 16)
	b := from.As16()
	last := uint16(b[14])<<8 | uint16(b[15])
	if err != nil || uint16(n) < last {
		return netip.Addr{}, netip.Addr{}, false
	}
	b[14], b[15] = byte(n>>8), byte(n)
	return from, netip.AddrFrom16(b), true
}

func (p *parser) laddrGroup(st *stmt) {
	name := arg(st, 0)
	if name == "" {
		p.stIssue(st, "local_address_group without a name")
		return
	}
	var out []evidence.KAddrRange
	for _, s := range st.block {
		ref := p.sref(s)
		for _, tok := range append([]string{s.kw}, s.args...) {
			from, to, ok := addrRange(tok)
			if !ok {
				p.stIssue(s, fmt.Sprintf("local_address_group entry %q is not an address or range", evidence.Clip(tok, 64)))
				continue
			}
			if len(out) < 4096 {
				out = append(out, evidence.KAddrRange{From: from, To: to, Ref: ref})
			}
		}
	}
	p.cfg.LocalAddrGroups[strings.Clone(name)] = append(p.cfg.LocalAddrGroups[name], out...)
}
