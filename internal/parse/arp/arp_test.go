package arp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

func TestParse(t *testing.T) {
	tests := map[string][]string{
		"arp-n.txt":         {"192.0.2.3  veth0 INCOMPLETE", "192.0.2.1 52:54:00:12:34:56 veth0 PERMANENT", "192.0.2.2 52:54:00:12:34:57 veth0 COMPLETE"},
		"arp-an.txt":        {"192.0.2.3  veth0 INCOMPLETE", "192.0.2.1 52:54:00:12:34:56 veth0 PERMANENT", "192.0.2.2 52:54:00:12:34:57 veth0 COMPLETE"},
		"arp-a.txt":         {"192.0.2.3  veth0 INCOMPLETE", "192.0.2.1 52:54:00:12:34:56 veth0 PERMANENT", "192.0.2.2 52:54:00:12:34:57 veth0 COMPLETE"},
		"arp-n-centos6.txt": {"192.0.2.1 00:50:56:c0:00:08 eth0 COMPLETE", "192.0.2.60 00:0c:29:3b:3e:5b eth0 COMPLETE", "192.0.2.254  eth0 INCOMPLETE"},
		"arp-an-bsd.txt":    {"192.0.2.1 00:0c:29:aa:bb:cc em0 COMPLETE", "192.0.2.60 52:54:00:12:34:56 em0 PERMANENT", "192.0.2.3  em0 INCOMPLETE"},
	}
	for file, want := range tests {
		t.Run(file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			doc := evidence.Doc{Source: file, Text: string(b)}
			ns, probs := Parse(doc)
			if len(probs) != 0 {
				t.Errorf("problems %v", probs)
			}
			var got []string
			for _, n := range ns {
				got = append(got, strings.Join([]string{n.IP.String(), n.MAC, n.Dev, n.State}, " "))
				if n.Ref.Line < 1 {
					t.Errorf("bad ref %+v", n.Ref)
				}
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.txt")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, text string) {
		doc := evidence.Doc{Source: "f", Text: text}
		ns, probs := Parse(doc)
		n := len(doc.Lines())
		for _, x := range ns {
			if x.Ref.Line < 1 || x.Ref.Line > n || !x.IP.IsValid() {
				t.Fatalf("bad neighbour %+v", x)
			}
		}
		for _, p := range probs {
			if p.Line < 1 || p.Line > n {
				t.Fatalf("bad problem %+v", p)
			}
		}
	})
}
