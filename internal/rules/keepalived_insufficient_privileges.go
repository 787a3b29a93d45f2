package rules

import (
	"fmt"
	"net/netip"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/fwsim"
)

var keepalivedInsufficientPrivileges = &Rule{
	ID:   "keepalived.insufficient-privileges",
	Doc:  "keepalived runs without the privileges it needs (a container with only some capabilities): the kernel refuses to add its VIP (netlink EPERM) or to send its adverts.",
	Rank: 3,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindLogs, Command: "journalctl -u keepalived --since -1d"},
	},
	Explains: []string{"director.vip-not-local", "director.vip-owned-twice", "net.arp-conflict"},
	Run: func(p *Pass) {
		// A pasted log is often all there is, its host's role unknown.
		for _, h := range p.Case.Hosts {
			c := keepalivedConfinement(h)
			if !c.confined {
				continue
			}
			ev := append(append([]evidence.Ref{}, c.netlink...), c.adverts...)
			title := fmt.Sprintf("keepalived on %s lacks the privileges to add its VIP: the kernel refuses its address changes (EPERM)", h.Name)
			if len(c.netlink) == 0 {
				title = fmt.Sprintf("keepalived on %s is not allowed to send its VRRP adverts (EPERM) and runs as in a container: it lacks privileges", h.Name)
			}
			p.Report(diagnosis.Finding{
				Severity:    diagnosis.Critical,
				Host:        h.Name,
				Title:       title,
				Explanation: c.why + " " + confinementEffect(h, c),
				Evidence:    ev,
				Fix: []string{
					fixStep("in a container: run it with --net=host --cap-add=NET_ADMIN --cap-add=NET_RAW --cap-add=NET_BROADCAST (or --privileged); in Kubernetes, securityContext.capabilities.add [NET_ADMIN, NET_RAW, NET_BROADCAST] and hostNetwork: true"),
					fixStep("under systemd: CapabilityBoundingSet and AmbientCapabilities of keepalived's unit must keep CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BROADCAST"),
					fixCmd("journalctl -u keepalived --since -5min", "on %s, after the restart: no \"Operation not permitted\" left", h.Name),
				},
			})
		}
	},
}

// advertEPERM are the messages in which the kernel refused to send
// keepalived's advert with EPERM, multicast or to a unicast peer.
var advertEPERM = map[string]bool{
	"keepalived.vrrp.send-advert-eperm":         true,
	"keepalived.vrrp.cant-send-advert-eperm":    true,
	"keepalived.vrrp.cant-send-advert-eperm.v1": true,
}

// netlinkEPERM are keepalived's netlink requests refused with EPERM,
// which rtnetlink answers only to a sender without CAP_NET_ADMIN.
var netlinkEPERM = map[string]bool{
	"keepalived.netlink.eperm":    true,
	"keepalived.netlink.eperm.v1": true,
}

// confinement is what h's evidence says of keepalived's privileges.
type confinement struct {
	netlink, adverts []evidence.Ref // the refused requests and sends (first few)
	consoleAdverts   bool           // the refused sends were printed on keepalived's console
	// outputDrop is the rule of h's firewall that drops VRRP on output,
	// when h's rules were given: the other reason for EPERM on a send.
	outputDrop *evidence.FirewallRule
	confined   bool
	why        string
}

// keepalivedConfinement tells the two reasons the kernel gives keepalived
// EPERM apart. On a netlink request it is always a missing CAP_NET_ADMIN
// (net/core/rtnetlink.c: "if (kind != 2 && !netlink_net_capable(skb,
// CAP_NET_ADMIN)) return -EPERM"). On a send it is a netfilter drop on the
// output path (net/netfilter/core.c: NF_DROP becomes -EPERM) or keepalived
// running confined: a firewall rule seen dropping VRRP on output decides
// for the firewall; a refused netlink request, or keepalived logging on
// its console (--log-console, in the foreground: how container images run
// it, osixia/keepalived's process.sh among them) with no such rule seen,
// for privileges. A syslog'd send refusal alone stays net.vrrp-blocked's.
func keepalivedConfinement(h *evidence.Host) confinement {
	var c confinement
	console := 0
	for _, l := range h.Logs {
		switch {
		case netlinkEPERM[l.Message]:
			if len(c.netlink) < maxLoggedRefs {
				c.netlink = append(c.netlink, l.Ref)
			}
		case advertEPERM[l.Message]:
			if len(c.adverts) < maxLoggedRefs {
				c.adverts = append(c.adverts, l.Ref)
			}
			if l.Console {
				console++
			}
		}
	}
	c.consoleAdverts = len(c.adverts) > 0 && console > 0
	if len(c.adverts) > 0 && h.Has(evidence.KindFirewall) {
		pkt := evidence.Packet{Proto: "112", Src: directorIP(h), Dst: vrrpGroup, CtState: "NEW"}
		if !pkt.Src.IsValid() {
			pkt.Src = netip.MustParseAddr("192.0.2.1") // any unicast source: the rules that drop VRRP rarely name it
		}
		if v := fwsim.Walk(&h.Firewall, pkt, "output", "postrouting"); v.Dropped && v.Rule != nil {
			c.outputDrop = v.Rule
		}
	}
	switch {
	case len(c.netlink) > 0:
		c.confined = true
		c.why = "The kernel refused keepalived's netlink request with EPERM: rtnetlink answers that only to a sender without CAP_NET_ADMIN (net/core/rtnetlink.c), whatever the firewall says."
	case c.consoleAdverts && c.outputDrop == nil:
		c.confined = true
		c.why = "The kernel refused keepalived's adverts with EPERM, and keepalived logs on its console (--log-console, in the foreground), as container images run it: keepalived confined without the capabilities it needs (NET_ADMIN, NET_RAW, NET_BROADCAST) is refused so, and runs fine with --privileged. A firewall rule dropping VRRP on output gives the same errno: none was seen" + seenFirewall(h) + "."
	}
	return c
}

func seenFirewall(h *evidence.Host) string {
	if h.Has(evidence.KindFirewall) {
		return " in its rules"
	}
	return " (its rules were not given: `iptables-save -c; nft list ruleset` would show one)"
}

// confinementEffect says what the refusal did, from what h logged after it.
func confinementEffect(h *evidence.Host, c confinement) string {
	if len(c.netlink) > 0 {
		return "The VIP is not added where keepalived believes it is MASTER: nothing answers for it there."
	}
	if l := lastVRRPState(h); l != nil && l.Kind == evidence.LogVRRPMaster {
		return "Its peers hear no advert from it: each node becomes MASTER and takes the VIP (split brain; its log shows it entering MASTER)."
	}
	return "Its peers never hear it: each of them becomes MASTER and takes the VIP."
}
