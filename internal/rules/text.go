package rules

import "strings"

// clip trims s to at most n bytes, cutting on a rune boundary and marking
// the cut with an ellipsis.
func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// upperFirst capitalises the first letter of a sentence.
func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// orName is a, or b when a is empty.
func orName(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
