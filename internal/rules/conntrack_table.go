package rules

import (
	"fmt"
	"strconv"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// checkConntrackTable reports h's connection tracking table when it is
// full or nearly, or was (kernel log, early drops): the check of both
// director.conntrack-table-full and rs.conntrack-table-full.
func checkConntrackTable(p *Pass, h *evidence.Host) {
	ct := h.Conntrack
	countKnown := !ct.CountRef.IsZero()
	maxKnown := !ct.MaxRef.IsZero() && ct.Max > 0
	var logs []evidence.Ref
	for _, l := range h.Logs {
		if l.Kind == evidence.LogConntrackFull {
			logs = append(logs, l.Ref)
		}
	}
	var ctrs []evidence.Ref
	var earlyDrop int64
	for _, name := range []string{"conntrack.drop", "conntrack.early_drop", "conntrack.insert_failed"} {
		if c, ok := h.Counters[name]; ok && c.Value > 0 {
			ctrs = append(ctrs, c.Ref)
			if name == "conntrack.early_drop" {
				earlyDrop = c.Value
			}
		}
	}
	fill := -1.0
	if countKnown && maxKnown {
		fill = float64(ct.Count) / float64(ct.Max)
	}
	sev := diagnosis.Severity("")
	var state string
	switch {
	case fill >= 1:
		sev, state = diagnosis.Critical, fmt.Sprintf("is full (%d of %d entries)", ct.Count, ct.Max)
	case len(logs) > 0 && (fill < 0 || fill >= 0.5):
		sev, state = diagnosis.Critical, "is full: the kernel logs \"table full, dropping packet\""
		if fill >= 0 {
			state += fmt.Sprintf(" (%d of %d entries now)", ct.Count, ct.Max)
		}
	case len(logs) > 0:
		sev, state = diagnosis.Warning, fmt.Sprintf("was full (the kernel logged dropped packets); %d of %d entries now", ct.Count, ct.Max)
	case fill >= 0.9:
		sev, state = diagnosis.Warning, fmt.Sprintf("is %.0f%% full (%d of %d entries)", fill*100, ct.Count, ct.Max)
	case earlyDrop > 0:
		sev, state = diagnosis.Warning, fmt.Sprintf("has been full: conntrack -S counts %d early drops", earlyDrop)
	default:
		return
	}
	var ev []evidence.Ref
	if countKnown {
		ev = append(ev, ct.CountRef)
	}
	if maxKnown {
		ev = append(ev, ct.MaxRef)
	}
	if len(logs) > 3 {
		logs = append(logs[:2:2], logs[len(logs)-1])
	}
	ev = append(ev, logs...)
	ev = append(ev, ctrs...)
	what := "the director"
	if h.Role == evidence.RoleRealServer {
		what = "the real server"
	}
	newMax := "<2x the current max>"
	if maxKnown {
		newMax = strconv.FormatInt(ct.Max*2, 10)
	}
	fix := []string{
		"sysctl -w net.netfilter.nf_conntrack_max=" + newMax + "   # and raise nf_conntrack_buckets (hashsize) to max/4; persist in /etc/sysctl.d/",
	}
	if h.Role == evidence.RoleDirector {
		fix = append(fix, "exempt VIP traffic from tracking: iptables -t raw -A PREROUTING -d <VIP> -j NOTRACK (DR/TUN directors need no conntrack for it)")
	} else {
		fix = append(fix, "exempt the service from tracking (iptables -t raw -A PREROUTING -p tcp --dport <port> -j NOTRACK, and OUTPUT --sport) if no stateful rule needs it")
	}
	var explains []string
	if sev == diagnosis.Critical && h.Role == evidence.RoleDirector {
		// The director's own health checks need entries too: with the
		// table full they fail and keepalived removes every real server.
		explains = []string{"director.no-available-realserver", "director.health-check-mismatch", "trace.director-not-forwarding"}
	}
	p.Report(diagnosis.Finding{
		Explains: explains,
		Severity: sev,
		Host:     h.Name,
		Title:    fmt.Sprintf("the conntrack table of %s %s", h.Name, state),
		Explanation: fmt.Sprintf("Every new flow through %s needs a connection tracking entry. When the table reaches "+
			"nf_conntrack_max the kernel drops the packets of new flows (\"nf_conntrack: table full, dropping packet\"): "+
			"clients see random timeouts on new connections while established ones keep working.", what),
		Evidence: ev,
		Fix:      fix,
	})
}
