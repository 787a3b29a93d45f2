package format

import (
	"regexp"
	"strings"
)

// What sniffers share: they see the first few KiB of a block, whose last
// line may be cut in the middle.

// CompleteLines returns the lines of head that are not blank, without a
// last line that may have been cut in the middle.
func CompleteLines(head string) []string {
	lines := strings.Split(head, "\n")
	if len(lines) > 1 && !strings.HasSuffix(head, "\n") {
		lines = lines[:len(lines)-1]
	}
	out := lines[:0]
	for _, l := range lines {
		l = strings.TrimRight(l, "\r")
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// FirstLine returns the first line of head that is not blank, trimmed.
func FirstLine(head string) string {
	for _, l := range strings.Split(head, "\n") {
		if t := strings.TrimSpace(l); t != "" {
			return t
		}
	}
	return ""
}

// FirstLines returns up to n lines of head that are not blank.
func FirstLines(head string, n int) []string {
	var out []string
	for _, l := range strings.Split(head, "\n") {
		if t := strings.TrimSpace(l); t != "" {
			out = append(out, strings.TrimSuffix(l, "\r"))
			if len(out) == n {
				break
			}
		}
	}
	return out
}

// AllMatch reports whether head has complete lines and re matches every
// one of them, trimmed.
func AllMatch(head string, re *regexp.Regexp) bool {
	lines := CompleteLines(head)
	if len(lines) == 0 {
		return false
	}
	for _, l := range lines {
		if !re.MatchString(strings.TrimSpace(l)) {
			return false
		}
	}
	return true
}
