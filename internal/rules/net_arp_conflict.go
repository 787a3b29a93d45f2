package rules

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

var netARPConflict = &Rule{
	ID:   "net.arp-conflict",
	Doc:  "More than one MAC answers ARP for the VIP (captures, arping, or a real server's MAC in a neighbour table).",
	Rank: 50,
	Needs: []Need{
		{Role: evidence.RoleClient, Kind: evidence.KindNeighbors, Command: "ip neigh"},
	},
	Explains: []string{"kernel.drop"},
	Run: func(p *Pass) {
		for _, s := range p.Services() {
			if s.VIP.IsValid() {
				checkARPConflict(p, s)
			}
		}
	},
}

func macLabel(p *Pass, mac string) string {
	if h := macOwner(p, mac); h != nil {
		return fmt.Sprintf("%s (%s)", mac, h.Name)
	}
	return mac
}

// arpAnswer is one MAC seen answering (or announcing) ARP for the VIP.
type arpAnswer struct {
	mac  string
	host *evidence.Host // where it was seen
	ref  evidence.Ref
	src  string  // capture file
	t    float64 // frame time, when known
	hasT bool
	garp bool // an announcement, not an answer
}

func checkARPConflict(p *Pass, s *topology.Service) {
	var answers []arpAnswer
	for _, h := range p.Case.Hosts {
		for i := range h.Frames {
			f := &h.Frames[i]
			if f.Proto != "arp" || f.ARPIP != s.VIP {
				continue
			}
			a := arpAnswer{host: h, ref: f.Ref, src: f.Ref.Source}
			switch {
			case f.ARPOp == "reply" && f.ARPMAC != "":
				a.mac = strings.ToLower(f.ARPMAC)
			case f.ARPOp == "request" && f.Src == s.VIP && f.SrcMAC != "":
				a.mac, a.garp = strings.ToLower(f.SrcMAC), true // gratuitous ARP
			default:
				continue
			}
			a.t, a.hasT = frameSeconds(f)
			answers = append(answers, a)
		}
	}
	byMAC := map[string][]arpAnswer{}
	var macs []string
	for _, a := range answers {
		if _, ok := byMAC[a.mac]; !ok {
			macs = append(macs, a.mac)
		}
		byMAC[a.mac] = append(byMAC[a.mac], a)
	}
	var ev []evidence.Ref
	conflict := map[string]bool{}
	var where *evidence.Host
	// Replies from a host that is not a director (a real server) are a
	// conflict whenever they happen; two directors' replies only when they
	// answer the same request (close in time), not one after the other
	// across a failover, and not their gratuitous ARPs (a backup that is
	// preempted a moment after it took over announces the VIP too).
	for _, m := range macs {
		if o := macOwner(p, m); o != nil && o.Role != evidence.RoleDirector {
			conflict[m] = true
			ev = append(ev, byMAC[m][0].ref)
			where = o
		}
	}
	if len(conflict) > 0 {
		for _, m := range macs {
			if !conflict[m] {
				conflict[m] = true
				ev = append(ev, byMAC[m][0].ref)
				break
			}
		}
	} else if a, b, ok := closeAnswers(answers, 1.0); ok {
		conflict[a.mac], conflict[b.mac] = true, true
		ev = append(ev, a.ref, b.ref)
		where = a.host
	}
	// arping: several MACs answered one run.
	for _, h := range p.Case.Hosts {
		for _, o := range h.Observations {
			if o.Kind != "arp-conflict" || o.Target != s.VIP {
				continue
			}
			for _, m := range strings.Split(o.MAC, ",") {
				if m = strings.ToLower(strings.TrimSpace(m)); m != "" {
					conflict[m] = true
				}
			}
			ev = append(ev, o.Ref)
			if where == nil {
				where = h
			}
		}
	}
	// Neighbour tables that learnt a real server's MAC for the VIP.
	rsMACs := map[string]*evidence.Host{}
	for _, h := range p.RealServers() {
		for m := range hostMACs(h) {
			rsMACs[m] = h
		}
	}
	for _, h := range p.Case.Hosts {
		if h.Role == evidence.RoleRealServer || h.Role == evidence.RoleDirector {
			continue
		}
		for _, n := range h.Neighbors {
			if n.IP != s.VIP || n.MAC == "" {
				continue
			}
			if rs := rsMACs[strings.ToLower(n.MAC)]; rs != nil {
				conflict[strings.ToLower(n.MAC)] = true
				ev = append(ev, n.Ref)
				where = rs
			}
		}
	}
	if len(ev) == 0 || (len(conflict) < 2 && !anyNonDirector(p, conflict)) {
		return
	}
	if len(conflict) == 1 {
		// The real server's answer competes with the director's.
		for _, d := range vipHolders(p, s) {
			for _, a := range d.AddrsOf(s.VIP) {
				if l, ok := d.Link(a.Iface); ok && l.MAC != "" {
					conflict[strings.ToLower(l.MAC)] = true
				}
			}
		}
	}
	var labels []string
	for m := range conflict {
		labels = append(labels, macLabel(p, m))
		if o := macOwner(p, m); o != nil && o.Role == evidence.RoleRealServer {
			where = o
		}
	}
	sort.Strings(labels)
	host := ev[0].Host
	if where != nil {
		host = where.Name
	}
	p.Report(diagnosis.Finding{
		Severity: diagnosis.Critical,
		Host:     host,
		Title:    fmt.Sprintf("more than one MAC answers ARP for the VIP %s: %s", s.VIP, strings.Join(labels, ", ")),
		Explanation: "Clients and their gateway learn the VIP's MAC from whichever ARP reply they see last. Only the active " +
			"director may answer: when a real server does too, part of the traffic (or all of it, until the entry changes) " +
			"goes straight to that server and bypasses IPVS; when two directors answer, VRRP has split.",
		Evidence: ev,
		Fix: append(sysctlFix("on every real server (the VIP stays on lo as /32): they must not answer ARP for it",
			"net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2"),
			announceVIP(p, s, "then correct the neighbours' entries")),
	})
}

// anyNonDirector reports whether one of macs belongs to a host that is not
// a director: such a host must never answer ARP for the VIP.
func anyNonDirector(p *Pass, macs map[string]bool) bool {
	for m := range macs {
		if o := macOwner(p, m); o != nil && o.Role != evidence.RoleDirector {
			return true
		}
	}
	return false
}

// closeAnswers finds two answers from different MACs in one capture
// within gap seconds of each other.
func closeAnswers(as []arpAnswer, gap float64) (arpAnswer, arpAnswer, bool) {
	for i := range as {
		for j := i + 1; j < len(as); j++ {
			a, b := as[i], as[j]
			if a.mac == b.mac || a.src != b.src || !a.hasT || !b.hasT || a.garp || b.garp {
				continue
			}
			if math.Abs(a.t-b.t) <= gap {
				return a, b, true
			}
		}
	}
	return arpAnswer{}, arpAnswer{}, false
}
