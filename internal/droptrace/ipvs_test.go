package droptrace

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestIPVSProbes needs a kernel with kprobes and ip_vs loaded: the project's
// lab VM (Debian's 6.1 kernel) has both; testdata/vm-test.sh runs the
// package's tests there. A virtual service without real servers refuses a
// SYN (IPVS_NO_DEST, then IPVS_DROP and the NETFILTER_DROP that frees the
// same skb); a port without a virtual service passes IPVS
// (IPVS_NO_SERVICE) and dies as NO_SOCKET.
func TestIPVSProbes(t *testing.T) {
	needTracing(t)
	if !moduleLoaded("ip_vs") {
		t.Skip("ip_vs is not loaded here: no IPVS to probe (testdata/vm-test.sh runs this in the lab VM)")
	}
	if !kprobesAvailable() {
		t.Skip("this kernel has no kprobes (CONFIG_KPROBES)")
	}
	needCmd(t, "ipvsadm")
	l := newLab(t)
	if out, err := exec.Command("ip", "netns", "exec", l.lb, "ipvsadm", "-A", "-t", "203.0.113.10:80", "-s", "rr").CombinedOutput(); err != nil {
		t.Fatalf("ipvsadm -A: %v\n%s", err, out)
	}
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			tr := startTracer(t, Filter{Addr: vip, Proto: "tcp"}, Options{Mode: mode})
			for _, w := range tr.Warnings() {
				if strings.HasPrefix(w, "IPVS") {
					t.Fatalf("IPVS probes did not all attach: %v", tr.Warnings())
				}
			}

			sendSYN(t, l.cli, vip, 80)
			noDest := waitEvent(t, tr, IPVSNoDest, func(e Event) bool { return e.Reason == IPVSNoDest })
			checkIPVSEvent(t, noDest, "ip_vs_leave", l, 80)
			drop := waitEvent(t, tr, IPVSDrop, func(e Event) bool { return e.Reason == IPVSDrop })
			checkIPVSEvent(t, drop, "ip_vs_in_hook", l, 80)
			freed := waitEvent(t, tr, "NETFILTER_DROP", func(e Event) bool { return e.Reason == "NETFILTER_DROP" })
			checkEvent(t, freed, "nf_hook_slow|nft_do_chain", l.lb, "lb0", Tuple{Proto: "tcp", Src: cliAddr, Dst: vip, DPort: 80, TCPFlags: "S"})
			if noDest.SKB != drop.SKB || drop.SKB != freed.SKB {
				t.Errorf("one packet, three skbs: %#x %#x %#x", noDest.SKB, drop.SKB, freed.SKB)
			}

			sendSYN(t, l.cli, vip, 81)
			noSvc := waitEvent(t, tr, IPVSNoService, func(e Event) bool { return e.Reason == IPVSNoService })
			checkIPVSEvent(t, noSvc, "ip_vs_service_find", l, 81)
			rst := waitEvent(t, tr, "NO_SOCKET", func(e Event) bool { return e.Reason == "NO_SOCKET" })
			if rst.SKB != noSvc.SKB || rst.Packet.DPort != 81 {
				t.Errorf("NO_SOCKET %+v is not the packet IPVS passed (%#x)", rst, noSvc.SKB)
			}
		})
	}
}

func checkIPVSEvent(t *testing.T, ev Event, fn string, l *lab, port uint16) {
	t.Helper()
	t.Logf("%s at %s netns=%s dev=%s %+v skb=%#x", ev.Reason, ev.Location, ev.Netns, ev.Dev, ev.Packet, ev.SKB)
	if ev.Location != fn || ev.ReasonCode != 0 {
		t.Errorf("%s location %q code %d, want %s and 0", ev.Reason, ev.Location, ev.ReasonCode, fn)
	}
	if ev.Netns != l.lb || ev.Dev != "lb0" {
		t.Errorf("%s in %s on %s, want %s on lb0", ev.Reason, ev.Netns, ev.Dev, l.lb)
	}
	p := ev.Packet
	p.SPort = 0
	if want := (Tuple{Proto: "tcp", Src: cliAddr, Dst: vip, DPort: port, TCPFlags: "S"}); p != want {
		t.Errorf("%s packet %+v, want %+v", ev.Reason, ev.Packet, want)
	}
	if time.Since(ev.Time) > time.Minute {
		t.Errorf("%s time %v", ev.Reason, ev.Time)
	}
}
