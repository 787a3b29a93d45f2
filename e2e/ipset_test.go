package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusFiles reads a corpus case into caseFiles, to be varied.
func corpusFiles(t *testing.T, name string) caseFiles {
	t.Helper()
	root := filepath.Join("..", "testdata", "corpus", name)
	files := caseFiles{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func ipsetFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "internal", "parse", "ipset", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestVRRPStrictThroughIPSet: keepalived's vrrp_strict with iptables drops
// through an ipset (-m set --match-set keepalived dst -j DROP). With the
// set's members shown, the drop of the VIP is certain and the cause is
// critical; without them the diagnosis says which set is unknown and how
// to list it, and does not claim the drop.
func TestVRRPStrictThroughIPSet(t *testing.T) {
	base := corpusFiles(t, "keepalived.vrrp-strict--nft-drop").with(
		"director/nft-list-ruleset.txt", "",
		"director/iptables-save-c.txt", "$ iptables-save\n"+ipsetFixture(t, "iptables-save-match-set.txt"),
	)
	with := diagnoseFiles(t, base.with("director/ipset-list.txt", "# ipset list\n"+ipsetFixture(t, "ipset-list.txt")))
	if len(with.Findings) == 0 || with.Findings[0].ID != "keepalived.vrrp-strict" || with.Findings[0].Severity != "critical" {
		t.Fatalf("with the ipset: %+v", with.Findings)
	}
	cited := false
	for _, r := range with.Findings[0].Evidence {
		cited = cited || strings.Contains(r.Text, "--match-set keepalived dst")
	}
	if !cited {
		t.Errorf("the drop through the set is not cited: %+v", with.Findings[0].Evidence)
	}
	for _, n := range with.Notes {
		if strings.Contains(n, "ipset list keepalived") {
			t.Errorf("a note asks for a set that was shown: %s", n)
		}
	}

	without := diagnoseFiles(t, base)
	noted := false
	for _, n := range without.Notes {
		noted = noted || (strings.Contains(n, `ipset "keepalived"`) && strings.Contains(n, "ipset list keepalived") && strings.Contains(n, "192.0.2.100"))
	}
	if !noted {
		t.Errorf("no note names the unknown set: %v", without.Notes)
	}
	for _, f := range without.Findings {
		if f.ID == "keepalived.vrrp-strict" && f.Severity == "critical" {
			t.Errorf("a drop through an unknown set was taken as certain: %+v", f)
		}
	}
}
