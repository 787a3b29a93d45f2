package libvirt

import (
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
)

// virshOpts are virsh's global options before the subcommand.
const virshOpts = `^virsh(?:\s+(?:-c|--connect)\s+\S+|\s+-[a-z]+)*\s+`

// Formats is what this package reads: virsh dumpxml, nwfilter-dumpxml,
// list and nwfilter-list, and a libvirt XML file told by its content.
func Formats() []format.Format {
	return []format.Format{
		{
			Name:     "virsh-dumpxml",
			Commands: format.Patterns(virshOpts + `dumpxml\b`),
			Files:    format.Patterns(`(?i)^(?:virsh[-_])?dumpxml` + format.FileTail),
			Sniff:    sniffDomainXML,
			Apply:    format.LimitedProblems(applyDomainXML),
		},
		{
			Name:     "virsh-nwfilter-dumpxml",
			Commands: format.Patterns(virshOpts + `nwfilter-dumpxml\b`),
			Files:    format.Patterns(`(?i)^(?:virsh[-_])?nwfilter[-_]dumpxml` + format.FileTail),
			Sniff:    sniffFilterXML,
			Apply:    format.LimitedProblems(applyFilterXML),
		},
		{
			// The domain list: recorded as collected, nothing in it is a fact
			// a rule reads.
			Name:     "virsh-list",
			Commands: format.Patterns(virshOpts + `list\b`),
			Apply:    format.LimitedProblems(applyVirshList),
		},
		{
			Name:     "virsh-nwfilter-list",
			Commands: format.Patterns(virshOpts + `nwfilter-list\b`),
			Files:    format.Patterns(`(?i)^(?:virsh[-_])?nwfilter[-_]list` + format.FileTail),
			Apply:    format.LimitedProblems(applyNWFilterList),
		},
		{
			// A libvirt XML file: a domain or a filter, told by its content.
			Name:  "libvirt-xml",
			Files: format.Patterns(`(?i)\.xml$`),
			Apply: format.LimitedProblems(applyXML),
		},
	}
}

var virshListRe = regexp.MustCompile(`^\s*(?:\d+|-)\s+\S+\s+(?:running|shut off|paused|idle|in shutdown|crashed|pmsuspended|blocked)\s*$`)

func applyVirshList(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	var probs []evidence.Problem
	for i, l := range doc.Lines() {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "Id") || strings.HasPrefix(t, "---") || virshListRe.MatchString(l) {
			continue
		}
		probs = append(probs, doc.Problemf(i, "not a virsh list row: %q", t))
	}
	h.MarkSeen(evidence.KindVirshList, format.BlockRef(doc))
	return probs
}

func sniffDomainXML(head string) bool {
	s := Repair(head)
	if strings.Contains(s, "<domain type=") {
		return true
	}
	return strings.Contains(s, "<interface type=") && (strings.Contains(s, "<filterref ") || strings.Contains(s, "<source bridge=") ||
		strings.Contains(s, "<mac address="))
}

var filterSniffRe = regexp.MustCompile(`<filter name=['"][^'"]+['"](?:\s+chain=|\s*>)`)

func sniffFilterXML(head string) bool {
	s := Repair(head)
	return filterSniffRe.MatchString(s) && (strings.Contains(s, "<rule ") || strings.Contains(s, "<filterref ") || strings.Contains(s, "<uuid>"))
}

func applyDomainXML(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	ifs, probs := ParseDomain(doc)
	h.Libvirt.Interfaces = append(h.Libvirt.Interfaces, ifs...)
	ref := format.BlockRef(doc)
	if len(ifs) > 0 {
		ref = ifs[0].Ref
	}
	h.MarkSeen(evidence.KindLibvirt, ref)
	return probs
}

func applyFilterXML(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	fs, probs := ParseNWFilter(doc)
	for _, f := range fs {
		replaced := false
		for i := range h.Libvirt.Filters {
			if h.Libvirt.Filters[i].Name == f.Name && f.Name != "" {
				h.Libvirt.Filters[i] = f
				replaced = true
			}
		}
		if !replaced {
			h.Libvirt.Filters = append(h.Libvirt.Filters, f)
		}
		h.MarkSeen(evidence.KindNWFilter, f.Ref)
	}
	if len(fs) == 0 && len(probs) == 0 {
		probs = append(probs, doc.Problemf(0, "no <filter> element in nwfilter-dumpxml output"))
	}
	return probs
}

func applyNWFilterList(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	es, probs := ParseNWFilterList(doc)
	if len(es) > 0 || len(probs) == 0 {
		h.MarkSeen(evidence.KindNWFilterList, format.BlockRef(doc))
	}
	return probs
}

func applyXML(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	head := doc.Text
	if len(head) > 64<<10 {
		head = head[:64<<10]
	}
	switch {
	case sniffFilterXML(head):
		return applyFilterXML(doc, h)
	case sniffDomainXML(head):
		return applyDomainXML(doc, h)
	}
	return []evidence.Problem{doc.Problemf(0, "XML that is neither a libvirt domain nor an nwfilter: not used")}
}
