// Package syslog picks the log lines that matter for LVS out of keepalived
// logs (syslog, `journalctl -u keepalived`, keepalived's own console
// output, `keepalived -t`) of keepalived 1.x and 2.x, and of kernel logs
// (dmesg with and without timestamps, dmesg -T, kern.log, `journalctl -k`):
// VRRP state changes and complaints, real servers added and removed, failed
// checks, IPVS missing or loaded, conntrack table full, martian packets.
//
// Everything else is skipped silently: logs are mostly noise, and a line
// this package does not know is not a problem with the evidence.
package syslog

import (
	"net/netip"
	"regexp"
	"sort"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/messages"
)

// maxPerKey bounds the events kept per kind and subject: a month of
// gratuitous ARP refreshes must not become a million events. The first
// half and the most recent half are kept, so the latest state survives.
const maxPerKey = 200

// maxKeys bounds the distinct kinds and subjects followed.
const maxKeys = 10000

// ParseLog parses any mix of keepalived and kernel log lines.
func ParseLog(doc evidence.Doc) ([]evidence.LogEvent, []evidence.Problem) {
	var (
		kept   = map[string][]int{} // kind|subject -> indexes into evs
		counts = map[string]int{}
		evs    []evidence.LogEvent
		probs  []evidence.Problem
	)
	add := func(ev evidence.LogEvent) int {
		key := ev.Kind + "|" + ev.Subject
		if _, ok := counts[key]; !ok && len(counts) >= maxKeys {
			return -1
		}
		counts[key]++
		idx := kept[key]
		if len(idx) < maxPerKey {
			kept[key] = append(idx, len(evs))
			evs = append(evs, ev)
			return len(evs) - 1
		}
		// overwrite the recent half as a ring
		half := maxPerKey / 2
		slot := half + (counts[key]-maxPerKey-1)%half
		evs[idx[slot]] = ev
		return idx[slot]
	}
	var lastMartian = -1
	// The previous line, when it had a klog header: kube-proxy's modprobe
	// warnings come right before its module check (quietModprobe).
	var prevKlog *header
	var prevRef evidence.Ref
	filtered := strings.Contains(doc.Command, "|")
	lastIpvsadm := "" // the arguments of the last ipvsadm command line of a transcript
	text := doc.Text
	binary := 0
	for i := 0; len(text) > 0; i++ {
		var line string
		if j := strings.IndexByte(text, '\n'); j >= 0 {
			line, text = text[:j], text[j+1:]
		} else {
			line, text = text, ""
		}
		line = strings.TrimSuffix(line, "\r")
		if strings.IndexByte(line, 0) >= 0 {
			binary++
			if binary == 1 {
				probs = append(probs, doc.Problemf(i, "binary data in a log (a journal file? use `journalctl -u keepalived` output)"))
			}
			continue
		}
		if len(line) > 4096 {
			line = line[:4096]
		}
		h := splitHeader(line)
		if h.msg == "" {
			continue
		}
		klogLine := isKlog(line)
		if klogLine && prevKlog != nil && !filtered {
			if mods, ok := quietModprobe(h, *prevKlog); ok {
				add(evidence.LogEvent{Kind: evidence.LogKubeProxyModprobeQuiet, Subject: mods, Time: prevKlog.time,
					Detail: strings.TrimSpace(prevKlog.msg), Ref: prevRef})
			}
		}
		if klogLine {
			hh := h
			prevKlog, prevRef = &hh, doc.Ref(i, line)
		} else {
			prevKlog = nil
		}
		if strings.HasPrefix(h.msg, "ll header:") && lastMartian >= 0 && lastMartian < len(evs) {
			// the kernel prints the frame's link header on the next line
			d := &evs[lastMartian].Detail
			if !strings.Contains(*d, "ll header") {
				*d += "; " + strings.TrimSpace(h.msg)
			}
			continue
		}
		if !strings.Contains(line, "ipvsadm") {
			// most lines: no regular expression
		} else if m := reIpvsadmCmd.FindStringSubmatch(line); m != nil {
			lastIpvsadm = m[1]
			continue
		}
		ev, ok := classify(h)
		// What the program's source says the line means: for the lines
		// classify reads as well, and for those it does not, which are
		// kept when the table ties them to a cause.
		if e, known := messages.Match(line); known {
			e = inContext(e, lastIpvsadm)
			switch {
			case ok && (ev.Kind != evidence.LogVRRPInstance || !e.Decides()):
				ev.Message = e.ID
			case e.Decides():
				ev = evidence.LogEvent{Kind: evidence.LogMessage, Subject: e.ID, Detail: strings.TrimSpace(h.msg), Message: e.ID}
				ok = true
			}
		}
		if !ok {
			continue
		}
		ev.Console = h.console
		ev.Time = h.time
		ev.Ref = doc.Ref(i, line)
		at := add(ev)
		lastMartian = -1
		if ev.Kind == evidence.LogMartianSource {
			lastMartian = at
		}
	}
	// ring overwrites break the line order
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Ref.Line < evs[j].Ref.Line })
	return instancesOnce(evs), probs
}

// instancesOnce keeps one LogVRRPInstance event per instance, the first,
// and none for an instance another event names: it says only that VRRP
// runs the instance here, which a state change says as well.
func instancesOnce(evs []evidence.LogEvent) []evidence.LogEvent {
	named := map[string]bool{}
	for _, e := range evs {
		if e.Kind != evidence.LogVRRPInstance {
			named[e.Subject] = true
		}
	}
	out := evs[:0]
	for _, e := range evs {
		if e.Kind == evidence.LogVRRPInstance {
			if named[e.Subject] {
				continue
			}
			named[e.Subject] = true
		}
		out = append(out, e)
	}
	return out
}

// header is a log line cut into its prefix and message.
type header struct {
	time    string
	prog    string // "Keepalived_vrrp", "kernel", ... ("" when unknown)
	msg     string
	console bool // keepalived --log-console's form
}

var (
	// Nov 21 06:14:01 host [facility.level] prog[pid]: msg   (also .123456 and journalctl short-precise)
	reBSD = regexp.MustCompile(`^([A-Z][a-z]{2} [ 0-9]\d (?:\d\d:){2}\d\d(?:\.\d+)?) (\S+) (?:[a-z0-9]+\.[a-z]+ )?([^\s:\[]+)(?:\[(\d+)\])?: ?(.*)$`)
	// journalctl and syslog under a Chinese, Japanese or Korean locale:
	// "7月 17 14:12:47 host kube-proxy[24001]: msg" (the month as a number)
	reCJK = regexp.MustCompile(`^(\d{1,2}[月월] ?[ 0-9]?\d(?:日|일)? (?:\d\d:){2}\d\d(?:\.\d+)?) (\S+) ([^\s:\[]+)(?:\[(\d+)\])?: ?(.*)$`)
	// 2024-11-21T06:14:01.123456+00:00 host prog[pid]: msg
	reISO = regexp.MustCompile(`^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?) (\S+) (?:[a-z0-9]+\.[a-z]+ )?([^\s:\[]+)(?:\[(\d+)\])?: ?(.*)$`)
	// Sat Nov 21 06:17:46 2026: msg   (keepalived --log-console)
	reConsole = regexp.MustCompile(`^([A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d (?:\d\d:){2}\d\d(?:\.\d+)? \d{4}): (.*)$`)
	// [  123.456789] msg   or   [Sat Nov 21 06:17:31 2026] msg
	reDmesg = regexp.MustCompile(`^\[\s*([0-9]+\.[0-9]+|[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d (?:\d\d:){2}\d\d \d{4})\]\s?(.*)$`)
	// keepalived in a container, docker's timestamp glued to the message:
	// "15/2/2016 03:00:46Initializing ipvs"
	reGlued = regexp.MustCompile(`^(\d{1,2}/\d{1,2}/\d{4} \d\d:\d\d:\d\d)(?:\s*)(\S.*)$`)
	// klog, the log format of Kubernetes components:
	// "I1120 15:18:19.757786   26448 conntrack.go:52] Setting nf_conntrack_max to 786432"
	reKlog = regexp.MustCompile(`^([IWEF]\d{4} \d\d:\d\d:\d\d\.\d+)\s+\d+ ([\w.-]+\.go):\d+\] (.*)$`)
	// logrus, dockerd's and older kube-proxy's: 'time="2017-10-12T17:28:13Z"
	// level=error msg="Could not get ipvs family information ..."', also
	// after `kubectl logs --prefix`'s pod and container
	reLogrus = regexp.MustCompile(`(?:^|\s)time="([^"]+)" level=(\w+) msg="((?:[^"\\]|\\.)*)"`)
	// dockerd on a terminal: "ERRO[0089] Could not get ipvs family ..."
	reLogrusTTY = regexp.MustCompile(`^(?:INFO|WARN|ERRO|DEBU|FATA|PANI)\[(\d+)\] (.*)$`)
	// dmesg -x / --level prefixes: "kern  :warn  : [ 1.2] msg"
	reDmesgFacility = regexp.MustCompile(`^[a-z]+\s*:[a-z]+\s*: (.*)$`)
)

func splitHeader(line string) header {
	s := strings.TrimSpace(line)
	if s == "" || strings.HasPrefix(s, "-- ") {
		return header{} // journalctl "-- Logs begin at ...", "-- Boot ... --"
	}
	if m := reDmesgFacility.FindStringSubmatch(s); m != nil {
		s = m[1]
	}
	if m := reBSD.FindStringSubmatch(s); m != nil {
		h := header{time: m[1], prog: m[3], msg: m[5]}
		return kernelStamp(h)
	}
	if m := reISO.FindStringSubmatch(s); m != nil {
		return kernelStamp(header{time: m[1], prog: m[3], msg: m[5]})
	}
	if m := reCJK.FindStringSubmatch(s); m != nil {
		return kernelStamp(header{time: m[1], prog: m[3], msg: m[5]})
	}
	if m := reConsole.FindStringSubmatch(s); m != nil {
		return header{time: m[1], prog: "Keepalived", msg: m[2], console: true}
	}
	if m := reDmesg.FindStringSubmatch(s); m != nil {
		return header{time: m[1], prog: "kernel", msg: m[2]}
	}
	if m := reLogrus.FindStringSubmatch(s); m != nil {
		return header{time: m[1], prog: "daemon", msg: strings.ReplaceAll(m[3], `\"`, `"`)}
	}
	if m := reLogrusTTY.FindStringSubmatch(s); m != nil {
		return header{time: m[1], prog: "daemon", msg: m[2]}
	}
	if m := reKlog.FindStringSubmatch(s); m != nil {
		return header{time: m[1], prog: "klog:" + m[2], msg: m[3]}
	}
	if m := reGlued.FindStringSubmatch(s); m != nil {
		return header{time: m[1], msg: m[2]}
	}
	return header{msg: s}
}

// kernelStamp drops the "[ 123.456]" kern.log keeps after "kernel:", and
// the klog header a Kubernetes component's journal line carries after its
// ident ("kube-proxy[24001]: E0717 14:12:47.589968   24001 ipset.go:156]
// msg"): the journal's time and ident stay, the message is klog's.
func kernelStamp(h header) header {
	if h.prog == "kernel" {
		if m := reDmesg.FindStringSubmatch(h.msg); m != nil {
			h.msg = m[2]
		}
		return h
	}
	if len(h.msg) > 6 && strings.IndexByte("IWEF", h.msg[0]) >= 0 {
		if m := reKlog.FindStringSubmatch(h.msg); m != nil {
			h.msg = m[3]
		}
	}
	return h
}

var (
	// 2.x "(VI_1) Entering MASTER STATE", 1.x "VRRP_Instance(VI_1) Entering MASTER STATE"
	reState = regexp.MustCompile(`^(?:VRRP_Instance)?\(([^)]*)\):? (?:Entering|Now in) (MASTER|BACKUP|FAULT) (?:STATE|state)`)
	// 2.x "(VI_1) Master received advert from 192.0.2.3 with higher priority 150, ours 100"
	// 1.x "VRRP_Instance(VI_1) Received higher prio advert", "Received advert with higher priority 150, ours 100"
	reHigher = regexp.MustCompile(`^(?:VRRP_Instance)?\(([^)]*)\):? (?:Master )?[Rr]eceived (?:advert from (\S+) with higher priority|higher prio advert|advert with higher priority)(.*)$`)
	// 2.x "(VI_1) received lower priority (100) advert from 192.0.2.2 - discarding"
	// 1.x "VRRP_Instance(VI_1) Received lower prio advert, forcing new election"
	reLower = regexp.MustCompile(`^(?:VRRP_Instance)?\(([^)]*)\):? [Rr]eceived (?:lower priority|lower prio|advert from (\S+) with lower priority)(.*)$`)
	reAuth  = regexp.MustCompile(`(?i)\b(?:received? an invalid passwd|invalid password|bad authentication|auth(?:entication)? type mismatch|authtype mismatch|auth_type mismatch|received an invalid auth)`)
	reBad   = regexp.MustCompile(`(?i)(?:bogus VRRP packet|invalid ip number count|not present in MASTER advert|not present in received packet|mismatch actual MASTER advert|VRID mismatch|advertisement interval mismatch|invalid VRRP packet|ttl error|wrong VRID|VRID .* not valid|received an invalid ip|packet size mismatch)`)
	reInst  = regexp.MustCompile(`^(?:VRRP_Instance)?\(([^)]*)\)`)
	// "Sending gratuitous ARP on eth0 for 192.0.2.100", 1.x "...Sending gratuitous ARPs on eth0 for 192.0.2.100",
	// 2.x "(VI_1) Sending/queueing gratuitous ARPs on eth0 for 192.0.2.100"
	reGARP = regexp.MustCompile(`(?:Sending|Sending/queueing) gratuitous ARPs? on (\S+) for (\S+)`)
	// "Removing service [192.0.2.11]:tcp:80 from VS [192.0.2.100]:tcp:80", 1.x "[192.0.2.11]:80 from VS [192.0.2.100]:80", "VS FWM:1",
	// 2.2 inhibit_on_failure "Disabling service [192.0.2.11]:tcp:80 of VS [192.0.2.100]:tcp:80"
	reRS = regexp.MustCompile(`^(Removing|Adding|Disabling|Enabling) service (\[[^\]]*\]:(?:[a-z]+:)?\d+)\s+(?:from|to|of) VS (.*)$`)
	// checker failures of 1.x and 2.x
	reCheckFail = regexp.MustCompile(`^(?:TCP connection to (\S+) failed|(?:TCP|HTTP|SSL|SMTP|DNS|UDP|PING|FILE|MISC|BFD)_CHECK on service (\S+) failed|Check on service (\S+) failed|HTTP status code error to (\S+)|MD5 digest error to (\S+)|Error connecting server (\S+?)\.?$|Timeout connect, timeout server (\S+?)\.?$|Timeout WEB read, timeout server (\S+?)\.?$|Timeout (?:reading|connecting) data to remote SMTP server (\S+)|SMTP connection ERROR to (\S+)|Misc check to (\S+) for .* failed|Misc check for \[(\[[^\]]*\]:\S+) VS .*\] by .* failed|DNS_CHECK \((\S+)\) failed|Error processing HEAD request to (\S+)|Error reading data from remote SMTP server (\S+)|Remote Web server (\S+) failed)`)
	reIPVSInit  = regexp.MustCompile(`(?i)IPVS: Can't initialize ipvs|Can't initialize ipvs|IPVS: Connection refused|ip_vs.*(?:Module|module) .*not found|modprobe: .*ip_vs|IPVS: (?:Protocol not available|not supported)`)
	reNoDest    = regexp.MustCompile(`IPVS: (\S+): (\S+ \S+) - no destination available`)
	reLoaded    = regexp.MustCompile(`IPVS: (?:Registered protocols|ipvs loaded|\[(\S+)\] scheduler registered|Connection hash table configured|Creating netns)`)
	reCTFull    = regexp.MustCompile(`(?:nf_conntrack|ip_conntrack): (?:nf_conntrack: )?table full, dropping packet`)
	reMartian   = regexp.MustCompile(`martian source (\S+) from (\S+?),? on dev (\S+)`)
	// "(/etc/keepalived/keepalived.conf: Line 26) Unknown keyword 'nb_get_retry'", "(Line 3) ..."
	reConfLine = regexp.MustCompile(`^\((?:([^():]+): )?Line (\d+)\) (.*)$`)
	reConfMsg  = regexp.MustCompile(`^(?:Unknown keyword '([^']*)'|PARSER : |Truncating auth_pass|Configuration file .* is not|Unexpected '[{}]'|Non-existent interface specified|.* - ignoring\.*$|.* - removing$|.*: not valid - must be|WARNING - .*doesn't exist)`)
	reKeyword  = regexp.MustCompile(`Unknown keyword '([^']*)'`)
	// "Starting Keepalived v2.2.7 (01/16,2022)", and `keepalived -v`'s
	// "Keepalived v1.3.5 (03/19,2017), git commit v1.3.5-6-g6fa32f2"
	reKAVersion = regexp.MustCompile(`Keepalived v(\d+\.\d+(?:\.\d+)?)`)
)

// has reports whether s contains any of subs: a cheap filter run before
// the regular expressions, which would otherwise cost most of the time on
// logs that are mostly about something else.
func has(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func classify(h header) (evidence.LogEvent, bool) {
	msg := strings.TrimSpace(h.msg)
	// keepalived 1.x sometimes repeats its process name inside the message
	for _, p := range []string{"Keepalived_vrrp: ", "Keepalived_healthcheckers: ", "Keepalived_checker: ", "Keepalived: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	ev := func(kind, subject string) (evidence.LogEvent, bool) {
		return evidence.LogEvent{Kind: kind, Subject: subject, Detail: msg}, true
	}
	if isKubeProxy(h.prog, msg) {
		return ev(evidence.LogKubeProxy, strings.TrimPrefix(h.prog, "klog:"))
	}
	if strings.HasPrefix(msg, "Starting Keepalived v") {
		if m := reKAVersion.FindStringSubmatch(msg); m != nil {
			return ev(evidence.LogKeepalivedVersion, m[1])
		}
	}
	// "(file: Line N) ..." is keepalived reading its configuration
	if strings.HasPrefix(msg, "(") && strings.Contains(msg, "Line ") {
		if m := reConfLine.FindStringSubmatch(msg); m != nil {
			return ev(evidence.LogConfigError, keyword(m[3]))
		}
	}
	if has(msg, "STATE", "state") {
		if m := reState.FindStringSubmatch(msg); m != nil {
			kind := map[string]string{"MASTER": evidence.LogVRRPMaster, "BACKUP": evidence.LogVRRPBackup, "FAULT": evidence.LogVRRPFault}[m[2]]
			return ev(kind, m[1])
		}
	}
	if strings.Contains(msg, "prio") {
		if m := reHigher.FindStringSubmatch(msg); m != nil {
			return ev(evidence.LogVRRPPeerPriority, m[1])
		}
		if m := reLower.FindStringSubmatch(msg); m != nil {
			return ev(evidence.LogVRRPLowerPrio, m[1])
		}
	}
	if has(msg, "passw", "auth", "Auth", "AUTH") && reAuth.MatchString(msg) {
		return ev(evidence.LogVRRPBadAuth, instance(msg))
	}
	if strings.Contains(msg, "gratuitous") {
		if m := reGARP.FindStringSubmatch(msg); m != nil {
			return ev(evidence.LogGARPSent, m[2])
		}
	}
	if has(msg, "VRRP", "VRID", "advert", "ttl", "packet", "vrrp") && reBad.MatchString(msg) {
		return ev(evidence.LogVRRPBadPacket, instance(msg))
	}
	if has(msg, "Removing", "Adding", "Disabling", "Enabling") {
		if m := reRS.FindStringSubmatch(msg); m != nil {
			kind := evidence.LogRSRemoved
			if m[1] == "Adding" || m[1] == "Enabling" {
				kind = evidence.LogRSAdded
			}
			return ev(kind, hostPort(m[2]))
		}
	}
	if has(msg, "fail", "error", "Error", "ERROR", "Timeout") {
		if m := reCheckFail.FindStringSubmatch(msg); m != nil {
			subj := ""
			for _, g := range m[1:] {
				if g != "" {
					subj = hostPort(g)
					break
				}
			}
			return ev(evidence.LogCheckFailed, subj)
		}
	}
	if has(msg, "ipvs", "IPVS", "ip_vs") {
		if reIPVSInit.MatchString(msg) {
			return ev(evidence.LogIPVSInitFailed, "ipvs")
		}
		if m := reNoDest.FindStringSubmatch(msg); m != nil {
			return ev(evidence.LogIPVSNoDest, m[2])
		}
		if m := reLoaded.FindStringSubmatch(msg); m != nil {
			subj := "ipvs"
			if m[1] != "" {
				subj = m[1]
			}
			return ev(evidence.LogIPVSLoaded, subj)
		}
	}
	if strings.Contains(msg, "table full") && reCTFull.MatchString(msg) {
		return ev(evidence.LogConntrackFull, "nf_conntrack")
	}
	if strings.Contains(msg, "martian") {
		if m := reMartian.FindStringSubmatch(msg); m != nil {
			return ev(evidence.LogMartianSource, m[3])
		}
	}
	if isKeepalived(h.prog) && has(msg, "keyword", "PARSER", "Truncating", "Configuration file", "Unexpected", "Non-existent", "ignoring", "removing", "not valid", "doesn't exist") && reConfMsg.MatchString(msg) {
		return ev(evidence.LogConfigError, keyword(msg))
	}
	// Any other line of a VRRP instance ("(DMZ) removing VIPs.",
	// "VRRP_Instance(VI_1) setting protocol VIPs."): keepalived's VRRP
	// runs one on this host.
	if strings.HasPrefix(msg, "VRRP_Instance(") || strings.HasPrefix(msg, "(") && strings.HasPrefix(strings.ToLower(h.prog), "keepalived_vrrp") {
		if inst := instance(msg); inst != "" {
			return ev(evidence.LogVRRPInstance, inst)
		}
	}
	return evidence.LogEvent{}, false
}

func isKeepalived(prog string) bool {
	return prog == "" || strings.HasPrefix(strings.ToLower(prog), "keepalived")
}

func keyword(msg string) string {
	if m := reKeyword.FindStringSubmatch(msg); m != nil {
		return m[1]
	}
	return ""
}

func instance(msg string) string {
	if m := reInst.FindStringSubmatch(msg); m != nil {
		return m[1]
	}
	return ""
}

// hostPort turns keepalived's "[192.0.2.11]:tcp:80" (2.x) or
// "[192.0.2.11]:80" (1.x) into "192.0.2.11:80".
func hostPort(s string) string {
	s = strings.TrimRight(s, ".,!")
	if !strings.HasPrefix(s, "[") {
		return s
	}
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return s
	}
	host := s[1:end]
	rest := strings.TrimPrefix(s[end+1:], ":")
	if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		rest = rest[i+1:]
	}
	if a, err := netip.ParseAddr(host); err == nil && rest != "" {
		if a.Is6() && !a.Is4In6() {
			return "[" + a.String() + "]:" + rest
		}
		return a.Unmap().String() + ":" + rest
	}
	if rest == "" {
		return host
	}
	return host + ":" + rest
}

// KeepalivedVersion reads `keepalived -v`: the version and its line.
func KeepalivedVersion(doc evidence.Doc) (evidence.LogEvent, bool) {
	for i, l := range doc.Lines() {
		if m := reKAVersion.FindStringSubmatch(l); m != nil && strings.HasPrefix(strings.TrimSpace(l), "Keepalived v") {
			return evidence.LogEvent{Kind: evidence.LogKeepalivedVersion, Subject: m[1], Detail: strings.TrimSpace(l), Ref: doc.Ref(i, l)}, true
		}
	}
	return evidence.LogEvent{}, false
}

// kubeProxyFiles are the source files of kube-proxy that log (klog names
// the file): its proxiers, its conntrack tuning and its server.
var kubeProxyFiles = map[string]bool{
	"proxier.go": true, "conntrack.go": true, "server.go": true, "server_others.go": true,
	"server_linux.go": true, "ipset.go": true, "graceful_termination.go": true, "netlink_linux.go": true,
}

// isKubeProxy reports whether a klog line is kube-proxy's: one of its
// files, or a message only kube-proxy logs.
func isKubeProxy(prog, msg string) bool {
	if prog == "kube-proxy" {
		return true // journald's or syslog's line of the kube-proxy unit
	}
	file, ok := strings.CutPrefix(prog, "klog:")
	if !ok {
		return false
	}
	return (kubeProxyFiles[file] && has(msg, "roxier", "conntrack", "nf_conntrack", "ipvs", "IPVS", "iptables", "ipset", "Proxy", "proxy")) ||
		has(msg, "kube-proxy", "Using ipvs Proxier", "Using iptables Proxier")
}

// isKlog reports whether line carries a klog header, bare or after a
// journal's prefix.
func isKlog(line string) bool {
	s := strings.TrimSpace(line)
	if reKlog.MatchString(s) {
		return true
	}
	for _, re := range []*regexp.Regexp{reBSD, reISO, reCJK} {
		if m := re.FindStringSubmatch(s); m != nil {
			return reKlog.MatchString(m[5])
		}
	}
	return false
}

// quietModprobe reports whether h is kube-proxy's "required kernel
// modules are not loaded" and prev, the klog line just before it, is no
// modprobe failure: the modules named (its Subject) loaded without
// complaint and are still not in /proc/modules.
func quietModprobe(h, prev header) (string, bool) {
	e, ok := messages.Match(strings.TrimSpace(h.msg))
	if !ok || e.ID != "kubernetes.proxy.ipvs-modules-missing" {
		return "", false
	}
	if p, ok := messages.Match(strings.TrimSpace(prev.msg)); ok && p.ID == "kubernetes.proxy.modprobe-failed" {
		return "", false
	}
	return e.Fields(strings.TrimSpace(h.msg))["modules"], true
}

// reIpvsadmCmd is an ipvsadm command line of a transcript, prompt or not
// ("ipvsadm -L -t ip:port", "[root@lb1 ~]# sudo ipvsadm -Ln"): its
// arguments say what the error lines after it answer.
var reIpvsadmCmd = regexp.MustCompile(`^\s*(?:[^#$%>]{0,80}[#$%>]\s+)?(?:sudo\s+)?(?:\S*/)?ipvsadm(\s.*)?$`)

// listsOneService reports whether ipvsadm's arguments list one service:
// -L/-l/--list with -t, -u, -f or their long names, in any order and
// in short option clusters ("-Ln -t", "-lnt").
func listsOneService(args string) bool {
	list, one := false, false
	for _, a := range strings.Fields(args) {
		switch {
		case a == "--list":
			list = true
		case a == "--tcp-service" || a == "--udp-service" || a == "--fwmark-service" || a == "--sctp-service":
			one = true
		case strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--"):
			list = list || strings.ContainsAny(a, "Ll")
			one = one || strings.ContainsAny(a, "tuf")
		}
	}
	return list && one
}

// inContext returns the entry a line means after the ipvsadm command
// whose arguments are args: ipvsadm prints "Memory allocation problem"
// both for a change the kernel could not make (ipvsadm.memory) and, when
// it lists one service, for a service that does not exist
// (ipvsadm.get-service-not-found, read in libipvs).
func inContext(e *messages.Entry, args string) *messages.Entry {
	if e.ID != "ipvsadm.memory" && e.ID != "ipvsadm.get-service-not-found" {
		return e
	}
	id := "ipvsadm.memory"
	if listsOneService(args) {
		id = "ipvsadm.get-service-not-found"
	}
	if x, ok := messages.Lookup(id); ok {
		return x
	}
	return e
}
