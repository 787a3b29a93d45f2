package intake

import (
	"fmt"
	"hash/fnv"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Anonymised addresses. Users hide their addresses before pasting:
// "xxx.xxx.1.60", "x.y.z.208", "10.x.x.5". Refused as "not an IP address",
// they cost the case its services, real servers and VIPs, although what
// the diagnosis needs of them — which hosts share an address, which
// subnet — survives the hiding: the hidden octets are the same text
// wherever one address recurs. So each hidden octet is read as a number
// derived from its text and position, the same everywhere in the case,
// and a first octet hidden becomes one of 240-254 (reserved, never a real
// host's). The evidence quotes then show these numbers; the notes say so.
//
// Placeholders ("<public-ip>:80", "<private-ip-of-ct>", "<VIP>/32") hide a
// whole address behind a name. What survives is only which lines name the
// same address, so each name is read as an address of its own in
// 240.0.0.0/4, distinct from every other name of the case: the services
// and real servers they stand for exist, and rules comparing addresses can
// run.

// anonOctet is a hidden octet: x's, y's, z's or stars, or one letter a-d.
const anonOctet = `(?:[xXyYzZ*]{1,3}|[a-dA-D])`

// anonAddr is an address with hidden octets, alone or followed by tcpdump's
// ".port" (x.y.z.208.80: the port is not an octet, only a number after a
// fourth). What precedes it is checked apart (anonBoundary): a match
// taking the character before would take it from the address before.
var anonAddr = regexp.MustCompile(`((?:` + anonOctet + `|\d{1,3})\.(?:` + anonOctet + `|\d{1,3})\.(?:` + anonOctet + `|\d{1,3})\.(?:` + anonOctet + `|\d{1,3}))(?:\.\d{1,5})?(?:$|[^\w.*])`)

// placeholder is a name in angle brackets standing for an address:
// "<public-ip>", "<private-ip-of-ct>", "<VIP>", "<rs1_addr>".
var placeholder = regexp.MustCompile(`<([A-Za-z][A-Za-z0-9_.-]{0,47})>`)

// addressWords are the words of a placeholder's name that make it stand
// for an address; "<host>" or "<interface>" names no address.
var addressWords = map[string]bool{"ip": true, "ipv4": true, "ipaddr": true, "addr": true, "address": true,
	"vip": true, "rip": true, "dip": true, "lip": true}

// placeholderName reports whether name (between the angle brackets) stands
// for an address: one of its words is an address word, trailing digits
// aside (ip1, vip2).
func placeholderName(name string) bool {
	for _, w := range strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
		if addressWords[strings.TrimRight(w, "0123456789")] {
			return true
		}
	}
	return false
}

// readAnonymised replaces the anonymised addresses and placeholders of
// text by the addresses they are read as; it returns the text and what was
// replaced (the first few, each once).
func readAnonymised(text string) (string, []string) {
	var seen []string
	note := func(from, to string) {
		// once per address read: "<VIP>" and "<vip>" are one
		if len(seen) < 6 && !slices.ContainsFunc(seen, func(s string) bool { return strings.HasSuffix(s, " as "+to) }) {
			seen = append(seen, from+" as "+to)
		}
	}
	text = readPlaceholders(text, note)
	if !mayHoldAnonymised(text) {
		return text, seen
	}
	var b strings.Builder
	last := 0
	for _, loc := range anonAddr.FindAllStringSubmatchIndex(text, -1) {
		if loc[2] > 0 && !anonBoundary(text[loc[2]-1]) {
			continue // part of a word or a longer dotted run
		}
		addr := text[loc[2]:loc[3]]
		octs := strings.Split(addr, ".")
		hidden := 0
		for i, o := range octs {
			if _, err := strconv.Atoi(o); err == nil {
				continue
			}
			hidden++
			octs[i] = strconv.Itoa(anonNumber(o, i))
		}
		if hidden == 0 || hidden == 4 {
			continue // an address, or four words: not an anonymised one
		}
		read := strings.Join(octs, ".")
		note(addr, read)
		b.WriteString(text[last:loc[2]])
		b.WriteString(read)
		last = loc[3]
	}
	if last == 0 {
		return text, seen
	}
	b.WriteString(text[last:])
	text = b.String()
	return text, seen
}

// readPlaceholders replaces the address placeholders of text ("<public-ip>")
// by addresses of 240.0.0.0/4, one per name (case aside), distinct from each
// other. A name also closed as a tag ("</vip>") is XML, not a placeholder.
func readPlaceholders(text string, note func(from, to string)) string {
	if !strings.Contains(text, "<") || !strings.Contains(text, ">") {
		return text
	}
	byName := map[string]string{}
	taken := map[string]bool{}
	return placeholder.ReplaceAllStringFunc(text, func(m string) string {
		name := m[1 : len(m)-1]
		if !placeholderName(name) || strings.Contains(text, "</"+name+">") {
			return m
		}
		key := strings.ToLower(name)
		addr, ok := byName[key]
		if !ok {
			h := fnv.New32a()
			h.Write([]byte(key))
			v := h.Sum32()
			for {
				addr = fmt.Sprintf("%d.%d.%d.%d", 240+v%15, 1+(v>>4)%254, 1+(v>>12)%254, 1+(v>>20)%254)
				if !taken[addr] {
					break
				}
				v = v*16777619 + 1
			}
			byName[key], taken[addr] = addr, true
		}
		note(m, addr)
		return addr
	})
}

// anonBoundary reports whether c may precede an anonymised address: not a
// letter, digit, dot, star or dash of a longer token.
func anonBoundary(c byte) bool {
	return !(isOctetByte(c) || c == '_' || c == '.' || c == '-')
}

// anonNumber is the number a hidden octet is read as.
func anonNumber(text string, pos int) int {
	h := fnv.New32a()
	h.Write([]byte{byte(pos)})
	h.Write([]byte(strings.ToLower(text)))
	v := int(h.Sum32())
	if pos == 0 {
		return 240 + v%15
	}
	return 1 + v%254
}

// mayHoldAnonymised is a cheap screen before the regular expression,
// which would otherwise cost more than parsing a case of a thousand real
// servers: some '.' of text sits between a hidden octet and a number or
// another hidden octet.
func mayHoldAnonymised(text string) bool {
	for i := strings.IndexByte(text, '.'); i >= 0; {
		l, r := octetBefore(text, i), octetAfter(text, i)
		if (isHiddenOctet(l) && (isHiddenOctet(r) || isNumber(r))) || (isNumber(l) && isHiddenOctet(r)) {
			return true
		}
		j := strings.IndexByte(text[i+1:], '.')
		if j < 0 {
			break
		}
		i += j + 1
	}
	return false
}

func isOctetByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '*'
}

func octetBefore(s string, dot int) string {
	i := dot
	for i > 0 && dot-i < 4 && isOctetByte(s[i-1]) {
		i--
	}
	return s[i:dot]
}

func octetAfter(s string, dot int) string {
	i := dot + 1
	for i < len(s) && i-dot-1 < 4 && isOctetByte(s[i]) {
		i++
	}
	return s[dot+1 : i]
}

func isHiddenOctet(o string) bool {
	if len(o) == 0 || len(o) > 3 {
		return false
	}
	if len(o) == 1 && (o[0] >= 'a' && o[0] <= 'd' || o[0] >= 'A' && o[0] <= 'D') {
		return true
	}
	for i := 0; i < len(o); i++ {
		switch o[i] {
		case 'x', 'X', 'y', 'Y', 'z', 'Z', '*':
		default:
			return false
		}
	}
	return true
}

func isNumber(o string) bool {
	if len(o) == 0 || len(o) > 3 {
		return false
	}
	for i := 0; i < len(o); i++ {
		if o[i] < '0' || o[i] > '9' {
			return false
		}
	}
	return true
}
