package intake

import (
	"regexp"

	"github.com/lvsdoctor/lvsdoctor/internal/casedir"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// Kind describes one format of evidence: how to recognise a block of text
// as that format (by the command that printed it, by the file name, by its
// content, in that order) and how to fold it into a host.
type Kind struct {
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
	// MaxBytes bounds what of one block is parsed (0: smallOutput). Most
	// formats are small on any real host; a parser's evidence costs many
	// times the text it reads, so a huge one is cut, and said to be.
	MaxBytes int
}

const (
	// smallOutput is far above a real `sysctl -a` or `ip addr` of a node
	// with thousands of interfaces (a few MB).
	smallOutput = 16 << 20
	// largeOutput is for tables that grow with traffic or the fleet: a
	// million connections, a full routing table, a day of logs.
	largeOutput = int(casedir.MaxFileBytes)
)

// re compiles a set of patterns.
func re(patterns ...string) []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(patterns))
	for i, p := range patterns {
		out[i] = regexp.MustCompile(p)
	}
	return out
}

// Kinds is every format lvsdoctor reads, most specific first: the first
// kind whose command, then file name, then sniffer matches wins.
func Kinds() []Kind {
	var all []Kind
	all = append(all, lvsKinds()...)
	all = append(all, firewallKinds()...)
	all = append(all, netKinds()...)
	all = append(all, systemKinds()...)
	all = append(all, kernelKinds()...)
	return all
}
