// Package sockets parses listening-socket tables: iproute2's ss (`ss -lntup`,
// `ss -lnt`, `ss -tlnp`, `ss -lnu`; old and new versions, with or without
// the Netid column) and net-tools' `netstat -lntup` / `-lnp` / `-tlnp`.
//
// Wildcards: ss ≥ 4.x prints "0.0.0.0" for an IPv4 wildcard, "[::]" for an
// IPv6-only wildcard and "*" for a dual-stack one; old ss printed "*" for
// the IPv4 wildcard and ":::" for IPv6; netstat prints ":::" for any IPv6
// wildcard. A Listener has Any set for all of them; its Addr keeps the
// family only where the tool told it for sure (0.0.0.0, and ss's "[::]"),
// and is invalid (either family) for "*" and ":::".
package sockets

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

var (
	// users:(("nginx",pid=1,fd=6)) and the old users:(("nginx",1,6)).
	ssUsersRe = regexp.MustCompile(`\(\("([^"]*)"`)
	// Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port...
	ssHeaderRe      = regexp.MustCompile(`^(?:Netid\s+)?State\s+Recv-Q\s+Send-Q\s+Local\s+Address:Port`)
	netstatHeaderRe = regexp.MustCompile(`^Proto\s+Recv-Q\s+Send-Q\s+Local\s+Address\s+Foreign\s+Address`)
)

// IsSSHeader reports whether line is the header ss prints.
func IsSSHeader(line string) bool { return ssHeaderRe.MatchString(strings.TrimSpace(line)) }

// IsNetstatHeader reports whether line is netstat's socket table header.
func IsNetstatHeader(line string) bool { return netstatHeaderRe.MatchString(strings.TrimSpace(line)) }

// services maps the port names ss and netstat print without -n.
var services = map[string]uint16{
	"ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "domain": 53, "http": 80, "pop3": 110, "ntp": 123,
	"imap": 143, "snmp": 161, "ldap": 389, "https": 443, "smtps": 465, "submission": 587, "imaps": 993,
	"pop3s": 995, "mysql": 3306, "postgresql": 5432, "redis": 6379, "http-alt": 8080, "webcache": 8080,
	"https-alt": 8443, "pcsync-https": 8443, "sunrpc": 111, "bootps": 67, "bootpc": 68, "syslog": 514,
	"rsync": 873, "ms-sql-s": 1433, "nfs": 2049, "squid": 3128, "rdp": 3389, "ms-wbt-server": 3389,
	"amqp": 5672, "x11": 6000, "memcache": 11211, "zabbix-agent": 10050, "zabbix-trapper": 10051,
}

// ParseSS reads ss output. Only listening TCP sockets and unconnected UDP
// sockets are kept; other sockets (established, unix, raw) are skipped.
func ParseSS(doc evidence.Doc) ([]evidence.Listener, []evidence.Problem) {
	var out []evidence.Listener
	var probs []evidence.Problem
	netid := false // the table has a Netid column
	defProto := protoFromCommand(doc.Command)
	for i, line := range doc.Lines() {
		t := strings.TrimSpace(line)
		if t == "" {
			continue
		}
		if IsSSHeader(t) {
			netid = strings.HasPrefix(t, "Netid")
			continue
		}
		if strings.HasPrefix(t, "Failed to find cgroup2") {
			continue
		}
		if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
			continue // -e/-i/-m continuation lines
		}
		f := strings.Fields(t)
		proto := ""
		if netid || isNetid(f[0]) && len(f) > 1 && isState(f[1]) {
			proto = f[0]
			f = f[1:]
		}
		if len(f) < 5 || !isState(f[0]) {
			probs = append(probs, doc.Problemf(i, "ss: line not understood: %q", evidence.Clip(t, 80)))
			continue
		}
		state := f[0]
		switch {
		case proto == "":
			proto = defProto
			if proto == "" {
				switch state {
				case "LISTEN":
					proto = "tcp"
				case "UNCONN":
					proto = "udp"
				}
			}
		case strings.HasPrefix(proto, "tcp"):
			proto = "tcp"
		case strings.HasPrefix(proto, "udp"):
			proto = "udp"
		case proto == "sctp":
		default:
			continue // u_str, raw, p_raw, nl, ...: not a service socket
		}
		if state != "LISTEN" && !(state == "UNCONN" && proto == "udp") {
			continue
		}
		l, err := parseLocal(f[3], true)
		if err != "" {
			probs = append(probs, doc.Problemf(i, "ss: %s", err))
			continue
		}
		l.Proto = proto
		if m := ssUsersRe.FindStringSubmatch(t); m != nil {
			l.Process = m[1]
		}
		l.Ref = doc.Ref(i, line)
		out = append(out, l)
	}
	return out, probs
}

// ParseNetstat reads `netstat -l[ntup]` (and `-a`): listening TCP sockets
// and UDP sockets with a wildcard peer are kept.
func ParseNetstat(doc evidence.Doc) ([]evidence.Listener, []evidence.Problem) {
	var out []evidence.Listener
	var probs []evidence.Problem
	for i, line := range doc.Lines() {
		t := strings.TrimSpace(line)
		if t == "" || IsNetstatHeader(t) || strings.HasPrefix(t, "Active ") {
			continue
		}
		f := strings.Fields(t)
		proto := f[0]
		switch proto {
		case "tcp", "tcp6", "udp", "udp6", "udpl", "udpl6", "sctp", "sctp6":
		case "unix", "raw", "raw6", "Proto":
			continue
		default:
			if isUnixRow(f) {
				continue
			}
			probs = append(probs, doc.Problemf(i, "netstat: line not understood: %q", evidence.Clip(t, 80)))
			continue
		}
		if len(f) < 5 {
			probs = append(probs, doc.Problemf(i, "netstat: line not understood: %q", evidence.Clip(t, 80)))
			continue
		}
		p := strings.TrimRight(proto, "6l")
		if strings.HasPrefix(proto, "udpl") {
			p = "udp"
		}
		if p == "tcp" || p == "sctp" {
			if len(f) < 6 || f[5] != "LISTEN" {
				continue
			}
		} else if !strings.HasSuffix(f[4], ":*") {
			continue // a connected UDP socket
		}
		l, err := parseLocal(f[3], false)
		if err != "" {
			probs = append(probs, doc.Problemf(i, "netstat: %s", err))
			continue
		}
		l.Proto = p
		// The PID/Program name column follows the state ("1234/nginx",
		// "-"); the name may hold blanks ("812/sshd: /usr/sbin"), so it
		// runs to the end of the line.
		for j := 5; j < len(f); j++ {
			if pid, name, ok := strings.Cut(f[j], "/"); ok && isDigits(pid) {
				l.Process = strings.Join(append([]string{name}, f[j+1:]...), " ")
				break
			}
		}
		l.Ref = doc.Ref(i, line)
		out = append(out, l)
	}
	return out, probs
}

func isUnixRow(f []string) bool {
	return len(f) > 0 && (f[0] == "unix" || strings.HasPrefix(f[0], "[") || f[0] == "Proto")
}

// parseLocal reads a local address column: "0.0.0.0:80", "*:80",
// "[::]:80", "[::1]:8000", "0.0.0.0%lo:53", ":::80", "::1:8000",
// "192.0.2.1:http".
func parseLocal(s string, ss bool) (evidence.Listener, string) {
	var l evidence.Listener
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return l, "local address without port: " + evidence.Clip(s, 80)
	}
	host, port := s[:i], s[i+1:]
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		p, ok := services[port]
		if !ok {
			return l, "port not understood: " + evidence.Clip(s, 80)
		}
		n = uint64(p)
	}
	l.Port = uint16(n)
	bracketed := strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]")
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if j := strings.IndexByte(host, '%'); j >= 0 {
		host = host[:j] // bound to a device: the address is what matters here
	}
	switch host {
	case "*", "":
		l.Any = true
		return l, ""
	case "::", "::0", "0:0:0:0:0:0:0:0":
		l.Any = true
		if ss && bracketed {
			// Current ss brackets "::" only for IPV6_V6ONLY sockets; a
			// dual-stack one is printed as "*".
			l.Addr = netip.IPv6Unspecified()
		}
		return l, ""
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return l, "address not understood: " + evidence.Clip(s, 80)
	}
	a = a.Unmap()
	l.Addr = a
	l.Any = a.IsUnspecified()
	return l, ""
}

func protoFromCommand(cmd string) string {
	if cmd == "" {
		return ""
	}
	f := strings.Fields(cmd)
	if len(f) < 2 {
		return ""
	}
	tcp, udp := false, false
	for _, w := range f[1:] {
		switch {
		case w == "--tcp":
			tcp = true
		case w == "--udp":
			udp = true
		case strings.HasPrefix(w, "-") && !strings.HasPrefix(w, "--"):
			tcp = tcp || strings.Contains(w, "t")
			udp = udp || strings.Contains(w, "u")
		}
	}
	switch {
	case tcp && !udp:
		return "tcp"
	case udp && !tcp:
		return "udp"
	}
	return ""
}

func isNetid(s string) bool {
	switch s {
	case "tcp", "udp", "raw", "u_str", "u_dgr", "u_seq", "p_raw", "p_dgr", "nl", "sctp", "mptcp", "tipc", "v_str", "v_dgr", "xdp", "icmp6", "udp6", "tcp6":
		return true
	}
	return false
}

func isState(s string) bool {
	switch s {
	case "LISTEN", "UNCONN", "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT",
		"CLOSE-WAIT", "LAST-ACK", "CLOSING", "CLOSED", "UNKNOWN", "SYN_SENT", "SYN_RECV":
		return true
	}
	return false
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
