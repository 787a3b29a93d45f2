package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/droptrace"
)

// watchVIP is this test process's VIP: drop tracing sees every network
// namespace of the host, so two runs of these tests at once (two
// checkouts on one machine) would see each other's drops if they used
// one address. An address of the benchmarking range 198.18.0.0/15 picked
// by the process ID keeps each run to its own events.
var watchVIP = func() string {
	n := os.Getpid() % (1 << 16)
	return fmt.Sprintf("198.%d.%d.%d", 18+n>>15, (n>>7)&0xff, 1+(n&0x7f))
}()

func needDroptrace(t *testing.T) {
	t.Helper()
	needNetns(t)
	if err := droptrace.Supported(); err != nil {
		t.Skipf("kernel drop tracing cannot run here: %v", err)
	}
}

// `lvsdoctor watch` on a real kernel: a real server without a listener on
// the port, probed; each SYN is dropped with NO_SOCKET in tcp_v4_rcv, in
// that namespace, and the line names the causes it points to.
func TestWatchNamesDropReasonAndCause(t *testing.T) {
	needDroptrace(t)
	h := newNetnsHost(t, "watch")
	h.sh("ip link set lo up; ip addr add " + watchVIP + "/32 dev lo")
	h.listen(watchVIP + ":80") // the app listens, but on another port
	out, code := h.lvsdoctor("watch", "--vip", watchVIP+":81", "--duration", "2s", "--probe")
	if code != 0 {
		t.Fatalf("watch: exit %d\n%s", code, out)
	}
	var drop string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, " kfree_skb ") {
			drop = l
			break
		}
	}
	for _, want := range []string{"reason=NO_SOCKET(", "at=tcp_v4_rcv+0x", "netns=" + h.name + ":", "dev=lo/1",
		"tcp " + watchVIP + ":", "> " + watchVIP + ":81 flags=S", "cause=", "rs.app-not-listening"} {
		if !strings.Contains(drop, want) {
			t.Errorf("drop line %q lacks %q\n%s", drop, want, out)
		}
	}
	if !strings.Contains(out, "lvsdoctor watch: 3 events;") || !strings.Contains(out, "lost=0") {
		t.Errorf("summary line missing or wrong:\n%s", out)
	}

	// the JSON document: the same events, no kernel addresses
	out, code = h.lvsdoctor("watch", "--vip", watchVIP+":81", "--duration", "2s", "--probe", "-o", "json")
	if code != 0 {
		t.Fatalf("watch -o json: exit %d\n%s", code, out)
	}
	doc := out[strings.Index(out, "{"):]
	var res struct {
		Schema string
		Events []map[string]any
	}
	if err := json.Unmarshal([]byte(doc[:strings.LastIndex(doc, "}")+1]), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if res.Schema != "lvsdoctor-watch/v1" || len(res.Events) != 3 || res.Events[0]["reason"] != "NO_SOCKET" {
		t.Errorf("json: %+v", res)
	}
	if strings.Contains(out, `"skb"`) || strings.Contains(out, "SKB") {
		t.Errorf("a kernel address is in the output:\n%s", out)
	}

	// the counter fallback says what it saw, and what it cannot tell
	out, code = h.lvsdoctor("watch", "--vip", watchVIP+":81", "--duration", "2s", "--probe", "--counters")
	if code != 0 || !strings.Contains(out, "Tcp.OutRsts") || !strings.Contains(out, "+3") {
		t.Errorf("counters: exit %d\n%s", code, out)
	}
}

// diagnose --live --watch: collect, watch while probing, and the drops
// become evidence of the findings.
func TestDiagnoseLiveWatch(t *testing.T) {
	needDroptrace(t)
	h := newNetnsHost(t, "livewatch")
	h.sh("ip link set lo up; ip addr add " + watchVIP + "/32 dev lo")
	out, code := h.lvsdoctor("diagnose", "--live", "--role", "realserver", "--vip", watchVIP+":81",
		"--watch", "2s", "--probe", "-o", "json")
	if code != 1 {
		t.Fatalf("diagnose --live --watch: exit %d, want 1 (critical)\n%s", code, out)
	}
	var d struct {
		Findings []struct {
			ID       string
			Evidence []struct{ Source, Text string }
		}
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{\n"):]), &d); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	found := false
	for _, f := range d.Findings {
		if f.ID == "kernel.drop" && len(f.Evidence) > 0 && strings.HasSuffix(f.Evidence[0].Source, "/watch.txt") &&
			strings.Contains(f.Evidence[0].Text, "NO_SOCKET") {
			found = true
		}
	}
	if !found {
		t.Errorf("no kernel.drop finding citing the watch:\n%s", out)
	}
}
