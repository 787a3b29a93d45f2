// Package intake turns what users have on disk — case directories and
// pasted terminal transcripts — into one evidence.Case. It decides what
// each block of text is (by the command that printed it, then the file
// name, then the content) and hands it to the parser of that format.
package intake

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// MaxFileSize bounds how much of one file is read. A million-line
// `ipvsadm -Lnc` is about 100 MB; anything far beyond that is not evidence
// a person pasted, and reading it whole would risk the machine.
var MaxFileSize int64 = 1 << 30

// Load reads each path — a case directory or a transcript file — into one
// case. A path that cannot be read at all is an error; everything inside
// that cannot be used becomes a Problem and the rest is still read.
func Load(paths ...string) (*evidence.Case, error) {
	c := &evidence.Case{}
	for _, p := range paths {
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
	entries, err := os.ReadDir(root)
	if err != nil {
		return err
	}
	hostDirs := 0
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, "."):
		case e.IsDir():
			hostDirs++
			loadHostFiles(c, root, name)
		case name == "case.yaml" || name == "case.yml":
			readCaseYAML(c, filepath.Join(root, name), name)
		}
	}
	if hostDirs == 0 {
		// A folder of loose files is one host's evidence: treat it as a
		// host named after the folder, which is what users mean.
		loadHostFiles(c, filepath.Dir(root), filepath.Base(root))
	}
	return nil
}

func loadHostFiles(c *evidence.Case, root, name string) {
	h := c.Host(name)
	dir := filepath.Join(root, name)
	var files []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			rel, _ := filepath.Rel(root, p)
			c.Problems = append(c.Problems, evidence.Problem{Host: name, Source: filepath.ToSlash(rel), Message: err.Error()})
			return nil
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && p != dir {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil // sockets, symlinks to who knows where
		}
		files = append(files, p)
		return nil
	})
	// keepalived.conf first: files it includes are read through it and
	// must not be read a second time on their own.
	sort.SliceStable(files, func(i, j int) bool {
		ki, kj := filepath.Base(files[i]) == "keepalived.conf", filepath.Base(files[j]) == "keepalived.conf"
		if ki != kj {
			return ki
		}
		return files[i] < files[j]
	})
	consumed := map[string]bool{}
	include := includer(dir, root, name, consumed)
	for _, p := range files {
		if consumed[p] {
			continue
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		base := filepath.Base(p)
		if base == "role" {
			readRole(c, h, p, rel)
			continue
		}
		if isCapture(base) {
			readCapture(c, h, hostFolder{root: root, files: files, consumed: consumed, include: include}, p, rel)
			continue
		}
		data, err := readBounded(p)
		if err != nil {
			c.Problems = append(c.Problems, evidence.Problem{Host: name, Source: rel, Message: err.Error()})
			if len(data) == 0 {
				continue
			}
		}
		readText(c, name, rel, base, data, include)
	}
}

func isCapture(base string) bool {
	ext := strings.ToLower(path.Ext(base))
	return ext == ".pcap" || ext == ".pcapng" || ext == ".cap"
}

func readBounded(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Size the buffer from the file: io.ReadAll's doubling would allocate
	// twice a 100 MB connection table.
	var buf bytes.Buffer
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		buf.Grow(int(min(st.Size(), MaxFileSize) + 1))
	}
	_, err = buf.ReadFrom(io.LimitReader(f, MaxFileSize+1))
	data := buf.Bytes()
	if err != nil {
		return data, err
	}
	if int64(len(data)) > MaxFileSize {
		return data[:MaxFileSize], fmt.Errorf("file larger than %d bytes: only the first %d bytes were read", MaxFileSize, MaxFileSize)
	}
	return data, nil
}

func readRole(c *evidence.Case, h *evidence.Host, p, rel string) {
	data, err := readBounded(p)
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

func readCaseYAML(c *evidence.Case, p, rel string) {
	data, err := readBounded(p)
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
	data, err := readBounded(p)
	if err != nil && len(data) == 0 {
		return err
	}
	src := filepath.ToSlash(p)
	if err != nil {
		c.Problems = append(c.Problems, evidence.Problem{Source: src, Message: err.Error()})
	}
	name := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
	readText(c, name, src, filepath.Base(p), data, nil)
	return nil
}

// readText splits a file into blocks and parses each one. defaultHost owns
// blocks whose prompt names no host.
func readText(c *evidence.Case, defaultHost, src, base string, data []byte, include func(string) ([]evidence.Doc, error)) {
	if bad, why := looksBinary(data); bad {
		c.Host(defaultHost) // the host exists even if its only file is garbage
		c.Problems = append(c.Problems, evidence.Problem{Host: defaultHost, Source: src, Line: 1, Message: why + ": not text, skipped"})
		return
	}
	text := string(data)
	if !utf8.ValidString(text) {
		// Latin-1 pastes and stray bytes: keep the parsable ASCII.
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	blocks := SplitTranscript(text)
	// Host names seen in prompts map onto case folders case-insensitively
	// (prompts say "Director1", folders say "director1").
	lastHost := defaultHost
	for _, b := range blocks {
		host := defaultHost
		if b.Host != "" {
			host = canonicalHost(c, b.Host, defaultHost)
			lastHost = host
		} else if b.Command != "" {
			// "# cmd" after "[root@ds1 ~]# cmd": same session, same host.
			host = lastHost
		}
		h := c.Host(host)
		doc := evidence.Doc{Host: host, Source: src, Start: b.Start, Command: b.Command,
			Text: b.Text, Include: include}
		dispatch(c, h, doc, base, len(blocks) == 1)
	}
}

// canonicalHost maps a prompt's host name onto an existing host: exact,
// then case-insensitive, then the case folder when the transcript lives in
// one (a folder "ds1" holding a session whose prompt says "lvs-master"
// is still ds1's evidence, unless the session names several hosts).
func canonicalHost(c *evidence.Case, name, folder string) string {
	for _, h := range c.Hosts {
		if h.Name == name {
			return name
		}
	}
	for _, h := range c.Hosts {
		if strings.EqualFold(h.Name, name) {
			return h.Name
		}
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

// includer resolves keepalived include patterns inside a host folder: the
// absolute path on the host (/etc/keepalived/conf.d/*.conf) is looked up
// by its trailing components under the folder.
func includer(dir, root, host string, consumed map[string]bool) func(string) ([]evidence.Doc, error) {
	var self func(string) ([]evidence.Doc, error)
	self = func(pattern string) ([]evidence.Doc, error) {
		pattern = strings.TrimSpace(pattern)
		if pattern == "" {
			return nil, errors.New("empty include")
		}
		parts := strings.Split(strings.TrimPrefix(filepath.ToSlash(pattern), "/"), "/")
		var matches []string
		// Try the longest suffix of the path first: conf.d/*.conf before *.conf.
		for i := 0; i < len(parts) && len(matches) == 0; i++ {
			m, err := filepath.Glob(filepath.Join(dir, filepath.FromSlash(strings.Join(parts[i:], "/"))))
			if err != nil {
				return nil, err
			}
			matches = m
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("include %q: no such file in %s", pattern, host)
		}
		var docs []evidence.Doc
		for _, m := range matches {
			data, err := readBounded(m)
			if err != nil {
				return docs, err
			}
			consumed[m] = true
			rel, _ := filepath.Rel(root, m)
			docs = append(docs, evidence.Doc{Host: host, Source: filepath.ToSlash(rel), Start: 1, Text: string(data), Include: self})
		}
		return docs, nil
	}
	return self
}
