package libvirt

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

func fixture(t testing.TB, name, cmd string) evidence.Doc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return evidence.Doc{Host: "hv1", Source: "hv1/" + name, Start: 5, Command: cmd, Text: string(b)}
}

func TestRepair(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<interfacetype='bridge'>", "<interface type='bridge'>"},
		{"<filterreffilter='clean-traffic'>", "<filterref filter='clean-traffic'>"},
		{"<ipsrcipaddr='$IP'/>", "<ip srcipaddr='$IP'/>"},
		{"<modeltype='virtio'/>", "<model type='virtio'/>"},
		{"<aliasname='net0'/>", "<alias name='net0'/>"},
		{"<address type='pci'domain='0x0000' bus='0x00'/>", "<address type='pci' domain='0x0000' bus='0x00'/>"},
		{"<rule action='accept'direction='out' priority='-650'>", "<rule action='accept' direction='out' priority='-650'>"},
		{"<macprotocolid='arp'/>", "<mac protocolid='arp'/>"},
		{"<ip srcipaddr='0.0.0.0'protocol='udp'/>", "<ip srcipaddr='0.0.0.0' protocol='udp'/>"},
		{"<mac address='52:54:00:6b:3c:58'/>", "<mac address='52:54:00:6b:3c:58'/>"},
		{"a\n<b c='x\ny'd='1'>\n", "a\n<b c='x\ny' d='1'>\n"},
		{"<unknownglued='1'>", "<unknownglued='1'>"},
	}
	for _, tt := range tests {
		if got := Repair(tt.in); got != tt.want {
			t.Errorf("Repair(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseDomain(t *testing.T) {
	tests := []struct {
		file, cmd       string
		n               int
		domain, mac, br string
		target, filter  string
		ip              string
		line, problems  int
	}{
		{"dumpxml-director1.txt", "virsh dumpxml director1", 2, "director1", "52:54:00:6b:3c:58", "br0", "vnet0", "clean-traffic", "192.0.2.200", 5 + 46, 0},
		{"dumpxml-one-line.txt", "", 2, "director1", "52:54:00:6b:3c:58", "br0", "vnet0", "clean-traffic", "192.0.2.200", 5, 0},
		{"seed-dumpxml-mangled.txt", "virsh dumpxml r2-10105", 1, "r2-10105", "02:00:73:b6:53:c8", "br0", "vnet0", "clean-traffic", "x.y.z.200", 5 + 10, 0},
		{"dumpxml-truncated.txt", "virsh dumpxml --inactive director1", 1, "director1", "52:54:00:6b:3c:58", "br0", "vnet0", "clean-traffic", "192.0.2.200", 5 + 46, 1},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ifs, probs := ParseDomain(fixture(t, tt.file, tt.cmd))
			if len(probs) != tt.problems {
				t.Errorf("problems %v", probs)
			}
			if len(ifs) != tt.n {
				t.Fatalf("interfaces %+v", ifs)
			}
			i := ifs[0]
			if i.Domain != tt.domain || i.MAC != tt.mac || i.Bridge != tt.br || i.Target != tt.target || i.FilterRef != tt.filter ||
				i.FilterParams["IP"] != tt.ip || i.Ref.Line != tt.line || !strings.Contains(i.Ref.Text, "filterref") {
				t.Errorf("got %+v", i)
			}
			if tt.n > 1 {
				j := ifs[1]
				if j.FilterRef != "" || j.Bridge != "virbr0" || j.Target != "vnet1" || j.Domain != tt.domain || !strings.Contains(j.Ref.Text, "<interface") {
					t.Errorf("second %+v", j)
				}
			}
		})
	}
}

func TestParseNWFilter(t *testing.T) {
	tests := []struct {
		file  string
		name  string
		chain string
		refs  string
		rules int
		check func(t *testing.T, f evidence.NWFilter)
	}{
		{file: "nwfilter-dumpxml-clean-traffic.txt", name: "clean-traffic", chain: "root",
			refs: "no-mac-spoofing,no-ip-spoofing,allow-incoming-ipv4,no-arp-spoofing,no-other-l2-traffic,qemu-announce-self", rules: 2,
			check: func(t *testing.T, f evidence.NWFilter) {
				r := f.Rules[0]
				if r.Action != "accept" || r.Direction != "out" || r.Priority != -650 || r.Protocol != "mac" || r.Attrs["protocolid"] != "ipv4" || r.Ref.Line != 5+4 {
					t.Errorf("rule %+v", r)
				}
			}},
		{file: "seed-nwfilter-clean-traffic-mangled.txt", name: "clean-traffic", chain: "root",
			refs: "no-mac-spoofing,no-ip-spoofing,allow-incoming-ipv4,no-arp-spoofing,no-other-l2-traffic,qemu-announce-self", rules: 2},
		{file: "nwfilter-dumpxml-no-ip-spoofing.txt", name: "no-ip-spoofing", chain: "ipv4-ip", rules: 3,
			check: func(t *testing.T, f evidence.NWFilter) {
				if r := f.Rules[1]; r.Action != "return" || r.Protocol != "ip" || r.Attrs["srcipaddr"] != "$IP" || r.Priority != 500 {
					t.Errorf("rule %+v", r)
				}
				if r := f.Rules[2]; r.Action != "drop" || r.Protocol != "" || r.Priority != 1000 || r.Ref.Line != 5+8 {
					t.Errorf("drop rule %+v", r)
				}
			}},
		{file: "seed-nwfilter-no-ip-spoofing-mangled.txt", name: "no-ip-spoofing", chain: "ipv4-ip", rules: 3,
			check: func(t *testing.T, f evidence.NWFilter) {
				if r := f.Rules[0]; r.Attrs["srcipaddr"] != "0.0.0.0" || r.Attrs["protocol"] != "udp" {
					t.Errorf("rule %+v", r)
				}
				if r := f.Rules[1]; r.Attrs["srcipaddr"] != "$IP" || r.Direction != "out" {
					t.Errorf("rule %+v", r)
				}
				if r := f.Rules[2]; r.Action != "drop" || r.Ref.Line != 5+16 {
					t.Errorf("rule %+v", r)
				}
			}},
		{file: "stock/clean-traffic.xml", name: "clean-traffic", chain: "root",
			refs: "no-mac-spoofing,no-ip-spoofing,allow-incoming-ipv4,no-arp-spoofing,no-other-l2-traffic,qemu-announce-self", rules: 2},
		{file: "stock/no-ip-spoofing.xml", name: "no-ip-spoofing", chain: "ipv4-ip", rules: 3},
		{file: "stock/no-mac-spoofing.xml", name: "no-mac-spoofing", chain: "mac", rules: 2,
			check: func(t *testing.T, f evidence.NWFilter) {
				if r := f.Rules[0]; r.Priority != 500 || r.Attrs["srcmacaddr"] != "$MAC" {
					t.Errorf("rule %+v", r)
				}
			}},
		{file: "stock/allow-incoming-ipv4.xml", name: "allow-incoming-ipv4", chain: "ipv4", rules: 1},
		{file: "stock/no-arp-spoofing.xml", name: "no-arp-spoofing", chain: "root", refs: "no-arp-mac-spoofing,no-arp-ip-spoofing"},
		{file: "stock/no-arp-mac-spoofing.xml", name: "no-arp-mac-spoofing", chain: "arp-mac", rules: 2},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			fs, probs := ParseNWFilter(fixture(t, tt.file, ""))
			if len(probs) != 0 {
				t.Errorf("problems %v", probs)
			}
			if len(fs) != 1 {
				t.Fatalf("filters %+v", fs)
			}
			f := fs[0]
			if f.Name != tt.name || f.Chain != tt.chain || strings.Join(f.FilterRefs, ",") != tt.refs || len(f.Rules) != tt.rules || f.Ref.Line != 5 {
				t.Errorf("got %+v", f)
			}
			if tt.check != nil {
				tt.check(t, f)
			}
		})
	}
}

func TestParseNWFilterList(t *testing.T) {
	es, probs := ParseNWFilterList(fixture(t, "nwfilter-list.txt", ""))
	if len(probs) != 0 || len(es) != 11 || es[3].Name != "clean-traffic" || es[3].UUID != "8c2059f9-d00f-4d1d-b96e-69e7d2b41c0f" {
		t.Errorf("%+v %v", es, probs)
	}
}

func TestGarbage(t *testing.T) {
	doc := evidence.Doc{Source: "x", Text: "<filter name='a'><rule action='drop' priority='x'><ip/></rule>\n<<<>>>&&&\n</filter"}
	fs, probs := ParseNWFilter(doc)
	if len(fs) != 1 || len(fs[0].Rules) != 1 || len(probs) == 0 {
		t.Errorf("%+v %v", fs, probs)
	}
}

func TestGrepExcerpt(t *testing.T) {
	// `virsh dumpxml dir1 | grep -A 12 "<interface type='bridge'>"` cuts the
	// XML in the middle of the next element.
	doc := evidence.Doc{Source: "x", Command: `virsh dumpxml dir1 | grep -A 12 "<interface type='bridge'>"`, Text: `    <interface type='bridge'>
      <mac address='52:54:00:3a:91:c8'/>
      <source bridge='br0'/>
      <target dev='vnet0'/>
      <model type='virtio'/>
      <filterref filter='clean-traffic'>
        <parameter name='IP' value='192.0.2.31'/>
      </filterref>
      <alias name='net0'/>
    </interface>
    <serial type='pty'>
      <source path='/dev/pts/1'/>
`}
	ifs, probs := ParseDomain(doc)
	if len(ifs) != 1 || ifs[0].Domain != "dir1" || ifs[0].FilterParams["IP"] != "192.0.2.31" || ifs[0].Bridge != "br0" || ifs[0].Ref.Line != 6 {
		t.Errorf("%+v %v", ifs, probs)
	}
}
