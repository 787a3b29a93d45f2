// Package libvirt parses what a KVM hypervisor shows about a guest's
// network ports: `virsh dumpxml DOMAIN` (the <interface> elements with
// their nwfilter reference) and `virsh nwfilter-dumpxml NAME` (the filter
// rules). libvirt's clean-traffic / no-ip-spoofing filters drop every frame
// a guest sends with a source IP other than its own, which is exactly what
// an LVS director in DR mode sends (hypervisor.nwfilter-no-ip-spoofing).
//
// XML pasted into tickets often arrives damaged: spaces between an element
// name and its first attribute, or between two attributes, are lost
// (`<filterreffilter='clean-traffic'>`), and so are line breaks. The parser
// repairs what it can without moving any line, decodes with encoding/xml,
// and if the XML is still broken falls back to reading tags line by line,
// so that a filterref and its IP parameter are found anyway.
package libvirt

import (
	"encoding/xml"
	"errors"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// knownElements are libvirt element names that a lost space may have glued
// to their first attribute, longest first so that "filterref" wins over
// "filter".
var knownElements = []string{
	"interface", "filterref", "parameter", "priority", "address", "source", "target",
	"filter", "model", "alias", "rule", "uuid", "name", "mac", "arp", "ipv6", "ip",
	"tcp", "udp", "icmp", "all", "rarp", "driver", "link", "mtu", "vlan", "tag",
}

// Repair puts back the spaces that pasting lost inside tags: between an
// element name and a glued attribute (`<interfacetype='bridge'>`) and
// between two attributes (`type='pci'domain='0x0000'`). It never adds or
// removes a line break, so line numbers stay those of the source.
func Repair(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 64)
	for i := 0; i < len(s); {
		c := s[i]
		if c != '<' || i+1 >= len(s) || !isNameStart(s[i+1]) {
			b.WriteByte(c)
			i++
			continue
		}
		// A start tag: read the name up to a delimiter.
		j := i + 1
		for j < len(s) && isNameChar(s[j]) {
			j++
		}
		name := s[i+1 : j]
		b.WriteByte('<')
		if j < len(s) && s[j] == '=' {
			split := false
			for _, k := range knownElements {
				if len(name) > len(k) && strings.HasPrefix(name, k) && isNameStart(name[len(k)]) {
					b.WriteString(k)
					b.WriteByte(' ')
					b.WriteString(name[len(k):])
					split = true
					break
				}
			}
			if !split {
				b.WriteString(name)
			}
		} else {
			b.WriteString(name)
		}
		// Attributes up to '>' (or a line break: a tag left open by a
		// truncated paste must not swallow the next lines).
		var quote byte
		for j < len(s) {
			d := s[j]
			if quote != 0 {
				b.WriteByte(d)
				j++
				if d == quote {
					quote = 0
					if j < len(s) && isNameStart(s[j]) {
						b.WriteByte(' ')
					}
				}
				continue
			}
			if d == '>' || d == '<' || d == '\n' {
				break
			}
			if d == '\'' || d == '"' {
				quote = d
			}
			b.WriteByte(d)
			j++
		}
		i = j
	}
	return b.String()
}

func isNameStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func isNameChar(c byte) bool {
	return isNameStart(c) || c >= '0' && c <= '9' || c == '-' || c == '.' || c == ':'
}

// event is one tag or text seen in the document, whichever way it was read.
type event struct {
	start, end bool
	name       string
	attrs      map[string]string
	text       string
	line       int // 0-based line in the document
	col        int // 0-based byte offset of the tag in its line, when known
}

// errTooMany stops reading documents with absurd numbers of tags.
var errTooMany = errors.New("too many elements")

const maxEvents = 200000

// decode reads the repaired text with encoding/xml, calling fn for each
// element start, end and non-blank text.
func decode(text string, fn func(event)) error {
	d := xml.NewDecoder(strings.NewReader(text))
	d.Strict = false
	d.Entity = xml.HTMLEntity
	n := 0
	for {
		line, col := d.InputPos()
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if n++; n > maxEvents {
			return errTooMany
		}
		switch t := tok.(type) {
		case xml.StartElement:
			ev := event{start: true, name: t.Name.Local, line: line - 1, col: col - 1, attrs: map[string]string{}}
			for _, a := range t.Attr {
				ev.attrs[a.Name.Local] = a.Value
			}
			fn(ev)
		case xml.EndElement:
			fn(event{end: true, name: t.Name.Local, line: line - 1})
		case xml.CharData:
			if s := strings.TrimSpace(string(t)); s != "" {
				fn(event{text: s, line: line - 1})
			}
		}
	}
}

var (
	tagRe  = regexp.MustCompile(`<(/?)([A-Za-z_][\w.:-]*)((?:\s*[\w.:-]+\s*=\s*(?:'[^']*'|"[^"]*"))*)\s*(/?)>`)
	attrRe = regexp.MustCompile(`([\w.:-]+)\s*=\s*(?:'([^']*)'|"([^"]*)")`)
)

// scan is the fallback reader: tags are found line by line with a regular
// expression, so broken nesting or a truncated document loses nothing but
// the broken part.
func scan(lines []string, fn func(event)) {
	n := 0
	for i, line := range lines {
		locs := tagRe.FindAllStringSubmatchIndex(line, -1)
		prev := 0
		for _, m := range locs {
			if n++; n > maxEvents {
				return
			}
			if txt := strings.TrimSpace(line[prev:m[0]]); txt != "" && prev > 0 {
				fn(event{text: txt, line: i})
			}
			prev = m[1]
			name := line[m[4]:m[5]]
			if m[3] > m[2] { // "</"
				fn(event{end: true, name: localName(name), line: i})
				continue
			}
			ev := event{start: true, name: localName(name), line: i, col: m[0], attrs: map[string]string{}}
			for _, a := range attrRe.FindAllStringSubmatch(line[m[6]:m[7]], -1) {
				v := a[2]
				if v == "" {
					v = a[3]
				}
				ev.attrs[localName(a[1])] = xmlUnescape(v)
			}
			fn(ev)
			if m[9] > m[8] { // "/>"
				fn(event{end: true, name: ev.name, line: i})
			}
		}
	}
}

func localName(s string) string {
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		return s[i+1:]
	}
	return s
}

var unescaper = strings.NewReplacer("&apos;", "'", "&quot;", `"`, "&lt;", "<", "&gt;", ">", "&amp;", "&")

func xmlUnescape(s string) string { return unescaper.Replace(s) }

// read runs fn over the document's events, with encoding/xml when the
// (repaired) XML is well formed and with the line scanner otherwise. fn may
// be called for a prefix of the document before the decoder fails, so the
// caller's reset is called before the fallback starts over.
func read(doc evidence.Doc, reset func(), fn func(event)) []evidence.Problem {
	text := Repair(doc.Text)
	// Doc.Lines trims "\r"; keep the decoder's lines aligned with them.
	text = strings.ReplaceAll(text, "\r\n", "\n")
	err := decode(text, fn)
	if err == nil {
		return nil
	}
	line := -1
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		line = se.Line - 1
	}
	reset()
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if n := len(doc.Lines()); line >= n {
		line = n - 1
	}
	scan(lines, fn)
	if strings.Contains(doc.Command, "|") {
		// `virsh dumpxml vm | grep -A 12 '<interface'` cuts the XML on
		// purpose: nothing to report.
		return nil
	}
	return []evidence.Problem{doc.Problemf(line, "XML is not well formed (%v); tags read line by line", err)}
}

// tagRef cites the line of ev's tag; when pasting lost the line breaks the
// line is the whole document, so the excerpt starts at the tag instead.
func tagRef(doc evidence.Doc, lines []string, ev event) evidence.Ref {
	if len(lines) == 0 {
		return doc.Ref(0, "")
	}
	l := ev.line
	if l < 0 || l >= len(lines) {
		l = 0
	}
	text := lines[l]
	if len(text) > 200 && ev.col > 0 && ev.col < len(text) {
		c := ev.col
		for c > 0 && text[c]&0xC0 == 0x80 {
			c--
		}
		text = text[c:]
		if len(text) > 200 {
			e := 200
			for e > 0 && text[e]&0xC0 == 0x80 {
				e--
			}
			text = text[:e] + "…"
		}
	}
	return doc.Ref(l, text)
}

// ParseDomain reads `virsh dumpxml DOMAIN` output (a whole <domain> or a
// pasted fragment with only <interface> elements) and returns its network
// interfaces. The domain name comes from <name>, or from the command line
// when the paste left it out. Several filter parameters of one name (libvirt
// allows lists of IPs) are joined with commas.
func ParseDomain(doc evidence.Doc) ([]evidence.DomainInterface, []evidence.Problem) {
	lines := doc.Lines()
	var out []evidence.DomainInterface
	var domain string
	var stack []string
	var cur *evidence.DomainInterface
	reset := func() { out, domain, stack, cur = nil, "", nil, nil }
	parent := func() string {
		if len(stack) < 2 {
			return ""
		}
		return stack[len(stack)-2]
	}
	fn := func(ev event) {
		switch {
		case ev.start:
			stack = append(stack, ev.name)
			if len(stack) > 256 {
				stack = stack[len(stack)-256:]
			}
			switch ev.name {
			case "interface":
				if cur == nil || parent() != "interface" {
					out = append(out, evidence.DomainInterface{Domain: domain, Ref: tagRef(doc, lines, ev)})
					cur = &out[len(out)-1]
				}
			case "mac":
				if cur != nil && parent() == "interface" {
					cur.MAC = strings.ToLower(ev.attrs["address"])
				}
			case "source":
				if cur != nil && parent() == "interface" {
					if b := ev.attrs["bridge"]; b != "" {
						cur.Bridge = b
					} else if n := ev.attrs["network"]; n != "" {
						cur.Bridge = n
					}
				}
			case "target":
				if cur != nil && parent() == "interface" {
					cur.Target = ev.attrs["dev"]
				}
			case "filterref":
				if cur != nil && cur.FilterRef == "" {
					cur.FilterRef = ev.attrs["filter"]
					cur.Ref = tagRef(doc, lines, ev)
				}
			case "parameter":
				if cur != nil && parent() == "filterref" {
					name, val := ev.attrs["name"], ev.attrs["value"]
					if name != "" {
						if cur.FilterParams == nil {
							cur.FilterParams = map[string]string{}
						}
						if old, ok := cur.FilterParams[name]; ok && old != "" {
							val = old + "," + val
						}
						cur.FilterParams[name] = val
					}
				}
			}
		case ev.end:
			// Pop to the matching element: fragments and the fallback
			// reader may close what they never opened.
			for k := len(stack) - 1; k >= 0; k-- {
				if stack[k] == ev.name {
					stack = stack[:k]
					break
				}
			}
			if ev.name == "interface" {
				cur = nil
			}
		default:
			if len(stack) >= 1 && stack[len(stack)-1] == "name" && parent() == "domain" && domain == "" {
				domain = ev.text
			}
		}
	}
	probs := read(doc, reset, fn)
	if domain == "" {
		domain = domainFromCommand(doc.Command)
	}
	for i := range out {
		if out[i].Domain == "" {
			out[i].Domain = domain
		}
	}
	return out, probs
}

// domainFromCommand takes DOMAIN from "virsh dumpxml [--inactive] DOMAIN".
func domainFromCommand(cmd string) string {
	// "virsh dumpxml dir1 | grep -A 12 ...": the domain is before the pipe.
	if i := strings.IndexAny(cmd, "|>;"); i >= 0 {
		cmd = cmd[:i]
	}
	f := strings.Fields(cmd)
	for i := len(f) - 1; i >= 0; i-- {
		if f[i] == "dumpxml" || f[i] == "virsh" {
			return ""
		}
		if !strings.HasPrefix(f[i], "-") && !strings.ContainsAny(f[i], "|>") {
			if i > 0 && (f[i-1] == "--xpath" || f[i-1] == "-c" || f[i-1] == "--connect") {
				continue
			}
			return f[i]
		}
	}
	return ""
}

// ParseNWFilter reads `virsh nwfilter-dumpxml NAME` output or a filter file
// (one or more <filter> elements).
func ParseNWFilter(doc evidence.Doc) ([]evidence.NWFilter, []evidence.Problem) {
	lines := doc.Lines()
	var out []evidence.NWFilter
	var stack []string
	var cur *evidence.NWFilter
	var rule *evidence.NWFilterRule
	var extra []evidence.Problem
	reset := func() { out, stack, cur, rule, extra = nil, nil, nil, nil, nil }
	fn := func(ev event) {
		switch {
		case ev.start:
			stack = append(stack, ev.name)
			if len(stack) > 256 {
				stack = stack[len(stack)-256:]
			}
			switch {
			case ev.name == "filter" && rule == nil:
				out = append(out, evidence.NWFilter{Name: ev.attrs["name"], Chain: ev.attrs["chain"], Ref: tagRef(doc, lines, ev)})
				cur = &out[len(out)-1]
			case cur == nil:
			case ev.name == "filterref" && rule == nil:
				if f := ev.attrs["filter"]; f != "" {
					cur.FilterRefs = append(cur.FilterRefs, f)
				}
			case ev.name == "rule":
				r := evidence.NWFilterRule{Action: ev.attrs["action"], Direction: ev.attrs["direction"], Priority: 500, Ref: tagRef(doc, lines, ev)}
				if p := ev.attrs["priority"]; p != "" {
					n, err := strconv.Atoi(strings.TrimSpace(p))
					if err != nil {
						extra = append(extra, doc.Problemf(ev.line, "bad rule priority %q", evidence.Clip(p, 80)))
					} else {
						r.Priority = n
					}
				}
				cur.Rules = append(cur.Rules, r)
				rule = &cur.Rules[len(cur.Rules)-1]
			case rule != nil && rule.Protocol == "":
				rule.Protocol = ev.name
				if len(ev.attrs) > 0 {
					rule.Attrs = ev.attrs
				}
			}
		case ev.end:
			for k := len(stack) - 1; k >= 0; k-- {
				if stack[k] == ev.name {
					stack = stack[:k]
					break
				}
			}
			switch ev.name {
			case "rule":
				rule = nil
			case "filter":
				cur, rule = nil, nil
			}
		}
	}
	probs := read(doc, reset, fn)
	return out, append(probs, extra...)
}

// ListEntry is one row of `virsh nwfilter-list`.
type ListEntry struct {
	UUID, Name string
	Ref        evidence.Ref
}

var uuidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// ParseNWFilterList reads `virsh nwfilter-list`.
func ParseNWFilterList(doc evidence.Doc) ([]ListEntry, []evidence.Problem) {
	var out []ListEntry
	var probs []evidence.Problem
	for i, line := range doc.Lines() {
		f := strings.Fields(line)
		switch {
		case len(f) == 0, strings.HasPrefix(f[0], "---"), len(f) == 2 && f[0] == "UUID" && f[1] == "Name":
		case len(f) == 2 && uuidRe.MatchString(f[0]):
			out = append(out, ListEntry{UUID: f[0], Name: f[1], Ref: doc.Ref(i, line)})
		default:
			probs = append(probs, doc.Problemf(i, "not an nwfilter-list row: %q", evidence.Clip(strings.TrimSpace(line), 80)))
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out, probs
}
