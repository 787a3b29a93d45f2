package rules

import (
	"fmt"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var rsTCPTWRecycle = &Rule{
	ID:   "rs.tcp-tw-recycle",
	Doc:  "net.ipv4.tcp_tw_recycle=1 (kernels before 4.12) drops SYNs whose TCP timestamp is older than one recently seen from the same source address: clients behind a NAT, or an FNAT director's local addresses.",
	Rank: 28,
	Needs: []Need{
		{Role: evidence.RoleRealServer, Kind: evidence.KindSysctl, Command: "sysctl -a"},
	},
	Run: func(p *Pass) {
		fnat := false
		for _, s := range p.Services() {
			if s.Mode == "fnat" {
				fnat = true
			}
		}
		for _, h := range p.RealServers() {
			v, ref, ok := h.SysctlInt("net.ipv4.tcp_tw_recycle")
			if !ok || v == 0 {
				continue
			}
			ev := []evidence.Ref{ref}
			if ts, tsRef, ok := h.SysctlInt("net.ipv4.tcp_timestamps"); ok {
				if ts == 0 {
					continue // without timestamps the per-peer check never runs
				}
				ev = append(ev, tsRef)
			}
			if h.Kernel.Release != "" {
				ev = append(ev, h.Kernel.Ref)
			}
			rejected := int64(0)
			for _, name := range []string{"TcpExt.PAWSPassive", "TcpExtPAWSPassive"} {
				if c, ok := h.Counters[name]; ok && c.Value > 0 {
					ev = append(ev, c.Ref)
					rejected = c.Value
					break
				}
			}
			who := "Clients behind one NAT share a source address but not a timestamp clock"
			if fnat {
				who = "In FNAT every client reaches the real server from the director's few local addresses, each client with its own timestamp clock"
			}
			title := fmt.Sprintf("tcp_tw_recycle is on on %s", h.Name)
			if rejected > 0 {
				title += fmt.Sprintf(" (%d SYNs rejected for their timestamp so far)", rejected)
			}
			p.Report(diagnosis.Finding{
				Severity: diagnosis.Warning,
				Host:     h.Name,
				Title:    title,
				Explanation: who + ": with tcp_tw_recycle the kernel remembers the last timestamp per source address and " +
					"silently drops a SYN that carries an older one, so some connections hang at the SYN while others work. " +
					"The option was removed in Linux 4.12 for this reason.",
				Evidence: ev,
				Fix: []string{
					fixCmd("sysctl -w net.ipv4.tcp_tw_recycle=0", "on %s", h.Name),
					fixCmd("sed -i '/tcp_tw_recycle/d' /etc/sysctl.conf /etc/sysctl.d/*.conf", "so that it stays off after a reboot"),
				},
			})
		}
	},
}
