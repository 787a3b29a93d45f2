package rules

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

var rsAcceptLocal = &Rule{
	ID:    "rs.accept-local",
	Modes: []string{"dr", "tun"},
	Doc: "Packets whose source is one of the real server's own addresses (the VIP, in a VIP→VIP test) are martians to " +
		"its kernel and dropped unless accept_local is on (conf.all OR the interface).",
	Rank:     9,
	Needs:    []Need{{Role: evidence.RoleRealServer, Kind: evidence.KindSysctl, Command: "sysctl -a"}},
	Explains: []string{"trace.rs-not-replying", "kernel.drop"},
	Run: func(p *Pass) {
		for _, x := range directPairs(p) {
			s, h := x.s, x.h
			checkAcceptLocal(p, s, h)
		}
	},
}

// localSourced returns the frames of h's captures that bring a client
// packet for s whose source is an address h holds on lo/tunl0/dummy.
func localSourced(p *Pass, s *topology.Service, h *evidence.Host) []*evidence.Frame {
	var out []*evidence.Frame
	macs := hostMACs(h)
	for i := range h.Frames {
		f := &h.Frames[i]
		if f.Dir == "out" || f.Iface == "lo" || (f.SrcMAC != "" && macs[strings.ToLower(f.SrcMAC)]) {
			continue
		}
		pk, ok := vipPacket(f, s)
		if !ok || !sharedLocal(h, pk.Src) {
			continue
		}
		out = append(out, f)
	}
	return out
}

// sharedLocal reports whether a is an address h holds on an interface
// that does not identify h (lo, tunl0, a dummy): an address other hosts
// hold too, such as the VIP.
func sharedLocal(h *evidence.Host, a netip.Addr) bool {
	for _, x := range h.AddrsOf(a) {
		if arpSilentIface(x.Iface) || arpSilentIface(x.Label) {
			return true
		}
	}
	return false
}

func checkAcceptLocal(p *Pass, s *topology.Service, h *evidence.Host) {
	if !h.IsLocal(s.VIP) {
		return
	}
	frames := localSourced(p, s, h)
	var trigger []evidence.Ref
	src := s.VIP
	if len(frames) > 0 {
		trigger = firstRefs(frames, 3)
		src = innerOf(frames[0]).Src
	} else if c := p.Case.Client.Addr; c.IsValid() && c == s.VIP {
		trigger = []evidence.Ref{p.Case.Client.Ref}
	}
	if len(trigger) == 0 {
		return
	}
	iface := receivingIface(p, s, h)
	if iface == "" && len(frames) > 0 && s.Mode != "tun" {
		iface = frames[0].Iface
	}
	if iface == "" {
		p.Notef("packets from %s reach %s, whose own address it is; which interface receives them is unknown: add `ip addr` from %s", src, h.Name, h.Name)
		return
	}
	if !h.Has(evidence.KindSysctl) {
		p.Notef("packets from %s (one of %s's own addresses) reach %s: run `sysctl -a` there to see accept_local", src, h.Name, h.Name)
		return
	}
	eff := h.EffectiveConf("accept_local", iface)
	if !eff.Known {
		p.Notef("packets from %s reach %s, which holds that address, but its sysctl shows no accept_local for %s: run `sysctl -a | grep accept_local`", src, h.Name, iface)
		return
	}
	if eff.Value != 0 {
		return
	}
	sev := diagnosis.Critical
	if !eff.Exact {
		sev = diagnosis.Warning
	}
	// accept_local=0 on the interface they arrive on is what drops them
	// (conf.all too is 0, or it would accept); the packets that meet it
	// follow.
	ev := append([]evidence.Ref(nil), eff.Refs...)
	for i, r := range ev {
		if strings.Contains(r.Text, ".conf."+iface+".accept_local") {
			ev[0], ev[i] = ev[i], ev[0]
		}
	}
	ev = append(ev, trigger...)
	for _, a := range h.AddrsOf(src) {
		ev = append(ev, a.Ref)
	}
	for _, l := range h.Logs {
		if l.Kind == evidence.LogMartianSource && strings.Contains(l.Ref.Text, "from "+src.String()) {
			ev = append(ev, l.Ref)
			break
		}
	}
	p.Report(diagnosis.Finding{
		Severity: sev,
		Host:     h.Name,
		Title:    fmt.Sprintf("%s drops packets whose source %s is its own address (accept_local=0 on %s)", h.Name, src, iface),
		Explanation: fmt.Sprintf("The packets forwarded to %s come from %s, which %s holds itself (the VIP, on %s): a VIP→VIP "+
			"test, typically run on the director or on another host that holds the VIP. To the kernel a packet arriving from "+
			"one of its own addresses is a martian, dropped unless accept_local is on (conf.all OR conf.%s). Connections of "+
			"real clients are not affected; the test is.", h.Name, src, h.Name, vipHolderOf(h, src), iface),
		Evidence: ev,
		Fix: []string{
			testFromClient(p),
			fixCmd(fmt.Sprintf("sysctl -w net.ipv4.conf.%s.accept_local=1", iface), "or, on %s, if such traffic is wanted (with rp_filter 0 or 2 on %s)", h.Name, iface),
		},
	})
}

func vipHolderOf(h *evidence.Host, a netip.Addr) string {
	for _, x := range h.AddrsOf(a) {
		return x.Iface
	}
	return "an interface"
}
