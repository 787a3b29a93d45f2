package rules

import (
	"fmt"
	"strconv"
	"strings"

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
	// What decided comes first: the kernel saying it drops ("table full,
	// dropping packet"), else the counts that show the table full (a
	// snapshot), else the counters.
	var counts []evidence.Ref
	if countKnown {
		counts = append(counts, ct.CountRef)
	}
	if maxKnown {
		counts = append(counts, ct.MaxRef)
	}
	if len(logs) > 3 {
		logs = append(logs[:2:2], logs[len(logs)-1])
	}
	var ev []evidence.Ref
	switch {
	case len(logs) > 0:
		ev = append(append(append(ev, logs...), counts...), ctrs...)
	case fill >= 0.9:
		ev = append(append(ev, counts...), ctrs...)
	default:
		ev = append(append(ev, ctrs...), counts...)
	}
	what := "the director"
	if h.Role == evidence.RoleRealServer {
		what = "the real server"
	}
	// Twice the table, and the hash a quarter of it (the kernel's own
	// ratio); from the running value when the evidence lacks it.
	setMax := "sysctl -w net.netfilter.nf_conntrack_max=$(( $(sysctl -n net.netfilter.nf_conntrack_max) * 2 ))"
	hash := "echo $(( $(sysctl -n net.netfilter.nf_conntrack_max) / 4 )) > /sys/module/nf_conntrack/parameters/hashsize"
	if maxKnown {
		setMax = "sysctl -w net.netfilter.nf_conntrack_max=" + strconv.FormatInt(ct.Max*2, 10)
		hash = "echo " + strconv.FormatInt(ct.Max*2/4, 10) + " > /sys/module/nf_conntrack/parameters/hashsize"
	}
	fix := []string{
		fixCmd(setMax, "twice the table, on %s", h.Name),
		fixCmd(hash, "buckets: a quarter of the table"),
		fixStep("persist both: net.netfilter.nf_conntrack_max in /etc/sysctl.d/90-lvs.conf, `options nf_conntrack hashsize=N` in /etc/modprobe.d/nf_conntrack.conf"),
	}
	for _, s := range p.Services() {
		switch {
		case h.Role == evidence.RoleDirector && directRouting(s) && s.VIP.IsValid():
			// DR/TUN directors never see the replies: tracking the VIP's
			// flows only fills the table.
			fix = append(fix, fixCmd(fmt.Sprintf("iptables -t raw -I PREROUTING -d %s -j NOTRACK", s.VIP),
				"the VIP's flows need no conntrack on a %s director", strings.ToUpper(s.Mode)))
		case h.Role == evidence.RoleRealServer:
			port := rsPort(p, s, h)
			if port == 0 {
				continue
			}
			fix = append(fix,
				fixCmd(fmt.Sprintf("iptables -t raw -I PREROUTING -p %s --dport %d -j NOTRACK", protoOf(s), port), "only if no stateful rule (-m state, NAT) needs the service's flows"),
				fixCmd(fmt.Sprintf("iptables -t raw -I OUTPUT -p %s --sport %d -j NOTRACK", protoOf(s), port), "and its replies"))
		}
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
