package rules_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/engine"
	"github.com/lvsdoctor/lvsdoctor/internal/intake"
	"github.com/lvsdoctor/lvsdoctor/internal/rules"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

// diagnosePaste diagnoses text as a pasted transcript.
func diagnosePaste(t *testing.T, text string) *diagnosis.Diagnosis {
	t.Helper()
	p := filepath.Join(t.TempDir(), "paste.txt")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := intake.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return engine.Run(c, topology.Hints{}, rules.All())
}

const fwmarkConf = `virtual_server fwmark 31 {
        delay_loop 6
        lb_kind DR
        lb_algo lblc
        persistence_timeout 30

        real_server 1.1.1.1 PORT {
                weight 100
                MISC_CHECK { ... }
        }
        real_server 1.1.1.2 PORT {
                weight 100
                MISC_CHECK { ... }
        }
        sorry_server 1.1.1.1 PORT
}
`

// TestKeepalivedIntentAgainstItsLog: configuration intent against what
// keepalived logged it built, against the running table, and against
// what keepalived applies; each with a look-alike that must stay quiet.
func TestKeepalivedIntentAgainstItsLog(t *testing.T) {
	tests := []struct {
		name  string
		paste string
		first string // the first finding's cause, "" for none of these
		sev   diagnosis.Severity
		// consequences must be reported as caused by the first
		consequences []string
	}{
		{
			name: "every real server skipped by keepalived's parser",
			paste: strings.ReplaceAll(fwmarkConf, "PORT", "0") + "\n" +
				"Keepalived_healthcheckers[8062]: (Line 124) number '0' outside range [1, 65535]\n" +
				"Keepalived_healthcheckers[8062]: (Line 124) Invalid real server ip address/port 1.1.1.2/0 - skipping\n",
			first: "keepalived.config-invalid", sev: diagnosis.Critical,
		},
		{
			name: "every real server skipped, and the table shows the service with none: its consequences",
			paste: strings.ReplaceAll(fwmarkConf, "PORT", "0") + "\n" +
				"Keepalived_healthcheckers[8062]: (Line 124) Invalid real server ip address/port 1.1.1.2/0 - skipping\n" +
				"IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n" +
				"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\nFWM  31 lblc persistent 30\n",
			first: "keepalived.config-invalid", sev: diagnosis.Critical, consequences: []string{"director.no-available-realserver"},
		},
		{
			name:  "look-alike: the same configuration with ports, no complaint, '...' elisions",
			paste: strings.ReplaceAll(fwmarkConf, "PORT", "80"),
		},
		{
			name: "weight 0 in keepalived.conf, 1 in IPVS",
			paste: "virtual_server 10.0.2.15 80 {\n    protocol TCP\n    lb_kind NAT\n    real_server 10.0.2.16 80 {\n        weight 0\n    }\n}\n" +
				"IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n" +
				"TCP  10.0.2.15:80 wlc\n  -> 10.0.2.16:80                 Masq    1      0          0\n",
			first: "director.config-drift", sev: diagnosis.Warning,
		},
		{
			name: "look-alike: a dynamic MISC_CHECK sets the weight",
			paste: "virtual_server 10.0.2.15 80 {\n    protocol TCP\n    lb_kind NAT\n    real_server 10.0.2.16 80 {\n        weight 1\n        MISC_CHECK {\n            misc_path /bin/true\n            misc_dynamic\n        }\n    }\n}\n" +
				"IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n" +
				"TCP  10.0.2.15:80 wlc\n  -> 10.0.2.16:80                 Masq    7      0          0\n",
		},
		{
			name:  "lvs_timeouts without lvs_sync_daemon",
			paste: "global_defs {\n   lvs_timeouts tcp 7200 tcpfin 120 udp 300\n}\n",
			first: "director.config-drift", sev: diagnosis.Warning,
		},
		{
			name:  "look-alike: lvs_timeouts with lvs_sync_daemon",
			paste: "global_defs {\n   lvs_timeouts tcp 7200 tcpfin 120 udp 300\n   lvs_sync_daemon eth0 VI_1\n}\n",
		},
		{
			name:  "look-alike: lvs_timeouts on keepalived 2.2.8, which applies them itself",
			paste: "global_defs {\n   lvs_timeouts tcp 7200 tcpfin 120 udp 300\n}\nKeepalived v2.2.8 (04/04,2023), git commit v2.2.7-154-g292b299e+\n",
		},
		{
			name:  "persistence_timeout out of range, and IPVS refused the service",
			paste: "error IPVS cmd IP_VS_SO_SET_ADD(1154) error: Invalid operation.\n\n persistence_timeout 4294967295\n",
			first: "keepalived.config-invalid", sev: diagnosis.Critical,
		},
		{
			name:  "look-alike: persistence_timeout in range",
			paste: " persistence_timeout 300\n",
		},
	}
	watched := map[string]bool{"keepalived.config-invalid": true, "director.config-drift": true}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := diagnosePaste(t, tt.paste)
			var got []diagnosis.Finding
			for _, f := range d.Findings {
				if watched[f.ID] {
					got = append(got, f)
				}
			}
			if tt.first == "" {
				for _, f := range got {
					t.Errorf("look-alike: %s %s: %s", f.Severity, f.ID, f.Title)
				}
				return
			}
			if len(d.Findings) == 0 || d.Findings[0].ID != tt.first || d.Findings[0].Severity != tt.sev {
				var all []string
				for _, f := range d.Findings {
					all = append(all, string(f.Severity)+" "+f.ID+": "+f.Title)
				}
				t.Fatalf("want %s %s first, got %q", tt.sev, tt.first, all)
			}
			for _, c := range tt.consequences {
				found := false
				for _, f := range d.Findings {
					if f.ID == c && len(f.CausedBy) > 0 && strings.HasPrefix(f.CausedBy[0], tt.first+"@") {
						found = true
					}
				}
				if !found {
					t.Errorf("%s is not reported as a consequence of %s", c, tt.first)
				}
			}
		})
	}
}
