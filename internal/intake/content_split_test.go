package intake

import (
	"strings"
	"testing"
)

// Outputs glued with no command line between them are cut where the next
// one begins, by their content; a block of one output is left whole.
func TestSplitByContent(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		starts []int    // each part's first line
		heads  []string // each part's first line of text
	}{
		{
			name: "configuration above the table it is compared with, keepalived -v below",
			text: "virtual_server 10.0.2.15 80 {\n    protocol TCP\n    real_server 10.0.2.16 80 {\n        weight 0\n    }\n}\n" +
				"IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\nTCP  10.0.2.15:80 wlc\n\n" +
				"Keepalived v2.1.5 (07/13,2020)\n\nCopyright(C) 2001-2020 Alexandre Cassen\n",
			starts: []int{10, 16, 20},
			heads:  []string{"virtual_server 10.0.2.15 80 {", "IP Virtual Server version 1.2.1 (size=4096)", "Keepalived v2.1.5 (07/13,2020)"},
		},
		{
			name:   "keepalived's log under the configuration it complains about",
			text:   "virtual_server fwmark 31 {\n  real_server 1.1.1.2 0 {\n    MISC_CHECK { ... }\n  }\n}\n\nKeepalived_healthcheckers[8062]: (Line 124) Invalid real server ip address/port 1.1.1.2/0 - skipping\n",
			starts: []int{10, 16},
			heads:  []string{"virtual_server fwmark 31 {", ""},
		},
		{
			name:   "a quoted configuration line between log lines",
			text:   "error IPVS cmd IP_VS_SO_SET_ADD(1154) error: Invalid operation.\n\n persistence_timeout 4294967295\n\nJun 20 16:55:18 localhost Keepalived[1481891]: Starting VRRP child process, pid=1481893\n",
			starts: []int{10, 12, 14},
			heads:  []string{"error IPVS cmd IP_VS_SO_SET_ADD(1154) error: Invalid operation.", "", ""},
		},
		{
			name:   "a configuration with a comment first and text after it that nothing reads stays whole",
			text:   "! Configuration File for keepalived\nglobal_defs {\n   router_id LVS_1\n}\nvirtual_server 192.0.2.10 80 {\n  lb_kind DR\n}\nThat is all of it.\n",
			starts: []int{10},
			heads:  []string{"! Configuration File for keepalived"},
		},
		{
			name:   "an include before the first block is the configuration's",
			text:   "include /etc/keepalived/conf.d/*.conf\nglobal_defs {\n   router_id LVS_1\n}\n",
			starts: []int{10},
			heads:  []string{"include /etc/keepalived/conf.d/*.conf"},
		},
		{
			name:   "a listing alone",
			text:   "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\nTCP  10.0.2.15:80 wlc\n",
			starts: []int{10},
			heads:  []string{"IP Virtual Server version 1.2.1 (size=4096)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := splitByContent(Block{Start: 10, Text: tt.text})
			if len(parts) != len(tt.starts) {
				t.Fatalf("%d parts, want %d: %+v", len(parts), len(tt.starts), parts)
			}
			joined := ""
			for i, p := range parts {
				joined += p.Text
				if p.Start != tt.starts[i] {
					t.Errorf("part %d starts on line %d, want %d", i, p.Start, tt.starts[i])
				}
				first := strings.SplitN(p.Text, "\n", 2)[0]
				if tt.heads[i] != "" && first != tt.heads[i] {
					t.Errorf("part %d begins %q, want %q", i, first, tt.heads[i])
				}
			}
			if joined != tt.text {
				t.Errorf("the parts do not add up to the block")
			}
		})
	}
}
