package platform

import (
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/parsetest"
)

func fixture(t testing.TB, name, cmd string) evidence.Doc {
	t.Helper()
	return parsetest.Fixture(t, "h", name, cmd)
}

func TestParseOSRelease(t *testing.T) {
	tests := []struct {
		file, id, ver string
		line          int
	}{
		{"os-release-debian12.txt", "debian", "12", 6},
		{"os-release-openeuler2203.txt", "openEuler", "22.03", 3},
		{"os-release-centos7.txt", "centos", "7", 3},
		{"os-release-alinux3.txt", "alinux", "3", 3},
		{"redhat-release-centos7.txt", "centos", "7.9.2009", 1},
		{"openEuler-release.txt", "openEuler", "22.03", 1},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			p, probs := ParseOSRelease(fixture(t, tt.file, ""))
			if len(probs) != 0 {
				t.Errorf("problems %v", probs)
			}
			if p.OSID != tt.id || p.OSVersion != tt.ver || p.Ref.Line != tt.line {
				t.Errorf("got %q %q line %d", p.OSID, p.OSVersion, p.Ref.Line)
			}
		})
	}
}

func TestParseDMI(t *testing.T) {
	tests := []struct {
		file, cmd, man, prod, vendor string
		cloud                        bool
		line, probs                  int
	}{
		{"dmidecode-s-manufacturer-openstack.txt", "dmidecode -s system-manufacturer", "OpenStack Foundation", "", "OpenStack", true, 1, 0},
		{"dmidecode-s-product-openstack.txt", "dmidecode -s system-product-name", "", "OpenStack Nova", "OpenStack", true, 1, 0},
		{"dmidecode-s-product-openstack.txt", "", "", "OpenStack Nova", "OpenStack", true, 1, 0},
		{"dmidecode-s-manufacturer-alibaba.txt", "", "Alibaba Cloud", "", "Alibaba Cloud", true, 1, 0},
		{"dmidecode-s-manufacturer-aws.txt", "cat /sys/class/dmi/id/sys_vendor", "Amazon EC2", "", "Amazon EC2", true, 1, 0},
		{"dmidecode-s-manufacturer-qemu.txt", "dmidecode -s system-manufacturer", "QEMU", "", "QEMU/KVM", false, 1, 0},
		{"dmidecode-t-system-openstack.txt", "dmidecode -t system", "OpenStack Foundation", "OpenStack Nova", "OpenStack", true, 7, 0},
		{"dmidecode-t-system-kvm.txt", "dmidecode -t 1", "QEMU", "Standard PC (i440FX + PIIX, 1996)", "QEMU/KVM", false, 7, 0},
		{"dmidecode-full-huawei-baremetal.txt", "dmidecode", "Huawei", "TaiShan 200 (Model 2280)", "Huawei", false, 15, 0},
		{"dmidecode-no-mem.txt", "dmidecode -s system-manufacturer", "", "", "", false, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			p, probs := ParseDMI(fixture(t, tt.file, tt.cmd))
			if len(probs) != tt.probs {
				t.Errorf("problems %v", probs)
			}
			if p.Manufacturer != tt.man || p.Product != tt.prod || p.Ref.Line != tt.line {
				t.Errorf("got %q %q line %d", p.Manufacturer, p.Product, p.Ref.Line)
			}
			v, c := CloudVendor(p)
			if v != tt.vendor || c != tt.cloud {
				t.Errorf("vendor %q %v", v, c)
			}
		})
	}
}

func TestTwoAnswers(t *testing.T) {
	doc := evidence.Doc{Source: "x", Command: "dmidecode -s system-manufacturer; dmidecode -s system-product-name",
		Text: "Alibaba Cloud\nAlibaba Cloud ECS\n"}
	p, probs := ParseDMI(doc)
	if p.Manufacturer != "Alibaba Cloud" || p.Product != "Alibaba Cloud ECS" || p.Ref.Line != 1 || len(probs) != 0 {
		t.Errorf("%+v %v", p, probs)
	}
}

func TestCloudVendor(t *testing.T) {
	tests := []struct {
		man, prod, vendor string
		cloud             bool
	}{
		{"Huawei Cloud", "KVM Virtual Machine", "Huawei Cloud", true},
		{"Google", "Google Compute Engine", "Google Cloud", true},
		{"Microsoft Corporation", "Virtual Machine", "Microsoft Azure (or Hyper-V)", true},
		{"VMware, Inc.", "VMware Virtual Platform", "VMware", false},
		{"Xen", "HVM domU", "Xen", false},
		{"Red Hat", "KVM", "QEMU/KVM", false},
		{"Tencent Cloud", "CVM", "Tencent Cloud", true},
		{"Dell Inc.", "PowerEdge R740", "Dell Inc.", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		v, c := CloudVendor(evidence.Platform{Manufacturer: tt.man, Product: tt.prod})
		if v != tt.vendor || c != tt.cloud {
			t.Errorf("%q/%q: got %q %v", tt.man, tt.prod, v, c)
		}
	}
}

func TestMerge(t *testing.T) {
	var p evidence.Platform
	os, _ := ParseOSRelease(fixture(t, "os-release-centos7.txt", ""))
	Merge(&p, os)
	dmi, _ := ParseDMI(fixture(t, "dmidecode-t-system-openstack.txt", ""))
	Merge(&p, dmi)
	if p.OSID != "centos" || p.Manufacturer != "OpenStack Foundation" || p.Ref.Text != "Manufacturer: OpenStack Foundation" {
		t.Errorf("%+v", p)
	}
}

func TestParseHostnamectl(t *testing.T) {
	h, probs := ParseHostnamectl(fixture(t, "hostnamectl-openstack-ubuntu.txt", "hostnamectl"))
	p := h.Platform
	if len(probs) != 0 || p.OSID != "ubuntu" || p.OSVersion != "22.04.5" || p.Manufacturer != "OpenStack Foundation" || p.Product != "OpenStack Nova" ||
		p.Ref.Line != 10 || h.Kernel != "5.15.0-141-generic" || h.KernelRef.Line != 8 || h.Virtualization != "kvm" {
		t.Errorf("%+v %v", h, probs)
	}
	if v, c := CloudVendor(p); v != "OpenStack" || !c {
		t.Errorf("vendor %q %v", v, c)
	}
	h, _ = ParseHostnamectl(fixture(t, "hostnamectl-openeuler.txt", "hostnamectl"))
	if h.Platform.OSID != "openEuler" || h.Platform.OSVersion != "22.03" || h.Platform.Manufacturer != "" || h.Platform.Ref.Line != 6 {
		t.Errorf("%+v", h)
	}
}
