package kernel

import (
	"fmt"
	"slices"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/parsetest"
)

// TestParseHistory: dnf 4's own history listings (testdata/README.md)
// give the kernel packages as their last transaction left them: the
// el9_3 kernel installed by 1 and removed by 3, the el9_4 one installed by
// 2 (its "Reason Change" in 3 keeps it installed), whatever order the
// transactions are printed in.
func TestParseHistory(t *testing.T) {
	for _, tc := range []struct {
		file, cmd string
		want      []string
		txns      int
	}{
		{"dnf-history-info-3-2-1.txt", "dnf history info 3 2 1", []string{
			"5.14.0-362.8.1.el9_3.x86_64 removed=true line 13", "5.14.0-427.13.1.el9_4.x86_64 removed=false line 26"}, 3},
		{"dnf-history-info-kernel-core.txt", "dnf history info kernel-core", []string{
			"5.14.0-362.8.1.el9_3.x86_64 removed=true line 13", "5.14.0-427.13.1.el9_4.x86_64 removed=false line 26"}, 3},
		{"dnf-history-info-last.txt", "dnf history info", []string{
			"5.14.0-427.13.1.el9_4.x86_64 removed=false line 12", "5.14.0-362.8.1.el9_3.x86_64 removed=true line 13"}, 1},
		{"dnf-history-list.txt", "dnf history list", nil, 0},
	} {
		doc := parsetest.Fixture(t, "h", tc.file, tc.cmd)
		h, probs := ParseHistory(doc)
		if len(probs) > 0 {
			t.Errorf("%s: %v", tc.file, probs)
		}
		var got []string
		for _, k := range h.Kernels() {
			parsetest.CheckRef(t, doc, k.Ref)
			got = append(got, fmt.Sprintf("%s removed=%v line %d", k.Version, k.Removed, k.Ref.Line))
			if !k.History {
				t.Errorf("%s: %s not from the history", tc.file, k.Version)
			}
		}
		if !slices.Equal(got, tc.want) || h.Transactions != tc.txns {
			t.Errorf("%s: %d transactions, kernels\n got %q\nwant %q", tc.file, h.Transactions, got, tc.want)
		}
	}
}

// TestHistoryLayouts: what yum 3's history info adds to dnf's layout
// (the plugins line, the packages a transaction was performed with, a
// marked line) changes nothing; kernel-headers and kernel-tools are not
// kernels. Lines written for the test in yum's layout.
func TestHistoryLayouts(t *testing.T) {
	text := "Loaded plugins: fastestmirror\nTransaction ID : 7\nBegin time     : Tue Mar  3 10:00:00 2020\n" +
		"User           : root <root>\nReturn-Code    : Success\nCommand Line   : update kernel\n" +
		"Transaction performed with:\n    Installed     rpm-4.11.3-40.el7.x86_64 @base\n" +
		"    Installed     kernel-3.10.0-957.el7.x86_64 @anaconda\n" +
		"Packages Altered:\n    Install     kernel-3.10.0-1062.el7.x86_64         @base\n" +
		"    Dep-Install kernel-headers-3.10.0-1062.el7.x86_64 @base\n" +
		"** Erase       kernel-3.10.0-693.el7.x86_64          @anaconda\nhistory info\n"
	h, probs := ParseHistory(evidence.Doc{Source: "s", Start: 1, Text: text})
	var got []string
	for _, k := range h.Kernels() {
		got = append(got, fmt.Sprintf("%s %v", k.Version, k.Removed))
	}
	// "history info" is what yum prints after its output; the marked line
	// at the left margin is yum's "**" for a problem package.
	if want := []string{"3.10.0-1062.el7.x86_64 false"}; !slices.Equal(got, want) {
		t.Errorf("kernels %q, want %q (problems %v)", got, want, probs)
	}
}
