package intake

import (
	"cmp"
	"fmt"
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/casedir"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/syslog"
)

// logsParse reads the log lines of a block.
var logsParse = syslog.ParseLog

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
	doc, cut := elide(doc)
	before := map[evidence.Kind]int{}
	for k, refs := range h.Seen {
		before[k] = len(refs)
	}
	c.Problems = append(c.Problems, f.Apply(doc, h)...)
	alsoLogLines(h, doc, f)
	if cut.IsZero() {
		return
	}
	// What this block showed is incomplete: the kinds it recorded are
	// not evidence of absence.
	for k, refs := range h.Seen {
		if len(refs) > before[k] && k != evidence.KindLogs && k != evidence.KindFrames {
			h.AddHidden(evidence.Hidden{Kind: k, What: fmt.Sprintf("lines cut from the %s output (%q)", f.Name, strings.TrimSpace(cut.Text)),
				Command: doc.Command, Ref: cut})
		}
	}
}

// elisionRE is a line a person or a pager put where lines were cut from
// an output: "...", "…", "[...]", "<snip>", "(12 more lines)", "--More--".
var elisionRE = regexp.MustCompile(`^\s*(?:\.{3,}|…+|\[(?:\.{3}|…)\]|<\s*snip(?:ped)?\s*>|\[?\s*snip(?:ped)?\s*\]?|` +
	`(?:\.{3}\s*)?[(\[]\s*\d+ more(?: lines| rows| rules| entries)?\s*[)\]](?:\s*\.{3})?|--More--(?:\(\d+%\))?)\s*$`)

// elide blanks the lines of doc that stand for lines cut from the output
// (parsers would not understand them; the numbering stays), and returns
// the first such line's reference.
func elide(doc evidence.Doc) (evidence.Doc, evidence.Ref) {
	if !strings.Contains(doc.Text, "...") && !strings.Contains(doc.Text, "…") && !strings.Contains(doc.Text, "more)") &&
		!strings.Contains(doc.Text, "more lines") && !strings.Contains(doc.Text, "more]") &&
		!strings.Contains(doc.Text, "snip") && !strings.Contains(doc.Text, "--More--") {
		return doc, evidence.Ref{}
	}
	lines := strings.Split(doc.Text, "\n")
	var first evidence.Ref
	for i, l := range lines {
		if elisionRE.MatchString(strings.TrimSuffix(l, "\r")) {
			if first.IsZero() {
				first = doc.Ref(i, l)
			}
			lines[i] = ""
		}
	}
	if first.IsZero() {
		return doc, first
	}
	doc.Text = strings.Join(lines, "\n")
	return doc, first
}

// logsFormat is the format of keepalived's and the kernel's logs.
var logsFormat = func() *format.Format {
	for i := range formats {
		if formats[i].Name == "logs" {
			return &formats[i]
		}
	}
	return nil
}()

// mayHoldLogLines is a cheap screen before the log sniffer's regular
// expressions, which would cost every block of every case: the literal
// each of its forms holds (keepalived's ident, its console's "Keepalived"
// or VRRP state, the kernel's name or dmesg's bracket, keepalived -t's
// "Line N"), or a message of the table.
func mayHoldLogLines(s string) bool {
	for _, lit := range []string{"Keepalived", "kernel", "] ", "STATE", "Line "} {
		if strings.Contains(s, lit) {
			return true
		}
	}
	return syslog.LoggedMessage(s)
}

// logTailBytes bounds the blocks alsoLogLines looks into: a few lines of
// output with log lines pasted under them, not a table of a thousand
// services, whose every line it would otherwise screen.
const logTailBytes = 64 << 10

// alsoLogLines reads the log lines of a short block of another command's
// output: a paste whose log lines follow `uname -a` without their own
// prompt (`journalctl` was not pasted) holds them in uname's block, which
// reads its one line and nothing after it. Log lines say what happened
// whatever command's output they were pasted under; the log reader keeps
// only the lines it knows.
func alsoLogLines(h *evidence.Host, doc evidence.Doc, f *format.Format) {
	if logsFormat == nil || f == logsFormat || f.Name == "logs" || len(doc.Text) > logTailBytes {
		return
	}
	_, after, ok := strings.Cut(doc.Text, "\n") // the first line is the command's own
	if !ok || !mayHoldLogLines(after) || !logsFormat.Sniff(after) {
		return
	}
	evs, _ := logsParse(doc)
	if len(evs) > 0 {
		h.Logs = append(h.Logs, evs...)
		h.MarkSeen(evidence.KindLogs, format.BlockRef(doc))
	}
}
