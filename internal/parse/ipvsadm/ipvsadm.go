// Package ipvsadm parses what ipvsadm and the IPVS procfs files print into
// evidence.IPVS:
//
//   - ipvsadm -L[n] with --stats, --rate, --thresholds, --persistent-conn,
//     --exact, --sort and a single service (-t VIP:PORT), of ipvsadm 1.2x/1.3x,
//     the Alibaba FULLNAT fork and DPVS (FullNat, synproxy, IPv6 services);
//   - ipvsadm -L[n]c (also --persistent-conn, and the FULLNAT fork's local
//     address column), streamed into connection groups;
//   - ipvsadm -S[n];
//   - /proc/net/ip_vs, /proc/net/ip_vs_conn(_sync), /proc/net/ip_vs_stats(_percpu)
//     (hexadecimal addresses and ports).
//
// Pasted output often lost its line breaks (whole tables on one line, or
// lines joined with "|"); records are cut apart again at every "->" and
// protocol keyword. Outputs of one host are combined with Merge so that the
// stats of `ipvsadm -Ln --stats` land on the services of `ipvsadm -Ln`.
package ipvsadm

import (
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// Format is one of the outputs this package reads.
type Format int

// Formats.
const (
	FormatUnknown   Format = iota
	FormatList             // ipvsadm -L[n] [--stats|--rate|--thresholds|--persistent-conn]
	FormatConns            // ipvsadm -L[n]c
	FormatSave             // ipvsadm -S[n]
	FormatProc             // /proc/net/ip_vs
	FormatProcConns        // /proc/net/ip_vs_conn, /proc/net/ip_vs_conn_sync
	FormatProcStats        // /proc/net/ip_vs_stats, /proc/net/ip_vs_stats_percpu
	FormatVersion          // ipvsadm --version: nothing for the table
)

func (f Format) String() string {
	switch f {
	case FormatList:
		return "ipvsadm -L"
	case FormatConns:
		return "ipvsadm -Lc"
	case FormatSave:
		return "ipvsadm -S"
	case FormatProc:
		return "/proc/net/ip_vs"
	case FormatProcConns:
		return "/proc/net/ip_vs_conn"
	case FormatProcStats:
		return "/proc/net/ip_vs_stats"
	case FormatVersion:
		return "ipvsadm --version"
	}
	return "unknown"
}

// listMode is which columns a -L listing has.
type listMode int

const (
	modeUnknown listMode = iota
	modePlain            // Scheduler Flags / Forward Weight ActiveConn InActConn
	modeStats
	modeRate
	modeThresholds
	modePersist
)

// flags is what the command line of an ipvsadm invocation asked for.
type flags struct {
	ipvsadm, list, conns, save, stats, rate, thresholds, persist, version bool
	service                                                               bool // -t/-u/-f: one service only
	procFile                                                              string
}

// parseCommand reads the options that change ipvsadm's output. Short
// options cluster (-Lnc, -lcn); long ones stand alone.
func parseCommand(cmd string) flags {
	var f flags
	// only the first command of a pipeline prints the format
	if i := strings.IndexAny(cmd, "|;&>"); i >= 0 {
		cmd = cmd[:i]
	}
	fields := strings.Fields(cmd)
	for i, t := range fields {
		if i == 0 || strings.HasSuffix(t, "/ipvsadm") || t == "ipvsadm" {
			if strings.HasSuffix(t, "ipvsadm") {
				f.ipvsadm = true
			}
		}
		if strings.Contains(t, "/proc/net/ip_vs") {
			f.procFile = t[strings.Index(t, "/proc/net/ip_vs"):]
		}
		if strings.HasPrefix(t, "--") {
			switch t {
			case "--list":
				f.list = true
			case "--version":
				f.version = true
			case "--connection":
				f.conns = true
			case "--save":
				f.save = true
			case "--stats":
				f.stats = true
			case "--rate":
				f.rate = true
			case "--thresholds":
				f.thresholds = true
			case "--persistent-conn":
				f.persist = true
			case "--tcp-service", "--udp-service", "--sctp-service", "--fwmark-service":
				f.service = true
			}
			continue
		}
		if strings.HasPrefix(t, "-") && len(t) > 1 && !strings.ContainsAny(t, ".:/") {
			for _, c := range t[1:] {
				switch c {
				case 'L', 'l':
					f.list = true
				case 'c':
					f.conns = true
				case 'S':
					f.save = true
				case 'v', 'V':
					f.version = true
				case 't', 'u', 'f':
					f.service = true
				}
			}
		}
	}
	return f
}

var (
	reHexSvc = regexp.MustCompile(`(?m)^(TCP|UDP|SCTP)\s+[0-9A-F]{8}:[0-9A-F]{4}\s|^FWM\s+[0-9A-F]{8}\s`)
	reSave   = regexp.MustCompile(`(?m)^\s*-[Aa]\s+(-[tuf]|--(tcp|udp|sctp|fwmark)-service)\s`)
)

// Detect says which format a block is, from the command that printed it
// when known, else from its content.
func Detect(command, text string) Format {
	f := parseCommand(command)
	switch {
	case strings.Contains(f.procFile, "ip_vs_conn"):
		return FormatProcConns
	case strings.Contains(f.procFile, "ip_vs_stats"):
		return FormatProcStats
	case f.procFile == "/proc/net/ip_vs":
		return FormatProc
	case f.ipvsadm && f.version:
		return FormatVersion
	case f.ipvsadm && f.save:
		return FormatSave
	case f.ipvsadm && f.conns:
		return FormatConns
	case f.ipvsadm && (f.list || f.stats || f.rate):
		return FormatList
	}
	head := text
	if len(head) > 4096 {
		head = head[:4096]
	}
	switch {
	case strings.HasPrefix(strings.TrimSpace(head), "ipvsadm v"):
		return FormatVersion
	case strings.Contains(head, "Pro FromIP"):
		return FormatProcConns
	case strings.Contains(head, "IPVS connection entries") || strings.Contains(head, "pro expire state"):
		return FormatConns
	case strings.Contains(head, "Conns/s") || (strings.Contains(head, "Total Incoming") && strings.Contains(head, "Packets")):
		return FormatProcStats
	case reHexSvc.MatchString(head):
		return FormatProc
	case strings.Contains(head, "IP Virtual Server version") || strings.Contains(head, "Prot LocalAddress:Port"),
		strings.HasPrefix(strings.TrimSpace(head), "Timeout (tcp tcpfin udp):"): // `ipvsadm -L --timeout` alone
		return FormatList
	case reSave.MatchString(head):
		return FormatSave
	}
	if f.ipvsadm {
		// `ipvsadm` alone lists the table.
		return FormatList
	}
	return FormatUnknown
}

// Parse parses any of the formats, as Detect decides.
func Parse(doc evidence.Doc) (*evidence.IPVS, []evidence.Problem) {
	switch Detect(doc.Command, doc.Text) {
	case FormatList, FormatProc:
		return ParseList(doc)
	case FormatConns, FormatProcConns:
		return ParseConns(doc)
	case FormatSave:
		return ParseSave(doc)
	case FormatProcStats:
		return ParseProcStats(doc)
	case FormatVersion:
		return nil, nil
	}
	ipvs := &evidence.IPVS{}
	if strings.TrimSpace(doc.Text) == "" {
		return ipvs, nil
	}
	var probs []evidence.Problem
	if ev, ok := Unavailable(doc); ok {
		probs = append(probs, doc.Problemf(ev.Ref.Line-lineBase(doc), "ipvsadm could not read the IPVS table: %s", ev.Detail))
		return nil, probs
	}
	return nil, append(probs, doc.Problemf(-1, "not an ipvsadm or /proc/net/ip_vs output"))
}

func lineBase(doc evidence.Doc) int {
	if doc.Start < 1 {
		return 1
	}
	return doc.Start
}

// unavailable are the messages ipvsadm (and cat) print when the kernel has
// no IPVS: the module is not loaded, not built, or cannot be loaded.
var unavailable = []string{
	"Can't initialize ipvs",
	"Protocol not available",
	"Are you sure that IP Virtual Server is built",
	"cannot open file /proc/net/ip_vs",
	"/proc/net/ip_vs: No such file or directory",  // GNU cat
	"/proc/net/ip_vs': No such file or directory", // busybox cat
	"/proc/net/ip_vs_conn: No such file or directory",
	"/proc/net/ip_vs_conn': No such file or directory",
	"/proc/net/ip_vs_stats: No such file or directory",
	"/proc/net/ip_vs_stats': No such file or directory",
	"modprobe: FATAL: Module ip_vs not found",
}

// Unavailable reports whether the output says IPVS is missing from the
// kernel, as an event that rules treat like keepalived's own complaint.
func Unavailable(doc evidence.Doc) (evidence.LogEvent, bool) {
	head := doc.Text
	if len(head) > 4096 {
		head = head[:4096]
	}
	found := false
	for _, m := range unavailable {
		if strings.Contains(head, m) {
			found = true
			break
		}
	}
	if !found {
		return evidence.LogEvent{}, false
	}
	for i, l := range strings.Split(head, "\n") {
		for _, m := range unavailable {
			if strings.Contains(l, m) {
				return evidence.LogEvent{
					Kind:    evidence.LogIPVSInitFailed,
					Subject: "ipvs",
					Detail:  strings.TrimSpace(l),
					Ref:     doc.Ref(i, l),
				}, true
			}
		}
	}
	return evidence.LogEvent{}, false
}

// problems collects problems up to a bound: a million garbage lines must
// not become a million problems.
type problems struct {
	doc     evidence.Doc
	list    []evidence.Problem
	dropped int
}

const maxProblems = 50

func (p *problems) add(i int, format string, args ...any) {
	if len(p.list) >= maxProblems {
		p.dropped++
		return
	}
	p.list = append(p.list, p.doc.Problemf(i, format, args...))
}

func (p *problems) done() []evidence.Problem {
	if p.dropped > 0 {
		p.list = append(p.list, p.doc.Problemf(-1, "%d more lines could not be understood", p.dropped))
	}
	return p.list
}

// Partial reports whether the command printed only part of the table: a
// pipe through grep/head, or a listing of one service (-t/-u/-f).
func Partial(command string) bool {
	if strings.ContainsAny(command, "|") {
		return true
	}
	f := parseCommand(command)
	return f.ipvsadm && f.service
}
