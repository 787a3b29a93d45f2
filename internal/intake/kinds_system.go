package intake

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/kernel"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/libvirt"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/platform"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/probe"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/tcpdump"
)

// Kinds recorded by this file that the evidence package does not name:
// they tell a later reader what was collected, no rule needs them yet.
const (
	kindModinfo      evidence.Kind = "modinfo"
	kindNWFilterList evidence.Kind = "libvirt-nwfilter-list"
	kindVirshList    evidence.Kind = "libvirt-domain-list"
)

// sysFileTail is what may follow a command's name in a file name.
const sysFileTail = `(?:[-_][^.]*)?(?:\.(?:txt|log|out))?$`

// virshOpts are virsh's global options before the subcommand.
const virshOpts = `^virsh(?:\s+(?:-c|--connect)\s+\S+|\s+-[a-z]+)*\s+`

// systemKinds lists the formats wired in this file.
func systemKinds() []Kind {
	return []Kind{
		{
			Name:     "uname",
			Commands: re(`^uname\b`, `^cat\s+/proc/version\s*$`),
			Files:    re(`(?i)^(?:uname|proc[-_]version)` + sysFileTail),
			Sniff:    sniffUname,
			Apply:    sysLimit(applyUname),
		},
		{
			Name:     "grubby",
			Commands: re(`^grubby\b`),
			Files:    re(`(?i)^grubby` + sysFileTail),
			Sniff:    sniffGrubby,
			Apply:    sysLimit(applyGrubby),
		},
		{
			Name: "kernel-packages",
			Commands: re(`^rpm\s+(?:-\w*q\w*|--query)\b`, `^dpkg\s+(?:-l|--list)\b`, `^dpkg-query\s+(?:-l|--list)\b`,
				`^(?:yum|dnf)\s+list\s+(?:installed\s+)?kernel`),
			Files: re(`(?i)^(?:rpm|dpkg)`+sysFileTail, `(?i)^(?:installed[-_])?kernels?(?:[-_]installed)?(?:\.(?:txt|log|out))?$`),
			Sniff: sniffKernelPackages,
			Apply: sysLimit(applyKernelPackages),
		},
		{
			Name:     "ls-boot",
			Commands: re(`^ls\b[^|]*\s/boot(?:/|\s|$)`),
			Files:    re(`(?i)^ls[-_]boot` + sysFileTail),
			Apply:    sysLimit(applyBootDir),
		},
		{
			Name:     "lsmod",
			Commands: re(`^lsmod\b`, `^cat\s+/proc/modules\b`),
			Files:    re(`(?i)^(?:lsmod|proc[-_]modules)` + sysFileTail),
			Sniff:    sniffLsmod,
			Apply:    sysLimit(applyLsmod),
		},
		{
			Name:     "modinfo",
			Commands: re(`^modinfo\b`),
			Files:    re(`(?i)^modinfo` + sysFileTail),
			Sniff:    sniffModinfo,
			Apply:    sysLimit(applyModinfo),
		},
		{
			Name:     "os-release",
			Commands: re(`^cat\s+(?:/etc|/usr/lib)/[\w.-]*release\s*$`, `^cat\s+/etc/\*-?release\s*$`),
			Files:    re(`(?i)^(?:os|redhat|centos|openeuler|euleros|system|rocky|almalinux|kylin)[-_]release(?:\.(?:txt|log|out))?$`),
			Sniff:    sniffOSRelease,
			Apply:    sysLimit(applyOSRelease),
		},
		{
			Name:     "hostnamectl",
			Commands: re(`^hostnamectl(?:\s+status)?\s*$`),
			Files:    re(`(?i)^hostnamectl` + sysFileTail),
			Sniff:    sniffHostnamectl,
			Apply:    sysLimit(applyHostnamectl),
		},
		{
			Name: "dmidecode",
			Commands: re(`^dmidecode\b`,
				`^cat\s+/sys/(?:class|devices/virtual)/dmi/id/(?:sys_vendor|product_name)(?:\s+/sys/(?:class|devices/virtual)/dmi/id/(?:sys_vendor|product_name))?\s*$`),
			Files: re(`(?i)^dmidecode`+sysFileTail, `(?i)^(?:dmi[-_])?(?:sys_vendor|product_name)(?:\.txt)?$`),
			Sniff: sniffDMI,
			Apply: sysLimit(applyDMI),
		},
		{
			Name:     "virsh-dumpxml",
			Commands: re(virshOpts + `dumpxml\b`),
			Files:    re(`(?i)^(?:virsh[-_])?dumpxml` + sysFileTail),
			Sniff:    sniffDomainXML,
			Apply:    sysLimit(applyDomainXML),
		},
		{
			Name:     "virsh-nwfilter-dumpxml",
			Commands: re(virshOpts + `nwfilter-dumpxml\b`),
			Files:    re(`(?i)^(?:virsh[-_])?nwfilter[-_]dumpxml` + sysFileTail),
			Sniff:    sniffFilterXML,
			Apply:    sysLimit(applyFilterXML),
		},
		{
			// The domain list: recorded as collected, nothing in it is a fact
			// a rule reads.
			Name:     "virsh-list",
			Commands: re(virshOpts + `list\b`),
			Apply:    sysLimit(applyVirshList),
		},
		{
			Name:     "virsh-nwfilter-list",
			Commands: re(virshOpts + `nwfilter-list\b`),
			Files:    re(`(?i)^(?:virsh[-_])?nwfilter[-_]list` + sysFileTail),
			Apply:    sysLimit(applyNWFilterList),
		},
		{
			// A libvirt XML file: a domain or a filter, told by its content.
			Name:  "libvirt-xml",
			Files: re(`(?i)\.xml$`),
			Apply: sysLimit(applyLibvirtXML),
		},
		{
			Name:     "tcpdump",
			MaxBytes: largeOutput,
			Commands: re(`^tcpdump\b`),
			Files:    re(`(?i)^tcpdump` + sysFileTail),
			Sniff:    sniffTcpdump,
			Apply:    sysLimit(applyTcpdump),
		},
		{
			Name:     "probe",
			MaxBytes: largeOutput,
			Commands: re(`^curl\b`, `^ping6?\b`, `^arping\b`, `^nc\b`, `^ncat\b`, `^netcat\b`, `^telnet\b`),
			Files:    re(`(?i)^(?:curl|ping|arping|nc|ncat|telnet)(?:[-_][^.]*)?\.(?:txt|log|out)$`),
			Sniff:    sniffProbe,
			Apply:    sysLimit(applyProbe),
		},
	}
}

// sysMaxProblems bounds what one block reports: text pasted after the
// output would otherwise produce a problem per line.
const sysMaxProblems = 20

// sysLimit trims a markdown fence that closes pasted output and caps the
// problems of one block.
func sysLimit(apply func(evidence.Doc, *evidence.Host) []evidence.Problem) func(evidence.Doc, *evidence.Host) []evidence.Problem {
	return func(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
		if i := strings.Index(doc.Text, "```"); i >= 0 && (i == 0 || doc.Text[i-1] == '\n') {
			doc.Text = doc.Text[:i]
		}
		probs := apply(doc, h)
		if len(probs) <= sysMaxProblems+1 {
			return probs
		}
		rest := probs[sysMaxProblems]
		rest.Message = fmt.Sprintf("%d more problems from here on (text pasted after the output?)", len(probs)-sysMaxProblems)
		return append(probs[:sysMaxProblems:sysMaxProblems], rest)
	}
}

// sysDocRef cites a block: its first non-blank line, or the command when it
// printed nothing.
func sysDocRef(doc evidence.Doc) evidence.Ref {
	for i, l := range doc.Lines() {
		if strings.TrimSpace(l) != "" {
			return doc.Ref(i, l)
		}
	}
	text := doc.Command
	if text == "" {
		text = "(empty output)"
	}
	r := doc.Ref(0, text)
	if doc.Command != "" && doc.Start > 1 {
		r.Line = doc.Start - 1 // the prompt line
	}
	return r
}

// firstLines returns up to n non-blank lines of head.
func firstLines(head string, n int) []string {
	var out []string
	for _, l := range strings.Split(head, "\n") {
		if t := strings.TrimSpace(l); t != "" {
			out = append(out, strings.TrimSuffix(l, "\r"))
			if len(out) == n {
				break
			}
		}
	}
	return out
}

var unameSniffRe = regexp.MustCompile(`^Linux (?:version )?\S+ \d+\.\d+\S* |^Linux version \d+\.\d+\S* \(`)

func sniffUname(head string) bool {
	l := firstLines(head, 2)
	return len(l) == 1 && unameSniffRe.MatchString(strings.TrimSpace(l[0]))
}

func applyUname(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	k, probs := kernel.ParseUname(doc)
	if k.Release == "" {
		// uname -n, -m, -s print other things: nothing to keep, nothing wrong.
		if f := strings.Fields(doc.Command); len(f) > 1 && !strings.ContainsAny(strings.Join(f[1:], " "), "ar") {
			return nil
		}
		return probs
	}
	h.Kernel.Release, h.Kernel.Ref = k.Release, k.Ref
	if k.Version != "" {
		h.Kernel.Version = k.Version
	}
	if k.Machine != "" {
		h.Kernel.Machine = k.Machine
	}
	h.MarkSeen(evidence.KindUname, k.Ref)
	return probs
}

var grubbySniffRe = regexp.MustCompile(`^index=\d+\s*\n\s*kernel=`)

func sniffGrubby(head string) bool {
	return grubbySniffRe.MatchString(strings.TrimLeft(head, " \t\r\n"))
}

func applyGrubby(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	g, probs := kernel.ParseGrubby(doc)
	g.Apply(&h.Kernel)
	switch {
	case len(g.Entries) > 0:
		h.MarkSeen(evidence.KindKernels, g.Entries[0].Ref)
	case g.DefaultKernel != "" || g.DefaultIndex >= 0:
		h.MarkSeen(evidence.KindKernels, g.DefaultRef)
	}
	return probs
}

var kernelPkgSniffRe = regexp.MustCompile(`^kernel(?:-core)?-\d+\.\d+\S*$`)

func sniffKernelPackages(head string) bool {
	lines := firstLines(head, 20)
	if len(lines) == 0 {
		return false
	}
	if strings.HasPrefix(lines[0], "Desired=Unknown/Install/Remove/Purge/Hold") {
		return strings.Contains(head, "linux-image-")
	}
	n := 0
	for _, l := range lines {
		if kernelPkgSniffRe.MatchString(strings.TrimSpace(l)) {
			n++
		}
	}
	return n > 0 && n*2 >= len(lines)
}

func applyKernelPackages(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	ks, probs := kernel.ParsePackages(doc)
	kernel.AddInstalled(&h.Kernel, ks...)
	if len(ks) > 0 {
		h.MarkSeen(evidence.KindKernels, ks[0].Ref)
	} else if len(probs) == 0 {
		h.MarkSeen(evidence.KindKernels, sysDocRef(doc))
	}
	return probs
}

func applyBootDir(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	ks, probs := kernel.ParseBootDir(doc)
	kernel.AddInstalled(&h.Kernel, ks...)
	if len(ks) > 0 {
		h.MarkSeen(evidence.KindKernels, ks[0].Ref)
	}
	return probs
}

var lsmodHeadRe = regexp.MustCompile(`^Module\s+Size\s+Used by`)

func sniffLsmod(head string) bool {
	l := firstLines(head, 1)
	return len(l) == 1 && lsmodHeadRe.MatchString(strings.TrimSpace(l[0]))
}

func applyLsmod(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	mods, probs := kernel.ParseModules(doc)
	if mods == nil {
		return probs // lsmod failed: the module list was not collected
	}
	if strings.Contains(doc.Command, "|") {
		// `lsmod | grep ip_vs` shows part of the list: what it shows is
		// loaded, what it does not show may be loaded too.
		if h.Kernel.Modules != nil {
			for m, r := range mods {
				h.Kernel.Modules[m] = r
			}
		}
		return probs
	}
	if h.Kernel.Modules == nil {
		h.Kernel.Modules = map[string]evidence.Ref{}
	}
	for m, r := range mods {
		h.Kernel.Modules[m] = r
	}
	h.MarkSeen(evidence.KindModules, sysDocRef(doc))
	return probs
}

func sniffModinfo(head string) bool {
	l := firstLines(head, 2)
	return len(l) == 2 && strings.HasPrefix(l[0], "filename:") && strings.Contains(l[0], "/kernel/") && strings.Contains(l[0], ".ko")
}

func applyModinfo(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	name := ""
	if f := strings.Fields(doc.Command); len(f) > 1 {
		name = f[len(f)-1]
	}
	m, probs := kernel.ParseModinfo(doc, name)
	if m.Found && m.Builtin && h.Kernel.Modules != nil && m.Name != "" {
		// Built into the kernel: present although lsmod never lists it.
		h.Kernel.Modules[m.Name] = m.Ref
	}
	if !m.Ref.IsZero() {
		h.MarkSeen(kindModinfo, m.Ref)
	}
	return probs
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
	l := firstLines(head, 2)
	return len(l) == 1 && releaseOneRe.MatchString(strings.TrimSpace(l[0]))
}

func applyOSRelease(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	p, probs := platform.ParseOSRelease(doc)
	if p.OSID == "" {
		return probs
	}
	platform.Merge(&h.Platform, p)
	h.MarkSeen(evidence.KindOSRelease, p.Ref)
	return probs
}

var dmiSystemRe = regexp.MustCompile(`(?m)^System Information\s*\n\s+Manufacturer:`)

func sniffDMI(head string) bool {
	return strings.HasPrefix(strings.TrimSpace(head), "# dmidecode") || dmiSystemRe.MatchString(head)
}

func sniffHostnamectl(head string) bool {
	return strings.Contains(head, "Static hostname:") && strings.Contains(head, "Operating System:")
}

func applyHostnamectl(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	hc, probs := platform.ParseHostnamectl(doc)
	platform.Merge(&h.Platform, hc.Platform)
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
	h.MarkSeen(kindVirshList, sysDocRef(doc))
	return probs
}

func applyDMI(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	p, probs := platform.ParseDMI(doc)
	if p.Manufacturer == "" && p.Product == "" {
		return probs
	}
	platform.Merge(&h.Platform, p)
	h.MarkSeen(evidence.KindDMI, p.Ref)
	return probs
}

func sniffDomainXML(head string) bool {
	s := libvirt.Repair(head)
	if strings.Contains(s, "<domain type=") {
		return true
	}
	return strings.Contains(s, "<interface type=") && (strings.Contains(s, "<filterref ") || strings.Contains(s, "<source bridge=") ||
		strings.Contains(s, "<mac address="))
}

var filterSniffRe = regexp.MustCompile(`<filter name=['"][^'"]+['"](?:\s+chain=|\s*>)`)

func sniffFilterXML(head string) bool {
	s := libvirt.Repair(head)
	return filterSniffRe.MatchString(s) && (strings.Contains(s, "<rule ") || strings.Contains(s, "<filterref ") || strings.Contains(s, "<uuid>"))
}

func applyDomainXML(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	ifs, probs := libvirt.ParseDomain(doc)
	h.Libvirt.Interfaces = append(h.Libvirt.Interfaces, ifs...)
	ref := sysDocRef(doc)
	if len(ifs) > 0 {
		ref = ifs[0].Ref
	}
	h.MarkSeen(evidence.KindLibvirt, ref)
	return probs
}

func applyFilterXML(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	fs, probs := libvirt.ParseNWFilter(doc)
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
	es, probs := libvirt.ParseNWFilterList(doc)
	if len(es) > 0 || len(probs) == 0 {
		h.MarkSeen(kindNWFilterList, sysDocRef(doc))
	}
	return probs
}

func applyLibvirtXML(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
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

var (
	tcpdumpPktRe    = regexp.MustCompile(`(?m)^\S{0,3}(?:\d{4}-\d{2}-\d{2} )?\d{1,2}:\d{2}:\d{2}\.\d{6,9} (?:IP6? |ARP, |[0-9a-fA-F]{1,2}(?::[0-9a-fA-F]{1,2}){5}\s*>|[A-Za-z][\w.@-]*\s+(?:In|Out|B|M|P)\s|\s?(?:In|Out) [0-9a-fA-F]{2}:)`)
	tcpdumpHeaderRe = regexp.MustCompile(`(?m)^(?:tcpdump: )?listening on \S+, link-type `)
)

func sniffTcpdump(head string) bool {
	return tcpdumpHeaderRe.MatchString(head) || len(tcpdumpPktRe.FindAllStringIndex(head, 2)) == 2 ||
		len(firstLines(head, 2)) == 1 && tcpdumpPktRe.MatchString(head)
}

func applyTcpdump(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	frames, probs := tcpdump.Parse(doc)
	if len(frames) == 0 && writesFile(doc.Command) {
		// tcpdump -w FILE prints only its header: the packets are in the file.
		return probs
	}
	h.Frames = append(h.Frames, frames...)
	ref := sysDocRef(doc)
	if len(frames) > 0 {
		ref = frames[0].Ref
	}
	h.MarkSeen(evidence.KindFrames, ref)
	return probs
}

// writesFile reports whether a tcpdump command line saves to a file (-w
// FILE, -wFILE, or -w ending a group of flags such as -nnw FILE).
func writesFile(cmd string) bool {
	for _, f := range strings.Fields(cmd) {
		if len(f) >= 2 && f[0] == '-' && f[1] != '-' && strings.Contains(f, "w") {
			return true
		}
	}
	return false
}

// probeSniffRe finds the lines only these tools print; curl's verbose
// lines may follow its progress meter on the same line.
var probeSniffRe = regexp.MustCompile(`\*\s+Trying [0-9a-fA-F.:\[\]]+\.\.\.|\* Connected to \S+ \(|(?m)^(?:PING \S+ \([0-9a-fA-F.:]+\) \d+\(\d+\) bytes of data\.|ARPING \S+|curl: \(\d+\) |Connection to \S+ \d+ port \[\w+/[^\]]*\] succeeded!|nc: connect to \S+ port \d+|Ncat: (?:Connected|Connection|Version)|telnet: (?:Unable to connect|connect to address))`)

func sniffProbe(head string) bool { return probeSniffRe.MatchString(head) }

func applyProbe(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	obs, probs := probe.Parse(doc)
	h.Observations = append(h.Observations, obs...)
	ref := sysDocRef(doc)
	if len(obs) > 0 {
		ref = obs[0].Ref
	}
	h.MarkSeen(evidence.KindObserved, ref)
	return probs
}
