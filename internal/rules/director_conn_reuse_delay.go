package rules

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var directorConnReuseDelay = &Rule{
	ID: "director.conn-reuse-delay",
	Doc: "conn_reuse_mode=1 with IPVS conntrack=1 on kernels before 5.9 drops the first SYN of a reused client " +
		"port, giving ~1 s connection delays.",
	Rank: 40,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindSysctl, Command: "sysctl -a"},
		{Role: evidence.RoleDirector, Kind: evidence.KindUname, Command: "uname -a"},
	},
	Run: func(p *Pass) {
		for _, d := range p.Directors() {
			mode, mref, ok := d.SysctlInt("net.ipv4.vs.conn_reuse_mode")
			if !ok || mode&1 == 0 {
				continue
			}
			ct, cref, ok := d.SysctlInt("net.ipv4.vs.conntrack")
			if !ok || ct != 1 {
				continue
			}
			maj, mnr, ok := kernelVersion(d.Kernel.Release)
			if !ok {
				p.Notef("%s has conn_reuse_mode=1 and vs.conntrack=1: run `uname -r` there (kernels before 5.9 drop the first SYN of reused ports)", d.Name)
				continue
			}
			if maj > 5 || (maj == 5 && mnr >= 9) {
				continue
			}
			p.Report(diagnosis.Finding{
				Severity: diagnosis.Warning,
				Host:     d.Name,
				Title:    fmt.Sprintf("%s (kernel %s) drops the first SYN of reused client ports: conn_reuse_mode=1 with vs.conntrack=1", d.Name, d.Kernel.Release),
				Explanation: "When a new connection arrives from a client address and port that still has an IPVS connection entry " +
					"(TIME_WAIT, common behind NAT and with busy clients), conn_reuse_mode=1 makes IPVS expire the old entry and " +
					"reschedule. Before Linux 5.9, with net.ipv4.vs.conntrack=1 it does so by dropping that SYN: the client " +
					"retransmits after one second, so a share of connections see ~1 s delays (more under load). Distribution " +
					"kernels may carry the upstream fix (\"ipvs: allow connection reuse for unconfirmed conntrack\").",
				Evidence: []evidence.Ref{mref, cref, d.Kernel.Ref},
				Fix: []string{
					fixStep("upgrade %s to a kernel with the fix: 5.9 or later, or a distribution kernel that backported it (its changelog: rpm -q --changelog kernel | grep -i 'connection reuse')", d.Name),
					fixCmd("sysctl -w net.ipv4.vs.conntrack=0", "or this, if nothing needs conntrack for IPVS traffic (no iptables NAT or state rule on it)"),
					fixCmd("sysctl -w net.ipv4.vs.conn_reuse_mode=0", "or this: reused ports then stick to the old real server"),
				},
			})
		}
	},
}

// kernelVersion reads major and minor from a release such as
// "4.18.0-348.el8.x86_64" or "5.10.0-60.18.0.50.oe2203.aarch64".
func kernelVersion(rel string) (int, int, bool) {
	rel = strings.TrimSpace(rel)
	parts := strings.SplitN(rel, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	maj, err := strconv.Atoi(parts[0])
	if err != nil {
		return 0, 0, false
	}
	mn := parts[1]
	for i, c := range mn {
		if c < '0' || c > '9' {
			mn = mn[:i]
			break
		}
	}
	mnr, err := strconv.Atoi(mn)
	if err != nil {
		return 0, 0, false
	}
	return maj, mnr, true
}
