package rules

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

var directorNoVirtualService = &Rule{
	ID:       "director.no-virtual-service",
	Doc:      "No IPVS virtual service on any director matches the VIP, port and protocol under diagnosis.",
	Rank:     5,
	Needs:    []Need{{Role: evidence.RoleDirector, Kind: evidence.KindIPVS, Command: "ipvsadm -Ln"}},
	Explains: []string{"trace.director-not-forwarding", "director.no-available-realserver", "kernel.drop"},
	Run: func(p *Pass) {
		unset := unsetMarks(p)
		for _, s := range p.Services() {
			if s.FWMark != 0 && !s.VIP.IsValid() {
				reportUnsetMark(p, s, unset)
				continue
			}
			if !s.Given || len(s.IPVS) > 0 || !s.VIP.IsValid() {
				continue
			}
			// The VIP's services with another protocol or port decide when
			// there are some; else the tables that lack it.
			var ev, tables []evidence.Ref
			var others []string
			for _, d := range p.Directors() {
				if !d.Has(evidence.KindIPVS) || d.IPVS == nil {
					continue
				}
				tables = append(tables, tableRef(d))
				for _, vs := range d.IPVS.Services {
					if vs.Addr == s.VIP {
						ev = append(ev, vs.Ref)
						others = append(others, vs.Key())
					}
				}
			}
			var marks []string
			for _, u := range unset {
				ev = append(ev, u.vs.Ref)
				marks = append(marks, u.vs.Key())
			}
			ev = append(ev, tables...)
			if len(ev) == 0 {
				continue
			}
			title := fmt.Sprintf("no IPVS virtual service for %s", s)
			expl := "IPVS only takes packets that match a virtual service (protocol, VIP and port, or a firewall mark). " +
				"None matches, so the director treats the packets as its own and nothing answers."
			if len(others) > 0 {
				title += fmt.Sprintf(" (the VIP has %s)", strings.Join(others, ", "))
				expl += " The VIP has a service with another protocol or port: check TCP vs UDP and the port."
			}
			if len(marks) > 0 {
				expl += fmt.Sprintf(" The table has %s, but no firewall rule sets that mark: if it is meant to carry %s, "+
					"the mangle rule that marks the VIP's packets is missing or sets another mark.", strings.Join(marks, ", "), s)
			}
			p.Report(diagnosis.Finding{
				Severity:    diagnosis.Critical,
				Host:        ev[0].Host,
				Title:       title,
				Explanation: expl,
				Evidence:    ev,
				Fix: []string{
					fixStep("add a virtual_server %s %d block (protocol %s) to keepalived.conf on the directors, then: systemctl reload keepalived", s.VIP, s.Port, strings.ToUpper(protoOf(s))),
					fixCmd(fmt.Sprintf("ipvsadm -A -%s %s -s rr", protoFlag(s.Proto), hostPort(s.VIP.String(), s.Port)), "or by hand, for now (keepalived does not know it: add the real servers with ipvsadm -a)"),
				},
			})
		}
	},
}

// unsetMark is a firewall-mark service of a director whose mark no rule
// of the director sets.
type unsetMark struct {
	d  *evidence.Host
	vs *evidence.VirtualService
	// others are the rules that set marks no service of the table has:
	// the one meant for it, when a number was mistyped.
	others []*evidence.FirewallRule
}

// unsetMarks lists the FWM services that no firewall rule of their
// director marks packets for. Only a director whose whole firewall is
// shown counts: a rule of a table the listing hides (iptables-legacy
// beside iptables-nft), a MARK rule whose mark is not a plain number, or
// a CONNMARK rule (the mark restored from the connection) may set it.
func unsetMarks(p *Pass) []unsetMark {
	var out []unsetMark
	for _, d := range p.Directors() {
		if d.IPVS == nil || !d.Has(evidence.KindFirewall) || len(d.HiddenOf(evidence.KindFirewall)) > 0 {
			continue
		}
		marks := map[uint32]bool{}
		for _, vs := range d.IPVS.Services {
			if vs.FWMark != 0 {
				marks[vs.FWMark] = true
			}
		}
		if len(marks) == 0 {
			continue
		}
		set := map[uint32]bool{}
		var others []*evidence.FirewallRule
		unknown := false
		for i := range d.Firewall.Rules {
			r := &d.Firewall.Rules[i]
			switch strings.ToUpper(r.Verdict) {
			case "MARK":
				m, ok := markValue(r.Target)
				if !ok {
					unknown = true
					continue
				}
				set[m] = true
				if !marks[m] {
					others = append(others, r)
				}
			case "CONNMARK":
				unknown = true
			}
		}
		if unknown {
			continue
		}
		for _, vs := range d.IPVS.Services {
			if vs.FWMark != 0 && !set[vs.FWMark] {
				out = append(out, unsetMark{d: d, vs: vs, others: others})
			}
		}
	}
	return out
}

// markValue reads a MARK rule's mark (0x3, 3, 0x3/0xff): ok is false for
// what sets no plain value (--or-mark, --and-mark).
func markValue(s string) (uint32, bool) {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "/")
	n, err := strconv.ParseUint(s, 0, 32)
	return uint32(n), err == nil
}

// reportUnsetMark reports the FWM service s when no rule sets its mark on
// a director that has it: no packet carries the mark, so none reaches it.
func reportUnsetMark(p *Pass, s *topology.Service, unset []unsetMark) {
	for _, u := range unset {
		if u.vs.FWMark != s.FWMark || s.IPVS[u.d.Name] != u.vs {
			continue
		}
		ev := []evidence.Ref{u.vs.Ref, seenRef(u.d, evidence.KindFirewall)}
		expl := fmt.Sprintf("A firewall-mark service takes the packets that carry its mark: a mangle rule "+
			"(iptables -j MARK --set-mark %d, nft meta mark set %d) must mark the VIP's packets before routing. "+
			"No rule in the firewall of %s sets mark %d, so no packet reaches %s and clients of its VIP get no answer.",
			u.vs.FWMark, u.vs.FWMark, u.d.Name, u.vs.FWMark, u.vs.Key())
		var setOther []string
		for _, r := range u.others {
			ev = append(ev, r.Ref)
			setOther = append(setOther, r.Target)
		}
		if len(setOther) > 0 {
			expl += fmt.Sprintf(" Rules set mark %s, which no service of the table has: a mistyped mark?", strings.Join(setOther, ", "))
		}
		p.Report(diagnosis.Finding{
			Severity:    diagnosis.Critical,
			Host:        u.d.Name,
			Title:       fmt.Sprintf("%s on %s: no firewall rule sets mark %d, so no traffic reaches it", u.vs.Key(), u.d.Name, u.vs.FWMark),
			Explanation: expl,
			Evidence:    ev,
			Fix:         markFix(p, u),
		})
	}
}

// markFix adds the mangle rule that marks the VIP's packets: the VIP the
// user named, else the director's keepalived VIP.
func markFix(p *Pass, u unsetMark) []string {
	vip := p.Case.Service.VIP
	if !vip.IsValid() && u.d.Keepalived != nil {
		for _, vi := range u.d.Keepalived.VRRPInstances {
			if len(vi.VIPs) > 0 {
				vip = vi.VIPs[0].Prefix.Addr()
				break
			}
		}
	}
	check := fixCmd("iptables -t mangle -L PREROUTING -n -v", "the MARK rule's counter grows while clients connect")
	if !vip.IsValid() {
		return []string{fixStep("on %s (and its backup): add a mangle PREROUTING rule that matches the VIP and the service's ports with -j MARK --set-mark %d", u.d.Name, u.vs.FWMark), check}
	}
	tool, ports := "iptables", ""
	if vip.Is6() {
		tool = "ip6tables"
	}
	if port := p.Case.Service.Port; port != 0 {
		ports = fmt.Sprintf(" -p %s --dport %d", orName(p.Case.Service.Proto, "tcp"), port)
	}
	return []string{
		fixCmd(fmt.Sprintf("%s -t mangle -A PREROUTING -d %s%s -j MARK --set-mark %d", tool, vip, ports, u.vs.FWMark),
			"on %s (and its backup): mark the service's packets; keep the rule where the firewall is saved", u.d.Name),
		check,
	}
}

func protoFlag(proto string) string {
	switch proto {
	case "udp":
		return "u"
	case "sctp":
		return "-sctp-service"
	}
	return "t"
}

func hostPort(h string, port uint16) string { return fmt.Sprintf("%s:%d", h, port) }
