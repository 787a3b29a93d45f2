package intake

import (
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// Log lines pasted under a short output of another command (no prompt of
// their own) are read as the host's log; the output itself is not.
func TestLogLinesUnderAnotherOutput(t *testing.T) {
	text := "Linux hostname 3.10.0-327.22.2.el7.x86_64 #1 SMP Thu Jun 9 10:09:10 EDT 2016 x86_64 x86_64 x86_64 GNU/Linux\n" +
		"Jun 13 14:36:56 hostname Keepalived_vrrp[18932]: Failed to remove iptable drop rule to vip 10.42.32.48\n" +
		"...\n" +
		"Jun 13 14:36:58 hostname Keepalived_vrrp[18932]: VRRP_Instance(VI_48) setting protocol iptable drop rule\n"
	c := &evidence.Case{}
	h := evidence.NewHost("lb1")
	dispatch(c, h, evidence.Doc{Host: "lb1", Source: "paste", Start: 4, Command: "uname -a", Text: text}, "", false)
	if h.Kernel.Release != "3.10.0-327.22.2.el7.x86_64" || !h.Has(evidence.KindLogs) || len(h.Logs) != 2 {
		t.Fatalf("kernel %+v, logs %+v", h.Kernel, h.Logs)
	}
	if h.Logs[1].Message != "keepalived.vrrp.iptable-drop-rule.v1" || h.Logs[1].Ref.Line != 7 {
		t.Errorf("last log line %+v", h.Logs[1])
	}
	// an output without log lines gains no log
	h2 := evidence.NewHost("lb2")
	dispatch(c, h2, evidence.Doc{Host: "lb2", Source: "paste", Start: 1, Command: "uname -a", Text: text[:len("Linux hostname")] + "\n"}, "", false)
	if h2.Has(evidence.KindLogs) || len(h2.Logs) != 0 {
		t.Errorf("logs from nothing: %+v", h2.Logs)
	}
}
