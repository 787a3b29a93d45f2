// Package platform parses what a host says it runs on: the distribution
// (/etc/os-release, /etc/*-release) and the machine (dmidecode, the DMI
// files under /sys/class/dmi/id). The machine matters because public clouds
// and OpenStack drop frames whose source address is not the port's own,
// which breaks LVS DR and TUN replies (net.vpc-antispoof).
package platform

import (
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// ParseOSRelease reads /etc/os-release (KEY="value" lines) or a one-line
// release file such as /etc/redhat-release ("CentOS Linux release 7.9.2009
// (Core)"). It fills OSID, OSVersion and Ref (the ID line).
func ParseOSRelease(doc evidence.Doc) (evidence.Platform, []evidence.Problem) {
	var p evidence.Platform
	var probs []evidence.Problem
	var versionRef, prettyRef evidence.Ref
	var pretty string
	for i, line := range doc.Lines() {
		s := strings.TrimSpace(line)
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		key, val, ok := strings.Cut(s, "=")
		if ok && isEnvKey(key) {
			val = unquote(val)
			switch key {
			case "ID":
				p.OSID, p.Ref = val, doc.Ref(i, line)
			case "VERSION_ID":
				p.OSVersion, versionRef = val, doc.Ref(i, line)
			case "PRETTY_NAME":
				pretty, prettyRef = val, doc.Ref(i, line)
			}
			continue
		}
		if id, ver, ok := releaseLine(s); ok {
			if p.OSID == "" {
				p.OSID, p.OSVersion, p.Ref = id, ver, doc.Ref(i, line)
			}
			continue
		}
		probs = append(probs, doc.Problemf(i, "not an os-release line: %q", evidence.Clip(s, 80)))
	}
	if p.OSID == "" && pretty != "" {
		// Some minimal images ship only NAME/PRETTY_NAME.
		if id, ver, ok := releaseLine(pretty); ok {
			p.OSID, p.OSVersion = id, ver
		} else {
			p.OSID, p.OSVersion = prettyOS(pretty)
		}
		p.Ref = prettyRef
	}
	if p.Ref.IsZero() {
		p.Ref = versionRef
	}
	return p, probs
}

func isEnvKey(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for _, r := range k {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

var releaseRe = regexp.MustCompile(`^(.+?)\s+release\s+(\d[\w.\-]*)`)

// releaseIDs maps the names of /etc/*-release one-liners to os-release IDs.
var releaseIDs = map[string]string{
	"centos linux": "centos", "centos stream": "centos", "centos": "centos",
	"red hat enterprise linux server": "rhel", "red hat enterprise linux": "rhel",
	"rocky linux": "rocky", "almalinux": "almalinux", "fedora": "fedora",
	"openeuler": "openEuler", "euleros": "euleros", "huawei cloud euleros": "hce",
	"anolis os": "anolis", "alibaba cloud linux": "alinux", "kylin linux advanced server": "kylin",
	"oracle linux server": "ol", "tencentos server": "tencentos",
}

func releaseLine(s string) (id, ver string, ok bool) {
	m := releaseRe.FindStringSubmatch(s)
	if m == nil {
		return "", "", false
	}
	name := strings.ToLower(strings.TrimSpace(m[1]))
	if id, ok := releaseIDs[name]; ok {
		return id, m[2], true
	}
	f := strings.Fields(name)
	return f[0], m[2], true
}

// prettyIDs maps the start of a distribution's pretty name (hostnamectl's
// "Operating System", os-release's PRETTY_NAME) to its os-release ID,
// longest names first.
var prettyIDs = []struct{ name, id string }{
	{"huawei cloud euleros", "hce"}, {"alibaba cloud linux", "alinux"}, {"red hat enterprise linux", "rhel"},
	{"kylin linux advanced server", "kylin"}, {"suse linux enterprise server", "sles"}, {"oracle linux server", "ol"},
	{"debian gnu/linux", "debian"}, {"centos stream", "centos"}, {"centos linux", "centos"}, {"rocky linux", "rocky"},
	{"fedora linux", "fedora"}, {"tencentos server", "tencentos"}, {"anolis os", "anolis"}, {"opensuse", "opensuse"},
	{"openeuler", "openEuler"}, {"euleros", "euleros"}, {"almalinux", "almalinux"}, {"ubuntu", "ubuntu"},
	{"centos", "centos"}, {"debian", "debian"}, {"fedora", "fedora"},
}

// prettyOS reads "openEuler 22.03 LTS", "Ubuntu 22.04.5 LTS", "CentOS Linux
// 7 (Core)" into an os-release ID and version.
func prettyOS(pretty string) (id, version string) {
	l := strings.ToLower(strings.TrimSpace(pretty))
	for _, p := range prettyIDs {
		if strings.HasPrefix(l, p.name) {
			id = p.id
			break
		}
	}
	f := strings.Fields(pretty)
	if id == "" && len(f) > 0 {
		id = strings.ToLower(f[0])
	}
	for _, w := range f {
		if w != "" && w[0] >= '0' && w[0] <= '9' {
			version = strings.Trim(w, "(),")
			break
		}
	}
	return id, version
}

// Hostnamectl is what `hostnamectl` shows: the distribution, the machine
// (systemd reads the same DMI strings as dmidecode) and the kernel.
type Hostnamectl struct {
	Platform       evidence.Platform
	Kernel         string // the release, from "Kernel: Linux 5.15.0-141-generic"
	KernelRef      evidence.Ref
	Virtualization string
}

// ParseHostnamectl reads `hostnamectl` (or `hostnamectl status`) output.
func ParseHostnamectl(doc evidence.Doc) (Hostnamectl, []evidence.Problem) {
	var h Hostnamectl
	var probs []evidence.Problem
	var osRef evidence.Ref
	for i, line := range doc.Lines() {
		s := strings.TrimSpace(line)
		if s == "" {
			continue
		}
		key, val, ok := strings.Cut(s, ":")
		if !ok {
			probs = append(probs, doc.Problemf(i, "not hostnamectl output: %q", evidence.Clip(s, 80)))
			continue
		}
		val = strings.TrimSpace(val)
		switch strings.TrimSpace(key) {
		case "Operating System":
			h.Platform.OSID, h.Platform.OSVersion = prettyOS(val)
			osRef = doc.Ref(i, line)
		case "Kernel":
			if f := strings.Fields(val); len(f) == 2 && f[0] == "Linux" {
				h.Kernel, h.KernelRef = f[1], doc.Ref(i, line)
			}
		case "Hardware Vendor":
			h.Platform.Manufacturer = val
			h.Platform.Ref = doc.Ref(i, line)
		case "Hardware Model":
			h.Platform.Product = val
			if h.Platform.Ref.IsZero() {
				h.Platform.Ref = doc.Ref(i, line)
			}
		case "Virtualization":
			h.Virtualization = val
		}
	}
	if h.Platform.Ref.IsZero() {
		h.Platform.Ref = osRef
	}
	return h, probs
}

// DMI fields a one-line answer may be.
const (
	FieldManufacturer = "manufacturer"
	FieldProduct      = "product"
)

// ParseDMI reads dmidecode output: the one-line answers of `dmidecode -s
// system-manufacturer` / `-s system-product-name` (or `cat
// /sys/class/dmi/id/sys_vendor` / `product_name`), and the System Information
// block of `dmidecode -t system` or a full `dmidecode`. Which field a one-line
// answer is comes from the command (doc.Command) or the file name, and
// failing those from the value itself.
func ParseDMI(doc evidence.Doc) (evidence.Platform, []evidence.Problem) {
	var p evidence.Platform
	var probs []evidence.Problem
	lines := doc.Lines()
	inSystem, sawBlock := false, false
	var answers []int // lines that are bare one-line answers
	for i, line := range lines {
		s := strings.TrimSpace(line)
		switch {
		case s == "":
			inSystem = false
			continue
		case s == "System Information":
			inSystem, sawBlock = true, true
			continue
		case strings.HasPrefix(s, "Handle 0x"):
			inSystem = false
			sawBlock = true
			continue
		case strings.HasPrefix(s, "# dmidecode"), strings.HasPrefix(s, "Getting SMBIOS"), strings.HasPrefix(s, "SMBIOS "),
			strings.HasPrefix(s, "Table at"), strings.HasPrefix(s, "Scanning /dev/mem"), strings.Contains(s, "structures occupying"):
			sawBlock = true
			continue
		case strings.HasPrefix(s, "/dev/mem:"), strings.Contains(s, "Permission denied"), strings.Contains(s, "command not found"),
			strings.Contains(s, "No SMBIOS nor DMI entry point found"), strings.Contains(s, "No such file or directory"):
			probs = append(probs, doc.Problemf(i, "dmidecode failed: %s", evidence.Clip(s, 80)))
			continue
		}
		if inSystem {
			key, val, ok := strings.Cut(s, ":")
			if !ok {
				continue
			}
			val = strings.TrimSpace(val)
			switch strings.TrimSpace(key) {
			case "Manufacturer":
				p.Manufacturer, p.Ref = val, doc.Ref(i, line)
			case "Product Name":
				p.Product = val
				if p.Ref.IsZero() {
					p.Ref = doc.Ref(i, line)
				}
			}
			continue
		}
		if !sawBlock && !strings.HasPrefix(line, "\t") && !strings.HasPrefix(line, " ") {
			answers = append(answers, i)
		}
	}
	if sawBlock || len(answers) == 0 {
		return p, probs
	}
	fields := answerFields(doc.Command + " " + baseName(doc.Source))
	for n, i := range answers {
		s := strings.TrimSpace(lines[i])
		field := ""
		if n < len(fields) {
			field = fields[n]
		} else if n == 0 && len(answers) == 1 {
			field = guessField(s)
		}
		switch field {
		case FieldManufacturer:
			p.Manufacturer = s
			p.Ref = doc.Ref(i, lines[i])
		case FieldProduct:
			p.Product = s
			if p.Ref.IsZero() || p.Manufacturer == "" {
				p.Ref = doc.Ref(i, lines[i])
			}
		default:
			probs = append(probs, doc.Problemf(i, "cannot tell which DMI field %q is", evidence.Clip(s, 80)))
		}
	}
	return p, probs
}

var fieldRe = regexp.MustCompile(`(?i)system-manufacturer|sys_vendor|system-product-name|product_name|manufacturer|vendor|product`)

// answerFields lists, in order, the DMI fields a command line or file name
// asks for.
func answerFields(s string) []string {
	var out []string
	for _, m := range fieldRe.FindAllString(s, -1) {
		m = strings.ToLower(m)
		if strings.Contains(m, "product") {
			out = append(out, FieldProduct)
		} else {
			out = append(out, FieldManufacturer)
		}
	}
	return out
}

// knownProducts are product names clouds and hypervisors set; any other
// lone answer is taken for a manufacturer.
var knownProducts = []string{"openstack nova", "openstack compute", "kvm", "standard pc", "virtual machine",
	"vmware virtual platform", "vmware7", "vmware20", "hvm domu", "google compute engine", "alibaba cloud ecs", "cvm",
	"droplet", "virtualbox", "bochs", "rhev hypervisor", "ahv", "bcc", "vserver"}

func guessField(s string) string {
	l := strings.ToLower(s)
	for _, k := range knownProducts {
		if strings.HasPrefix(l, k) {
			return FieldProduct
		}
	}
	return FieldManufacturer
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// Merge copies into dst what src knows. DMI facts take the reference, as
// they are what rules cite; the OS facts only when nothing else did.
func Merge(dst *evidence.Platform, src evidence.Platform) {
	if src.Manufacturer != "" || src.Product != "" {
		if src.Manufacturer != "" {
			dst.Manufacturer = src.Manufacturer
		}
		if src.Product != "" {
			dst.Product = src.Product
		}
		if src.Manufacturer != "" || dst.Ref.IsZero() || dst.Manufacturer == "" {
			dst.Ref = src.Ref
		}
	}
	if src.OSID != "" {
		dst.OSID, dst.OSVersion = src.OSID, src.OSVersion
		if dst.Ref.IsZero() {
			dst.Ref = src.Ref
		}
	}
}

// cloud is one public cloud (or cloud software) recognised by its DMI strings.
type cloud struct {
	vendor string
	match  func(man, prod string) bool
}

func has(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// clouds filter the frames a VM sends by source address (port security,
// VTEP anti-spoofing, source/dest check). Order matters: OpenStack-based
// public clouds (Huawei, some private clouds) print OpenStack strings.
var clouds = []cloud{
	{"Huawei Cloud", func(m, p string) bool { return has(m+" "+p, "huawei cloud", "huaweicloud", "huawei-cloud") }},
	{"Alibaba Cloud", func(m, p string) bool { return has(m+" "+p, "alibaba cloud", "aliyun") }},
	{"Amazon EC2", func(m, p string) bool {
		return has(m, "amazon ec2") || (has(m, "xen") && has(p, "amazon")) || has(m, "amazon")
	}},
	{"Google Cloud", func(m, p string) bool { return m == "google" || has(p, "google compute engine") }},
	{"Tencent Cloud", func(m, p string) bool { return has(m+" "+p, "tencent cloud") }},
	{"Baidu Cloud", func(m, p string) bool { return has(m, "baidu cloud") }},
	{"Oracle Cloud", func(m, p string) bool { return has(m+" "+p, "oraclecloud") }},
	{"DigitalOcean", func(m, p string) bool { return has(m, "digitalocean") }},
	{"Hetzner Cloud", func(m, p string) bool { return has(m, "hetzner") }},
	{"Volcano Engine", func(m, p string) bool { return has(m+" "+p, "volcengine", "volcano engine") }},
	{"OpenStack", func(m, p string) bool { return has(m+" "+p, "openstack") }},
	// Azure and on-premises Hyper-V print the same strings; Azure is the
	// likelier one behind an LVS incident, and says so in its name.
	{"Microsoft Azure (or Hyper-V)", func(m, p string) bool { return has(m, "microsoft") && has(p, "virtual machine") }},
}

// hypervisors are virtual platforms that do not filter by source address
// unless configured to (libvirt nwfilter is checked on its own).
var hypervisors = []cloud{
	{"QEMU/KVM", func(m, p string) bool {
		return has(m, "qemu") || has(p, "kvm", "standard pc", "rhev") || has(m, "red hat")
	}},
	{"VMware", func(m, p string) bool { return has(m, "vmware") }},
	{"VirtualBox", func(m, p string) bool { return has(m, "innotek") || has(p, "virtualbox") }},
	{"Xen", func(m, p string) bool { return has(m, "xen") }},
	{"Nutanix AHV", func(m, p string) bool { return has(p, "ahv") }},
	{"Bochs", func(m, p string) bool { return has(m+" "+p, "bochs") }},
}

// CloudVendor names what the host runs on from its DMI strings, and whether
// that is a public cloud or an OpenStack deployment, whose networks drop
// packets a VM sends with a source address other than its own. It returns
// ("", false) when the manufacturer and product were not shown; for a
// machine it does not recognise it returns the manufacturer as shown.
func CloudVendor(p evidence.Platform) (vendor string, isCloud bool) {
	m := strings.ToLower(strings.TrimSpace(p.Manufacturer))
	prod := strings.ToLower(strings.TrimSpace(p.Product))
	if m == "" && prod == "" {
		return "", false
	}
	for _, c := range clouds {
		if c.match(m, prod) {
			return c.vendor, true
		}
	}
	for _, h := range hypervisors {
		if h.match(m, prod) {
			return h.vendor, false
		}
	}
	if p.Manufacturer != "" {
		return strings.TrimSpace(p.Manufacturer), false
	}
	return strings.TrimSpace(p.Product), false
}
