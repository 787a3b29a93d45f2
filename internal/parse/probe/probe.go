// Package probe reads what people's test commands printed (curl, ping,
// arping, nc, telnet) and turns it into observations: the symptom as the
// user saw it ("No route to host" from the client, two MACs answering ARP
// for the VIP). Each observation names the address the test was aimed at,
// from the output or, when the output does not say, from the command line.
package probe

import (
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// Observation kinds.
const (
	ObsConnected      = "connect-ok"        // a TCP connection was established
	ObsRefused        = "connect-refused"   // RST to the SYN (nothing listening, or a REJECT)
	ObsTimeout        = "timeout"           // the connection attempt got no answer
	ObsNoResponse     = "no-response"       // connected, then no reply before the deadline
	ObsNoRoute        = "no-route"          // EHOSTUNREACH: no route, or ARP got no answer
	ObsNetUnreachable = "net-unreachable"   // ENETUNREACH or ICMP net unreachable
	ObsReset          = "connection-reset"  // RST after the connection was set up
	ObsEmptyReply     = "empty-reply"       // the server closed without an HTTP reply
	ObsConnectFailed  = "connect-failed"    // curl could not connect and did not say why
	ObsResolveFailed  = "resolve-failed"    // the name did not resolve
	ObsHTTPResponse   = "http-response"     // an HTTP status line came back
	ObsCurlError      = "curl-error"        // any other curl error
	ObsPingOK         = "ping-ok"           // echo replies came back
	ObsPingLoss       = "ping-loss"         // 100% packet loss
	ObsPingPartial    = "ping-partial-loss" // some replies lost
	ObsHostUnreach    = "host-unreachable"  // ICMP host unreachable (ARP failed on the last hop)
	ObsFragNeeded     = "frag-needed"       // ICMP fragmentation needed
	ObsARPReply       = "arp-reply"         // one per MAC that answered ARP for the target
	ObsARPConflict    = "arp-conflict"      // more than one MAC answered ARP for the target
	ObsARPNoReply     = "arp-no-reply"      // nothing answered ARP
)

// target is what the test aims at, as far as known.
type target struct {
	addr netip.Addr
	port uint16
}

// parser holds one document's state.
type parser struct {
	doc       evidence.Doc
	lines     []string
	obs       []evidence.Observation
	seen      map[string]bool
	tgt       target // from "Trying", "PING", "ARPING" lines or the command
	tool      string
	connected bool
	macs      []string // distinct ARP reply MACs, in order
	arpReply  bool
	specific  bool // a line already said why curl failed
}

var (
	ipRe = regexp.MustCompile(`\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}`)

	curlTryingRe    = regexp.MustCompile(`\*\s+Trying (\S+?)(?::(\d+))?\.\.\.`)
	curlConnectedRe = regexp.MustCompile(`\* Connected to \S+ \(([^)]+)\) port (\d+)`)
	curlConnFailRe  = regexp.MustCompile(`\* connect to (\S+) port (\d+) failed: (.+)$`)
	curlImmediateRe = regexp.MustCompile(`\* Immediate connect fail for ([^:]+): (.+)$`)
	curlAboutRe     = regexp.MustCompile(`\* About to connect\(\) to \S+ port (\d+)`)
	curlErrRe       = regexp.MustCompile(`^curl: \((\d+)\) (.*)$`)
	curlFailedToRe  = regexp.MustCompile(`Failed to connect to (\S+) port (\d+)(?: after \d+ ms)?: (.+)$`)
	curlFailedOldRe = regexp.MustCompile(`Failed connect to (\S+?):(\d+); (.+)$`)
	httpStatusRe    = regexp.MustCompile(`^(?:< )?HTTP/\d(?:\.\d)? (\d{3})\b`)

	pingHeadRe   = regexp.MustCompile(`^PING (\S+) \(([^)]+)\)`)
	pingReplyRe  = regexp.MustCompile(`^\d+ bytes from (?:\S+ \()?([0-9a-fA-F:.]+)\)?: icmp_seq=`)
	pingFromRe   = regexp.MustCompile(`^From (\S+?):? icmp_seq=\d+ (.+)$`)
	pingStatsRe  = regexp.MustCompile(`(\d+) packets transmitted, (\d+) (?:packets )?received.*?([\d.]+)% packet loss`)
	pingWinReply = regexp.MustCompile(`^Reply from ([0-9.]+): bytes=`)

	arpingHeadRe   = regexp.MustCompile(`^ARPING (\S+)`)
	arpingIputils  = regexp.MustCompile(`^(?:Unicast|Broadcast) reply from (\S+) \[([0-9A-Fa-f:]+)\]`)
	arpingHabets   = regexp.MustCompile(`^\d+ bytes from ([0-9A-Fa-f:]{11,17}) \(([^)]+)\)`)
	arpingReceived = regexp.MustCompile(`^Received (\d+) response`)
	arpingHabStats = regexp.MustCompile(`packets transmitted, (\d+) packets received`)

	// OpenBSD nc on Linux "Connection to H 25 port [tcp/smtp] succeeded!",
	// macOS's "Connection to H port 25 [tcp/smtp] succeeded!"
	ncOKRe = regexp.MustCompile(`^Connection to (\S+) (?:port )?(\d+) (?:port )?\[(tcp|udp)/[^\]]*\] succeeded`)
	// ... and macOS's "nc: connectx to H port 143 (tcp) failed: Connection refused"
	ncFailRe      = regexp.MustCompile(`^nc: connectx? to (\S+) port (\d+) \((tcp|udp)\) (?:failed|timed out): (.+?)(?:\s+!+)?$`)
	ncatOKRe      = regexp.MustCompile(`^Ncat: Connected to (\S+?):(\d+)\.`)
	ncatFailRe    = regexp.MustCompile(`^Ncat: (Connection refused|Connection timed out|TIMEOUT|No route to host|Network is unreachable)\.?`)
	ncTradRe      = regexp.MustCompile(`^(?:\(UNKNOWN\) |\S+ )?\[(\S+)\] (\d+) \([^)]*\)(?: open| : (.+))$`)
	telnetTryRe   = regexp.MustCompile(`^Trying (\S+?)\s*\.\.\.`)
	telnetConnRe  = regexp.MustCompile(`^Connected to (\S+?)\s*\.?$`)
	telnetFailRe  = regexp.MustCompile(`^telnet: Unable to connect to remote host: (.+)$`)
	telnetFail2Re = regexp.MustCompile(`^telnet: connect to address (\S+?): (.+)$`)
	connectErrRe  = regexp.MustCompile(`^(?:ping: )?connect: (.+)$`)
	// what users type in place of an output that never came
	handRe = regexp.MustCompile(`(?i)^[(<\[]?(?:\.\.\.\s*)?(?:it\s+)?(?:hangs?|hung|hanging|stuck|no output|nothing happens)(?:\s+forever|\s+here)?(?:\.\.\.)?[)>\]]?\.?$`)
)

// Parse reads the output of curl, ping, arping, nc or telnet.
func Parse(doc evidence.Doc) ([]evidence.Observation, []evidence.Problem) {
	p := &parser{doc: doc, lines: doc.Lines(), seen: map[string]bool{}}
	p.tool, p.tgt = commandTarget(doc.Command)
	if !p.tgt.addr.IsValid() {
		p.prescan()
	}
	for i, line := range p.lines {
		p.line(i, line)
	}
	p.finishARP()
	return p.obs, nil
}

// prescan finds the target named anywhere in the output, for tools that
// print the failure before the line naming the target (telnet's stderr
// redirected with its stdout).
func (p *parser) prescan() {
	for _, line := range p.lines {
		s := strings.TrimSpace(line)
		var m []string
		for _, re := range []*regexp.Regexp{telnetTryRe, curlTryingRe, pingHeadRe, arpingHeadRe} {
			if m = re.FindStringSubmatch(s); m != nil {
				break
			}
		}
		if m == nil {
			continue
		}
		a := addr(m[len(m)-1])
		if !a.IsValid() {
			a = addr(m[1])
		}
		if a.IsValid() {
			p.tgt.addr = a
			return
		}
	}
}

func (p *parser) add(kind string, i int, t target, mac string) {
	if !t.addr.IsValid() {
		t.addr = p.tgt.addr
	}
	if t.port == 0 {
		t.port = p.tgt.port
	}
	key := kind + "|" + t.addr.String() + "|" + strconv.Itoa(int(t.port)) + "|" + mac
	if p.seen[key] {
		return
	}
	p.seen[key] = true
	p.obs = append(p.obs, evidence.Observation{Kind: kind, Ref: p.doc.Ref(i, p.lines[i]), Target: t.addr, Port: t.port, MAC: mac})
}

func addr(s string) netip.Addr {
	s = strings.Trim(s, "[]")
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func port(s string) uint16 {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0
	}
	return uint16(n)
}

// reasonKind maps an error message to an observation kind.
func reasonKind(msg string) string {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "refused"):
		return ObsRefused
	case strings.Contains(m, "no route to host"), strings.Contains(m, "host is unreachable"), strings.Contains(m, "host unreachable"):
		return ObsNoRoute
	case strings.Contains(m, "network is unreachable"), strings.Contains(m, "network unreachable"), strings.Contains(m, "net unreachable"):
		return ObsNetUnreachable
	case strings.Contains(m, "timed out"), strings.Contains(m, "timeout"), strings.Contains(m, "operation now in progress"):
		return ObsTimeout
	case strings.Contains(m, "reset"):
		return ObsReset
	case strings.Contains(m, "resolve"):
		return ObsResolveFailed
	case strings.Contains(m, "empty reply"):
		return ObsEmptyReply
	}
	return ""
}

func (p *parser) line(i int, raw string) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return
	}
	if strings.Contains(s, "* ") || strings.HasPrefix(s, "curl:") || strings.HasPrefix(s, "HTTP/") || strings.HasPrefix(s, "< HTTP/") {
		if p.curl(i, s) {
			return
		}
	}
	switch {
	case (p.tool == "curl" || p.tool == "nc" || p.tool == "telnet" || p.tool == "wget") && !p.connected && handRe.MatchString(s):
		// The reporter's own word for an output that never came:
		// "(hangs)", "<hangs>", "... hangs". The connection got no
		// answer before they gave up.
		p.add(ObsTimeout, i, target{}, "")
	case pingHeadRe.MatchString(s):
		m := pingHeadRe.FindStringSubmatch(s)
		p.tool = "ping"
		if a := addr(m[2]); a.IsValid() {
			p.tgt = target{addr: a}
		}
	case pingReplyRe.MatchString(s):
		m := pingReplyRe.FindStringSubmatch(s)
		p.add(ObsPingOK, i, target{addr: addr(m[1])}, "")
	case pingWinReply.MatchString(s):
		p.add(ObsPingOK, i, target{addr: addr(pingWinReply.FindStringSubmatch(s)[1])}, "")
	case pingFromRe.MatchString(s):
		m := pingFromRe.FindStringSubmatch(s)
		msg := strings.ToLower(m[2])
		switch {
		case strings.Contains(msg, "host unreachable"):
			p.add(ObsHostUnreach, i, target{}, "")
		case strings.Contains(msg, "net unreachable"):
			p.add(ObsNetUnreachable, i, target{}, "")
		case strings.Contains(msg, "frag needed"):
			p.add(ObsFragNeeded, i, target{}, "")
		}
	case pingStatsRe.MatchString(s):
		m := pingStatsRe.FindStringSubmatch(s)
		loss, _ := strconv.ParseFloat(m[3], 64)
		switch {
		case m[2] == "0" || loss >= 100:
			if p.tool == "arping" {
				p.arpNone(i)
			} else {
				p.add(ObsPingLoss, i, target{}, "")
			}
		case loss > 0:
			p.add(ObsPingPartial, i, target{}, "")
		}
	case arpingHeadRe.MatchString(s):
		p.tool = "arping"
		if a := addr(arpingHeadRe.FindStringSubmatch(s)[1]); a.IsValid() {
			p.tgt = target{addr: a}
		}
	case arpingIputils.MatchString(s):
		m := arpingIputils.FindStringSubmatch(s)
		p.arpMAC(i, addr(m[1]), m[2])
	case arpingHabets.MatchString(s):
		m := arpingHabets.FindStringSubmatch(s)
		p.arpMAC(i, addr(m[2]), m[1])
	case arpingReceived.MatchString(s):
		if arpingReceived.FindStringSubmatch(s)[1] == "0" {
			p.arpNone(i)
		}
	case arpingHabStats.MatchString(s):
		if arpingHabStats.FindStringSubmatch(s)[1] == "0" {
			p.arpNone(i)
		}
	case ncOKRe.MatchString(s):
		m := ncOKRe.FindStringSubmatch(s)
		if m[3] == "tcp" { // a UDP "success" proves nothing
			p.add(ObsConnected, i, target{addr(m[1]), port(m[2])}, "")
		}
	case ncFailRe.MatchString(s):
		m := ncFailRe.FindStringSubmatch(s)
		if k := reasonKind(m[4]); k != "" {
			p.add(k, i, target{addr(m[1]), port(m[2])}, "")
		}
	case ncatOKRe.MatchString(s):
		m := ncatOKRe.FindStringSubmatch(s)
		p.add(ObsConnected, i, target{addr(m[1]), port(m[2])}, "")
	case ncatFailRe.MatchString(s):
		if k := reasonKind(ncatFailRe.FindStringSubmatch(s)[1]); k != "" {
			p.add(k, i, target{}, "")
		}
	case ncTradRe.MatchString(s):
		m := ncTradRe.FindStringSubmatch(s)
		t := target{addr(m[1]), port(m[2])}
		if m[3] == "" {
			p.add(ObsConnected, i, t, "")
		} else if k := reasonKind(m[3]); k != "" {
			p.add(k, i, t, "")
		}
	case telnetTryRe.MatchString(s):
		if a := addr(telnetTryRe.FindStringSubmatch(s)[1]); a.IsValid() {
			p.tgt.addr = a
		}
	case telnetConnRe.MatchString(s) && p.tool != "curl":
		m := telnetConnRe.FindStringSubmatch(s)
		p.add(ObsConnected, i, target{addr: addr(m[1])}, "")
	case telnetFailRe.MatchString(s):
		if k := reasonKind(telnetFailRe.FindStringSubmatch(s)[1]); k != "" {
			p.add(k, i, target{}, "")
		}
	case telnetFail2Re.MatchString(s):
		m := telnetFail2Re.FindStringSubmatch(s)
		if k := reasonKind(m[2]); k != "" {
			p.add(k, i, target{addr: addr(m[1])}, "")
		}
	case connectErrRe.MatchString(s):
		if k := reasonKind(connectErrRe.FindStringSubmatch(s)[1]); k != "" {
			p.add(k, i, target{}, "")
		}
	}
}

// curl reads curl's verbose and error lines; it reports whether the line
// was one of them.
func (p *parser) curl(i int, s string) bool {
	// The progress meter runs into verbose lines: read from the "* ".
	v := s
	if k := strings.Index(v, "* "); k > 0 && !strings.HasPrefix(v, "curl:") {
		v = v[k:]
	}
	switch {
	case curlTryingRe.MatchString(v):
		m := curlTryingRe.FindStringSubmatch(v)
		p.tool = "curl"
		if a := addr(m[1]); a.IsValid() {
			p.tgt.addr = a
		}
		if m[2] != "" {
			p.tgt.port = port(m[2])
		}
	case curlAboutRe.MatchString(v):
		p.tool = "curl"
		p.tgt.port = port(curlAboutRe.FindStringSubmatch(v)[1])
	case curlConnectedRe.MatchString(v):
		m := curlConnectedRe.FindStringSubmatch(v)
		p.tool = "curl"
		p.connected = true
		p.add(ObsConnected, i, target{addr(m[1]), port(m[2])}, "")
	case curlConnFailRe.MatchString(v):
		m := curlConnFailRe.FindStringSubmatch(v)
		if k := reasonKind(m[3]); k != "" {
			p.specific = true
			p.add(k, i, target{addr(m[1]), port(m[2])}, "")
		}
	case curlImmediateRe.MatchString(v):
		m := curlImmediateRe.FindStringSubmatch(v)
		if k := reasonKind(m[2]); k != "" {
			p.specific = true
			p.add(k, i, target{addr: addr(m[1])}, "")
		}
	case strings.HasPrefix(v, "curl: ("):
		m := curlErrRe.FindStringSubmatch(v)
		if m == nil {
			return false
		}
		p.curlError(i, m[1], m[2])
	case strings.HasPrefix(v, "* ") && !strings.HasPrefix(v, "* Closing") && p.tool == "curl":
		// Verbose reasons: "* TCP connection reset by peer", "* Connection
		// timed out after 2001 milliseconds", "* Failed connect to ...".
		msg := strings.TrimPrefix(v, "* ")
		if m := curlFailedOldRe.FindStringSubmatch(msg); m != nil {
			if k := reasonKind(m[3]); k != "" {
				p.specific = true
				p.add(k, i, target{addr(m[1]), port(m[2])}, "")
			}
			return true
		}
		if k := reasonKind(msg); k != "" && !strings.HasPrefix(msg, "Failed to connect") {
			if k == ObsTimeout && p.connected {
				k = ObsNoResponse
			}
			p.specific = true
			p.add(k, i, target{}, "")
		}
	case httpStatusRe.MatchString(v):
		p.connected = true
		p.add(ObsHTTPResponse, i, target{}, "")
	default:
		return false
	}
	return true
}

// curlError reads "curl: (CODE) message".
func (p *parser) curlError(i int, code, msg string) {
	t := target{}
	reason := msg
	if m := curlFailedToRe.FindStringSubmatch(msg); m != nil {
		t = target{addr(m[1]), port(m[2])}
		reason = m[3]
	} else if m := curlFailedOldRe.FindStringSubmatch(msg); m != nil {
		t = target{addr(m[1]), port(m[2])}
		reason = m[3]
	}
	k := reasonKind(reason)
	switch {
	case code == "28" && p.connected:
		k = ObsNoResponse
	case code == "28":
		k = ObsTimeout
	case code == "52":
		k = ObsEmptyReply
	case code == "6":
		k = ObsResolveFailed
	case k == "" && code == "7":
		// curl 7.8x and 8.x only say "Couldn't connect to server" here; the
		// verbose line before it, when shown, said why.
		if p.specific {
			return
		}
		k = ObsConnectFailed
	case k == "":
		k = ObsCurlError
	}
	if p.specific && (k == ObsRefused || k == ObsNoRoute || k == ObsNetUnreachable || k == ObsTimeout || k == ObsReset) {
		// The verbose line already said it.
		for _, o := range p.obs {
			if o.Kind == k {
				return
			}
		}
	}
	p.add(k, i, t, "")
}

func (p *parser) arpMAC(i int, a netip.Addr, mac string) {
	mac = strings.ToLower(mac)
	p.arpReply = true
	for _, m := range p.macs {
		if m == mac {
			return
		}
	}
	p.macs = append(p.macs, mac)
	p.add(ObsARPReply, i, target{addr: a}, mac)
	if len(p.macs) == 2 {
		p.add(ObsARPConflict, i, target{addr: a}, strings.Join(p.macs, ","))
	}
}

func (p *parser) arpNone(i int) {
	if !p.arpReply {
		p.add(ObsARPNoReply, i, target{}, "")
	}
}

// finishARP completes the conflict observation with every MAC seen.
func (p *parser) finishARP() {
	if len(p.macs) < 3 {
		return
	}
	for k := range p.obs {
		if p.obs[k].Kind == ObsARPConflict {
			p.obs[k].MAC = strings.Join(p.macs, ",")
		}
	}
}

// takesValue lists, per tool, the options followed by a value that is not
// the target.
var takesValue = map[string]map[string]bool{
	"curl": set("-o", "-H", "-X", "-d", "-u", "-x", "-m", "-w", "-A", "-b", "-c", "-e", "-T", "-F", "-E", "-K", "-r", "-Y", "-y", "-z",
		"--connect-timeout", "--max-time", "--resolve", "--interface", "--cacert", "--cert", "--key", "--data", "--header",
		"--output", "--request", "--user", "--proxy", "--write-out", "--connect-to", "--retry"),
	"ping":   set("-c", "-W", "-w", "-i", "-I", "-s", "-t", "-p", "-Q", "-S", "-l", "-M", "-m"),
	"arping": set("-c", "-w", "-W", "-i", "-I", "-s", "-S", "-t", "-T", "-C"),
	"nc":     set("-w", "-i", "-s", "-p", "-x", "-X", "-O", "-I", "-T", "-V", "-M", "-m"),
	"ncat":   set("-w", "-i", "-s", "-p", "-x", "--proxy", "-e", "-c", "-o", "-m"),
	"telnet": set("-l", "-b", "-e", "-n", "-X", "-k"),
}

func set(xs ...string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// commandTarget reads the tool and the target from a command line: "curl
// -v http://192.0.2.100:8080/", "ping -c 3 192.0.2.100", "nc -vz 192.0.2.11
// 80", "telnet 192.0.2.11 80", "arping -I eth0 192.0.2.100".
func commandTarget(cmd string) (string, target) {
	f := strings.Fields(cmd)
	if len(f) == 0 {
		return "", target{}
	}
	tool := f[0]
	if i := strings.LastIndexByte(tool, '/'); i >= 0 {
		tool = tool[i+1:]
	}
	switch tool {
	case "netcat":
		tool = "nc"
	case "ping6":
		tool = "ping"
	case "wget":
		tool = "curl"
	}
	var t target
	var args []string
	for k := 1; k < len(f); k++ {
		a := f[k]
		if a == "|" || a == ">" || a == "&&" || a == ";" || a == "2>&1" {
			break
		}
		if strings.HasPrefix(a, "-") {
			if takesValue[tool][a] {
				k++
			}
			continue
		}
		args = append(args, strings.Trim(a, `'"`))
	}
	switch tool {
	case "curl":
		for _, a := range args {
			if t.addr.IsValid() {
				break
			}
			u := a
			if !strings.Contains(u, "://") {
				u = "http://" + u
			}
			pu, err := url.Parse(u)
			if err != nil {
				continue
			}
			if a := addr(pu.Hostname()); a.IsValid() {
				t.addr = a
				t.port = port(pu.Port())
				if t.port == 0 {
					if pu.Scheme == "https" {
						t.port = 443
					} else {
						t.port = 80
					}
				}
			}
		}
	case "nc", "ncat", "telnet":
		if len(args) > 0 {
			t.addr = addr(args[0])
		}
		if len(args) > 1 {
			t.port = port(args[1])
		} else if tool == "telnet" {
			t.port = 23
		}
	case "ping", "arping":
		for k := len(args) - 1; k >= 0; k-- {
			if a := addr(args[k]); a.IsValid() {
				t.addr = a
				break
			}
		}
	}
	if !t.addr.IsValid() {
		// Last resort: the first literal IPv4 address on the line.
		if m := ipRe.FindString(cmd); m != "" {
			t.addr = addr(m)
		}
	}
	return tool, t
}
