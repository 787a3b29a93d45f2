package sockets

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// netstatRowRe is one row of netstat's TCP table. A user who shows one
// connection pastes that row alone, without the header:
// "tcp        0     52 10.0.0.72:59338         10.0.0.37:5432          ESTABLISHED -".
var netstatRowRe = regexp.MustCompile(`^tcp6?\s+\d+\s+\d+\s+\S+:\S+\s+\S+:\S+\s+` +
	`(?:ESTABLISHED|SYN_SENT|SYN_RECV|FIN_WAIT1|FIN_WAIT2|TIME_WAIT|CLOSE|CLOSE_WAIT|LAST_ACK|LISTEN|CLOSING|UNKNOWN)(?:\s|$)`)

// IsNetstatRow reports whether line is a row of netstat's TCP table.
func IsNetstatRow(line string) bool { return netstatRowRe.MatchString(strings.TrimSpace(line)) }

// ParseSockets reads the connected TCP sockets of an ss or netstat table
// (`ss -tn`, `ss -tan`, `netstat -tnp`, `netstat -an`, or netstat rows
// pasted alone): both ends, the state and the queues. Listening sockets are
// ParseSS's and ParseNetstat's; lines of other kinds are skipped here, and
// a line those parsers do not understand is reported by them, not twice.
func ParseSockets(doc evidence.Doc, ss bool) []evidence.Socket {
	var out []evidence.Socket
	netid := false
	defProto := protoFromCommand(doc.Command)
	for i, line := range doc.Lines() {
		t := strings.TrimSpace(line)
		if t == "" {
			continue
		}
		if ss && IsSSHeader(t) {
			netid = strings.HasPrefix(t, "Netid")
			continue
		}
		f := strings.Fields(t)
		var s evidence.Socket
		var local, peer string
		if ss {
			if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
				continue // -e/-i/-m continuation lines
			}
			proto := defProto
			if netid || isNetid(f[0]) && len(f) > 1 && isState(f[1]) {
				proto = f[0]
				f = f[1:]
			}
			if !strings.HasPrefix(proto, "tcp") && proto != "" || len(f) < 5 || !isState(f[0]) {
				continue
			}
			s.State, local, peer = f[0], f[3], f[4]
			s.RecvQ, s.SendQ = atoi(f[1]), atoi(f[2])
			if m := ssUsersRe.FindStringSubmatch(t); m != nil {
				s.Process = m[1]
			}
		} else {
			if f[0] != "tcp" && f[0] != "tcp6" || len(f) < 6 {
				continue
			}
			s.State, local, peer = f[5], f[3], f[4]
			s.RecvQ, s.SendQ = atoi(f[1]), atoi(f[2])
			if len(f) > 6 {
				if pid, name, ok := strings.Cut(f[6], "/"); ok && isDigits(pid) {
					s.Process = strings.Join(append([]string{name}, f[7:]...), " ")
				}
			}
		}
		if s.State == "LISTEN" || s.RecvQ < 0 || s.SendQ < 0 {
			continue
		}
		var ok1, ok2 bool
		s.Local, ok1 = socketEnd(local)
		s.Peer, ok2 = socketEnd(peer)
		if !ok1 || !ok2 {
			continue // a wildcard or a name: not a connection's end
		}
		s.Ref = doc.Ref(i, line)
		out = append(out, s)
	}
	return out
}

// socketEnd reads one end of a connection: an address (not a wildcard)
// and a port.
func socketEnd(col string) (netip.AddrPort, bool) {
	l, err := parseLocal(col, true)
	if err != "" || l.Any || !l.Addr.IsValid() || l.Port == 0 {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(l.Addr, l.Port), true
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}
