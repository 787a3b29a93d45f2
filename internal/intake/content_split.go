package intake

import (
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/parse/keepalived"
)

// Pastes often hold several outputs with no command line between them: a
// keepalived.conf fragment right above the `ipvsadm -Ln` it is compared
// with, keepalived's log lines under the configuration they complain
// about, `keepalived -v` after the table. Read as one block, the first
// format's parser gets the others' lines and calls them garbage. These are
// the lines that begin another output, by content alone: each is printed
// by one program and by nothing else, so a block is cut there.
var (
	// ipvsadm's first line, whatever it lists.
	ipvsHeadLine = regexp.MustCompile(`^IP Virtual Server version \d+\.\d+\.\d+`)
	// `keepalived -v`'s first line.
	keepalivedVersionLine = regexp.MustCompile(`^Keepalived v\d+\.\d+`)
	// A top-level keepalived.conf block opening on its line.
	confBlockLine = regexp.MustCompile(`^\s*(?:global_defs|(?:vrrp_instance|vrrp_sync_group|vrrp_script|virtual_server_group|local_address_group)\s+\S+|virtual_server\s+(?:\S+\s+\d+|fwmark\s+\d+|group\s+\S+))\s*\{\s*$`)
	// What a line of keepalived.conf looks like: a lower-case keyword (or
	// an address, in a block of them), a brace, or a comment.
	confShaped = regexp.MustCompile(`^\s*(?:[a-z][a-z0-9_]*(?:\s|$|\{)|[0-9a-fA-F:.]+(?:/\d+)?(?:\s|$)|[{}]|[!#])`)
)

// segmentKind is what a run of lines of a block is, as far as cutting
// needs to know.
type segmentKind int

const (
	segOther segmentKind = iota
	segConf
	segIPVS
	segVersion
	segFragment
)

func lineKind(line string) segmentKind {
	switch {
	case ipvsHeadLine.MatchString(line):
		return segIPVS
	case keepalivedVersionLine.MatchString(line):
		return segVersion
	case confBlockLine.MatchString(line):
		return segConf
	case keepalived.LVSKeywordLine(line):
		return segFragment
	}
	return segOther
}

// splitsByContent reports whether a block is one whose outputs may be
// glued: one with no command line, or whose command prints one of the
// outputs cut here (the user pasted the next output under it, without
// its prompt).
func splitsByContent(b Block) bool {
	if b.Command == "" {
		return true
	}
	f, _ := Detect(b.Command, "", false, "")
	return f != nil && (f.Name == "keepalived-conf" || f.Name == "ipvsadm" || f.Name == "keepalived-version")
}

// maxSplitBytes bounds the blocks looked at: glued outputs are a paste's,
// never a large file's.
const maxSplitBytes = 1 << 20

// splitByContent cuts a block where another output begins (see above),
// and where a keepalived.conf whose braces have all closed is followed by
// lines no configuration holds that another format recognises (a log
// under it). It returns b itself when nothing begins inside it.
func splitByContent(b Block) []Block {
	if len(b.Text) > maxSplitBytes || b.Text == "" {
		return []Block{b}
	}
	var out []Block
	text := b.Text
	segStart, segLine := 0, 0 // byte offset and line index of the current segment
	kind := segOther
	first := true // no non-blank line yet in the segment
	depth, closed := 0, false
	isConf := func() bool {
		f, _ := Detect(b.Command, "", false, text)
		return f != nil && f.Name == "keepalived-conf"
	}
	cut := func(off, line int, k segmentKind) {
		sub := b
		sub.Text = text[segStart:off]
		sub.Start = b.Start + segLine
		if len(out) > 0 {
			sub.Command = "" // only the first part is the command's output
		}
		out = append(out, sub)
		segStart, segLine, kind, first = off, line, k, false
		depth, closed = 0, false
	}
	for off, i := 0, 0; off < len(text); i++ {
		end := strings.IndexByte(text[off:], '\n')
		next := len(text)
		if end >= 0 {
			next = off + end + 1
		}
		line := strings.TrimRight(text[off:next], "\r\n")
		t := strings.TrimSpace(line)
		k := lineKind(line)
		switch {
		case t == "":
		case first && (t[0] == '!' || t[0] == '#'):
			// a comment heads many a keepalived.conf: the block's kind is
			// its first statement's
		case first:
			kind, first = k, false
			if k == segOther && confShaped.MatchString(line) && isConf() {
				// "include ...", "lvs_id x" before the first block:
				// the configuration's own lines
				kind = segConf
			}
		case k != segOther && k != kind && !(kind == segConf && k == segFragment):
			cut(off, i, k)
		case kind == segFragment && k == segOther:
			// a quoted line of configuration is over
			cut(off, i, segOther)
		case kind == segConf && depth == 0 && closed && !confShaped.MatchString(line):
			// The configuration is over; the rest is cut off only when
			// another format knows it, else the configuration's parser
			// says what it skipped, as before.
			if f, _ := Detect("", "", false, text[off:]); f != nil && f.Name != "keepalived-conf" {
				cut(off, i, segOther)
			}
		}
		if kind == segConf && t != "" {
			depth, closed = braceDepth(line, depth, closed)
		}
		off = next
	}
	if len(out) == 0 {
		return []Block{b}
	}
	cut(len(text), 0, segOther)
	return out
}

// braceDepth follows the nesting of keepalived.conf's braces over one
// line; a comment ("!" or "#") ends the line's tokens.
func braceDepth(line string, depth int, closed bool) (int, bool) {
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '!', '#':
			return depth, closed
		case '{':
			depth++
		case '}':
			if depth > 0 {
				depth--
				if depth == 0 {
					closed = true
				}
			}
		}
	}
	return depth, closed
}
