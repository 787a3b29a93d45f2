package printable

import (
	"testing"
)

func TestString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"net.ipv4.conf.all.rp_filter = 1", "net.ipv4.conf.all.rp_filter = 1"},
		{"fs.file-nr = 96\t0\t96974", "fs.file-nr = 96\t0\t96974"}, // TAB kept
		{"já → ds1 ✓ 🙂", "já → ds1 ✓ 🙂"},
		{`C:\x1b stays`, `C:\x1b stays`}, // backslashes are not escaped
		{"\x1b]52;c;QUJD\x07", `\x1b]52;c;QUJD\a`},
		{"\x1b]0;title\x07", `\x1b]0;title\a`},
		{"\x1b]8;;http://x\x1b\\click\x1b]8;;\x1b\\", `\x1b]8;;http://x\x1b\click\x1b]8;;\x1b\`},
		{"\x1b[2J\x1b[H", `\x1b[2J\x1b[H`},
		{"ok\rFAILED", `ok\rFAILED`},
		{"rs1\nROOT CAUSE: forged", `rs1\nROOT CAUSE: forged`},
		{"a\bb\fc\vd\x00e\x7f", `a\bb\fc\vd\x00e\x7f`},
		{"\u009b2J", `\u009b2J`},         // C1 CSI, as UTF-8
		{"\x9b2J", `\x9b2J`},             // C1 CSI, a raw byte: not UTF-8
		{"\u0085next", `\u0085next`},     // NEL
		{"a\xffb\xc3", `a\xffb\xc3`},     // invalid and truncated UTF-8
		{"\xed\xa0\x80", `\xed\xa0\x80`}, // a surrogate is not UTF-8
		{"rm -rf \u202e/ txt.sh", `rm -rf \u202e/ txt.sh`},
		{"\u2066x\u2069\u202a\u202c", `\u2066x\u2069\u202a\u202c`},
		{"a\u200bb\u200dc\u200fd", `a\u200bb\u200dc\u200fd`},
		{"\ufeffbom\u2028ls\u2029ps", `\ufeffbom\u2028ls\u2029ps`},
		{"soft\u00adhyphen", `soft\u00adhyphen`},
		{"tag\U000E0041\U000E007F", `tag\U000e0041\U000e007f`},
	} {
		if got := String(tc.in); got != tc.want {
			t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLines(t *testing.T) {
	in := "line 1\nline\x1b[2J 2\r\n\tline 3"
	want := "line 1\nline\\x1b[2J 2\\r\n\tline 3"
	if got := Lines(in); got != want {
		t.Errorf("Lines(%q) = %q, want %q", in, got, want)
	}
}

// Safe text is the common case (every evidence line of a normal case):
// it must cost a scan, not a copy.
func TestNoAllocation(t *testing.T) {
	s := "ds1/ipvsadm-Ln.txt:3  TCP  192.0.2.10:80 wrr\t→ rs1 ✓"
	block := s + "\n" + s
	n := testing.AllocsPerRun(100, func() {
		if String(s) != s || Lines(block) != block {
			t.Fatal("changed")
		}
	})
	if n != 0 {
		t.Errorf("%v allocations for safe text", n)
	}
}
