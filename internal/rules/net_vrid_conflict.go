package rules

import (
	"fmt"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/messages"
)

var netVRIDConflict = &Rule{
	ID:   "net.vrid-conflict",
	Doc:  "Another VRRP speaker on the segment uses the directors' virtual_router_id with other VIPs: keepalived logs adverts of its VRID that do not carry its VIPs.",
	Rank: 11,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindLogs, Command: "journalctl -u keepalived --since -1d"},
	},
	Explains: []string{"director.vip-owned-twice", "director.vip-not-local"},
	Run: func(p *Pass) {
		// Any host that logs keepalived's VRRP: a paste of the log alone
		// is often all there is, its host's role unknown.
		for _, h := range p.Case.Hosts {
			checkVRIDConflict(p, h)
		}
	},
}

// vridMismatch are the entries of internal/messages in which keepalived
// says an advert of its VRID carried other addresses than its own: what
// only another speaker with the same VRID sends (the cluster's peers
// carry the same VIPs). "bogus VRRP packet" and "ignoring received
// advertisement" follow them, and say less alone.
var vridMismatch = map[string]bool{
	"keepalived.vrrp.vip-mismatch.v12":    true,
	"keepalived.vrrp.vip-not-present.v12": true,
	"keepalived.vrrp.vip-not-present.v1":  true,
	"keepalived.vrrp.vip-not-present.v20": true,
	"keepalived.vrrp.vip-not-present":     true,
	"keepalived.vrrp.vip-not-present.v23": true,
	"keepalived.vrrp.ip-count.v12":        true,
	"keepalived.vrrp.ip-count":            true,
	"keepalived.vrrp.vrid-mismatch.v1":    true,
}

func checkVRIDConflict(p *Pass, h *evidence.Host) {
	var decisive, others []evidence.Ref
	for _, l := range h.Logs {
		switch {
		case vridMismatch[l.Message]:
			decisive = append(decisive, l.Ref)
		case l.Message != "" && names(l.Message, "net.vrid-conflict"):
			others = append(others, l.Ref)
		}
	}
	if len(decisive) == 0 && len(others) == 0 {
		return
	}
	sev := diagnosis.Critical
	title := fmt.Sprintf("adverts of %s's VRRP id carry other VIPs: another VRRP speaker on the segment uses the same virtual_router_id", h.Name)
	if len(decisive) == 0 {
		// keepalived rejected adverts without saying why: a VRID clash
		// is the usual reason, a version or interval mismatch the others.
		sev = diagnosis.Warning
		title = fmt.Sprintf("keepalived on %s rejects VRRP adverts of its own id (bogus packets): another speaker with the same virtual_router_id, or a peer configured differently", h.Name)
	}
	p.Report(diagnosis.Finding{
		Severity: sev,
		Host:     h.Name,
		Title:    title,
		Explanation: "VRRP elects the owner of a VIP among the speakers of one virtual_router_id on a segment. keepalived " +
			"received adverts of its id whose addresses are not its own: they come from another cluster, a kubeadm or " +
			"kubeasz HA pair, or a router that picked the same id. keepalived drops them as bogus, but the election " +
			"is disturbed: the instance may stay BACKUP while no one it knows is MASTER, so no director holds the VIP, " +
			"or the VIP flaps between clusters.",
		Evidence: append(decisive[:min(3, len(decisive))], others[:min(2, len(others))]...),
		Fix: []string{
			fixCmd("tcpdump -c 10 -nni any vrrp", "on %s: the source addresses of the adverts; the foreign speaker is the one that is no director", h.Name),
			fixStep("in every director's keepalived.conf: virtual_router_id set to an id no other speaker on the segment uses (0-255, per interface)"),
			fixCmd("systemctl reload keepalived", "on each director, backup first: reload, not restart (a restart on the VRRP master fails the VIP over)"),
		},
	})
}

// names reports whether the message entry id names the cause.
func names(id, cause string) bool {
	e, ok := messages.Lookup(id)
	if !ok {
		return false
	}
	for _, c := range e.Causes {
		if c == cause {
			return true
		}
	}
	return false
}
