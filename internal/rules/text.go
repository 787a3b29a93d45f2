package rules

import (
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// clip trims the blanks around s and cuts it to at most n bytes
// (evidence.Clip).
func clip(s string, n int) string { return evidence.Clip(strings.TrimSpace(s), n) }

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
