// Package printable makes untrusted text safe to show on a terminal or in
// a ticket. Evidence comes from tickets and from hosts that may be
// compromised: a line holding ESC ] 52 writes the reader's clipboard, a
// carriage return or a newline forges report lines, a bidi override shows
// a command other than the one copied. Every such character is replaced by
// a visible escape in Go's quoted form (\x1b, \r, \n, \u202e), so what was
// there can still be read, and nothing acts on the terminal.
//
// A backslash is not escaped: safe text must come back unchanged (and
// without allocating), so a literal `\x1b` in the input and an escaped
// ESC look alike. The JSON output keeps the exact bytes when it matters.
package printable

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// String returns s with every character that could act on a terminal or
// hide or reorder text replaced by a visible escape: C0 controls but TAB
// (NEWLINE included: one field must never become two lines), DEL, C1
// controls, bytes that are not UTF-8, the line and paragraph separators
// and Unicode format characters (bidi overrides and isolates, zero-width
// characters, BOM, tag characters). TAB is kept: evidence such as sysctl
// -a, ip rule and conntrack output separates its columns with tabs, and a
// tab moves the cursor only to the right on the same line. s itself is
// returned when there is nothing to escape.
func String(s string) string { return escape(s, false) }

// Lines is String for a block of several lines: NEWLINE is kept, every
// other character String escapes is escaped. Only for text whose line
// breaks are the program's own, not an input's.
func Lines(s string) string { return escape(s, true) }

func escape(s string, keepNL bool) string {
	i := firstUnsafe(s, keepNL)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if asciiUnsafe(c, keepNL) {
				writeByte(&b, c)
			} else {
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case n == 1: // not UTF-8: the byte as it was
			writeHex(&b, `\x`, uint32(c), 2)
		case runeUnsafe(r) && r < 0x10000:
			writeHex(&b, `\u`, uint32(r), 4)
		case runeUnsafe(r):
			writeHex(&b, `\U`, uint32(r), 8)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// firstUnsafe is the index of the first byte to escape, or -1. ASCII is
// checked byte by byte; only non-ASCII runes are decoded.
func firstUnsafe(s string, keepNL bool) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if asciiUnsafe(c, keepNL) {
				return i
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if n == 1 || runeUnsafe(r) {
			return i
		}
		i += n
	}
	return -1
}

func asciiUnsafe(c byte, keepNL bool) bool {
	if c >= 0x20 {
		return c == 0x7f
	}
	return c != '\t' && (c != '\n' || !keepNL)
}

// runeUnsafe reports whether a (valid, non-ASCII) rune must be escaped.
// Cf holds the bidi controls (U+202A–U+202E, U+2066–U+2069, U+200E,
// U+200F, U+061C), the zero-width ones (U+200B–U+200D, U+2060), the BOM,
// the soft hyphen, the interlinear annotation marks that hide text and
// the tag characters that smuggle invisible ASCII.
func runeUnsafe(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f: // C1: 0x9b is CSI on some terminals
		return true
	case r == 0x2028 || r == 0x2029: // line, paragraph separators
		return true
	}
	return unicode.Is(unicode.Cf, r)
}

func writeByte(b *strings.Builder, c byte) {
	switch c {
	case '\a':
		b.WriteString(`\a`)
	case '\b':
		b.WriteString(`\b`)
	case '\f':
		b.WriteString(`\f`)
	case '\n':
		b.WriteString(`\n`)
	case '\r':
		b.WriteString(`\r`)
	case '\v':
		b.WriteString(`\v`)
	default:
		writeHex(b, `\x`, uint32(c), 2)
	}
}

func writeHex(b *strings.Builder, prefix string, v uint32, digits int) {
	const hex = "0123456789abcdef"
	b.WriteString(prefix)
	for shift := 4 * (digits - 1); shift >= 0; shift -= 4 {
		b.WriteByte(hex[v>>uint(shift)&0xf])
	}
}
