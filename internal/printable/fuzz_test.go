package printable

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzString checks the promise made to the renderers, independently of
// how String decides: nothing in its output can act on a terminal, and
// output is a fixed point.
func FuzzString(f *testing.F) {
	for _, s := range []string{
		"",
		"net.ipv4.conf.all.rp_filter = 1",
		"fs.file-nr = 96\t0\t96974",
		"\x1b]52;c;QUJD\x07",
		"\x1b]0;title\x07",
		"\x1b]8;;http://x\x1b\\click\x1b]8;;\x1b\\",
		"\x1b[2J",
		"ok\rFAILED",
		"rs1\nROOT CAUSE: forged",
		"\u009b2J\x9b2J\u0085",
		"\xff\xc3\xed\xa0\x80",
		"rm -rf \u202e/ txt.sh\u2066\u2069",
		"\u200b\u200f\u2028\u2029\ufeff\U000E0041",
		`already \x1b escaped`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := String(s)
		checkSafe(t, out, false)
		if again := String(out); again != out {
			t.Fatalf("String not idempotent: %q -> %q -> %q", s, out, again)
		}
		lines := Lines(s)
		checkSafe(t, lines, true)
		// Lines is String line by line: a newline is never part of an
		// escape, nor swallowed by one.
		parts := strings.Split(s, "\n")
		for i, p := range parts {
			parts[i] = String(p)
		}
		if want := strings.Join(parts, "\n"); lines != want {
			t.Fatalf("Lines(%q) = %q, want %q", s, lines, want)
		}
	})
}

func checkSafe(t *testing.T, out string, keepNL bool) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("output not UTF-8: %q", out)
	}
	for i := 0; i < len(out); i++ {
		c := out[i]
		if (c < 0x20 && c != '\t' && !(keepNL && c == '\n')) || c == 0x7f {
			t.Fatalf("control byte %#x in output %q", c, out)
		}
	}
	for _, r := range out {
		switch {
		case r >= 0x80 && r <= 0x9f, r >= 0x200b && r <= 0x200f, r >= 0x202a && r <= 0x202e,
			r >= 0x2066 && r <= 0x2069, r == 0x2028, r == 0x2029, r == 0xfeff, unicode.Is(unicode.Cf, r):
			t.Fatalf("rune %U in output %q", r, out)
		}
	}
}
