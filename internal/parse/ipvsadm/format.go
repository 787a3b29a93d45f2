package ipvsadm

import (
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
)

var (
	ipvsSniffRE = regexp.MustCompile(`(?m)^IP Virtual Server version \d+\.\d+\.\d+|^Prot LocalAddress:Port\s+(?:Scheduler|Conns|CPS|Uthreshold|Weight)|^IPVS connection entries\s*$|^pro expire state\s|^Pro FromIP\s+FPrt\s`)
	saveSniffRE = regexp.MustCompile(`(?m)^-A (?:-[tu] \S+:\d+|-f \d+|--(?:tcp|udp|sctp|fwmark)-service \S+) (?:.* )?-s \w+`)
	statSniffRE = regexp.MustCompile(`(?m)^\s*Total Incoming Outgoing\s+Incoming\s+Outgoing\s*$`)
)

// Formats is what this package reads: ipvsadm and IPVS procfs output,
// one format whatever the listing.
func Formats() []format.Format {
	return []format.Format{LocalAddrFormat(), {
		Name:     "ipvsadm",
		MaxBytes: format.LargeOutput,
		Commands: format.Patterns(
			`^(?:\S*/)?ipvsadm(?:-save)?\b`,
			`^(?:cat|less|more|head|tail)\s+(?:-\S+\s+)*/proc/net/ip_vs`,
			`^watch\b.*\bipvsadm\b`,
		),
		Files: format.Patterns(
			`^ipvsadm`,
			`^(?:proc[-_.]net[-_.])?ip_vs`,
		),
		Sniff: func(head string) bool {
			return ipvsSniffRE.MatchString(head) || saveSniffRE.MatchString(head) || statSniffRE.MatchString(head)
		},
		ErrorIsEvidence: func(doc evidence.Doc) bool {
			_, ok := Unavailable(doc)
			return ok
		},
		Apply:  apply,
		Extent: extent,
	}}
}

// extent finds an ipvsadm listing in a block of other text (a question
// pasted whole, its table in the middle): from its header line to the
// last line that is one of a listing's, elisions ("......") and blank
// lines included. Save output (-S) has no header and is left whole.
func extent(text string) (from, to int) {
	loc := ipvsSniffRE.FindStringIndex(text)
	if loc == nil {
		return 0, len(text)
	}
	from = loc[0]
	to = len(text)
	pos := from
	for pos < len(text) {
		end := strings.IndexByte(text[pos:], '\n')
		next := len(text)
		if end >= 0 {
			next = pos + end + 1
		}
		if !listingLine(strings.TrimRight(text[pos:next], "\r\n")) {
			to = pos
			break
		}
		pos = next
	}
	return from, to
}

// listingLine reports whether a line can be part of an ipvsadm listing.
func listingLine(l string) bool {
	t := strings.TrimSpace(l)
	if t == "" || strings.Trim(t, ".…⋮") == "" || ipvsSniffRE.MatchString(t) {
		return true
	}
	for _, p := range []string{"->", "TCP ", "UDP ", "SCTP ", "FWM ", "TCP\t", "UDP\t", "Prot ", "pro ", "IP Virtual Server", "Timeout (tcp", "Every "} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	for _, m := range append([]string{"No such service", "Service not defined", "sync daemon (mcast="}, unavailable...) {
		if strings.Contains(t, m) {
			return true
		}
	}
	return false
}

// apply folds any ipvsadm or /proc/net/ip_vs* output into the host's one
// IPVS table. An output saying the kernel has no IPVS becomes a log event
// instead: an empty table would claim IPVS works and has no service.
func apply(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	if ev, ok := Unavailable(doc); ok {
		h.Logs = append(h.Logs, ev)
		h.MarkSeen(evidence.KindLogs, ev.Ref)
		return nil
	}
	listing := Detect(doc.Command, doc.Text)
	ipvs, probs := Parse(doc)
	if ipvs == nil {
		return probs
	}
	h.IPVS = Merge(h.IPVS, ipvs)
	ref := format.BlockRef(doc)
	partial := Partial(doc.Command)
	switch listing {
	case FormatConns, FormatProcConns:
		if !partial {
			h.MarkSeen(evidence.KindIPVSConns, ref)
		}
	case FormatProcStats:
		h.MarkSeen(evidence.KindIPVSStats, ref)
	case FormatSave, FormatProc:
		if !partial {
			h.MarkSeen(evidence.KindIPVS, ref)
		}
	case FormatList:
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
		if !partial && hasWeights(doc.Text, ipvs) {
			h.MarkSeen(evidence.KindIPVS, ref)
		}
	}
	return probs
}

func hasWeights(text string, ipvs *evidence.IPVS) bool {
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
