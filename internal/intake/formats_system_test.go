package intake

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/parse/kernel"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/libvirt"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/platform"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/probe"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/tcpdump"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
)

// sysFixture reads a fixture of one of the system parsers.
func sysFixture(t *testing.T, pkg, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "parse", pkg, "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSystemDetectByCommand(t *testing.T) {
	tests := map[string]string{
		"uname -a": "uname", "uname -r": "uname", "uname": "uname", "cat /proc/version": "uname",
		"hostnamectl": "hostnamectl", "hostnamectl status": "hostnamectl", "virsh list --all": "virsh-list", "virsh list": "virsh-list",
		"grubby --info=ALL": "grubby", "grubby --default-kernel": "grubby", "grubby --default-index": "grubby",
		"grubby --set-default /boot/vmlinuz-5.10.0-60.18.0.50.oe2203.aarch64": "grubby",
		"rpm -q kernel": "kernel-packages", "rpm -qa | grep kernel": "kernel-packages", "rpm -qa kernel*": "kernel-packages",
		"dpkg -l 'linux-image*'": "kernel-packages", "dpkg -l | grep linux-image": "kernel-packages", "dpkg-query -l linux-image-*": "kernel-packages",
		"ls /boot": "ls-boot", "ls -l /boot/": "ls-boot", "ls /boot/vmlinuz*": "ls-boot",
		"lsmod": "lsmod", "lsmod | grep ip_vs": "lsmod", "cat /proc/modules": "lsmod",
		"modinfo ip_vs":       "modinfo",
		"cat /etc/os-release": "os-release", "cat /etc/redhat-release": "os-release", "cat /etc/openEuler-release": "os-release",
		"cat /usr/lib/os-release": "os-release", "cat /etc/*release": "os-release",
		"dmidecode -s system-manufacturer": "dmidecode", "dmidecode -s system-product-name": "dmidecode", "dmidecode -t system": "dmidecode",
		"dmidecode": "dmidecode", "cat /sys/class/dmi/id/sys_vendor": "dmidecode", "cat /sys/class/dmi/id/product_name": "dmidecode",
		"virsh dumpxml r2-10105": "virsh-dumpxml", "virsh -c qemu:///system dumpxml vm1": "virsh-dumpxml", "virsh dumpxml --inactive vm1": "virsh-dumpxml",
		"virsh nwfilter-dumpxml clean-traffic": "virsh-nwfilter-dumpxml", "virsh nwfilter-list": "virsh-nwfilter-list",
		"tcpdump -i eth0 -nn -e host 192.0.2.1": "tcpdump", "tcpdump -vvv -nnn -e -i br0 host 192.0.2.1": "tcpdump",
		"curl -v http://192.0.2.100/": "probe", "curl -kv https://10.186.86.79:8443": "probe", "ping -c 3 192.0.2.100": "probe",
		"arping -I eth0 192.0.2.100": "probe", "nc -vz 192.0.2.11 80": "probe", "telnet 192.0.2.11 80": "probe", "ncat -v 192.0.2.1 80": "probe",
	}
	for cmd, want := range tests {
		k, how := Detect(cmd, "", false, "")
		if formatName(k) != want || how != "command" {
			t.Errorf("%q: got %s (%s), want %s", cmd, formatName(k), how, want)
		}
	}
	for _, cmd := range []string{"cat /etc/keepalived/keepalived.conf", "ls /etc", "rpm -ivh kernel.rpm"} {
		if k, _ := Detect(cmd, "", false, ""); k != nil && isFormatOf(systemFormats(), k.Name) {
			t.Errorf("%q detected as %s", cmd, k.Name)
		}
	}
}

func TestSystemDetectByFileName(t *testing.T) {
	tests := map[string]string{
		"uname.txt": "uname", "uname-a.txt": "uname", "grubby.txt": "grubby", "grubby-info-all.txt": "grubby",
		"rpm-q-kernel.txt": "kernel-packages", "dpkg-l.txt": "kernel-packages", "kernels.txt": "kernel-packages",
		"ls-boot.txt": "ls-boot", "lsmod.txt": "lsmod", "proc-modules.txt": "lsmod", "modinfo-ip_vs.txt": "modinfo",
		"os-release": "os-release", "os-release.txt": "os-release", "redhat-release": "os-release",
		"dmidecode.txt": "dmidecode", "dmidecode-system.txt": "dmidecode", "sys_vendor": "dmidecode",
		"dumpxml.txt": "virsh-dumpxml", "virsh-dumpxml-vm1.txt": "virsh-dumpxml", "nwfilter-dumpxml-clean-traffic.txt": "virsh-nwfilter-dumpxml",
		"nwfilter-list.txt": "virsh-nwfilter-list", "director1.xml": "libvirt-xml", "clean-traffic.xml": "libvirt-xml",
		"tcpdump.txt": "tcpdump", "tcpdump-eth0.txt": "tcpdump", "curl.txt": "probe", "ping-vip.txt": "probe", "arping.txt": "probe",
	}
	for base, want := range tests {
		k, how := Detect("", base, true, "x")
		if formatName(k) != want || how != "file name" {
			t.Errorf("%q: got %s (%s), want %s", base, formatName(k), how, want)
		}
	}
}

func TestSystemSniff(t *testing.T) {
	tests := []struct{ pkg, file, want string }{
		{"kernel", "uname-a-openeuler.txt", "uname"},
		{"kernel", "uname-a-debian.txt", "uname"},
		{"kernel", "grubby-info-all-openeuler.txt", "grubby"},
		{"kernel", "grubby-info-all-rhel7.txt", "grubby"},
		{"kernel", "rpm-q-kernel-openeuler.txt", "kernel-packages"},
		{"kernel", "dpkg-l-linux-image.txt", "kernel-packages"},
		{"kernel", "lsmod-director.txt", "lsmod"},
		{"kernel", "modinfo-ip_vs.txt", "modinfo"},
		{"platform", "os-release-openeuler2203.txt", "os-release"},
		{"platform", "os-release-debian12.txt", "os-release"},
		{"platform", "redhat-release-centos7.txt", "os-release"},
		{"platform", "dmidecode-t-system-openstack.txt", "dmidecode"},
		{"platform", "hostnamectl-openstack-ubuntu.txt", "hostnamectl"},
		{"kernel", "proc-version-openeuler.txt", "uname"},
		{"platform", "dmidecode-full-huawei-baremetal.txt", "dmidecode"},
		{"libvirt", "dumpxml-director1.txt", "virsh-dumpxml"},
		{"libvirt", "seed-dumpxml-mangled.txt", "virsh-dumpxml"},
		{"libvirt", "nwfilter-dumpxml-clean-traffic.txt", "virsh-nwfilter-dumpxml"},
		{"libvirt", "seed-nwfilter-no-ip-spoofing-mangled.txt", "virsh-nwfilter-dumpxml"},
		{"libvirt", "stock/no-ip-spoofing.xml", "virsh-nwfilter-dumpxml"},
		{"tcpdump", "br0-n.txt", "tcpdump"},
		{"tcpdump", "br0-vvv-nnn-e.txt", "tcpdump"},
		{"tcpdump", "tcpdump-any-n.txt", "tcpdump"},
		{"tcpdump", "tcpdump-any-sll1-e.txt", "tcpdump"},
		{"tcpdump", "seed-director1-eth0-vvv-e.txt", "tcpdump"},
		{"tcpdump", "variants-tcpdump39.txt", "tcpdump"},
		{"probe", "curl-v-ok.txt", "probe"},
		{"probe", "curl-refused-short.txt", "probe"},
		{"probe", "seed-curl-reset.txt", "probe"},
		{"probe", "ping-unreachable.txt", "probe"},
		{"probe", "arping-dup.txt", "probe"},
		{"probe", "arping-habets-dup.txt", "probe"},
		{"probe", "nc-refused.txt", "probe"},
		{"probe", "telnet-refused.txt", "probe"},
	}
	for _, tt := range tests {
		k, how := Detect("", "", false, sysFixture(t, tt.pkg, tt.file))
		if formatName(k) != tt.want || how != "content" {
			t.Errorf("%s/%s: got %s (%s), want %s", tt.pkg, tt.file, formatName(k), how, tt.want)
		}
	}
	// Other formats must not be taken for these.
	for _, text := range []string{
		"1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN\n",
		"IP Virtual Server version 1.2.1 (size=4096)\n",
		"net.ipv4.ip_forward = 1\n",
		"Linux is great\nand so on\n",
		"<network><name>default</name></network>\n",
	} {
		if k, _ := Detect("", "", false, text); k != nil && isFormatOf(systemFormats(), k.Name) {
			t.Errorf("%q sniffed as %s", text, k.Name)
		}
	}
}

// sysApply runs the kind detected for a fixture on a fresh host.
func sysApply(t *testing.T, cmd, pkg, file string) (*evidence.Host, []evidence.Problem) {
	t.Helper()
	text := sysFixture(t, pkg, file)
	k, _ := Detect(cmd, file, cmd == "", text)
	if k == nil {
		t.Fatalf("%s: not detected", file)
	}
	h := evidence.NewHost("h")
	doc := evidence.Doc{Host: "h", Source: "h/" + file, Start: 2, Command: cmd, Text: text}
	return h, k.Apply(doc, h)
}

func TestSystemApplyKernel(t *testing.T) {
	h, probs := sysApply(t, "uname -a", "kernel", "uname-a-openeuler.txt")
	if len(probs) != 0 || h.Kernel.Release != "5.10.0-60.139.0.166.oe2203.aarch64" || h.Kernel.Machine != "aarch64" || !h.Has(evidence.KindUname) || h.Kernel.Ref.Line != 2 {
		t.Errorf("uname: %+v %v", h.Kernel, probs)
	}
	k, _ := Detect("grubby --info=ALL", "", false, "")
	doc := evidence.Doc{Host: "h", Source: "t", Start: 10, Command: "grubby --info=ALL", Text: sysFixture(t, "kernel", "grubby-info-all-openeuler.txt")}
	k.Apply(doc, h)
	kd, _ := Detect("grubby --default-kernel", "", false, "")
	kd.Apply(evidence.Doc{Host: "h", Source: "t", Start: 40, Command: "grubby --default-kernel", Text: sysFixture(t, "kernel", "grubby-default-kernel.txt")}, h)
	if !h.Has(evidence.KindKernels) || len(h.Kernel.Installed) != 3 {
		t.Fatalf("installed %+v", h.Kernel.Installed)
	}
	var def evidence.InstalledKernel
	for _, e := range h.Kernel.Installed {
		if e.Default {
			def = e
		}
	}
	if def.Version != "5.10.0-60.18.0.50.oe2203.aarch64" || def.Ref.Line != 40 {
		t.Errorf("default %+v", def)
	}

	h, probs = sysApply(t, "lsmod", "kernel", "lsmod-director.txt")
	if len(probs) != 0 || !h.Has(evidence.KindModules) || h.Kernel.Modules["ip_vs"].Line == 0 {
		t.Errorf("lsmod: %v %v", h.Kernel.Modules, probs)
	}
	h, probs = sysApply(t, "lsmod", "kernel", "lsmod-no-proc.txt")
	if len(probs) == 0 || h.Has(evidence.KindModules) || h.Kernel.Modules != nil {
		t.Errorf("failed lsmod counted as collected: %v %v", h.Kernel.Modules, probs)
	}
	h, _ = sysApply(t, "lsmod | grep ip_vs", "kernel", "lsmod-rs-tun-centos7.txt")
	if h.Has(evidence.KindModules) || h.Kernel.Modules != nil {
		t.Errorf("filtered lsmod counted as the whole list")
	}
	h, probs = sysApply(t, "dpkg -l 'linux-image*'", "kernel", "dpkg-l-linux-image.txt")
	if len(probs) != 0 || len(h.Kernel.Installed) != 2 || !h.Has(evidence.KindKernels) {
		t.Errorf("dpkg: %+v %v", h.Kernel.Installed, probs)
	}
	h, probs = sysApply(t, "uname -n", "platform", "dmidecode-s-manufacturer-qemu.txt")
	if len(probs) != 0 || h.Has(evidence.KindUname) {
		t.Errorf("uname -n: %v", probs)
	}
}

func TestSystemApplyPlatform(t *testing.T) {
	h, probs := sysApply(t, "cat /etc/os-release", "platform", "os-release-openeuler2203.txt")
	if len(probs) != 0 || h.Platform.OSID != "openEuler" || h.Platform.OSVersion != "22.03" || !h.Has(evidence.KindOSRelease) {
		t.Errorf("os-release: %+v %v", h.Platform, probs)
	}
	k, _ := Detect("dmidecode -s system-manufacturer", "", false, "")
	k.Apply(evidence.Doc{Host: "h", Source: "t", Start: 5, Command: "dmidecode -s system-manufacturer", Text: "OpenStack Foundation\n"}, h)
	k.Apply(evidence.Doc{Host: "h", Source: "t", Start: 7, Command: "dmidecode -s system-product-name", Text: "OpenStack Nova\n"}, h)
	if h.Platform.Manufacturer != "OpenStack Foundation" || h.Platform.Product != "OpenStack Nova" || h.Platform.OSID != "openEuler" ||
		h.Platform.Ref.Line != 5 || !h.Has(evidence.KindDMI) {
		t.Errorf("dmi: %+v", h.Platform)
	}
	h, probs = sysApply(t, "hostnamectl", "platform", "hostnamectl-openstack-ubuntu.txt")
	if len(probs) != 0 || h.Platform.Product != "OpenStack Nova" || h.Platform.OSID != "ubuntu" || h.Kernel.Release != "5.15.0-141-generic" ||
		!h.Has(evidence.KindDMI) || !h.Has(evidence.KindOSRelease) || !h.Has(evidence.KindUname) {
		t.Errorf("hostnamectl: %+v %+v %v", h.Platform, h.Kernel, probs)
	}
	h, probs = sysApply(t, "dmidecode -s system-manufacturer", "platform", "dmidecode-no-mem.txt")
	if len(probs) != 1 || h.Has(evidence.KindDMI) {
		t.Errorf("failed dmidecode: %v", probs)
	}
}

func TestSystemApplyLibvirt(t *testing.T) {
	h, probs := sysApply(t, "virsh dumpxml r2-10105", "libvirt", "seed-dumpxml-mangled.txt")
	if len(probs) != 0 || len(h.Libvirt.Interfaces) != 1 || !h.Has(evidence.KindLibvirt) {
		t.Fatalf("dumpxml: %+v %v", h.Libvirt, probs)
	}
	i := h.Libvirt.Interfaces[0]
	if i.Domain != "r2-10105" || i.FilterRef != "clean-traffic" || i.FilterParams["IP"] != "x.y.z.200" || i.Ref.Line != 2+10 {
		t.Errorf("interface %+v", i)
	}
	for _, f := range []string{"nwfilter-dumpxml-clean-traffic.txt", "nwfilter-dumpxml-no-ip-spoofing.txt"} {
		k, _ := Detect("virsh nwfilter-dumpxml x", "", false, "")
		if p := k.Apply(evidence.Doc{Host: "h", Source: f, Command: "virsh nwfilter-dumpxml x", Text: sysFixture(t, "libvirt", f)}, h); len(p) != 0 {
			t.Errorf("%s: %v", f, p)
		}
	}
	if len(h.Libvirt.Filters) != 2 || !h.Has(evidence.KindNWFilter) {
		t.Errorf("filters %+v", h.Libvirt.Filters)
	}
	// A file: kind by content.
	h, probs = sysApply(t, "", "libvirt", "stock/no-ip-spoofing.xml")
	if len(probs) != 0 || len(h.Libvirt.Filters) != 1 || h.Libvirt.Filters[0].Name != "no-ip-spoofing" {
		t.Errorf("xml file: %+v %v", h.Libvirt, probs)
	}
	h = evidence.NewHost("h")
	k, _ := Detect("", "director1.xml", true, "")
	k.Apply(evidence.Doc{Host: "h", Source: "hv1/director1.xml", Text: sysFixture(t, "libvirt", "dumpxml-director1.txt")}, h)
	if len(h.Libvirt.Interfaces) != 2 || h.Libvirt.Interfaces[0].Domain != "director1" {
		t.Errorf("domain file %+v", h.Libvirt)
	}
}

func TestSystemApplyCaptureAndProbes(t *testing.T) {
	h, probs := sysApply(t, "tcpdump -vvv -nnn -e -i eth0 host 192.0.2.10", "tcpdump", "br0-vvv-nnn-e.txt")
	if len(probs) != 0 || len(h.Frames) != 35 || !h.Has(evidence.KindFrames) || h.Frames[0].Iface != "eth0" {
		t.Errorf("tcpdump: %d frames %v", len(h.Frames), probs)
	}
	// Nothing captured is evidence too: no packet arrived.
	h = evidence.NewHost("h")
	k, _ := Detect("tcpdump -i eth0 host 192.0.2.100", "", false, "")
	k.Apply(evidence.Doc{Host: "h", Source: "t", Start: 3, Command: "tcpdump -i eth0 host 192.0.2.100",
		Text: "tcpdump: verbose output suppressed, use -v[v]... for full protocol decode\nlistening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n^C\n0 packets captured\n"}, h)
	if !h.Has(evidence.KindFrames) || len(h.Frames) != 0 {
		t.Errorf("empty capture not recorded")
	}
	h = evidence.NewHost("h")
	k.Apply(evidence.Doc{Host: "h", Source: "t", Start: 3, Command: "tcpdump -i eth0 -w /tmp/x.pcap",
		Text: "tcpdump: listening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n"}, h)
	if h.Has(evidence.KindFrames) {
		t.Errorf("tcpdump -w counted as an empty capture")
	}

	h, probs = sysApply(t, "arping -c 3 -I eth0 192.0.2.100", "probe", "arping-dup.txt")
	if len(probs) != 0 || len(h.Observations) != 3 || !h.Has(evidence.KindObserved) {
		t.Errorf("arping: %+v %v", h.Observations, probs)
	}
	h, _ = sysApply(t, "curl -kv https://10.186.86.79:8443", "probe", "seed-curl-reset.txt")
	if len(h.Observations) != 2 || h.Observations[1].Kind != "connection-reset" || h.Observations[1].Target != netip.MustParseAddr("10.186.86.79") {
		t.Errorf("curl: %+v", h.Observations)
	}
}

// seed004 is the KVM incident (shared/seeds/004) as one pasted session,
// with documentation addresses, as the transcript reader sees it.
const seed004 = `[root@Director1 ~]# ipvsadm -ln --sort
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  198.51.100.208:80 rr
  -> 198.51.100.226:80           Route   2      0         0
[root@Director1 ~]# tcpdump -vvv -nnn -e -i eth0 host 203.0.113.145
11:39:19.372804 84:78:ac:27:6c:41 > 02:00:73:b6:53:c8,ethertype IPv4 (0x0800), length 74: (tos 0x0, ttl 48, id 47264, offset 0, flags[DF], proto TCP (6), length 60)

    203.0.113.145.51643 > 198.51.100.208.80:Flags [S], cksum 0x000e (correct), seq 3639534333,win 14600, options [mss 1460,sackOK,TS val 780753501ecr 0,nop,wscale 7], length 0

11:39:19.372815 02:00:73:b6:53:c8 > 02:00:73:b6:53:e2,ethertype IPv4 (0x0800), length 74: (tos 0x0, ttl 48, id 47264, offset 0, flags[DF], proto TCP (6), length 60)

    203.0.113.145.51643 > 198.51.100.208.80:Flags [S], cksum 0x000e (correct), seq 3639534333,win 14600, options [mss 1460,sackOK,TS val 780753501ecr 0,nop,wscale 7], length 0

[root@HOST1 ~]# tcpdump -vvv -nnn -e -i br0 host 203.0.113.145
11:39:19.430993 84:78:ac:27:6c:41 > 02:00:73:b6:53:c8,ethertype IPv4 (0x0800), length 74: (tos 0x0, ttl 48, id 47264, offset 0, flags[DF], proto TCP (6), length 60)

    203.0.113.145.51643 > 198.51.100.208.80:Flags [S], cksum 0x000e (correct), seq 3639534333,win 14600, options [mss 1460,sackOK,TS val 780753501ecr 0,nop,wscale 7], length 0

[root@HOST1 ~]# virsh dumpxml r2-10105
    <interfacetype='bridge'>

      <mac address='02:00:73:b6:53:c8'/>

      <source bridge='br0'/>

      <target dev='vnet0'/>

      <modeltype='virtio'/>

      ❶<filterref filter='clean-traffic'>

        ❷<parameter name='IP' value='198.51.100.200'/>

      </filterref>

      <aliasname='net0'/>

      <address type='pci'domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>

    </interface>

[root@HOST1 ~]# virsh nwfilter-dumpxml no-ip-spoofing
<filter name='no-ip-spoofing' chain='ipv4-ip' priority='-710'>

 <uuid>bf7be725-1486-410f-8a8b-42c82b952261</uuid>

  <rule action='return'direction='out' priority='100'>

    <ip srcipaddr='0.0.0.0'protocol='udp'/>

  </rule>

  <rule action='return'direction='out' priority='500'>

    ❹<ipsrcipaddr='$IP'/>

  </rule>

  ❺<rule action='drop' direction='out' priority='1000'/>

</filter>
[root@HOST1 ~]# uname -a
Linux HOST1 3.10.0-327.el7.x86_64 #1 SMP Thu Nov 19 22:10:57 UTC 2015 x86_64 x86_64 x86_64 GNU/Linux
[root@HOST1 ~]# lsmod | grep br_netfilter
br_netfilter           22209  0
bridge                136173  1 br_netfilter
[root@client ~]# curl -v http://198.51.100.208/
*   Trying 198.51.100.208:80...
* connect to 198.51.100.208 port 80 failed: Connection timed out
* Failed to connect to 198.51.100.208 port 80 after 129401 ms: Couldn't connect to server
* Closing connection 0
curl: (28) Failed to connect to 198.51.100.208 port 80 after 129401 ms: Couldn't connect to server
`

func TestSystemTranscript(t *testing.T) {
	p := filepath.Join(t.TempDir(), "session.txt")
	if err := os.WriteFile(p, []byte(seed004), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range c.Problems {
		if strings.Contains(pr.Source, "session") {
			t.Logf("problem: %s", pr)
		}
	}
	d, hv, cl := c.Lookup("Director1"), c.Lookup("HOST1"), c.Lookup("client")
	if d == nil || hv == nil || cl == nil {
		t.Fatalf("hosts %v", c.Hosts)
	}
	if len(d.Frames) != 2 || d.Frames[1].SrcMAC != "02:00:73:b6:53:c8" || d.Frames[1].DstMAC != "02:00:73:b6:53:e2" || d.Frames[1].IPID != 47264 || d.Frames[1].Iface != "eth0" {
		t.Errorf("director frames %+v", d.Frames)
	}
	if len(hv.Frames) != 1 || hv.Frames[0].Iface != "br0" || hv.Frames[0].Dst != netip.MustParseAddr("198.51.100.208") {
		t.Errorf("hypervisor frames %+v", hv.Frames)
	}
	if len(hv.Libvirt.Interfaces) != 1 || hv.Libvirt.Interfaces[0].FilterRef != "clean-traffic" || hv.Libvirt.Interfaces[0].Domain != "r2-10105" ||
		hv.Libvirt.Interfaces[0].FilterParams["IP"] != "198.51.100.200" {
		t.Errorf("interfaces %+v", hv.Libvirt.Interfaces)
	}
	if len(hv.Libvirt.Filters) != 1 || len(hv.Libvirt.Filters[0].Rules) != 3 || hv.Libvirt.Filters[0].Rules[2].Action != "drop" {
		t.Errorf("filters %+v", hv.Libvirt.Filters)
	}
	if hv.Kernel.Release != "3.10.0-327.el7.x86_64" || hv.Has(evidence.KindModules) {
		t.Errorf("kernel %+v", hv.Kernel)
	}
	if len(cl.Observations) != 1 || cl.Observations[0].Kind != "timeout" || cl.Observations[0].Port != 80 {
		t.Errorf("client observations %+v", cl.Observations)
	}
	// Lines cited are the transcript's.
	lines := strings.Split(seed004, "\n")
	r := hv.Libvirt.Interfaces[0].Ref
	if r.Line < 1 || r.Line > len(lines) || !strings.Contains(lines[r.Line-1], "filterref") {
		t.Errorf("filterref cited at %+v", r)
	}
}

func FuzzSystemFormats(f *testing.F) {
	for _, pat := range []string{"kernel/testdata/*.txt", "platform/testdata/*.txt", "libvirt/testdata/*.txt", "tcpdump/testdata/glitch.txt",
		"tcpdump/testdata/variants-*.txt", "probe/testdata/*.txt"} {
		files, _ := filepath.Glob(filepath.Join("..", "parse", pat))
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(string(b), "")
		}
	}
	f.Add("OpenStack Nova\n", "dmidecode -s system-product-name")
	f.Add("", "tcpdump -nnw x.pcap")
	f.Fuzz(func(t *testing.T, text, cmd string) {
		doc := evidence.Doc{Host: "h", Source: "f", Start: 2, Command: cmd, Text: text}
		n := len(doc.Lines())
		for _, k := range systemFormats() {
			if k.Sniff != nil {
				head := text
				if len(head) > sniffBytes {
					head = head[:sniffBytes]
				}
				k.Sniff(head)
			}
			h := evidence.NewHost("h")
			k.Apply(doc, h)
			for kind, refs := range h.Seen {
				for _, r := range refs {
					if r.Line < 1 || r.Line > 2+n {
						t.Fatalf("%s: %s seen at %+v outside %d lines", k.Name, kind, r, n)
					}
				}
			}
		}
	})
}

// systemFormats are the formats these tests are about.
func systemFormats() []format.Format {
	return slices.Concat(kernel.Formats(), platform.Formats(), libvirt.Formats(), tcpdump.Formats(), probe.Formats())
}
