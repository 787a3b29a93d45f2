// Package format says what a format of evidence is: how a block of text
// is recognised as one (by the command that printed it, by the file name,
// by its content) and how it is folded into a host. Each parse package
// declares the formats it reads in its format.go; intake only orders them.
//
// A format is what a block of text is ("ip-route": `ip route` output); an
// evidence.Kind is what a host was seen to have (evidence.KindRoutes,
// evidence.KindLocalTable): one format may record several kinds, or none.
package format

import (
	"regexp"

	"github.com/lvsdoctor/lvsdoctor/internal/casedir"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// Format describes one format of evidence: how to recognise a block of text
// as that format (by the command that printed it, by the file name, by its
// content, in that order) and how to fold it into a host.
type Format struct {
	Name string
	// Commands match the command line that printed the block, after the
	// prompt and any "sudo" have been removed, e.g. `^ipvsadm\b.*-L`.
	Commands []*regexp.Regexp
	// Files match the file's base name, e.g. `^ipvsadm.*\.txt$`.
	Files []*regexp.Regexp
	// Sniff reports whether text looks like this format. It sees at most
	// the first few KiB and must be cheap and strict: a false positive
	// sends a block to the wrong parser.
	Sniff func(head string) bool
	// Apply parses doc and merges what it found into h, recording the
	// evidence kinds it saw with h.MarkSeen. It returns the problems found;
	// it never panics on any input.
	Apply func(doc evidence.Doc, h *evidence.Host) []evidence.Problem
	// ErrorIsEvidence reports whether an error the command printed
	// instead of its output means something to this format's parser
	// (`cat /proc/net/ip_vs: No such file or directory`: IPVS is not
	// loaded). Other formats' errors are reported as a failed command.
	ErrorIsEvidence func(doc evidence.Doc) bool
	// MaxBytes bounds what of one block is parsed (0: SmallOutput). Most
	// formats are small on any real host; a parser's evidence costs many
	// times the text it reads, so a huge one is cut, and said to be.
	MaxBytes int
	// Extent, when set, finds where the format's output lies in a block
	// told by content (no command names it): the byte offsets, at line
	// starts, of its first line and of the first line after it. A paste
	// of prose with a table in its middle is then read as prose, the
	// table, and prose, instead of the table's parser refusing every
	// line of the prose around it.
	Extent func(text string) (from, to int)
}

const (
	// SmallOutput is far above a real `sysctl -a` or `ip addr` of a node
	// with thousands of interfaces (a few MB).
	SmallOutput = 16 << 20
	// LargeOutput is for tables that grow with traffic or the fleet: a
	// million connections, a full routing table, a day of logs.
	LargeOutput = int(casedir.MaxFileBytes)
)

// FileTail is what may follow a command's name in a file name
// (sysctl-a.txt, ss_lnt.out), without a dot so that "sysctl.conf" is not
// `sysctl` output.
const FileTail = `(?:[-_][^.]*)?(?:\.(?:txt|log|out))?$`

// Patterns compiles a set of patterns.
func Patterns(patterns ...string) []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(patterns))
	for i, p := range patterns {
		out[i] = regexp.MustCompile(p)
	}
	return out
}
