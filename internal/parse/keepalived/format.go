package keepalived

import (
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/kubeproxy"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/syslog"
)

// confSniffRE: a top-level block keepalived has and nothing else has.
var confSniffRE = regexp.MustCompile(`(?m)^\s*(?:(?:vrrp_instance|vrrp_sync_group|vrrp_script|virtual_server_group|local_address_group)\s+\S+|virtual_server\s+(?:\S+\s+\d+|fwmark\s+\d+|group\s+\S+)|global_defs)\s*(?:\{|$)`)

// instanceBlockRE: a block only a vrrp_instance opens, quoted without its
// instance ("unicast_peer {").
var instanceBlockRE = regexp.MustCompile(`(?m)^\s*(?:unicast_peer|virtual_ipaddress|virtual_ipaddress_excluded|track_script|track_interface)\s*\{\s*$`)

// Formats is what this package reads: keepalived.conf, and `keepalived -v`.
func Formats() []format.Format {
	return []format.Format{
		{
			Name: "keepalived-conf",
			Commands: format.Patterns(
				`^(?:cat|less|more|view|vi|vim|nano|bat|head)\s+(?:-\S+\s+)*\S*keepalived\S*\.conf\b`,
				`^(?:cat|less|more|view|vi|vim|nano|bat)\s+(?:-\S+\s+)*\S*/keepalived/\S+`,
			),
			Files: format.Patterns(`^keepalived.*\.conf$`),
			Sniff: func(head string) bool {
				return confSniffRE.MatchString(head) || fragmentText(head) || instanceBlockRE.MatchString(head)
			},
			Apply: applyConf,
		},
		{
			Name:     "keepalived-version",
			Commands: format.Patterns(`^(?:\S*/)?keepalived\s+(?:-v|--version)\b`),
			Files:    format.Patterns(`^keepalived[-_](?:v|version)(?:\.(?:txt|log|out))?$`),
			Sniff:    func(head string) bool { return strings.HasPrefix(strings.TrimSpace(head), "Keepalived v") },
			Apply:    applyVersion,
		},
	}
}

// applyConf parses a keepalived.conf; files it includes come through
// doc.Include, which intake sets for case directories.
func applyConf(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	if off, ok := kubeproxy.Tail(doc.Text); ok {
		// A kube-proxy manifest pasted after the configuration is not
		// keepalived's: its lines are kube-proxy's settings.
		tail := doc
		tail.Text = doc.Text[off:]
		tail.Start = max(doc.Start, 1) + strings.Count(doc.Text[:off], "\n")
		kubeproxy.Apply(tail, h)
		doc.Text = doc.Text[:off]
	}
	cfg, probs := ParseConfig(doc)
	h.Keepalived = mergeConf(h.Keepalived, cfg)
	h.MarkSeen(evidence.KindKeepalived, format.BlockRef(doc))
	return probs
}

// mergeConf combines the configuration files of one host (a main file and
// conf.d files given on their own), skipping what was already read through
// an include.
func mergeConf(dst, src *evidence.KeepalivedConfig) *evidence.KeepalivedConfig {
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
	if dst.LVSSyncDaemon == nil {
		dst.LVSSyncDaemon = src.LVSSyncDaemon
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

// applyVersion keeps keepalived's version line.
func applyVersion(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
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

// lvsLine is a line of virtual_server settings: a keyword with a value.
var lvsLine = regexp.MustCompile(`^\s*([a-z][a-z0-9]*_[a-z0-9_]+)\s+[^\s{}]+(?:\s+[^\s{}]+)?\s*$`)

// LVSKeywordLine reports whether line is a virtual_server setting on its
// own ("persistence_timeout 4294967295", "lb_kind DR"): a keyword only
// keepalived.conf has, with its value. People quote the line of their
// configuration that matters without the block around it.
func LVSKeywordLine(line string) bool {
	m := lvsLine.FindStringSubmatch(line)
	return m != nil && knownSet["virtual_server"][m[1]] && !knownSet["top"][m[1]]
}

// fragmentText reports whether text is only such lines (a few).
func fragmentText(text string) bool {
	n := 0
	for _, l := range strings.Split(text, "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if n++; n > 20 || !LVSKeywordLine(l) {
			return false
		}
	}
	return n > 0
}
