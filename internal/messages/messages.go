// Package messages is the table of diagnostic messages that keepalived, the
// kernel's IPVS code, ipvsadm, iproute2, libvirt, firewalld, the daemons
// that program IPVS (dockerd, kube-proxy) and ipset print, each
// read in its program's source (file and version are recorded per entry)
// and mapped to the catalog causes it points to, or marked benign.
//
// A message is evidence on its own: "IPVS: rr: TCP 192.0.2.100:80 - no
// destination available" or "(VI_1) received an invalid passwd!" decides a
// case without any other input. Match finds the entry for one log line; the
// log parsers call it on every line, so it screens each line for a literal
// of the table before any regular expression runs.
//
// The table is messages.yaml, compiled in. messages_test.go checks every
// entry against its own format string, so a typo in the format or in the
// regular expression fails the build.
package messages

import (
	_ "embed"
	"fmt"
	"math/bits"
	"regexp"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Entry is one message of one program, as its source prints it.
type Entry struct {
	// ID names the entry, project.area.what with a .vN suffix for the
	// wording of older versions (keepalived.vrrp.invalid-passwd.v1). IDs
	// are stable: findings may cite them.
	ID string `yaml:"id"`
	// Project is keepalived, linux, ipvsadm, iproute2, libvirt or firewalld.
	Project string `yaml:"project"`
	// Repo is the upstream repository, owner/name.
	Repo string `yaml:"repo"`
	// ReadIn names the copy read when it is not Repo itself (a kernel mirror).
	ReadIn string `yaml:"read_in,omitempty"`
	// Source is the file that prints the message, a path in Repo.
	Source string `yaml:"source"`
	// Version is the tag or commit Format was read at.
	Version string `yaml:"version"`
	// Since and Until bound the tags whose source holds Format byte for
	// byte, within the range checked (keepalived: v1.2.1 to v2.3.4; an
	// empty Until means still there at the end of the range).
	Since string `yaml:"since,omitempty"`
	Until string `yaml:"until,omitempty"`
	// Absent lists tags inside Since..Until where the wording differed.
	Absent []string `yaml:"absent,omitempty"`
	// Also lists other versions Format was found in.
	Also []string `yaml:"also,omitempty"`
	// Format is the printf-style format as written in the source: C escapes
	// kept (\n, \"), adjacent string literals joined.
	Format string `yaml:"format"`
	// Args are example values for Format's verbs, in order, where the
	// program passes constants or addresses a generic value would not show.
	Args []string `yaml:"args,omitempty"`
	// Prefix is what the logging path adds before Format: the kernel's
	// pr_fmt ("IPVS: "), firewalld's level label and error code.
	Prefix string `yaml:"prefix,omitempty"`
	// Log says how the line reaches a paste: keepalived, kernel, stderr,
	// libvirt or firewalld. Process is keepalived's syslog ident.
	Log     string `yaml:"log"`
	Process string `yaml:"process,omitempty"`
	// Key is a literal every matching line contains; lines without any key
	// of the table never reach a regular expression. Defaults to the
	// longest literal run of Format.
	Key string `yaml:"key,omitempty"`
	// Pattern is the regular expression for the line as logged, in any of
	// the syntaxes of Log (the yaml field is "match").
	Pattern string `yaml:"match"`
	// Causes are catalog cause IDs the message points to. New marks an entry
	// naming at least one ID that is a proposal, not yet in the catalog.
	Causes []string `yaml:"causes,omitempty"`
	New    bool     `yaml:"new,omitempty"`
	// SameAs names the entry whose lines are byte for byte those of this
	// one (two wordings in the source, one text in the log): Match returns
	// that entry for them.
	SameAs string `yaml:"same_as,omitempty"`
	// Benign marks normal operation; Why says what the line means.
	Benign bool   `yaml:"benign,omitempty"`
	Why    string `yaml:"why,omitempty"`
	// Note says what else to read before concluding.
	Note string `yaml:"note,omitempty"`

	re *regexp.Regexp
}

// Decides reports whether the message alone points to a cause.
func (e *Entry) Decides() bool { return !e.Benign && len(e.Causes) > 0 }

// Fields returns the named groups of Pattern in line (instance, vip, rs,
// vs, iface, error, ...), or nil when line does not match.
func (e *Entry) Fields(line string) map[string]string {
	m := e.re.FindStringSubmatch(line)
	if m == nil {
		return nil
	}
	out := map[string]string{}
	for i, name := range e.re.SubexpNames() {
		if name != "" && m[i] != "" {
			out[name] = m[i]
		}
	}
	return out
}

//go:embed messages.yaml
var tableYAML []byte

// table is built on first use: programs that never read a log pay nothing.
var table = sync.OnceValue(func() *index {
	ix, err := build(tableYAML)
	if err != nil {
		// The table is compiled in; a broken one must fail every test.
		panic("messages: messages.yaml: " + err.Error())
	}
	return ix
})

// All returns a copy of the table in its file order.
func All() []Entry { return append([]Entry(nil), table().entries...) }

// Lookup returns the entry with that ID. The entry is shared: callers must
// not modify it.
func Lookup(id string) (*Entry, bool) {
	ix := table()
	i, ok := ix.byID[id]
	if !ok {
		return nil, false
	}
	return &ix.entries[i], true
}

// Match returns the first entry, in table order, whose key and pattern both
// match line. The entry is shared: callers must not modify it.
func Match(line string) (*Entry, bool) {
	ix := table()
	var cand [maxEntries / 64]uint64
	if !ix.screen(line, &cand) {
		return nil, false
	}
	for w, word := range cand {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			word &^= 1 << b
			e := &ix.entries[w*64+b]
			if e.re.MatchString(line) {
				return e, true
			}
		}
	}
	return nil, false
}

// maxEntries bounds the table so that the candidate set of one line is a
// fixed array on the stack.
const maxEntries = 512

// index is the loaded table with its literal screen.
type index struct {
	entries []Entry
	byID    map[string]int

	// keys are the distinct Key values; keyEntries[k] the entries using
	// keys[k]. grams maps the first four bytes of a key to its key
	// numbers, and seen is a 64 Kbit filter of those four-byte values,
	// hashed, small enough to stay in L1: most positions of most lines
	// are rejected by one load and one bit test.
	keys       []string
	keyEntries [][]int
	grams      map[uint32][]int
	seen       [1 << 16 / 64]uint64
	short      []int // keys shorter than four bytes (none today)
}

func build(data []byte) (*index, error) {
	var entries []Entry
	if err := yaml.Unmarshal(data, &entries); err != nil {
		return nil, err
	}
	if len(entries) > maxEntries {
		return nil, fmt.Errorf("%d entries, more than maxEntries %d", len(entries), maxEntries)
	}
	ix := &index{entries: entries, byID: map[string]int{}, grams: map[uint32][]int{}}
	keyNum := map[string]int{}
	for i := range entries {
		e := &entries[i]
		if _, dup := ix.byID[e.ID]; dup {
			return nil, fmt.Errorf("duplicate id %s", e.ID)
		}
		ix.byID[e.ID] = i
		re, err := regexp.Compile(e.Pattern)
		if err != nil {
			return nil, fmt.Errorf("%s: match: %v", e.ID, err)
		}
		e.re = re
		if e.Key == "" {
			e.Key = LongestLiteral(e.Format)
		}
		if e.Key == "" {
			return nil, fmt.Errorf("%s: no literal in format to screen lines with", e.ID)
		}
		k, ok := keyNum[e.Key]
		if !ok {
			k = len(ix.keys)
			keyNum[e.Key] = k
			ix.keys = append(ix.keys, e.Key)
			ix.keyEntries = append(ix.keyEntries, nil)
			if len(e.Key) < 4 {
				ix.short = append(ix.short, k)
			} else {
				g := gram(e.Key)
				ix.grams[g] = append(ix.grams[g], k)
				h := hash(g)
				ix.seen[h>>6] |= 1 << (h & 63)
			}
		}
		ix.keyEntries[k] = append(ix.keyEntries[k], i)
	}
	return ix, nil
}

// screen sets in cand the entries whose key occurs in line and reports
// whether there is any.
func (ix *index) screen(line string, cand *[maxEntries / 64]uint64) bool {
	found := false
	mark := func(k int) {
		for _, i := range ix.keyEntries[k] {
			cand[i>>6] |= 1 << (i & 63)
		}
		found = true
	}
	for i := 0; i+4 <= len(line); i++ {
		g := uint32(line[i]) | uint32(line[i+1])<<8 | uint32(line[i+2])<<16 | uint32(line[i+3])<<24
		h := hash(g)
		if ix.seen[h>>6]&(1<<(h&63)) == 0 {
			continue
		}
		for _, k := range ix.grams[g] {
			if strings.HasPrefix(line[i:], ix.keys[k]) {
				mark(k)
			}
		}
	}
	for _, k := range ix.short {
		if strings.Contains(line, ix.keys[k]) {
			mark(k)
		}
	}
	return found
}

func gram(s string) uint32 {
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

// hash spreads four bytes over 16 bits (Fibonacci hashing).
func hash(g uint32) uint32 { return (g * 0x9E3779B1) >> 16 }

// verb is one printf conversion: %%, %[n$][flags][width][.prec][length]conv,
// the kernel's %p extensions (%pI4, %pI6c, %pS, %pM), and Go's %v and %q
// (the daemons' entries).
var verb = regexp.MustCompile(`%(?:%|(?:\d+\$)?[-+ #0]*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:hh|h|ll|l|L|q|j|z|t)?(?:p[A-Za-z][A-Za-z0-9]*|[diouxXeEfFgGaAcsSpnmvq]))`)

// Verbs returns the conversions of a printf-style format in order, "%%"
// excluded.
func Verbs(format string) []string {
	var out []string
	for _, v := range verb.FindAllString(format, -1) {
		if v != "%%" {
			out = append(out, v)
		}
	}
	return out
}

// Unescape turns the C escapes a format is written with (\n, \t, \", \\)
// into the characters the program prints.
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		default: // \" \\ \'
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// LongestLiteral returns the longest run of a format that is printed as is
// (no conversion, no newline): every line the format produces contains it.
func LongestLiteral(format string) string {
	best := ""
	for _, part := range verb.Split(Unescape(format), -1) {
		for _, run := range strings.Split(part, "\n") {
			if len(run) > len(best) {
				best = run
			}
		}
	}
	return best
}
