// Package counters parses kernel and NIC counter dumps into named counters:
// nstat (`nstat -az`, `nstat`, and /proc/net/snmp6's "Name value" lines),
// /proc/net/snmp and /proc/net/netstat (header/value line pairs), `netstat
// -s` (the lines that map onto a kernel counter), `ethtool -S IFACE`,
// `conntrack -S` and /proc/net/stat/nf_conntrack, and single numbers such
// as `cat /proc/sys/net/netfilter/nf_conntrack_count` or `conntrack -C`.
//
// Names: SNMP/netstat MIB counters are "<Section>.<Name>" as the kernel
// names them (TcpExt.IPReversePathFilter, Ip.InDiscards, IpExt.InOctets);
// NIC counters are "ethtool.<iface>.<name>"; conntrack statistics are
// "conntrack.<name>" summed over CPUs.
package counters

import (
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// sections are the MIB prefixes nstat glues to counter names, longest
// first so that "TcpExt" wins over "Tcp" and "Ip6" over "Ip".
var sections = []string{
	"MPTcpExt", "UdpLite6", "IcmpMsg", "UdpLite", "TcpExt", "IpExt", "Icmp6", "Sctp", "Udp6", "Ip6",
	"Icmp", "Tcp", "Udp", "Ip",
}

// SplitName turns an nstat name into "Section.Name": TcpExtTCPTimeouts →
// TcpExt.TCPTimeouts, Ip6InReceives → Ip6.InReceives. Unknown prefixes
// are kept whole.
func SplitName(n string) string {
	for _, s := range sections {
		if len(n) > len(s) && strings.HasPrefix(n, s) {
			c := n[len(s)]
			if c >= 'A' && c <= 'Z' {
				return s + "." + n[len(s):]
			}
		}
	}
	return n
}

// ParseNstat reads nstat output ("#kernel" then "Name  value  rate") and
// the identical "Name value" layout of /proc/net/snmp6.
func ParseNstat(doc evidence.Doc) ([]evidence.Counter, []evidence.Problem) {
	var out []evidence.Counter
	var probs []evidence.Problem
	for i, line := range doc.Lines() {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		f := strings.Fields(t)
		if len(f) < 2 || !isName(f[0]) {
			probs = append(probs, doc.Problemf(i, "nstat: line not understood: %q", evidence.Clip(t, 80)))
			continue
		}
		v, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			u, uerr := strconv.ParseUint(f[1], 10, 64)
			if uerr != nil {
				probs = append(probs, doc.Problemf(i, "nstat: value not understood: %q", evidence.Clip(f[1], 80)))
				continue
			}
			v = int64(u >> 1) // beyond int64: keep it large rather than drop it
		}
		out = append(out, evidence.Counter{Name: SplitName(f[0]), Value: v, Ref: doc.Ref(i, line)})
	}
	return out, probs
}

// ParseProcNet reads /proc/net/snmp and /proc/net/netstat: for each
// section a line of names ("TcpExt: SyncookiesSent ...") followed by a line
// of values ("TcpExt: 0 ..."). Each counter cites the values line.
func ParseProcNet(doc evidence.Doc) ([]evidence.Counter, []evidence.Problem) {
	var out []evidence.Counter
	var probs []evidence.Problem
	lines := doc.Lines()
	var names []string
	section := ""
	for i, line := range lines {
		t := strings.TrimSpace(line)
		if t == "" {
			continue
		}
		sec, rest, ok := strings.Cut(t, ":")
		if !ok || sec == "" || strings.ContainsAny(sec, " \t") {
			probs = append(probs, doc.Problemf(i, "/proc/net: line not understood: %q", evidence.Clip(t, 80)))
			names = nil
			continue
		}
		f := strings.Fields(rest)
		if len(f) > 0 && isNumber(f[0]) {
			if sec != section || names == nil {
				probs = append(probs, doc.Problemf(i, "/proc/net: values without names for %s", evidence.Clip(sec, 80)))
				continue
			}
			for j, v := range f {
				if j >= len(names) {
					break
				}
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					continue // a negative or huge value of a gauge; not a counter we use
				}
				out = append(out, evidence.Counter{Name: sec + "." + names[j], Value: n, Ref: doc.Ref(i, line)})
			}
			names = nil
			continue
		}
		section, names = sec, f
	}
	return out, probs
}

// netstatLines maps the text net-tools' `netstat -s` prints (the number
// replaced by N, trailing dots dropped) to the kernel counter it shows,
// per section. Lines not listed are skipped: netstat -s has hundreds of
// phrasings across versions and only some matter here.
var netstatLines = map[string]map[string]string{
	"Ip": {
		"N total packets received": "InReceives", "N with invalid headers": "InHdrErrors",
		"N with invalid addresses": "InAddrErrors", "N forwarded": "ForwDatagrams",
		"N with unknown protocol": "InUnknownProtos", "N incoming packets discarded": "InDiscards",
		"N incoming packets delivered": "InDelivers", "N requests sent out": "OutRequests",
		"N outgoing packets dropped": "OutDiscards", "N dropped because of missing route": "OutNoRoutes",
		"N fragments dropped after timeout": "ReasmTimeout", "N reassemblies required": "ReasmReqds",
		"N packets reassembled ok": "ReasmOKs", "N packet reassembles failed": "ReasmFails",
		"N fragments received ok": "FragOKs", "N fragments failed": "FragFails", "N fragments created": "FragCreates",
	},
	"Icmp": {
		"N ICMP messages received": "InMsgs", "N input ICMP message failed": "InErrors",
		"N ICMP messages sent": "OutMsgs", "N ICMP messages failed": "OutErrors",
	},
	"Tcp": {
		"N active connection openings": "ActiveOpens", "N active connections openings": "ActiveOpens",
		"N passive connection openings": "PassiveOpens", "N failed connection attempts": "AttemptFails",
		"N connection resets received": "EstabResets", "N connections established": "CurrEstab",
		"N segments received": "InSegs", "N segments sent out": "OutSegs", "N segments send out": "OutSegs",
		"N segments retransmitted": "RetransSegs", "N segments retransmited": "RetransSegs",
		"N bad segments received": "InErrs", "N resets sent": "OutRsts",
	},
	"Udp": {
		"N packets received": "InDatagrams", "N packets to unknown port received": "NoPorts",
		"N packet receive errors": "InErrors", "N packets sent": "OutDatagrams",
		"N receive buffer errors": "RcvbufErrors", "N send buffer errors": "SndbufErrors",
	},
	"TcpExt": {
		"N SYN cookies sent": "SyncookiesSent", "N SYN cookies received": "SyncookiesRecv",
		"N invalid SYN cookies received":                                       "SyncookiesFailed",
		"N resets received for embryonic SYN_RECV sockets":                     "EmbryonicRsts",
		"N packets pruned from receive queue because of socket buffer overrun": "PruneCalled",
		"N ICMP packets dropped because they were out-of-window":               "OutOfWindowIcmps",
		"N ICMP packets dropped because socket was locked":                     "LockDroppedIcmps",
		"N TCP sockets finished time wait in fast timer":                       "TW",
		"N time wait sockets recycled by time stamp":                           "TWRecycled",
		"N TCP sockets finished time wait in slow timer":                       "TWKilled",
		"N passive connections rejected because of time stamp":                 "PAWSPassive",
		"N active connections rejected because of time stamp":                  "PAWSActive",
		"N packets rejects in established connections because of timestamp":    "PAWSEstab",
		"N delayed acks sent":                                                  "DelayedACKs", "N delayed acks further delayed because of locked socket": "DelayedACKLocked",
		"Quick ack mode was activated N times":            "DelayedACKLost",
		"N times the listen queue of a socket overflowed": "ListenOverflows",
		"N SYNs to LISTEN sockets dropped":                "ListenDrops", "N SYNs to LISTEN sockets ignored": "ListenDrops",
		"N packet headers predicted": "TCPHPHits", "N acknowledgments not containing data payload received": "TCPPureAcks",
		"N predicted acknowledgments": "TCPHPAcks", "N connections reset due to unexpected data": "TCPAbortOnData",
		"N connections reset due to early user close":  "TCPAbortOnClose",
		"N connections aborted due to timeout":         "TCPAbortOnTimeout",
		"N connections aborted due to memory pressure": "TCPAbortOnMemory",
		"N other TCP timeouts":                         "TCPTimeouts", "N SYN-ACKs retransmitted": "TCPSynRetrans",
		"N packets collapsed in receive queue due to low socket buffer":    "TCPRcvCollapsed",
		"N times recovered from packet loss by selective acknowledgements": "TCPSackRecovery",
		"N fast retransmits": "TCPFastRetrans", "N retransmits in slow start": "TCPSlowStartRetrans",
		"N packets dropped from prequeue": "TCPPrequeueDropped",
	},
}

// icmpHistogram maps the ICMP histogram lines ("destination unreachable: 3")
// to counters; the direction comes from the histogram's title.
var icmpHistogram = map[string]string{
	"destination unreachable": "DestUnreachs", "timeout in transit": "TimeExcds", "time exceeded": "TimeExcds",
	"wrong parameters": "ParmProbs", "source quenches": "SrcQuenchs", "source quench": "SrcQuenchs",
	"redirects": "Redirects", "redirect": "Redirects", "echo requests": "Echos", "echo request": "Echos",
	"echo replies": "EchoReps", "timestamp request": "Timestamps", "timestamp requests": "Timestamps",
	"timestamp reply": "TimestampReps", "timestamp replies": "TimestampReps",
	"address mask request": "AddrMasks", "address mask requests": "AddrMasks", "address mask replies": "AddrMaskReps",
}

var firstNumber = regexp.MustCompile(`\b\d+\b`)

// ParseNetstatS reads `netstat -s`. "Name: value" lines (what netstat
// prints for counters it has no sentence for, e.g. "IPReversePathFilter:
// 3") become Section.Name; sentences are mapped through a table; the rest
// is skipped without a problem.
func ParseNetstatS(doc evidence.Doc) ([]evidence.Counter, []evidence.Problem) {
	var out []evidence.Counter
	var probs []evidence.Problem
	section, hist := "", ""
	for i, line := range doc.Lines() {
		t := strings.TrimSpace(line)
		if t == "" {
			continue
		}
		indented := line[0] == ' ' || line[0] == '\t'
		if !indented {
			if strings.HasSuffix(t, ":") && isName(strings.TrimSuffix(t, ":")) {
				section, hist = strings.TrimSuffix(t, ":"), ""
				continue
			}
			probs = append(probs, doc.Problemf(i, "netstat -s: line not understood: %q", evidence.Clip(t, 80)))
			section = ""
			continue
		}
		if section == "" {
			continue
		}
		switch t {
		case "ICMP input histogram:":
			hist = "In"
			continue
		case "ICMP output histogram:":
			hist = "Out"
			continue
		}
		if k, v, ok := strings.Cut(t, ":"); ok {
			k = strings.TrimSpace(k)
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				continue
			}
			if name, ok := icmpHistogram[k]; ok && section == "Icmp" && hist != "" {
				out = append(out, evidence.Counter{Name: "Icmp." + hist + name, Value: n, Ref: doc.Ref(i, line)})
			} else if isName(k) {
				out = append(out, evidence.Counter{Name: section + "." + k, Value: n, Ref: doc.Ref(i, line)})
			}
			continue
		}
		loc := firstNumber.FindStringIndex(t)
		if loc == nil {
			continue
		}
		n, err := strconv.ParseInt(t[loc[0]:loc[1]], 10, 64)
		if err != nil {
			continue
		}
		phrase := strings.TrimRight(t[:loc[0]]+"N"+t[loc[1]:], ".")
		if name, ok := netstatLines[section][phrase]; ok {
			out = append(out, evidence.Counter{Name: section + "." + name, Value: n, Ref: doc.Ref(i, line)})
		}
	}
	return out, probs
}

var (
	ethtoolCmdRe  = regexp.MustCompile(`\bethtool\s+(?:-S|--statistics)\s+(\S+)`)
	ethtoolFileRe = regexp.MustCompile(`(?i)ethtool[-_.]?(?:S|stats|statistics)?[-_.]+([A-Za-z0-9_.@-]+?)\.(?:txt|log|out)$`)
	// A counter inside a paste that lost its line breaks:
	// "rx_errors: 0tx_errors: 0rx_length_errors: 0".
	gluedCounterRe = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_.\[\]-]*?):\s*(\d+)`)
	grepRe         = regexp.MustCompile(`\|\s*grep\s+(?:-\S+\s+)*(\S+)`)
)

// EthtoolIface names the interface of an `ethtool -S` block from its
// command line or, failing that, its file name ("ethtool-S-eth0.txt").
func EthtoolIface(doc evidence.Doc) string {
	if m := ethtoolCmdRe.FindStringSubmatch(doc.Command); m != nil {
		return m[1]
	}
	if m := ethtoolFileRe.FindStringSubmatch(path.Base(doc.Source)); m != nil {
		return m[1]
	}
	return ""
}

// ParseEthtool reads `ethtool -S IFACE` ("NIC statistics:" then
// "     rx_dropped: 0") into ethtool.<iface>.<name> counters (ethtool.<name>
// when the interface is unknown). When a paste glued the output to the
// command line ("ethtool -S ens33 | grep errorrx_errors: 0tx_errors: 0"),
// the counters are recovered from the command line.
func ParseEthtool(doc evidence.Doc) ([]evidence.Counter, []evidence.Problem) {
	prefix := "ethtool."
	if ifc := EthtoolIface(doc); ifc != "" {
		prefix += ifc + "."
	}
	var out []evidence.Counter
	var probs []evidence.Problem
	for i, line := range doc.Lines() {
		t := strings.TrimSpace(line)
		if t == "" || t == "NIC statistics:" || strings.HasPrefix(t, "no stats available") {
			continue
		}
		k, v, ok := strings.Cut(t, ":")
		if !ok {
			probs = append(probs, doc.Problemf(i, "ethtool -S: line not understood: %q", evidence.Clip(t, 80)))
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			u, uerr := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			if uerr != nil {
				probs = append(probs, doc.Problemf(i, "ethtool -S: value not understood: %q", evidence.Clip(t, 80)))
				continue
			}
			n = int64(u >> 1)
		}
		out = append(out, evidence.Counter{Name: prefix + strings.TrimSpace(k), Value: n, Ref: doc.Ref(i, line)})
	}
	if len(out) == 0 {
		out = append(out, gluedEthtool(doc, prefix)...)
	}
	return out, probs
}

// gluedEthtool recovers "rx_errors: 0tx_errors: 0" glued after "| grep
// error" on the command line. The grep pattern is glued to the first
// counter name; since every name grep let through contains the pattern,
// the pattern is the longest prefix whose remainder still contains it.
func gluedEthtool(doc evidence.Doc, prefix string) []evidence.Counter {
	m := grepRe.FindStringSubmatchIndex(doc.Command)
	if m == nil {
		return nil
	}
	rest := doc.Command[m[2]:]
	colon := strings.IndexByte(rest, ':')
	if colon < 0 {
		return nil
	}
	first := strings.Trim(rest[:colon], `"'`)
	pat := ""
	for n := len(first) - 1; n > 0; n-- {
		if strings.Contains(first[n:], first[:n]) {
			pat = first[:n]
			break
		}
	}
	if pat == "" {
		return nil
	}
	rest = rest[strings.Index(rest, pat)+len(pat):]
	line := doc.Start - 1 // the prompt line, just above the (empty) output
	if line < 1 {
		line = 1
	}
	ref := evidence.Ref{Host: doc.Host, Source: doc.Source, Line: line, Text: doc.Ref(0, doc.Command).Text}
	var out []evidence.Counter
	for _, c := range gluedCounterRe.FindAllStringSubmatch(rest, -1) {
		n, err := strconv.ParseInt(c[2], 10, 64)
		if err != nil {
			continue
		}
		out = append(out, evidence.Counter{Name: prefix + c[1], Value: n, Ref: ref})
	}
	return out
}

// ParseConntrackStats reads `conntrack -S` ("cpu=0 found=0 invalid=12
// ... drop=3 ...", one line per CPU) or /proc/net/stat/nf_conntrack (a
// header of names and one line of hex values per CPU) into conntrack.<name>
// counters summed over CPUs, each citing the first line that showed it.
// "entries" is a global gauge repeated on every CPU line and is not summed.
func ParseConntrackStats(doc evidence.Doc) ([]evidence.Counter, []evidence.Problem) {
	var probs []evidence.Problem
	idx := map[string]int{}
	var out []evidence.Counter
	add := func(name string, v int64, ref evidence.Ref) {
		name = "conntrack." + name
		if j, ok := idx[name]; ok {
			if name != "conntrack.entries" {
				out[j].Value += v
			}
			return
		}
		idx[name] = len(out)
		out = append(out, evidence.Counter{Name: name, Value: v, Ref: ref})
	}
	var header []string
	for i, line := range doc.Lines() {
		t := strings.TrimSpace(line)
		if t == "" {
			continue
		}
		f := strings.Fields(t)
		switch {
		case strings.Contains(f[0], "="):
			for _, kv := range f {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "cpu" {
					continue
				}
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					continue
				}
				add(k, n, doc.Ref(i, line))
			}
		case f[0] == "entries":
			header = f
		case header != nil && isHex(f[0]):
			for j, v := range f {
				if j >= len(header) {
					break
				}
				n, err := strconv.ParseInt(v, 16, 64)
				if err != nil {
					continue
				}
				add(header[j], n, doc.Ref(i, line))
			}
		default:
			probs = append(probs, doc.Problemf(i, "conntrack -S: line not understood: %q", evidence.Clip(t, 80)))
		}
	}
	return out, probs
}

// ParseNumber reads output that is one number (`cat
// /proc/sys/net/netfilter/nf_conntrack_count`, `conntrack -C`, `sysctl -n
// KEY`); the caller knows from the command what it counts.
func ParseNumber(doc evidence.Doc) (int64, evidence.Ref, []evidence.Problem) {
	for i, line := range doc.Lines() {
		t := strings.TrimSpace(line)
		if t == "" {
			continue
		}
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			return 0, evidence.Ref{}, []evidence.Problem{doc.Problemf(i, "expected a number, got %q", evidence.Clip(t, 80))}
		}
		return n, doc.Ref(i, line), nil
	}
	return 0, evidence.Ref{}, nil
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func isNumber(s string) bool {
	_, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		_, err = strconv.ParseUint(s, 10, 64)
	}
	return err == nil
}

func isHex(s string) bool {
	_, err := strconv.ParseUint(s, 16, 64)
	return err == nil
}
