package kernel

import (
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/parsetest"
)

func fixture(t testing.TB, name string) evidence.Doc {
	t.Helper()
	return parsetest.Fixture(t, "h", name, "")
}

func TestParseUname(t *testing.T) {
	tests := []struct {
		file, rel, ver, mach string
		line                 int
	}{
		{"uname-a-debian.txt", "6.18.44-fc-v657", "#1 SMP PREEMPT_DYNAMIC @0", "x86_64", 1},
		{"uname-r.txt", "6.18.44-fc-v657", "", "", 1},
		{"uname-a-openeuler.txt", "5.10.0-60.139.0.166.oe2203.aarch64", "#1 SMP Wed Jun 28 17:56:22 CST 2023", "aarch64", 1},
		{"uname-a-centos7.txt", "3.10.0-1160.el7.x86_64", "#1 SMP Mon Oct 19 16:18:59 UTC 2020", "x86_64", 1},
		{"uname-a-debian12.txt", "6.1.0-26-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.112-1 (2024-09-30)", "x86_64", 1},
		{"proc-version-real.txt", "6.18.44-fc-v657", "#1 SMP PREEMPT_DYNAMIC @0", "", 1},
		{"proc-version-openeuler.txt", "5.10.0-60.139.0.166.oe2203.aarch64", "#1 SMP Fri Mar 28 17:02:47 CST 2025", "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			k, probs := ParseUname(fixture(t, tt.file))
			if len(probs) != 0 {
				t.Errorf("problems: %v", probs)
			}
			if k.Release != tt.rel || k.Version != tt.ver || k.Machine != tt.mach || k.Ref.Line != tt.line {
				t.Errorf("got %q %q %q line %d", k.Release, k.Version, k.Machine, k.Ref.Line)
			}
		})
	}
}

func TestParseUnameGarbage(t *testing.T) {
	doc := evidence.Doc{Source: "x", Start: 10, Text: "bash: unamee: command not found\nLinux a 5.4.0-1 #1 SMP x86_64 GNU/Linux\n"}
	k, probs := ParseUname(doc)
	if k.Release != "5.4.0-1" || k.Ref.Line != 11 {
		t.Errorf("got %+v", k)
	}
	if len(probs) != 1 || probs[0].Line != 10 {
		t.Errorf("problems %v", probs)
	}
}

func TestParseGrubby(t *testing.T) {
	g, probs := ParseGrubby(fixture(t, "grubby-info-all-openeuler.txt"))
	if len(probs) != 0 {
		t.Errorf("problems: %v", probs)
	}
	if len(g.Entries) != 3 {
		t.Fatalf("entries %+v", g.Entries)
	}
	e := g.Entries[1]
	if e.Index != 1 || e.Version != "5.10.0-60.18.0.50.oe2203.aarch64" || e.Path != "/boot/vmlinuz-5.10.0-60.18.0.50.oe2203.aarch64" ||
		e.Title != "openEuler (5.10.0-60.18.0.50.oe2203.aarch64) 22.03 LTS" || e.Ref.Line != 9 {
		t.Errorf("entry 1: %+v", e)
	}
	if g.Entries[2].Version != "" {
		t.Errorf("rescue has a version: %+v", g.Entries[2])
	}

	g, probs = ParseGrubby(fixture(t, "grubby-info-all-rhel7.txt"))
	if len(probs) != 0 {
		t.Errorf("problems: %v", probs)
	}
	if len(g.Entries) != 3 || g.Entries[0].Version != "3.10.0-1160.119.1.el7.x86_64" || g.Entries[0].Title != "CentOS Linux (3.10.0-1160.119.1.el7.x86_64) 7 (Core)" {
		t.Errorf("rhel7 entries %+v", g.Entries)
	}

	g, _ = ParseGrubby(fixture(t, "grubby-default-kernel.txt"))
	if g.DefaultKernel != "/boot/vmlinuz-5.10.0-60.18.0.50.oe2203.aarch64" || g.DefaultRef.Line != 1 {
		t.Errorf("default kernel %+v", g)
	}
	g, _ = ParseGrubby(fixture(t, "grubby-default-index.txt"))
	if g.DefaultIndex != 1 {
		t.Errorf("default index %+v", g)
	}
	g, _ = ParseGrubby(fixture(t, "grubby-set-default.txt"))
	if g.DefaultIndex != 1 || g.DefaultKernel != "/boot/vmlinuz-5.10.0-60.18.0.50.oe2203.aarch64" {
		t.Errorf("set-default %+v", g)
	}
}

func TestGrubbyMerge(t *testing.T) {
	var k evidence.Kernel
	d, _ := ParseGrubby(fixture(t, "grubby-default-kernel.txt"))
	d.Apply(&k)
	info, _ := ParseGrubby(fixture(t, "grubby-info-all-openeuler.txt"))
	info.Apply(&k)
	pk, _ := ParsePackages(fixture(t, "rpm-q-kernel-openeuler.txt"))
	AddInstalled(&k, pk...)
	// Three boot entries, two packages: kept apart.
	if len(k.Installed) != 5 {
		t.Fatalf("installed %+v", k.Installed)
	}
	defaults := 0
	for _, e := range k.Installed {
		if e.Default {
			defaults++
			if e.Version != "5.10.0-60.18.0.50.oe2203.aarch64" || e.Title == "" {
				t.Errorf("default %+v", e)
			}
		}
	}
	if defaults != 1 {
		t.Errorf("%d defaults: %+v", defaults, k.Installed)
	}
}

func TestParsePackages(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"rpm-q-kernel-openeuler.txt", []string{"5.10.0-60.18.0.50.oe2203.aarch64", "5.10.0-60.139.0.166.oe2203.aarch64"}},
		{"rpm-qa-grep-kernel-el8.txt", []string{"4.18.0-513.5.1.el8_9.x86_64", "4.18.0-553.el8_10.x86_64"}},
		{"rpm-q-kernel-none.txt", nil},
		{"dpkg-l-linux-image.txt", []string{"6.1.0-25-amd64", "6.1.0-26-amd64"}},
		{"dpkg-l-none.txt", nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, probs := ParsePackages(fixture(t, tt.file))
			if len(probs) != 0 {
				t.Errorf("problems: %v", probs)
			}
			var vs []string
			for _, k := range got {
				vs = append(vs, k.Version)
				if k.Ref.Line < 1 || !strings.Contains(k.Ref.Text, k.Version) {
					t.Errorf("bad ref %+v", k.Ref)
				}
			}
			if strings.Join(vs, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %v want %v", vs, tt.want)
			}
		})
	}
}

func TestParseBootDir(t *testing.T) {
	for file, want := range map[string]string{
		"ls-boot.txt":         "5.10.0-60.139.0.166.oe2203.aarch64,5.10.0-60.18.0.50.oe2203.aarch64",
		"ls-boot-columns.txt": "6.1.0-25-amd64,6.1.0-26-amd64",
	} {
		got, _ := ParseBootDir(fixture(t, file))
		var vs []string
		for _, k := range got {
			vs = append(vs, k.Version)
		}
		if strings.Join(vs, ",") != want {
			t.Errorf("%s: got %v", file, vs)
		}
	}
}

func TestParseModules(t *testing.T) {
	tests := []struct {
		file    string
		n       int
		has     []string
		hasNot  []string
		nilMap  bool
		nProbls int
	}{
		{file: "lsmod-director.txt", n: 21, has: []string{"ip_vs", "nf_conntrack", "br_netfilter", "ipv6"}, hasNot: []string{"ipip", "Module"}},
		{file: "lsmod-rs-tun-centos7.txt", n: 8, has: []string{"ipip", "tunnel4"}, hasNot: []string{"ip_vs"}},
		{file: "proc-modules.txt", n: 6, has: []string{"ip_vs", "ip_vs_wrr"}},
		{file: "lsmod-no-proc.txt", nilMap: true, nProbls: 2},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			mods, probs := ParseModules(fixture(t, tt.file))
			if len(probs) != tt.nProbls {
				t.Errorf("problems: %v", probs)
			}
			if (mods == nil) != tt.nilMap {
				t.Fatalf("nil map: %v", mods == nil)
			}
			if len(mods) != tt.n {
				t.Errorf("%d modules", len(mods))
			}
			for _, m := range tt.has {
				if r, ok := mods[m]; !ok || !strings.HasPrefix(r.Text, m) {
					t.Errorf("missing %s (%+v)", m, r)
				}
			}
			for _, m := range tt.hasNot {
				if _, ok := mods[m]; ok {
					t.Errorf("unexpected %s", m)
				}
			}
		})
	}
	mods, probs := ParseModules(evidence.Doc{Source: "x", Text: "Module                  Size  Used by\n"})
	if mods == nil || len(mods) != 0 || len(probs) != 0 {
		t.Errorf("empty lsmod: %v %v", mods, probs)
	}
}

func TestParseModinfo(t *testing.T) {
	m, _ := ParseModinfo(fixture(t, "modinfo-ip_vs.txt"), "")
	if !m.Found || m.Builtin || m.Name != "ip_vs" || m.Ref.Line != 1 {
		t.Errorf("ip_vs %+v", m)
	}
	m, _ = ParseModinfo(fixture(t, "modinfo-builtin.txt"), "ip_vs")
	if !m.Found || !m.Builtin || m.Name != "ip_vs" {
		t.Errorf("builtin %+v", m)
	}
	// Built in is recorded on the host even without lsmod: kube-proxy's
	// "not loaded" is then contradicted.
	h := evidence.NewHost("n")
	applyModinfo(fixture(t, "modinfo-builtin.txt"), h)
	if _, ok := h.Kernel.Builtin["ip_vs"]; !ok || h.Kernel.Modules != nil {
		t.Errorf("builtin without lsmod: %+v", h.Kernel)
	}
	m, _ = ParseModinfo(fixture(t, "modinfo-missing.txt"), "x")
	if m.Found || m.Name != "nonexist_mod" {
		t.Errorf("missing %+v", m)
	}
}

func TestParsePackagesAll(t *testing.T) {
	doc := evidence.Doc{Source: "x", Text: "bash-5.1.8-6.el9.x86_64\nkernel-5.14.0-362.8.1.el9_3.x86_64\nopenssl-libs-3.0.7-24.el9.x86_64\n" +
		"ii  bash           5.2.15-2+b8  amd64        GNU Bourne Again SHell\n"}
	got, probs := ParsePackages(doc)
	if len(got) != 1 || got[0].Version != "5.14.0-362.8.1.el9_3.x86_64" || len(probs) != 0 {
		t.Errorf("%+v %v", got, probs)
	}
}

// The kernel's configuration and modules.builtin say what is compiled in
// (kube-proxy 1.10 reads neither, kubernetes#63801).
func TestBuiltinFromConfigAndModulesBuiltin(t *testing.T) {
	byName := map[string]format.Format{}
	for _, f := range Formats() {
		byName[f.Name] = f
	}
	cfg := "CONFIG_IP_VS=y\n# CONFIG_IP_VS_IPV6 is not set\nCONFIG_IP_VS_RR=m\nCONFIG_IP_VS_SH=y\n"
	if f := byName["kernel-config"]; !f.Sniff(cfg) || f.Sniff("net.ipv4.vs.conntrack = 0\n") {
		t.Error("kernel-config sniff")
	}
	h := evidence.NewHost("n")
	byName["kernel-config"].Apply(evidence.Doc{Host: "n", Source: "cfg", Start: 1, Text: cfg}, h)
	if r, ok := h.Kernel.Builtin["ip_vs"]; !ok || r.Line != 1 {
		t.Errorf("CONFIG_IP_VS=y: %+v", h.Kernel.Builtin)
	}
	if _, ok := h.Kernel.Builtin["ip_vs_rr"]; ok {
		t.Error("=m is a module, not built in")
	}
	if _, ok := h.Kernel.Builtin["ip_vs_sh"]; !ok {
		t.Error("CONFIG_IP_VS_SH=y")
	}
	mb := "kernel/net/netfilter/ipvs/ip_vs.ko\nkernel/net/netfilter/ipvs/ip_vs_rr.ko\n"
	if f := byName["modules-builtin"]; !f.Sniff(mb) || f.Sniff("ip_vs 145497 0\n") {
		t.Error("modules-builtin sniff")
	}
	h = evidence.NewHost("n")
	byName["modules-builtin"].Apply(evidence.Doc{Host: "n", Source: "mb", Start: 3, Text: mb}, h)
	if r, ok := h.Kernel.Builtin["ip_vs_rr"]; !ok || r.Line != 4 {
		t.Errorf("modules.builtin: %+v", h.Kernel.Builtin)
	}
}
