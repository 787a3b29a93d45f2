package probe

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

func fixture(t testing.TB, name, cmd string) evidence.Doc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return evidence.Doc{Host: "client", Source: "client/" + name, Command: cmd, Text: string(b)}
}

// summary renders observations as "kind target:port mac @line".
func summary(obs []evidence.Observation) string {
	var out []string
	for _, o := range obs {
		s := fmt.Sprintf("%s %v:%d", o.Kind, o.Target, o.Port)
		if o.MAC != "" {
			s += " " + o.MAC
		}
		out = append(out, fmt.Sprintf("%s @%d", s, o.Ref.Line))
	}
	return strings.Join(out, "; ")
}

func TestParse(t *testing.T) {
	tests := []struct{ file, cmd, want string }{
		{"curl-v-ok.txt", "curl -v http://192.0.2.11/ -o /dev/null", "connect-ok 192.0.2.11:80 @4; http-response 192.0.2.11:80 @11"},
		{"curl-v-refused.txt", "curl -v http://192.0.2.11:81/", "connect-refused 192.0.2.11:81 @4"},
		{"curl-vip-refused.txt", "curl -sv http://192.0.2.100/ -o /dev/null", "connect-refused 192.0.2.100:80 @2"},
		{"curl-refused-short.txt", "curl -sS http://192.0.2.11:81/", "connect-failed 192.0.2.11:81 @1"},
		{"curl-no-route.txt", "curl -v http://192.0.2.99/", "no-route 192.0.2.99:80 @4"},
		{"curl-unreachable-route.txt", "curl -sv http://198.51.100.7/", "no-route 198.51.100.7:80 @2"},
		{"curl-timeout.txt", "curl -v --connect-timeout 2 http://192.0.2.98/", "timeout 192.0.2.98:80 @4"},
		{"curl-max-time.txt", "curl -sSv -m 2 http://192.0.2.98:8443/", "timeout 192.0.2.98:8443 @2"},
		{"curl-connected-then-timeout.txt", "", "connect-ok 192.0.2.100:80 @2; no-response 192.0.2.100:80 @8"},
		{"seed-curl-reset.txt", "curl -kv https://10.186.86.79:8443", "connect-ok 10.186.86.79:8443 @2; connection-reset 10.186.86.79:8443 @4"},
		{"curl-variants-old.txt", "", "no-route 192.0.2.100:80 @3"},
		{"curl-variants.txt", "", "no-route 192.0.2.9:80 @1; connect-refused 192.0.2.11:81 @2; connect-failed 192.0.2.12:80 @3; timeout 192.0.2.98:80 @4; connection-reset invalid IP:0 @5; empty-reply invalid IP:0 @6; resolve-failed invalid IP:0 @7; net-unreachable 198.51.100.7:443 @8"},
		{"curl-hangs-by-hand.txt", "curl -s -D - http://127.0.0.1:31201", "timeout 127.0.0.1:31201 @1"},
		{"ping-ok.txt", "ping -c 2 192.0.2.11", "ping-ok 192.0.2.11:0 @2"},
		{"ping-vip.txt", "", "ping-ok 192.0.2.100:0 @2"},
		{"ping-loss.txt", "ping -c 3 -W 1 192.0.2.98", "ping-loss 192.0.2.98:0 @4"},
		{"ping-unreachable.txt", "", "host-unreachable 192.0.2.99:0 @2; ping-loss 192.0.2.99:0 @7"},
		{"ping-no-route.txt", "ping -c 2 198.51.100.7", "no-route 198.51.100.7:0 @1"},
		{"ping-old-net-unreachable.txt", "ping 198.51.100.7", "net-unreachable 198.51.100.7:0 @1"},
		{"ping-variants.txt", "", "net-unreachable 192.0.2.100:0 @2; frag-needed 192.0.2.100:0 @3; ping-ok 192.0.2.100:0 @4; ping-partial-loss 192.0.2.100:0 @7"},
		{"arping-dup.txt", "arping -c 3 -I eth0 192.0.2.100", "arp-reply 192.0.2.100:0 02:00:00:00:00:12 @2; arp-reply 192.0.2.100:0 02:00:00:00:00:11 @3; arp-conflict 192.0.2.100:0 02:00:00:00:00:12,02:00:00:00:00:11 @3"},
		{"arping-ok.txt", "", "arp-reply 192.0.2.11:0 02:00:00:00:00:11 @2"},
		{"arping-none.txt", "", "arp-no-reply 192.0.2.99:0 @3"},
		{"arping-dad.txt", "arping -D -c 2 -I eth0 192.0.2.11", "arp-reply 192.0.2.11:0 02:00:00:00:00:11 @2"},
		{"arping-habets-dup.txt", "arping -c 3 -I eth0 192.0.2.100", "arp-reply 192.0.2.100:0 02:00:00:00:00:12 @2; arp-reply 192.0.2.100:0 02:00:00:00:00:11 @3; arp-conflict 192.0.2.100:0 02:00:00:00:00:12,02:00:00:00:00:11 @3"},
		{"arping-habets-none.txt", "", "arp-no-reply 192.0.2.99:0 @6"},
		{"nc-ok.txt", "nc -vz 192.0.2.11 80", "connect-ok 192.0.2.11:80 @1"},
		{"nc-refused.txt", "", "connect-refused 192.0.2.11:81 @1"},
		{"nc-timeout.txt", "", "timeout 192.0.2.98:80 @1"},
		{"nc-no-route.txt", "", "timeout 192.0.2.99:80 @1"},
		{"nc-traditional.txt", "", "connect-ok 192.0.2.11:80 @2; connect-refused 192.0.2.11:81 @3"},
		{"nc-macos.txt", "", "connect-ok 192.0.2.11:80 @1; connect-refused 192.0.2.11:81 @2"},
		{"telnet-space-before-dots.txt", "telnet 192.0.2.100 25", "connect-ok 192.0.2.100:25 @2"},
		{"ncat-ok.txt", "nc -v 192.0.2.100 80", "connect-ok 192.0.2.100:80 @2"},
		{"ncat-variants.txt", "nc -v 192.0.2.100 80", "connect-refused 192.0.2.100:80 @2"},
		{"telnet-ok.txt", "telnet 192.0.2.11 80", "connect-ok 192.0.2.11:80 @2"},
		{"telnet-refused.txt", "telnet 192.0.2.11 81", "connect-refused 192.0.2.11:81 @1"},
		{"telnet-no-route.txt", "", "no-route 192.0.2.99:0 @1"},
		{"telnet-netkit.txt", "telnet 192.0.2.100 80", "no-route 192.0.2.100:80 @2"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			obs, probs := Parse(fixture(t, tt.file, tt.cmd))
			if len(probs) != 0 {
				t.Errorf("problems %v", probs)
			}
			if got := summary(obs); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestCommandTarget(t *testing.T) {
	tests := []struct {
		cmd, tool, addr string
		port            uint16
	}{
		{"curl -kv https://10.186.86.79:8443", "curl", "10.186.86.79", 8443},
		{"curl -s -o /dev/null -w '%{http_code}' http://192.0.2.100/", "curl", "192.0.2.100", 80},
		{"curl --connect-timeout 3 192.0.2.100:8080/x", "curl", "192.0.2.100", 8080},
		{"/usr/bin/curl -I https://192.0.2.100", "curl", "192.0.2.100", 443},
		{"nc -vz -w 2 192.0.2.11 80", "nc", "192.0.2.11", 80},
		{"telnet 192.0.2.11", "telnet", "192.0.2.11", 23},
		{"ping -c 3 -I eth0 192.0.2.100", "ping", "192.0.2.100", 0},
		{"arping -I eth0 -c 2 192.0.2.100", "arping", "192.0.2.100", 0},
		{"", "", "invalid IP", 0},
	}
	for _, tt := range tests {
		tool, tg := commandTarget(tt.cmd)
		if tool != tt.tool || tg.addr.String() != tt.addr || tg.port != tt.port {
			t.Errorf("%q: %s %v %d", tt.cmd, tool, tg.addr, tg.port)
		}
	}
	_ = netip.Addr{}
}
