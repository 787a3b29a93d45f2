package intake

import (
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/ipvsadm"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/keepalived"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/syslog"
)

var (
	lvsIPVSSniffRE = regexp.MustCompile(`(?m)^IP Virtual Server version \d+\.\d+\.\d+|^Prot LocalAddress:Port\s+(?:Scheduler|Conns|CPS|Uthreshold|Weight)|^IPVS connection entries\s*$|^pro expire state\s|^Pro FromIP\s+FPrt\s`)
	lvsSaveSniffRE = regexp.MustCompile(`(?m)^-A (?:-[tu] \S+:\d+|-f \d+|--(?:tcp|udp|sctp|fwmark)-service \S+) (?:.* )?-s \w+`)
	lvsStatSniffRE = regexp.MustCompile(`(?m)^\s*Total Incoming Outgoing\s+Incoming\s+Outgoing\s*$`)
	// keepalived.conf: a top-level block keepalived has and nothing else has
	lvsConfSniffRE = regexp.MustCompile(`(?m)^\s*(?:(?:vrrp_instance|vrrp_sync_group|vrrp_script|virtual_server_group|local_address_group)\s+\S+|virtual_server\s+(?:\S+\s+\d+|fwmark\s+\d+|group\s+\S+)|global_defs)\s*(?:\{|$)`)
	// keepalived's own log lines, kernel lines lvsdoctor reads
	lvsLogSniffRE = regexp.MustCompile(`(?m)\bKeepalived(?:_vrrp|_healthcheckers|_checker|_bfd)?(?:\[\d+\])?: |^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4}: (?:Starting Keepalived|\(\S+\) Entering \w+ STATE)|^\[\s*\d+\.\d{6}\] |^\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4}\] |^[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \S+ kernel: |^\((?:\S+: )?Line \d+\) (?:Unknown keyword|PARSER)`)
)

// lvsKinds lists the formats wired in this file: ipvsadm and IPVS procfs,
// keepalived.conf, keepalived and kernel logs.
func lvsKinds() []Kind {
	return []Kind{
		{
			Name:     "ipvsadm",
			MaxBytes: largeOutput,
			Commands: re(
				`^(?:\S*/)?ipvsadm(?:-save)?\b`,
				`^(?:cat|less|more|head|tail)\s+(?:-\S+\s+)*/proc/net/ip_vs`,
				`^watch\b.*\bipvsadm\b`,
			),
			Files: re(
				`^ipvsadm`,
				`^(?:proc[-_.]net[-_.])?ip_vs`,
			),
			Sniff: func(head string) bool {
				return lvsIPVSSniffRE.MatchString(head) || lvsSaveSniffRE.MatchString(head) || lvsStatSniffRE.MatchString(head)
			},
			ErrorIsEvidence: func(doc evidence.Doc) bool {
				_, ok := ipvsadm.Unavailable(doc)
				return ok
			},
			Apply: applyIPVS,
		},
		{
			Name: "keepalived-conf",
			Commands: re(
				`^(?:cat|less|more|view|vi|vim|nano|bat|head)\s+(?:-\S+\s+)*\S*keepalived\S*\.conf\b`,
				`^(?:cat|less|more|view|vi|vim|nano|bat)\s+(?:-\S+\s+)*\S*/keepalived/\S+`,
			),
			Files: re(`^keepalived.*\.conf$`),
			Sniff: func(head string) bool { return lvsConfSniffRE.MatchString(head) },
			Apply: applyKeepalivedConf,
		},
		{
			Name:     "keepalived-version",
			Commands: re(`^(?:\S*/)?keepalived\s+(?:-v|--version)\b`),
			Files:    re(`^keepalived[-_](?:v|version)(?:\.(?:txt|log|out))?$`),
			Sniff:    func(head string) bool { return strings.HasPrefix(strings.TrimSpace(head), "Keepalived v") },
			Apply:    applyKeepalivedVersion,
		},
		{
			Name:     "logs",
			MaxBytes: largeOutput,
			Commands: re(
				`^journalctl\b`,
				`^(?:\S*/)?dmesg\b`,
				`^(?:\S*/)?keepalived\b.*\s(?:-t|--config-test)\b`,
				`^(?:cat|less|more|tail|head|zcat|grep|egrep|zgrep)\b.*(?:/var/log/(?:messages|syslog|kern\.log|keepalived)|keepalived\S*\.log)`,
			),
			Files: re(
				`^keepalived.*\.log$`,
				`^journal`,
				`^messages(?:[-.]\d+)?(?:\.(?:txt|log))?$`,
				`^dmesg`,
				`^kern\.log`,
				`^syslog(?:[-.]\d+)?(?:\.(?:txt|log))?$`,
			),
			Sniff: func(head string) bool { return lvsLogSniffRE.MatchString(head) },
			Apply: applyLogs,
		},
	}
}

// lvsDocRef is the reference a whole block is cited by: its first line
// that is not blank. The lines are walked, not split out: a block can be
// a million-line connection table.
func lvsDocRef(doc evidence.Doc) evidence.Ref {
	text, more := strings.TrimSuffix(doc.Text, "\n"), doc.Text != ""
	for i := 0; more; i++ {
		var l string
		l, text, more = strings.Cut(text, "\n")
		if l = strings.TrimSuffix(l, "\r"); strings.TrimSpace(l) != "" {
			r := doc.Ref(i, l)
			r.Text = strings.Clone(r.Text) // not the whole block kept alive by one line
			return r
		}
	}
	line := doc.Start - 1
	if line < 1 {
		line = 1
	}
	return evidence.Ref{Host: doc.Host, Source: doc.Source, Line: line, Text: doc.Command}
}

// applyIPVS folds any ipvsadm or /proc/net/ip_vs* output into the host's
// one IPVS table. An output saying the kernel has no IPVS becomes a log
// event instead: an empty table would claim IPVS works and has no service.
func applyIPVS(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	if ev, ok := ipvsadm.Unavailable(doc); ok {
		h.Logs = append(h.Logs, ev)
		h.MarkSeen(evidence.KindLogs, ev.Ref)
		return nil
	}
	format := ipvsadm.Detect(doc.Command, doc.Text)
	ipvs, probs := ipvsadm.Parse(doc)
	if ipvs == nil {
		return probs
	}
	h.IPVS = ipvsadm.Merge(h.IPVS, ipvs)
	ref := lvsDocRef(doc)
	partial := ipvsadm.Partial(doc.Command)
	switch format {
	case ipvsadm.FormatConns, ipvsadm.FormatProcConns:
		if !partial {
			h.MarkSeen(evidence.KindIPVSConns, ref)
		}
	case ipvsadm.FormatProcStats:
		h.MarkSeen(evidence.KindIPVSStats, ref)
	case ipvsadm.FormatSave, ipvsadm.FormatProc:
		if !partial {
			h.MarkSeen(evidence.KindIPVS, ref)
		}
	case ipvsadm.FormatList:
		stats := false
		for _, s := range ipvs.Services {
			if s.Stats != nil || s.Rate != nil {
				stats = true
			}
		}
		if stats {
			h.MarkSeen(evidence.KindIPVSStats, ref)
		}
		// Only a listing with the Forward/Weight columns says what each
		// real server gets; --stats alone would read as weight 0.
		if !partial && lvsHasWeights(doc.Text, ipvs) {
			h.MarkSeen(evidence.KindIPVS, ref)
		}
	}
	return probs
}

func lvsHasWeights(text string, ipvs *evidence.IPVS) bool {
	for _, s := range ipvs.Services {
		if s.Scheduler != "" {
			for _, d := range s.Dests {
				if d.Method == "" {
					return false
				}
			}
			return true
		}
	}
	// an empty table: the plain title says which listing it was
	return len(ipvs.Services) == 0 && strings.Contains(text, "Scheduler Flags")
}

// applyKeepalivedConf parses a keepalived.conf; files it includes come
// through doc.Include, which intake sets for case directories.
func applyKeepalivedConf(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	cfg, probs := keepalived.ParseConfig(doc)
	h.Keepalived = lvsMergeConf(h.Keepalived, cfg)
	h.MarkSeen(evidence.KindKeepalived, lvsDocRef(doc))
	return probs
}

// lvsMergeConf combines the configuration files of one host (a main file
// and conf.d files given on their own), skipping what was already read
// through an include.
func lvsMergeConf(dst, src *evidence.KeepalivedConfig) *evidence.KeepalivedConfig {
	if dst == nil {
		return src
	}
	if src == nil {
		return dst
	}
	if dst.RouterID == "" {
		dst.RouterID = src.RouterID
	}
	if dst.VRRPStrict == nil {
		dst.VRRPStrict = src.VRRPStrict
	}
	seen := map[evidence.Ref]bool{}
	for _, v := range dst.VRRPInstances {
		seen[v.Ref] = true
	}
	for _, v := range dst.VirtualServers {
		seen[v.Ref] = true
	}
	for _, v := range src.VRRPInstances {
		if !seen[v.Ref] {
			dst.VRRPInstances = append(dst.VRRPInstances, v)
		}
	}
	for _, v := range src.VirtualServers {
		if !seen[v.Ref] {
			dst.VirtualServers = append(dst.VirtualServers, v)
		}
	}
	issues := map[evidence.Ref]bool{}
	for _, i := range dst.Issues {
		issues[i.Ref] = true
	}
	for _, i := range src.Issues {
		if !issues[i.Ref] {
			dst.Issues = append(dst.Issues, i)
		}
	}
	if dst.LocalAddrGroups == nil {
		dst.LocalAddrGroups = map[string][]evidence.KAddrRange{}
	}
	for k, v := range src.LocalAddrGroups {
		if _, ok := dst.LocalAddrGroups[k]; !ok {
			dst.LocalAddrGroups[k] = v
		}
	}
	if dst.VSGroups == nil {
		dst.VSGroups = map[string][]evidence.KVSGroupEntry{}
	}
	for k, v := range src.VSGroups {
		if _, ok := dst.VSGroups[k]; !ok {
			dst.VSGroups[k] = v
		}
	}
	return dst
}

// applyLogs keeps the keepalived and kernel log lines that matter.
func applyKeepalivedVersion(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	ev, ok := syslog.KeepalivedVersion(doc)
	if !ok {
		if strings.TrimSpace(doc.Text) == "" {
			return nil // it printed nothing where it was captured (stderr lost)
		}
		return []evidence.Problem{doc.Problemf(-1, "keepalived -v: no \"Keepalived vX.Y.Z\" line")}
	}
	h.Logs = append(h.Logs, ev)
	return nil
}

func applyLogs(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	evs, probs := syslog.ParseLog(doc)
	h.Logs = append(h.Logs, evs...)
	h.MarkSeen(evidence.KindLogs, lvsDocRef(doc))
	return probs
}
