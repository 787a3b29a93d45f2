package ipvsadm

import (
	"net/netip"
	"strconv"
	"strings"
)

// portNames are the /etc/services names ipvsadm prints without -n for the
// ports LVS commonly serves; the table is read where the output was taken,
// not here, so only the usual names can be mapped back.
var portNames = map[string]uint16{
	"ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "domain": 53, "http": 80, "www": 80,
	"pop3": 110, "ntp": 123, "imap2": 143, "imap": 143, "snmp": 161, "ldap": 389,
	"https": 443, "microsoft-ds": 445, "submission": 587, "submissions": 465, "smtps": 465,
	"ldaps": 636, "imaps": 993, "pop3s": 995, "ms-sql-s": 1433, "mysql": 3306,
	"ms-wbt-server": 3389, "sip": 5060, "mdns": 5353, "postgresql": 5432, "redis": 6379,
	"http-alt": 8080, "webcache": 8080, "squid": 3128, "memcache": 11211, "kerberos": 88,
	"radius": 1812, "syslog": 514, "rsync": 873, "nfs": 2049, "openvpn": 1194,
}

// addrKind says how an address token was written.
type addrKind int

const (
	addrOK      addrKind = iota
	addrName             // a host name (ipvsadm without -n): not resolvable here
	addrInvalid          // garbled or anonymised (x.y.z.1)
)

// parseAddrPort reads "192.0.2.1:80", "[2001:db8::1]:80", "host:http" or,
// with hex set, the kernel's "C0000201:0050" and "[2001:0db8:...]:0050".
func parseAddrPort(s string, hex bool) (netip.Addr, uint16, addrKind) {
	host, port, ok := splitHostPort(s)
	if !ok {
		return netip.Addr{}, 0, addrInvalid
	}
	p, pok := parsePort(port, hex)
	if !pok {
		return netip.Addr{}, 0, addrInvalid
	}
	a, kind := parseAddr(host, hex)
	return a, p, kind
}

func splitHostPort(s string) (host, port string, ok bool) {
	if strings.HasPrefix(s, "[") {
		end := strings.LastIndex(s, "]:")
		if end < 0 {
			return "", "", false
		}
		return s[1:end], s[end+2:], true
	}
	i := strings.LastIndexByte(s, ':')
	if i <= 0 || i == len(s)-1 {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

func parsePort(s string, hex bool) (uint16, bool) {
	base := 10
	if hex {
		base = 16
	}
	if n, err := strconv.ParseUint(s, base, 16); err == nil {
		return uint16(n), true
	}
	if p, ok := portNames[strings.ToLower(s)]; ok {
		return p, true
	}
	return 0, false
}

func parseAddr(s string, hex bool) (netip.Addr, addrKind) {
	if hex && len(s) == 8 {
		if n, err := strconv.ParseUint(s, 16, 32); err == nil {
			return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), addrOK
		}
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), addrOK
	}
	if isHostName(s) {
		return netip.Addr{}, addrName
	}
	return netip.Addr{}, addrInvalid
}

// isHostName accepts DNS names; "x.y.z.1" and "xxx.xxx.1.60" (addresses
// anonymised by the person who pasted them) are not names.
func isHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	last := labels[len(labels)-1]
	if last == "" || (last[0] >= '0' && last[0] <= '9') {
		return false
	}
	for _, l := range labels {
		if l == "" {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	for _, l := range labels {
		if strings.Trim(l, "xyzXYZ*") == "" {
			return false
		}
	}
	return true
}

// isHex8 reports whether s is the kernel's 8-digit hexadecimal IPv4 form.
func isHex8(s string) bool {
	if len(s) != 8 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// parseNum reads a counter as ipvsadm prints it without --exact: plain
// below 100 million, else with a K/M/G/T suffix (powers of 1000).
func parseNum(s string) (uint64, bool) {
	mult := uint64(1)
	if n := len(s); n > 1 {
		switch s[n-1] {
		case 'K':
			mult = 1e3
		case 'M':
			mult = 1e6
		case 'G':
			mult = 1e9
		case 'T':
			mult = 1e12
		}
		if mult != 1 {
			s = s[:n-1]
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false
	}
	if mult != 1 && v > (^uint64(0))/mult {
		return 0, false
	}
	return v * mult, true
}

// atoi reads a small non-negative integer.
func atoi(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// canonMethod maps the forwarding method as printed to evidence's names.
func canonMethod(s string) (string, bool) {
	switch strings.ToLower(s) {
	case "route", "dr", "droute", "gatewaying":
		return "Route", true
	case "tunnel", "tun", "ipip":
		return "Tunnel", true
	case "masq", "nat", "masquerading":
		return "Masq", true
	case "local", "localnode":
		return "Local", true
	case "fullnat", "fnat":
		return "FullNat", true
	}
	return "", false
}

func isProto(s string) bool {
	switch s {
	case "TCP", "UDP", "SCTP", "FWM":
		return true
	}
	return false
}
