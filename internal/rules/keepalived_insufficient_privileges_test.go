package rules

import (
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/iptables"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/syslog"
)

// The kernel's EPERM to keepalived is told apart as the sources say: on
// netlink always a missing capability; on a send a firewall drop on
// output when one is seen, else privileges only for a keepalived that
// logs on its console (run in the foreground, as in a container).
func TestKeepalivedConfinement(t *testing.T) {
	const (
		consoleSend = "Fri Feb 23 23:27:12 2018: VRRP_Instance(VI_1) Cant send advert to 192.168.1.195 (Operation not permitted)\n"
		syslogSend  = "Jul 24 22:24:44 hp5 Keepalived_vrrp[1005356]: (bond0-vrrp): send advert error 1 (Operation not permitted)\n"
		netlink     = "Jul 24 22:24:44 hp5 Keepalived_vrrp[1005356]: Netlink: error: Operation not permitted(1), type=RTM_NEWADDR(20), seq=1, pid=0\n"
		outputDrop  = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -p vrrp -j DROP\nCOMMIT\n"
		outputOK    = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -p tcp --dport 25 -j DROP\nCOMMIT\n"
	)
	for _, c := range []struct {
		name, log, rules string
		confined, drop   bool
	}{
		{"console send, no rules", consoleSend, "", true, false},
		{"console send, rules without a VRRP drop", consoleSend, outputOK, true, false},
		{"console send, OUTPUT drops VRRP", consoleSend, outputDrop, false, true},
		{"syslog send, no rules", syslogSend, "", false, false},
		{"syslog send, OUTPUT drops VRRP", syslogSend, outputDrop, false, true},
		{"netlink", netlink, outputDrop, true, false},
	} {
		h := evidence.NewHost("d")
		evs, _ := syslog.ParseLog(evidence.Doc{Host: "d", Source: "d/keepalived.log", Start: 1, Text: c.log})
		h.Logs = evs
		if c.rules != "" {
			rs, _ := iptables.Parse(evidence.Doc{Host: "d", Source: "d/iptables-save.txt", Start: 1, Command: "iptables-save", Text: c.rules})
			h.AddFirewall(rs.Rules, rs.Chains)
			h.MarkSeen(evidence.KindFirewall, evidence.Ref{Source: "d/iptables-save.txt", Line: 1})
		}
		got := keepalivedConfinement(h)
		if got.confined != c.confined || (got.outputDrop != nil) != c.drop {
			t.Errorf("%s: confined %v, output drop %v; want %v, %v", c.name, got.confined, got.outputDrop != nil, c.confined, c.drop)
		}
	}
}
