package intake

import (
	"regexp"
	"strings"
)

// failureLine matches what a shell, sudo or a command prints instead of
// its output when it could not run: the error of a command that failed is
// not an empty listing. An `ip addr` file holding only "Permission
// denied" must not read as a host without addresses (it would "prove" the
// VIP missing).
//
// Failures that are evidence in their own right are not here: ipvsadm's
// "Can't initialize ipvs" (IPVS is not loaded), "RTNETLINK answers:
// Network is unreachable" from `ip route get`.
var failureLine = regexp.MustCompile(`(?i)` +
	`command not found|permission denied|operation not permitted|no such file or directory|` +
	`you must be root|must be run as root|are you root|only root can|requires root|` +
	`^sudo: |^su: |^(-?(ba|z|k|da|fi|c|tc)?sh|bash-\d[\d.]*): |^which: no |` +
	`is unknown, try "\S+ (\S+ )?help"|^(Error: )?(either|argument) "[^"]*" is (wrong|required)|` +
	`^try '.*--help'|invalid option|unrecognized option|unknown option|illegal option|` +
	`^error: (cannot|could not|failed to) |^Failed to (connect|get|open|execute|start) |` +
	`^device "[^"]*" does not exist|^can't open |^cannot open |^cannot access |` +
	`: not found$|is not recognized as an internal or external command`)

// usageLine starts a usage message: the command was typed wrong and
// printed how it should be typed instead of its output.
var usageLine = regexp.MustCompile(`(?i)^\s*(usage|用法)\s*:`)

// failureWords screens lines before the regexps: every failureLine and
// usageLine match holds one of them, and most output lines hold none, so
// the regexps (slow with case folding) run on few lines.
//
// "unknown," ("is unknown, try"), not "unknown" ("unknown option" has
// "option"): every `ip addr` prints "state UNKNOWN" for lo, and the
// regexp is slow on that line.
var failureWords = []string{"not found", "denied", "not permitted", "no such file", "root", "sudo:", "su:", "sh:",
	"which:", "unknown,", "wrong", "required", "--help", "option", "error", "failed", "does not exist", "can't open",
	"cannot", "not recognized", "usage", "用法"}

func mayFail(l string) bool {
	l = strings.ToLower(l)
	for _, w := range failureWords {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

// commandFailed reports whether text is a command's failure rather than
// its output: every line is an error line, or a usage message starts in
// its first lines. It returns the line to quote.
func commandFailed(text string) (string, bool) {
	var first string
	lines, errs := 0, 0
	for l := range strings.Lines(text) {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		lines++
		screened := mayFail(l)
		if screened && lines <= 3 && usageLine.MatchString(l) {
			return l, true
		}
		if !screened || !failureLine.MatchString(l) {
			if lines > 3 {
				break
			}
			continue
		}
		errs++
		if first == "" {
			first = l
		}
	}
	return first, lines > 0 && errs == lines
}

// clipLine shortens a quoted input line for a message.
func clipLine(s string) string {
	if len(s) > 120 {
		return strings.ToValidUTF8(s[:120], "") + "…"
	}
	return s
}
