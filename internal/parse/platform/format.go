package platform

import (
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
)

// Formats is what this package reads: os-release and the one-line
// release files, hostnamectl, dmidecode and the DMI id files.
func Formats() []format.Format {
	return []format.Format{
		{
			Name:     "os-release",
			Commands: format.Patterns(`^cat\s+(?:/etc|/usr/lib)/[\w.-]*release\s*$`, `^cat\s+/etc/\*-?release\s*$`),
			Files:    format.Patterns(`(?i)^(?:os|redhat|centos|openeuler|euleros|system|rocky|almalinux|kylin)[-_]release(?:\.(?:txt|log|out))?$`),
			Sniff:    sniffOSRelease,
			Apply:    format.LimitedProblems(applyOSRelease),
		},
		{
			Name:     "hostnamectl",
			Commands: format.Patterns(`^hostnamectl(?:\s+status)?\s*$`),
			Files:    format.Patterns(`(?i)^hostnamectl` + format.FileTail),
			Sniff: func(head string) bool {
				return strings.Contains(head, "Static hostname:") && strings.Contains(head, "Operating System:")
			},
			Apply: format.LimitedProblems(applyHostnamectl),
		},
		{
			Name: "dmidecode",
			Commands: format.Patterns(`^dmidecode\b`,
				`^cat\s+/sys/(?:class|devices/virtual)/dmi/id/(?:sys_vendor|product_name)(?:\s+/sys/(?:class|devices/virtual)/dmi/id/(?:sys_vendor|product_name))?\s*$`),
			Files: format.Patterns(`(?i)^dmidecode`+format.FileTail, `(?i)^(?:dmi[-_])?(?:sys_vendor|product_name)(?:\.txt)?$`),
			Sniff: sniffDMI,
			Apply: format.LimitedProblems(applyDMI),
		},
	}
}

var (
	osIDRe       = regexp.MustCompile(`(?m)^ID="?[\w.-]+"?\s*$`)
	osNameRe     = regexp.MustCompile(`(?m)^(?:NAME|VERSION_ID|PRETTY_NAME)=`)
	releaseOneRe = regexp.MustCompile(`^(?:CentOS|Red Hat|openEuler|EulerOS|Huawei Cloud EulerOS|Rocky|AlmaLinux|Fedora|Anolis|Alibaba Cloud Linux|Kylin|Oracle Linux|TencentOS)\b.* release \d`)
)

func sniffOSRelease(head string) bool {
	if osIDRe.MatchString(head) && osNameRe.MatchString(head) {
		return true
	}
	l := format.FirstLines(head, 2)
	return len(l) == 1 && releaseOneRe.MatchString(strings.TrimSpace(l[0]))
}

func applyOSRelease(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	p, probs := ParseOSRelease(doc)
	if p.OSID == "" {
		return probs
	}
	Merge(&h.Platform, p)
	h.MarkSeen(evidence.KindOSRelease, p.Ref)
	return probs
}

var dmiSystemRe = regexp.MustCompile(`(?m)^System Information\s*\n\s+Manufacturer:`)

func sniffDMI(head string) bool {
	return strings.HasPrefix(strings.TrimSpace(head), "# dmidecode") || dmiSystemRe.MatchString(head)
}

func applyHostnamectl(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	hc, probs := ParseHostnamectl(doc)
	Merge(&h.Platform, hc.Platform)
	if hc.Platform.OSID != "" {
		h.MarkSeen(evidence.KindOSRelease, hc.Platform.Ref)
	}
	if hc.Platform.Manufacturer != "" || hc.Platform.Product != "" {
		h.MarkSeen(evidence.KindDMI, hc.Platform.Ref)
	}
	if hc.Kernel != "" && h.Kernel.Release == "" {
		h.Kernel.Release, h.Kernel.Ref = hc.Kernel, hc.KernelRef
		h.MarkSeen(evidence.KindUname, hc.KernelRef)
	}
	return probs
}

func applyDMI(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	p, probs := ParseDMI(doc)
	if p.Manufacturer == "" && p.Product == "" {
		return probs
	}
	Merge(&h.Platform, p)
	h.MarkSeen(evidence.KindDMI, p.Ref)
	return probs
}
