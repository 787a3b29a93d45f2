package rules

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// Configuration intent against what keepalived built. keepalived reads its
// configuration line by line and drops what it cannot use with one log
// line ("Invalid real server ip address/port 1.1.1.2/0 - skipping"),
// then builds the IPVS table from the rest. The configuration alone says
// what was meant; the log says what was thrown away; together they say
// what the table holds: a virtual server whose every real server was
// skipped serves nobody, whatever the file promises.

var (
	// "(Line 124) " that keepalived 2.x puts before a configuration error.
	confLineTag = regexp.MustCompile(`\(Line \d+\)`)
	skippedRS   = regexp.MustCompile(`Invalid real server ip address/port (\S+?)/(\S+) - skipping`)
	skippedSS   = regexp.MustCompile(`Invalid sorry server IP address (\S+) - skipping`)
	ipvsCmd     = regexp.MustCompile(`IPVS cmd (\w+)\(\d+\) error: ([^(]+)`)
)

// skippedServer is a real or sorry server keepalived logged it skipped.
type skippedServer struct {
	addr  netip.Addr
	port  string // as logged: "0", "" for a sorry server
	sorry bool
	ref   evidence.Ref
}

func loggedSkips(d *evidence.Host) []skippedServer {
	var out []skippedServer
	for _, l := range d.Logs {
		switch l.Message {
		case "keepalived.check.invalid-rs-address":
			if m := skippedRS.FindStringSubmatch(l.Ref.Text); m != nil {
				if a, err := netip.ParseAddr(strings.Trim(m[1], "[]")); err == nil {
					out = append(out, skippedServer{addr: a.Unmap(), port: m[2], ref: l.Ref})
				}
			}
		case "keepalived.check.invalid-sorry-server":
			if m := skippedSS.FindStringSubmatch(l.Ref.Text); m != nil {
				if a, err := netip.ParseAddr(strings.Trim(m[1], "[]")); err == nil {
					out = append(out, skippedServer{addr: a.Unmap(), sorry: true, ref: l.Ref})
				}
			}
		}
	}
	return out
}

// checkSkippedServers reports the virtual servers keepalived built
// without the real servers its log says it skipped. A real_server of the
// configuration written like a skipped one (the same port) was skipped
// too, even where the pasted log does not show its line.
func checkSkippedServers(p *Pass, d *evidence.Host, handled map[evidence.Ref]bool) {
	skips := loggedSkips(d)
	if len(skips) == 0 {
		return
	}
	// The "(Line N)" complaints that explain a skip are part of it.
	tags := map[string]bool{}
	for _, s := range skips {
		handled[s.ref] = true
		if t := confLineTag.FindString(s.ref.Text); t != "" {
			tags[t] = true
		}
	}
	for _, l := range d.Logs {
		if l.Kind == evidence.LogConfigError && tags[confLineTag.FindString(l.Ref.Text)] {
			handled[l.Ref] = true
		}
	}
	kc := d.Keepalived
	reported := false
	if kc != nil {
		for _, kv := range kc.VirtualServers {
			if reportSkippedOf(p, d, kv, skips) {
				reported = true
			}
		}
	}
	if reported {
		return
	}
	// No configuration to hold them against: the log alone.
	var ev []evidence.Ref
	var names []string
	for _, s := range skips {
		ev = append(ev, s.ref)
		names = append(names, s.addr.String())
	}
	p.Report(diagnosis.Finding{
		Severity: diagnosis.Warning,
		Host:     d.Name,
		Title:    fmt.Sprintf("keepalived on %s skipped %d server(s) of its configuration: %s", d.Name, len(skips), strings.Join(uniqueStrings(names), ", ")),
		Explanation: "keepalived logged that it could not use these real_server or sorry_server lines and left them out of " +
			"the IPVS table: the virtual servers they belong to run without them. keepalived.conf would say which " +
			"virtual servers are left with none.",
		Evidence: ev,
		Fix: []string{
			fixCmd("keepalived -t -f /etc/keepalived/keepalived.conf", "on %s (keepalived 2.x): names each rejected line", d.Name),
			keepalivedApply(p, firstService(p), d, ""),
		},
	})
}

// reportSkippedOf reports kv when keepalived skipped any of its servers.
func reportSkippedOf(p *Pass, d *evidence.Host, kv *evidence.KVirtualServer, skips []skippedServer) bool {
	var ev, cfg []evidence.Ref
	var gone []string
	skippedPorts := map[string]bool{}
	for _, s := range skips {
		if !s.sorry {
			skippedPorts[s.port] = true
		}
	}
	left := 0
	for _, r := range kv.RealServers {
		var hit *skippedServer
		for i := range skips {
			s := &skips[i]
			if !s.sorry && s.addr == r.Addr && s.port == fmt.Sprint(r.Port) {
				hit = s
				break
			}
		}
		switch {
		case hit != nil:
			ev = append(ev, hit.ref)
			cfg = append(cfg, r.Ref)
			gone = append(gone, netip.AddrPortFrom(r.Addr, r.Port).String())
		case skippedPorts[fmt.Sprint(r.Port)] && r.Port == 0:
			// written as a skipped one was: keepalived rejects the
			// same port the same way
			cfg = append(cfg, r.Ref)
			gone = append(gone, netip.AddrPortFrom(r.Addr, r.Port).String()+" (same port 0)")
		default:
			left++
		}
	}
	sorryGone := false
	for _, s := range skips {
		if s.sorry && len(gone) > 0 {
			sorryGone = true
			ev = append(ev, s.ref)
		}
	}
	if len(gone) == 0 {
		return false
	}
	svc := serviceConfiguredBy(p, d, kv)
	sev := diagnosis.Warning
	what := fmt.Sprintf("%d of its %d real servers are left", left, len(kv.RealServers))
	if left == 0 {
		sev = diagnosis.Critical
		what = "no real server is left: IPVS has the virtual server and nowhere to send its connections"
		if sorryGone {
			what += ", and the sorry server was skipped as well"
		}
	}
	title := fmt.Sprintf("keepalived on %s skipped %d of the %d real servers of %s", d.Name, len(gone), len(kv.RealServers), virtualServerName(kv))
	if left == 0 {
		title = fmt.Sprintf("keepalived on %s skipped every real server of %s: it serves nobody", d.Name, virtualServerName(kv))
	}
	ev = append(ev, cfg...)
	if len(ev) > 10 {
		ev = ev[:10]
	}
	// What the table then shows (a service with no real server, one
	// that differs from the file) is this skip's doing.
	explains := []string{"director.config-drift"}
	if left == 0 {
		explains = append(explains, "director.no-available-realserver")
	}
	p.Report(diagnosis.Finding{
		Severity: sev,
		Host:     d.Name,
		Explains: explains,
		Title:    title,
		Explanation: fmt.Sprintf("keepalived.conf lists %d real server(s) for %s, but keepalived logged that it could not use "+
			"%s and skipped them (\"Invalid real server ip address/port ... - skipping\"): they are not in the IPVS table. %s. "+
			"keepalived 2.0.7 to 2.0.14 reject port 0, which fwmark virtual servers used to be written with; later "+
			"versions accept it again (or write the real server without a port).",
			len(kv.RealServers), virtualServerName(kv), strings.Join(gone, ", "), upperFirst(what)),
		Evidence: ev,
		Fix: []string{
			fixStep("in keepalived.conf on %s, %s: give each real_server (and sorry_server) a port keepalived accepts, "+
				"or none for a fwmark service (keepalived 2.0.15+)", d.Name, virtualServerName(kv)),
			fixCmd("keepalived -t -f /etc/keepalived/keepalived.conf", "on %s (keepalived 2.x): must report no line", d.Name),
			keepalivedApply(p, svc, d, ""),
		},
	})
	return true
}

// checkPersistenceRange reports a persistence_timeout keepalived or IPVS
// refuses; critical when keepalived logged that IPVS refused to add a
// virtual server (the service was never created).
func checkPersistenceRange(p *Pass, d *evidence.Host, handled map[evidence.Ref]bool) {
	kc := d.Keepalived
	if kc == nil {
		return
	}
	for _, is := range kc.Issues {
		if is.Keyword != "persistence_timeout" || !strings.Contains(is.Message, " is above ") {
			continue
		}
		handled[is.Ref] = true
		ev := []evidence.Ref{is.Ref}
		sev := diagnosis.Warning
		var refused []evidence.Ref
		for _, l := range d.Logs {
			if m := ipvsCmd.FindStringSubmatch(l.Ref.Text); m != nil && addsService(m[1]) {
				refused = append(refused, l.Ref)
			}
			if l.Message == "keepalived.check.persistence-timeout-invalid" {
				handled[l.Ref] = true
				ev = append(ev, l.Ref)
			}
		}
		expl := "persistence_timeout holds a client on its real server for that many seconds; keepalived caps it at " +
			"2678400 (31 days). " + is.Message + "."
		if len(refused) > 0 {
			sev = diagnosis.Critical
			ev = append(ev, refused[0])
			expl += " keepalived logged that IPVS refused to add a virtual server: the service with this value is " +
				"not in the table, and its VIP is answered by nothing."
		}
		var explains []string
		if len(refused) > 0 {
			// the refusal keepalived logged is this value's doing
			explains = []string{"director.config-drift"}
		}
		p.Report(diagnosis.Finding{
			Severity:    sev,
			Host:        d.Name,
			Explains:    explains,
			Title:       fmt.Sprintf("%s on %s is out of range: keepalived cannot install the virtual server with it", strings.TrimSpace(is.Ref.Text), d.Name),
			Explanation: expl,
			Evidence:    ev,
			Fix: []string{
				fixStep("in keepalived.conf on %s: persistence_timeout at most 2678400 (usually minutes: 300)", d.Name),
				keepalivedApply(p, firstService(p), d, ""),
				fixCmd("ipvsadm -Ln", "the virtual server is listed, with persistent and the new value"),
			},
		})
	}
}

// addsService reports whether an IPVS command keepalived names adds a
// virtual server: IP_VS_SO_SET_ADD (sockopt) or IPVS_CMD_NEW_SERVICE
// (netlink), not a destination.
func addsService(cmd string) bool {
	return cmd == "IP_VS_SO_SET_ADD" || cmd == "IPVS_CMD_NEW_SERVICE" || cmd == "ADD_SERVICE"
}

func uniqueStrings(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
