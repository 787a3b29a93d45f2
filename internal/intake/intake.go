// Package intake turns what users have on disk — case directories and
// pasted terminal transcripts — into one evidence.Case. It decides what
// each block of text is (by the command that printed it, then the file
// name, then the content) and hands it to the parser of that format.
package intake

import (
	"bytes"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"go.yaml.in/yaml/v3"

	"github.com/lvsdoctor/lvsdoctor/internal/casedir"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/redact"
)

// MaxFileSize bounds how much of one file is read (casedir.MaxFileBytes
// unless a test lowers it).
var MaxFileSize = casedir.MaxFileBytes

// Load reads each path — a case directory or a transcript file — into one
// case. A path that cannot be read at all is an error; everything inside
// that cannot be used becomes a Problem and the rest is still read.
func Load(paths ...string) (*evidence.Case, error) {
	c := &evidence.Case{}
	for _, p := range paths {
		if p == "-" {
			if err := loadPaste(c, Stdin); err != nil {
				return nil, err
			}
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if st.IsDir() {
			if err := loadDir(c, p); err != nil {
				return nil, err
			}
			continue
		}
		if err := loadTranscript(c, p); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// loadDir reads a case directory: case.yaml at its root and one folder per
// host. Files at the root other than case.yaml are not evidence (README,
// expected results); deeper folders belong to their host.
func loadDir(c *evidence.Case, root string) error {
	if c.Root == "" {
		c.Root = root
	}
	top, err := casedir.Open(root)
	if err != nil {
		return err
	}
	defer top.Close()
	entries, err := os.ReadDir(root)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	ahead := readAhead(top, root, names, len(names) == 0)
	defer ahead.close()
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, "."):
			if e.IsDir() && name != ".collect" && name != ".git" {
				c.Problems = append(c.Problems, evidence.Problem{Source: name,
					Message: "hidden folder: not read as a host (host folders must not start with '.')"})
			}
		case e.IsDir():
			h := ahead.next()
			if h.err != nil {
				c.Problems = append(c.Problems, evidence.Problem{Host: name, Source: name, Message: h.err.Error()})
				continue
			}
			loadHostFiles(c, ahead, h)
			h.dir.Close()
		case name == "case.yaml" || name == "case.yml":
			data, err := top.ReadFile(name, maxConfBytes, isText)
			readCaseYAML(c, data, err, name)
		case e.Type()&fs.ModeSymlink != 0:
			c.Problems = append(c.Problems, evidence.Problem{Source: name,
				Message: "symbolic link: not followed (a case is read only from the folders and files it holds)"})
		}
	}
	if len(names) == 0 {
		// A folder of loose files is one host's evidence: treat it as a
		// host named after the folder, which is what users mean.
		loadHostFiles(c, ahead, ahead.next())
	}
	return nil
}

// loadHostFiles parses one host folder's files, read ahead by r.
func loadHostFiles(c *evidence.Case, r *reader, ah *aheadHost) {
	name, root := ah.name, ah.root
	h := c.Host(name)
	c.Problems = append(c.Problems, ah.problems...)
	hf := ah.hf
	hf.c = c
	hf.include = hf.includer()
	for _, p := range hf.files {
		f := <-ah.files
		r.done(f)
		if hf.consumed[p] {
			continue
		}
		rel := relTo(root, p)
		base := filepath.Base(p)
		switch {
		case base == "role":
			data, err := hf.read(p, 4096)
			readRole(c, h, data, err, rel)
			continue
		case isCapture(base):
			readCapture(c, h, hf, p, rel)
			continue
		case f.later:
			readLater(c, hf, p, rel, base)
			continue
		}
		if f.err != nil {
			c.Problems = append(c.Problems, evidence.Problem{Host: name, Source: rel, Message: f.err.Error()})
			if f.empty {
				continue
			}
		}
		parseText(c, name, rel, base, f.text, hf.include)
	}
}

// readLater reads a file the reading goroutine left: a large one, read
// in pieces.
func readLater(c *evidence.Case, hf hostFolder, p, rel, base string) {
	f, st, err := hf.dir.OpenFile(hf.rel(p))
	if err != nil {
		c.Problems = append(c.Problems, evidence.Problem{Host: hf.host, Source: rel, Message: err.Error()})
		return
	}
	defer f.Close()
	if st.Size() >= streamAbove {
		readStreamed(c, hf.host, rel, base, f, hf.include)
		return
	}
	data, err := casedir.Read(f, st.Size(), MaxFileSize, isText)
	if err != nil {
		c.Problems = append(c.Problems, evidence.Problem{Host: hf.host, Source: rel, Message: err.Error()})
		if len(data) == 0 {
			return
		}
	}
	readText(c, hf.host, rel, base, data, hf.include, nil)
}

func isCapture(base string) bool {
	b := strings.ToLower(base)
	b = strings.TrimSuffix(b, ".gz")
	ext := path.Ext(b)
	return ext == ".pcap" || ext == ".pcapng" || ext == ".cap"
}

func readRole(c *evidence.Case, h *evidence.Host, data []byte, err error, rel string) {
	if err != nil {
		c.Problems = append(c.Problems, evidence.Problem{Host: h.Name, Source: rel, Message: err.Error()})
		return
	}
	word := strings.TrimSpace(firstLine(string(data)))
	r, ok := evidence.ParseRole(word)
	if !ok {
		c.Problems = append(c.Problems, evidence.Problem{Host: h.Name, Source: rel, Line: 1,
			Message: fmt.Sprintf("unknown role %q (want director, realserver, hypervisor, client or router)", clipWord(word))})
		return
	}
	h.Role = r
	h.RoleRef = evidence.Ref{Host: h.Name, Source: rel, Line: 1, Text: word}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func clipWord(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// caseFile is case.yaml.
type caseFile struct {
	VIP     string `yaml:"vip"`
	Port    any    `yaml:"port"`
	Proto   string `yaml:"proto"`
	Mode    string `yaml:"mode"`
	Client  string `yaml:"client"`
	Symptom string `yaml:"symptom"`
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

func readCaseYAML(c *evidence.Case, data []byte, err error, rel string) {
	if err != nil {
		c.Problems = append(c.Problems, evidence.Problem{Source: rel, Message: err.Error()})
		return
	}
	var cf caseFile
	if err := yaml.Unmarshal(data, &cf); err != nil {
		line := 0
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		c.Problems = append(c.Problems, evidence.Problem{Source: rel, Line: line, Message: "case.yaml: " + err.Error()})
		return
	}
	lines := strings.Split(string(data), "\n")
	ref := func(key string) evidence.Ref {
		for i, l := range lines {
			if strings.HasPrefix(strings.TrimSpace(l), key+":") {
				return evidence.Ref{Source: rel, Line: i + 1, Text: strings.TrimSpace(l)}
			}
		}
		return evidence.Ref{Source: rel}
	}
	if cf.VIP != "" {
		vip, port, err := ParseVIP(cf.VIP)
		if err != nil {
			r := ref("vip")
			c.Problems = append(c.Problems, evidence.Problem{Source: rel, Line: r.Line, Message: "vip: " + err.Error()})
		} else {
			c.Service.VIP, c.Service.Ref = vip, ref("vip")
			if port != 0 {
				c.Service.Port = port
			}
		}
	}
	if cf.Port != nil {
		n, err := strconv.Atoi(strings.TrimSpace(fmt.Sprint(cf.Port)))
		if err != nil || n < 0 || n > 65535 {
			r := ref("port")
			c.Problems = append(c.Problems, evidence.Problem{Source: rel, Line: r.Line, Message: fmt.Sprintf("port %v is not a port number", cf.Port)})
		} else {
			c.Service.Port = uint16(n)
		}
	}
	if cf.Proto != "" {
		p := strings.ToLower(strings.TrimSpace(cf.Proto))
		if p != "tcp" && p != "udp" && p != "sctp" {
			r := ref("proto")
			c.Problems = append(c.Problems, evidence.Problem{Source: rel, Line: r.Line, Message: fmt.Sprintf("proto %q: want tcp, udp or sctp", cf.Proto)})
		} else {
			c.Service.Proto = p
		}
	}
	if cf.Mode != "" {
		c.Service.Mode = NormalizeMode(cf.Mode)
	}
	if cf.Client != "" {
		if a, err := netip.ParseAddr(strings.TrimSpace(cf.Client)); err == nil {
			c.Client = evidence.Endpoint{Addr: a, Ref: ref("client")}
		} else {
			r := ref("client")
			c.Problems = append(c.Problems, evidence.Problem{Source: rel, Line: r.Line, Message: "client: " + err.Error()})
		}
	}
	c.Symptom = strings.TrimSpace(cf.Symptom)
}

// ParseVIP accepts "192.0.2.10", "192.0.2.10:80" and "[2001:db8::1]:80".
func ParseVIP(s string) (netip.Addr, uint16, error) {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr(), ap.Port(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, 0, fmt.Errorf("%q is not an IP address", s)
	}
	return a, 0, nil
}

// NormalizeMode maps the names people use for forwarding methods.
func NormalizeMode(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "dr", "route", "direct", "gatewaying", "g", "-g":
		return "dr"
	case "tun", "tunnel", "ipip", "i", "-i":
		return "tun"
	case "nat", "masq", "masquerading", "m", "-m":
		return "nat"
	case "fnat", "fullnat", "full-nat":
		return "fnat"
	}
	return strings.ToLower(strings.TrimSpace(s))
}

// loadTranscript reads one pasted session. The host of each block comes
// from its prompt; blocks before any host-naming prompt belong to a host
// named after the file.
func loadTranscript(c *evidence.Case, p string) error {
	src := filepath.ToSlash(p)
	name := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
	f, st, err := casedir.OpenRegular(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if st.Size() >= streamAbove {
		readStreamed(c, name, src, filepath.Base(p), f, nil)
		return nil
	}
	data, err := casedir.Read(f, st.Size(), MaxFileSize, isText)
	if err != nil && len(data) == 0 {
		return err
	}
	if err != nil {
		c.Problems = append(c.Problems, evidence.Problem{Source: src, Message: err.Error()})
	}
	readText(c, name, src, filepath.Base(p), data, nil, nil)
	return nil
}

// largeFile is the size from which a file is read as a large one: its
// text is not copied, and it is split while it is redacted. A variable
// for the tests.
var largeFile = 32 << 20

// collectAfter is the size of a file after which the garbage is collected
// once it is parsed: its text, dead then, would otherwise set the next
// collection at twice its size, and the hosts read after it would fill
// that room with garbage before it is reused (a 72 MB connection table
// cost 140 MB of memory instead of 94).
const collectAfter = 16 << 20

// readText splits a file into blocks and parses each one. defaultHost owns
// blocks whose prompt names no host. It takes data over: the text of a
// large file is data itself, not a copy, so no caller may write to data
// afterwards.
//
// runs are the connection-table runs a streamed read (readStreamed) counted
// in place of their lines, each a marker line of data; the streamed read
// checked the file's head for binary data itself (a marker holds a NUL).
func readText(c *evidence.Case, defaultHost, src, base string, data []byte, include func(string) ([]evidence.Doc, error), runs []*evidence.ConnRun) {
	parseText(c, defaultHost, src, base, splitText(data, runs), include)
}

// textBlocks is a file's text made ready to be parsed (splitText): its
// blocks, redacted, or why it is not text. Making it needs nothing of the
// case, so it is made ahead of the parsing (readAhead).
type textBlocks struct {
	binary string // why the file is not text; "" when it is
	blocks []Block
	size   int
	runs   []*evidence.ConnRun
	// anonymised are the hidden addresses read as numbers (readAnonymised).
	anonymised []string
}

// splitText redacts a file's text and splits it into blocks.
func splitText(data []byte, runs []*evidence.ConnRun) textBlocks {
	if bad, why := looksBinary(data); bad && runs == nil {
		return textBlocks{binary: why}
	}
	large := len(data) >= largeFile
	var ahead <-chan splitResult
	if large {
		ahead = splitAhead(data)
	}
	// Secrets are taken out before anything is parsed, so that no finding,
	// problem message or quoted line can carry them.
	red, _ := redact.Bytes(data)
	var text string
	if !large {
		// A copy of its length: the read buffer is larger than a small
		// file, and the evidence quoting its lines would keep it all.
		text = string(red)
	} else {
		// Not a copy: a 100 MB table would be held twice. data is never
		// written to from here on.
		text = unsafe.String(unsafe.SliceData(red), len(red))
	}
	var blocks []Block
	if large {
		if r := <-ahead; r.ok && len(red) == len(data) && unsafe.SliceData(red) == unsafe.SliceData(data) {
			blocks = r.blocks // nothing redacted: the blocks of this very text
		}
	}
	var anon []string
	if blocks == nil {
		if !utf8.ValidString(text) {
			// Latin-1 pastes and stray bytes: keep the parsable ASCII.
			text = strings.ToValidUTF8(text, "\uFFFD")
		}
		if !large {
			text, anon = readAnonymised(text)
		}
		blocks = SplitTranscript(text)
	}
	return textBlocks{blocks: blocks, size: len(data), runs: runs, anonymised: anon}
}

// parseText parses the blocks of a file into the case.
func parseText(c *evidence.Case, defaultHost, src, base string, t textBlocks, include func(string) ([]evidence.Doc, error)) {
	if t.binary != "" {
		c.Host(defaultHost) // the host exists even if its only file is garbage
		c.Problems = append(c.Problems, evidence.Problem{Host: defaultHost, Source: src, Line: 1, Message: t.binary + ": not text, skipped"})
		c.Read.Blocks++
		return
	}
	if len(t.anonymised) > 0 {
		c.Notes = append(c.Notes, fmt.Sprintf("%s: %s (%s); the evidence quotes show them so",
			src, evidence.AnonymisedNote, strings.Join(t.anonymised, ", ")))
	}
	if t.size >= largeFile && t.size >= collectAfter {
		defer runtime.GC()
	}
	// Host names seen in prompts map onto case folders case-insensitively
	// (prompts say "Director1", folders say "director1").
	lastHost := defaultHost
	for _, b := range t.blocks {
		host := defaultHost
		if b.Host != "" {
			host = canonicalHost(c, b.Host, defaultHost)
			lastHost = host
		} else if b.Command != "" {
			// "# cmd" after "[root@ds1 ~]# cmd": same session, same host.
			host = lastHost
		}
		if b.Netns != "" {
			// The namespace's own network stack; the session stays on
			// the host that entered it.
			host = canonicalHost(c, b.Netns, "")
		}
		h := c.Host(host)
		if h.SwarmLB == nil && b.Netns != "" && IsSwarmLB(b.NetnsLine) {
			h.SwarmLB = &evidence.Ref{Host: host, Source: src, Line: b.Start - 1, Text: evidence.Clip(strings.TrimSpace(b.NetnsLine), 200)}
		}
		parts := []Block{b}
		if t.runs == nil && splitsByContent(b) {
			parts = splitByContent(b)
		}
		for _, part := range parts {
			doc := evidence.Doc{Host: host, Source: src, Start: part.Start, Command: part.Command,
				Text: part.Text, Include: include, Runs: t.runs}
			dispatch(c, h, doc, base, len(t.blocks) == 1 && len(parts) == 1)
		}
	}
}

// splitResult is what splitAhead found: ok when data was valid UTF-8 and
// split.
type splitResult struct {
	blocks []Block
	ok     bool
}

// splitAhead splits a large file in another goroutine while it is being
// redacted, which almost never changes one: readText uses the blocks when
// redaction gave data back unchanged (the same bytes, the same text), and
// splits the redacted text itself otherwise.
func splitAhead(data []byte) <-chan splitResult {
	out := make(chan splitResult, 1)
	go func() {
		var r splitResult
		defer func() {
			if recover() != nil {
				r = splitResult{} // readText splits again, and says why
			}
			out <- r
		}()
		text := unsafe.String(unsafe.SliceData(data), len(data))
		if utf8.ValidString(text) {
			r = splitResult{blocks: SplitTranscript(text), ok: true}
		}
	}()
	return out
}

// canonicalHost maps a prompt's host name onto an existing host: exact,
// then case-insensitive, then the case folder when the transcript lives in
// one (a folder "ds1" holding a session whose prompt says "lvs-master"
// is still ds1's evidence, unless the session names several hosts).
func canonicalHost(c *evidence.Case, name, folder string) string {
	if c.Lookup(name) != nil {
		return name
	}
	if h := c.LookupFold(name); h != nil {
		return h.Name
	}
	if c.Root != "" && folder != "" {
		return folder
	}
	return name
}

// looksBinary rejects files that are not text: NUL bytes, or mostly
// non-printable bytes in the first KiBs.
func looksBinary(data []byte) (bool, string) {
	head := data
	if len(head) > 8192 {
		head = head[:8192]
	}
	if bytes.IndexByte(head, 0) >= 0 {
		return true, "binary data (NUL bytes)"
	}
	bad := 0
	for _, b := range head {
		if b < 0x09 || (b > 0x0d && b < 0x20) || b == 0x7f {
			bad++
		}
	}
	if len(head) > 0 && bad*10 > len(head) {
		return true, "binary data (control bytes)"
	}
	return false, ""
}
