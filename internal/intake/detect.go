package intake

import (
	"cmp"
	"fmt"
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/casedir"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
)

// sniffBytes is how much of a block the sniffers see.
const sniffBytes = 4096

// Detect names the format of a block: by its command line, then (for a
// file that is one block) by the file name, then by content. It returns
// the format and how it was told, or nil.
func Detect(command, base string, wholeFile bool, text string) (*format.Format, string) {
	if command != "" {
		for i := range formats {
			for _, re := range formats[i].Commands {
				if re.MatchString(command) {
					return &formats[i], "command"
				}
			}
		}
	}
	if wholeFile && command == "" {
		for i := range formats {
			for _, re := range formats[i].Files {
				if re.MatchString(base) {
					return &formats[i], "file name"
				}
			}
		}
	}
	head := text
	if len(head) > sniffBytes {
		head = head[:sniffBytes]
	}
	if strings.TrimSpace(head) == "" {
		return nil, ""
	}
	for i := range formats {
		if formats[i].Sniff != nil && formats[i].Sniff(head) {
			return &formats[i], "content"
		}
	}
	return nil, ""
}

// contextCommands print things people paste for context that no rule
// reads; their output is skipped without calling it a problem.
var contextCommands = regexp.MustCompile(`^(virsh (list|dominfo|domiflist|net-list|nwfilter-list)|bridge (link|fdb|vlan)|brctl show|` +
	`systemctl (status|is-active)|service \S+ status|ps( |$)|getenforce|sestatus|hostname|echo |watch |keepalived (-v|--version)|` +
	`ipvsadm (-v|--version)|date|w$|who|uptime|free|df |top|history|cat /proc/cpuinfo|lscpu)`)

// dispatch parses one block into h, turning a panic of a parser into a
// Problem: one broken parser must not cost the user the rest of the case.
func dispatch(c *evidence.Case, h *evidence.Host, doc evidence.Doc, base string, wholeFile bool) {
	f, how := Detect(doc.Command, base, wholeFile, doc.Text)
	if how == "content" && f.Extent != nil && len(doc.Text) <= sniffBytes*16 {
		if from, to := f.Extent(doc.Text); from > 0 || to < len(doc.Text) {
			// The output is a part of the block: what is before and
			// after it is read on its own.
			for _, part := range [][2]int{{0, from}, {from, to}, {to, len(doc.Text)}} {
				if part[1] <= part[0] {
					continue
				}
				sub := doc
				sub.Text = doc.Text[part[0]:part[1]]
				sub.Start = doc.Start + strings.Count(doc.Text[:part[0]], "\n")
				if part[0] == from && part[1] == to {
					dispatchFormat(c, h, sub, f)
				} else {
					dispatch(c, h, sub, base, false)
				}
			}
			return
		}
	}
	dispatchFormat(c, h, doc, f)
}

// dispatchFormat parses doc as f's output (nil: not understood).
func dispatchFormat(c *evidence.Case, h *evidence.Host, doc evidence.Doc, f *format.Format) {
	if f != nil || strings.TrimSpace(doc.Text) != "" {
		c.Read.Blocks++
	}
	if f == nil && contextCommands.MatchString(doc.Command) {
		c.Read.Context++
		return
	}
	if line, failed := commandFailed(doc.Text); failed && (f == nil || f.ErrorIsEvidence == nil || !f.ErrorIsEvidence(doc)) {
		what := "the command"
		switch {
		case doc.Command != "":
			what = fmt.Sprintf("%q", clipWord(doc.Command))
		case f != nil:
			what = "the " + f.Name + " command"
		}
		c.Problems = append(c.Problems, evidence.Problem{Host: h.Name, Source: doc.Source, Line: doc.Start,
			Message: fmt.Sprintf("%s failed (%q): an error, not its output, so it is not used as evidence; run it again where it can succeed", what, clipLine(line))})
		c.Read.Failed++
		return
	}
	if f == nil {
		if strings.TrimSpace(doc.Text) == "" {
			return // a command with no output says nothing
		}
		what := "content"
		if doc.Command != "" {
			what = fmt.Sprintf("output of %q", clipWord(doc.Command))
		}
		c.Problems = append(c.Problems, evidence.Problem{Host: h.Name, Source: doc.Source, Line: doc.Start,
			Message: "unrecognised " + what + ": not used"})
		return
	}
	if limit := cmp.Or(f.MaxBytes, format.SmallOutput); len(doc.Text) > limit {
		cut := strings.LastIndexByte(doc.Text[:limit], '\n') + 1
		doc.Text = doc.Text[:cut]
		c.Problems = append(c.Problems, evidence.Problem{Host: h.Name, Source: doc.Source, Line: doc.Start,
			Message: fmt.Sprintf("%s output larger than %s: only its first %s were read (no real host prints that much of it)",
				f.Name, casedir.Size(int64(limit)), casedir.Size(int64(limit)))})
	}
	c.Read.Understood++
	defer func() {
		if r := recover(); r != nil {
			c.Problems = append(c.Problems, evidence.Problem{Host: h.Name, Source: doc.Source, Line: doc.Start,
				Message: fmt.Sprintf("%s parser failed (%v): block skipped, please report this input", f.Name, r)})
		}
	}()
	c.Problems = append(c.Problems, f.Apply(doc, h)...)
}
