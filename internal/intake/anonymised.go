package intake

import (
	"hash/fnv"
	"regexp"
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

// anonOctet is a hidden octet: x's, y's, z's or stars, or one letter a-d.
const anonOctet = `(?:[xXyYzZ*]{1,3}|[a-dA-D])`

var anonAddr = regexp.MustCompile(`(?:^|[^\w.*-])((?:` + anonOctet + `|\d{1,3})\.(?:` + anonOctet + `|\d{1,3})\.(?:` + anonOctet + `|\d{1,3})\.(?:` + anonOctet + `|\d{1,3}))(?:$|[^\w.*])`)

// readAnonymised replaces the anonymised addresses of text by the numbers
// they are read as; it returns the text and what was replaced (first few).
func readAnonymised(text string) (string, []string) {
	if !mayHoldAnonymised(text) {
		return text, nil
	}
	var seen []string
	out := anonAddr.ReplaceAllStringFunc(text, func(m string) string {
		loc := anonAddr.FindStringSubmatchIndex(m)
		addr := m[loc[2]:loc[3]]
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
			return m // an address, or four words: not an anonymised one
		}
		if len(seen) < 5 {
			seen = append(seen, addr+" as "+strings.Join(octs, "."))
		}
		return m[:loc[2]] + strings.Join(octs, ".") + m[loc[3]:]
	})
	return out, seen
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
