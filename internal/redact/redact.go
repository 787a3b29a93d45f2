// Package redact hides secrets in evidence. Collect runs it before a file
// leaves its host and diagnose before a line reaches a report, so both
// hide the same things the same way (spec.md: secrets never leave the
// host).
//
// What is hidden:
//   - keepalived's auth_pass, in every syntax keepalived 2.x reads (own
//     line, one-line block, "@host" conditional prefix, quoted), replaced
//     by as many '*' as it had characters: diagnose still checks the length
//     (keepalived silently truncates at 8). "auth_pass $NAME" is a
//     reference, not the secret, and stays; the value of "$NAME=" stays
//     hidden instead, again as stars so that diagnose, which expands
//     definitions, measures the same length;
//   - the value of every "$NAME=" definition whose name says it holds a
//     secret (PASS, PW, SECRET, KEY, TOKEN, CRED);
//   - key-like settings (password, passwd, passphrase, secret, token, api
//     key, access key, private key, *_key, *_pass) as "key=value",
//     "key: value", an XML attribute, or "key value" when the key starts
//     the line (anywhere else "passwd from 10.0.0.2" is keepalived telling
//     which peer sent a bad password: evidence, not a secret);
//   - passwords given to commands: --password/--pass (and =, and openssl's
//     pass:), mysql's glued -pSECRET and curl's -u user:pass in keepalived
//     check and notify commands and mysql command lines, credentials in
//     URLs, Authorization headers;
//   - PEM and PGP private key blocks, and OpenSSH/SSH2 ones, also cut off
//     before their END line (see block for where such a block stops).
//
// Speed: a 100 MB connection table or sysctl dump goes through here with
// nothing to hide, so the input is first scanned for a few trigger words,
// and only lines holding one are parsed.
package redact

import (
	"bytes"
	"encoding/binary"
	"regexp"
)

// Placeholder replaces a secret whose length does not matter.
const Placeholder = "<redacted>"

var placeholder = []byte(Placeholder)

// Bytes returns data with its secrets replaced and how many it replaced.
// With nothing to replace it returns data itself: no copy is made.
// Data is never written to.
func Bytes(data []byte) ([]byte, int) {
	// Evidence files start with a "$ command" line, which the "$" trigger
	// finds: lines that turn out to hold nothing must cost no allocation
	// either, hence the stack buffers here and in segment.
	var sb [64]int
	starts := candidates(data, sb[:0])
	if len(starts) == 0 {
		return data, 0
	}
	var r redactor
	r.src = data
	// Two walks: which $NAMEs auth_pass uses must be known before their
	// definitions, which may come first, are redacted.
	r.walk(starts, true)
	r.walk(starts, false)
	if r.out == nil {
		return data, 0
	}
	return append(r.out, data[r.last:]...), r.n
}

// String is Bytes for one line or message.
func String(s string) string {
	b, n := Bytes([]byte(s))
	if n == 0 {
		return s
	}
	return string(b)
}

// Trigger words: a line holding none of them has nothing any rule below
// would replace.
var (
	wPass   = []byte("pass") // auth_pass, password, passwd, passphrase, --pass, db_pass
	wSecret = []byte("secret")
	wToken  = []byte("token")
	wKey    = []byte("key") // *_key, PRIVATE KEY blocks
	wAuthz  = []byte("authorization")
	wURL    = []byte("://")
	// "auth_pass" folded: fold turns '_' into DEL.
	foldedAuthPass = []byte("auth\x7fpass")
	wDashP         = []byte("-p") // mysql's -pSECRET
	wDashU         = []byte("-u") // curl's -u user:pass, --user
	triggers       = []struct {
		w      []byte
		folded bool // any case; then lower-case letters only (see fold)
	}{
		{wPass, true}, {wSecret, true}, {wToken, true}, {wKey, true}, {wAuthz, true},
		{wURL, false}, {[]byte("$"), false}, {wDashP, false}, {wDashU, false},
	}
	// folded, so "misc" for misc_path: fold turns '_' into DEL
	commands = [][]byte{[]byte("misc"), []byte("script"), []byte("notify"), []byte("quorum"), []byte("mysql"), []byte("mariadb"), []byte("curl")}
)

// bigrams has a bit for every two bytes, folded, a trigger word starts
// with: one table look-up per input byte finds every place worth a
// closer look, whatever the number of words, where a search per word
// would stop at every 'p' of "TCP" and every ':' of an address.
var bigrams [1 << 16 / 64]uint64

func init() {
	for _, t := range triggers {
		if len(t.w) > 1 {
			setBigram(t.w[0], t.w[1])
			continue
		}
		for c := range 256 {
			setBigram(t.w[0], byte(c))
		}
	}
}

func setBigram(a, b byte) {
	k := uint16(a|0x20) | uint16(b|0x20)<<8
	bigrams[k>>6] |= 1 << (k & 63)
}

// candidates appends to starts the start of every line holding a trigger
// word, in order.
func candidates(data []byte, starts []int) []int {
	n := len(data)
	for i := 0; i+1 < n; i++ {
		// Eight positions a round, while no bigram shows up: one load,
		// no bounds checks.
		for i+9 <= n {
			w := binary.LittleEndian.Uint64(data[i:]) | 0x2020202020202020
			w2 := w>>8 | uint64(data[i+8]|0x20)<<56
			if bigram(w)|bigram(w>>8)|bigram(w>>16)|bigram(w>>24)|bigram(w>>32)|bigram(w>>40)|bigram(w>>48)|bigram(w2>>48) != 0 {
				break
			}
			i += 8
		}
		if i+1 >= n {
			break
		}
		k := binary.LittleEndian.Uint16(data[i:]) | 0x2020
		if bigrams[k>>6]&(1<<(k&63)) == 0 || !triggerAt(data[i:]) {
			continue
		}
		starts = append(starts, bytes.LastIndexByte(data[:i], '\n')+1)
		i = lineEnd(data, i) // the rest of the line is a candidate already
	}
	if n > 0 && data[n-1] == '$' {
		if ls := bytes.LastIndexByte(data, '\n') + 1; len(starts) == 0 || starts[len(starts)-1] != ls {
			starts = append(starts, ls)
		}
	}
	return starts
}

func bigram(w uint64) uint64 {
	k := uint16(w)
	return bigrams[k>>6] & (1 << (k & 63))
}

func triggerAt(b []byte) bool {
	for _, t := range triggers {
		if len(b) < len(t.w) {
			continue
		}
		if !t.folded {
			if bytes.HasPrefix(b, t.w) {
				return true
			}
			continue
		}
		i := 0
		for i < len(t.w) && b[i]|0x20 == t.w[i] {
			i++
		}
		if i == len(t.w) {
			return true
		}
	}
	return false
}

// fold lower-cases the ASCII letters of src into dst. Setting bit 0x20 of
// every byte also changes some non-letters, but a byte becomes a
// lower-case letter only if it was that letter in either case, which is
// all a search for lower-case letters needs; 8 bytes at a time, it is as
// fast as a copy.
func fold(dst, src []byte) {
	i := 0
	for ; i+8 <= len(src); i += 8 {
		binary.LittleEndian.PutUint64(dst[i:], binary.LittleEndian.Uint64(src[i:])|0x2020202020202020)
	}
	for ; i < len(src); i++ {
		dst[i] = src[i] | 0x20
	}
}

func lineEnd(data []byte, i int) int {
	if j := bytes.IndexByte(data[i:], '\n'); j >= 0 {
		return i + j
	}
	return len(data)
}

type redactor struct {
	src   []byte
	out   []byte // nil until something is replaced
	last  int    // src is copied to out up to here
	n     int
	names bool            // first walk: only learn defs and refs
	defs  map[string]bool // $NAME= defined in this input
	refs  map[string]bool // $NAME used by auth_pass
}

func (r *redactor) walk(starts []int, names bool) {
	r.names = names
	next := 0
	for _, ls := range starts {
		if ls >= next {
			next = r.line(ls)
		}
	}
}

// replace puts repl in place of src[s:e]; calls come in src order.
func (r *redactor) replace(s, e int, repl []byte) {
	if r.out == nil {
		r.out = make([]byte, 0, len(r.src)+64)
	}
	r.out = append(r.out, r.src[r.last:s]...)
	r.out = append(r.out, repl...)
	r.last = e
}

// edit replaces src[s:e] and counts it, unless it is already repl: what
// this package wrote must come back unchanged and uncounted.
func (r *redactor) edit(s, e int, repl []byte) {
	if r.names || bytes.Equal(r.src[s:e], repl) {
		return
	}
	r.replace(s, e, repl)
	r.n++
}

var (
	// "---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----" has four dashes and spaces.
	beginRE = regexp.MustCompile(`(?i)-{4,5} ?BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)? ?-{4,5}`)
	endRE   = regexp.MustCompile(`(?i)-{4,5} ?END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)? ?-{4,5}`)
	// RFC 1421 and RFC 4880 armor headers: Proc-Type, DEK-Info, Version, Comment.
	armorHeaderRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]*: `)
)

// dashes is in every BEGIN and END marker: a cheap test before the
// regexps.
var dashes = []byte("----")

func findEnd(text []byte) []int {
	if !bytes.Contains(text, dashes) {
		return nil
	}
	return endRE.FindIndex(text)
}

// line redacts the line starting at ls, and the key block it may open,
// and returns where the next line to look at starts.
func (r *redactor) line(ls int) int {
	le := lineEnd(r.src, ls)
	from := ls
	for {
		var loc []int
		if bytes.Contains(r.src[from:le], dashes) {
			loc = beginRE.FindIndex(r.src[from:le])
		}
		if loc == nil {
			r.segment(from, le, from == ls)
			return le + 1
		}
		// The block is found before the other rules run: "private_key: "
		// would otherwise take the BEGIN line for its value and leave the
		// key itself in clear.
		r.segment(from, from+loc[0], from == ls)
		var next int
		if ls, from, le, next = r.block(ls, from+loc[1], le); next >= 0 {
			return next
		}
	}
}

// block redacts a private key block whose BEGIN marker ends at body, on
// the line [ls, le). It returns where to go on: the rest, [from, end), of
// the line starting at endLS that holds the END marker, or, when the
// block had no END, next >= 0, the line after it.
//
// A block with no END (a cut-off paste) runs over every following line
// that could still be part of it: base64, an armor header, blank or
// already redacted. It stops before the first other line and does not
// take the blank lines before it. So the rest of the input is not lost to
// a truncated key, at worst a base64-looking line after it is.
func (r *redactor) block(ls, body, le int) (endLS, from, end, next int) {
	src := r.src
	if loc := findEnd(src[body:le]); loc != nil {
		// BEGIN and END on one line: JSON or YAML with "\n" escapes.
		r.edit(body, body+loc[0], placeholder)
		return ls, body + loc[1], le, -1
	}
	nl := []byte("\n")
	if le > ls && src[le-1] == '\r' {
		nl = []byte("\r\n")
	}
	// Keep the indentation: a key in a YAML block scalar must stay in it.
	ind := src[ls : ls+len(src[ls:le])-len(bytes.TrimLeft(src[ls:le], " \t"))]
	lastBody := -1
	l := le + 1
	for l < len(src) {
		e := lineEnd(src, l)
		text := src[l:e]
		if loc := findEnd(text); loc != nil {
			stop := l + loc[0]
			if len(bytes.TrimLeft(text[:loc[0]], " \t")) == 0 {
				stop = l // the END line keeps its indentation
			}
			r.edit(body, stop, join(nl, ind, placeholder, nl))
			return l, l + loc[1], e, -1
		}
		if !pemLine(text) {
			break
		}
		if len(bytes.TrimSpace(text)) > 0 {
			lastBody = l + len(bytes.TrimRight(text, " \t\r"))
		}
		l = e + 1
	}
	if lastBody >= 0 {
		r.edit(body, lastBody, join(nl, ind, placeholder))
		return 0, 0, 0, min(l, len(src))
	}
	if rest := bytes.TrimRight(src[body:le], " \t\r"); len(rest) > 0 {
		r.edit(body, body+len(rest), placeholder)
	}
	return 0, 0, 0, le + 1
}

func join(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// pemLine reports whether a line can be inside a key block.
func pemLine(text []byte) bool {
	t := bytes.TrimSpace(text)
	if len(t) == 0 || bytes.Equal(t, placeholder) {
		return true
	}
	b64 := true
	for _, c := range t {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '=') {
			b64 = false
			break
		}
	}
	return b64 || armorHeaderRE.Match(t)
}

var (
	// keepalived: only whitespace, or "@id"/"@^id" conditions, before '$';
	// no space before '='; the value is the rest of the line.
	defRE = regexp.MustCompile(`^[ \t]*(?:@\^?[^ \t]+[ \t]+)*\$([A-Za-z_][A-Za-z0-9_]*)=[ \t]*`)
	// --password, --pass, --db-password, openssl's -passin: a password
	// option is one whatever follows it.
	optRE = regexp.MustCompile(`(?i)(?:^|[\s"'=])--?(?:[a-z0-9]+-)*(?:password|passwd|passphrase|pass|passin|passout)(=|[ \t]+)(?:'([^']*)'|"([^"]*)"|([^\s"'<>]+))`)
	// Only where a command runs (keepalived's misc_path, script, notify*,
	// quorum_*, or mysql itself): elsewhere -p80 and -u 1000:1000 are a
	// port and ids. "-p 80", apart, is always left alone.
	gluedPRE = regexp.MustCompile(`(?:^|[\s"'])-p([^\s"'<>]+)`)
	userRE   = regexp.MustCompile(`(?:^|[\s"'])(?:-u|--user)(?:=|[ \t]*)[^\s:"'<>]*:([^\s"'<>]+)`)
	// The password runs to the last '@' before the host: "p@ss" is not cut.
	urlRE   = regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.-]*://[^\s:/@"'<>]*:([^\s/"'<>]+)@`)
	authzRE = regexp.MustCompile(`(?i)\bauthorization["']?[ \t]*[:=][ \t]*(?:(?:bearer|basic|digest|token|negotiate)[ \t]+)?([^\s"'<>,;]+)`)
)

type edit struct {
	s, e int
	repl []byte
}

// segment redacts src[from:to], part of one line; atStart says it begins
// the line.
func (r *redactor) segment(from, to int, atStart bool) {
	line := r.src[from:to]
	if len(line) == 0 {
		return
	}
	var fb [512]byte
	f := append(fb[:0], line...)
	fold(f, line)
	hasPass := bytes.Contains(f, wPass)
	hasDollar := atStart && mayDefine(line)
	if r.names {
		if hasDollar {
			if m := defRE.FindSubmatch(line); m != nil {
				if r.defs == nil {
					r.defs = map[string]bool{}
				}
				r.defs[string(m[1])] = true
			}
		}
		if hasPass {
			r.authPass(line, f)
		}
		return
	}
	cur, n := line, 0
	apply := func(edits []edit) {
		if len(edits) > 0 {
			cur = applyEdits(cur, edits)
			n += len(edits)
		}
	}
	if hasDollar {
		apply(r.definition(cur))
	}
	if hasPass {
		apply(r.authPass(cur, f)) // f still fits: definitions keep lengths
		if bytes.IndexByte(cur, '-') >= 0 {
			apply(find(cur, optRE, optValue))
		}
	}
	if (bytes.Contains(line, wDashP) || bytes.Contains(line, wDashU)) && containsAny(f, commands) {
		apply(find(cur, gluedPRE, func(line []byte, m []int) (int, int) {
			v := line[m[2]:m[3]]
			if len(v) >= 3 && string(bytes.ToLower(v[:3])) == "ass" {
				return -1, -1 // -pass, -passin: openssl's, optRE's business
			}
			return m[2], m[3]
		}))
		apply(find(cur, userRE, group(1)))
	}
	if bytes.Contains(line, wURL) {
		apply(find(cur, urlRE, group(1)))
	}
	if bytes.Contains(f, wAuthz) {
		apply(find(cur, authzRE, func(line []byte, m []int) (int, int) {
			switch string(bytes.ToLower(line[m[2]:m[3]])) {
			case "bearer", "basic", "digest", "token", "negotiate":
				return -1, -1 // the scheme of an already redacted header
			}
			return m[2], m[3]
		}))
	}
	if n > 0 {
		f = append(f[:0], cur...) // the edits moved the words
		fold(f, cur)
	}
	apply(keyLike(cur, f))
	if n > 0 {
		r.replace(from, to, cur)
		r.n += n
	}
}

const (
	stemPass = iota
	stemSecret
	stemToken
	stemKey
)

// Key-like settings. The key word must end the key ("kernel.keys.maxkeys"
// and "ipfrag_secret_interval" are not secrets). The long words may end
// any key ("MyPassword=", "csrftoken="); "pass" must start the key or
// follow a non-alphanumeric ("db_pass", not "cache_bypass"); "key" alone
// is too common a word ("kernel key: <fingerprint>", "AltKey"), so it
// must follow "name_", "name." or "name-", or be "apikey", "privatekey"...
var (
	stems     = [][]byte{stemPass: wPass, stemSecret: wSecret, stemToken: wToken, stemKey: wKey}
	passTails = [][]byte{[]byte("word"), []byte("wd"), []byte("phrase")}
	keyHeads  = [][]byte{[]byte("api"), []byte("access"), []byte("secret"), []byte("private"), []byte("preshared")}
	// What ends a value: "a=1;b=2", "?token=x&y=1", "k='v'", "{ password x }".
	endsSepValue = byteSet(" \t\n\f\r\"'<>,;&")
	endsWSValue  = byteSet(" \t\n\f\r\"'<>,;{}")
)

func byteSet(s string) (set [256]bool) {
	for i := range len(s) {
		set[s[i]] = true
	}
	return set
}

// keyLike returns the edits hiding the values of key-like settings in
// line (f is line folded): "key=value", "key: value", JSON, an XML
// attribute, and "key value" when the key starts the line, or follows
// "@id" conditions, '{' or ';'. Hand-written rather than a regexp: one
// pass over the line, where an unanchored regexp with these alternatives
// takes microseconds a line, and keepalived's log can hold millions of
// "invalid passwd" lines.
func keyLike(line, f []byte) []edit {
	var edits []edit
	var next [stemKey + 1]int // next occurrence of each stem, or -1
	for k, s := range stems {
		next[k] = bytes.Index(f, s)
	}
	done := 0
	for {
		j, sk := -1, 0
		for k := range next {
			if next[k] >= 0 && (j < 0 || next[k] < j) {
				j, sk = next[k], k
			}
		}
		if j < 0 {
			return edits
		}
		if x := bytes.Index(f[j+1:], stems[sk]); x >= 0 {
			next[sk] = j + 1 + x
		} else {
			next[sk] = -1
		}
		if j < done {
			continue // inside the value just redacted
		}
		e := j + len(stems[sk])
		long := sk != stemPass && sk != stemKey
		if sk == stemPass {
			for _, t := range passTails {
				if bytes.HasPrefix(f[e:], t) {
					e, long = e+len(t), true
					break
				}
			}
		}
		if e < len(line) && keyChar(line[e]) {
			continue
		}
		ks := j
		for ks > 0 && keyChar(line[ks-1]) {
			ks--
		}
		bounded := j == ks || line[j-1] == '_' || line[j-1] == '.' || line[j-1] == '-'
		var sepOK, wsOK bool
		switch {
		case long:
			sepOK, wsOK = true, bounded
		case sk == stemPass:
			sepOK = j == 0 || !alnum(line[j-1])
			wsOK = bounded
		default: // key
			sepOK = j >= 2 && bounded && j > ks && alnum(line[j-2])
			wsOK = sepOK
			for _, h := range keyHeads {
				if hs := j - len(h); hs >= ks && bytes.Equal(f[hs:j], h) {
					sepOK = true
					wsOK = wsOK || hs == ks || line[hs-1] == '_' || line[hs-1] == '.' || line[hs-1] == '-'
				}
			}
		}
		ap := e-ks == len("auth_pass") && bytes.EqualFold(line[ks:e], []byte("auth_pass"))
		// "key=value": a closing quote may end the key, an opening one start the value.
		k := e
		if k < len(line) && (line[k] == '"' || line[k] == '\'') {
			k++
		}
		k = skipBlanks(line, k)
		if sepOK && k < len(line) && (line[k] == ':' || line[k] == '=') {
			k = skipBlanks(line, k+1)
			if k < len(line) && (line[k] == '"' || line[k] == '\'') {
				k++
			}
			v := k
			for v < len(line) && !endsSepValue[line[v]] {
				v++
			}
			if v > k && !masked(line[k:v]) && !(ap && line[k] == '$') {
				edits = append(edits, edit{k, v, placeholder})
				done = v
			}
			continue
		}
		// "key value", where the key starts the line.
		if !wsOK || ap || e == len(line) || line[e] != ' ' && line[e] != '\t' || !startsStatement(line[:ks]) {
			continue // auth_pass is authPass's, which leaves "$NAME" alone
		}
		k = skipBlanks(line, e)
		if k < len(line) && (line[k] == '"' || line[k] == '\'') {
			k++
		}
		v := k
		for v < len(line) && !endsWSValue[line[v]] {
			v++
		}
		if v > k && line[k] != '=' && line[k] != ':' && !masked(line[k:v]) {
			edits = append(edits, edit{k, v, placeholder})
			done = v
		}
	}
}

func keyChar(c byte) bool { return alnum(c) || c == '_' || c == '.' || c == '-' }

func alnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func skipBlanks(line []byte, k int) int {
	for k < len(line) && (line[k] == ' ' || line[k] == '\t') {
		k++
	}
	return k
}

// startsStatement reports whether what comes before a key leaves it the
// first word of a statement: blanks and "@id" conditions, or '{' or ';'.
func startsStatement(before []byte) bool {
	t := bytes.TrimRight(before, " \t")
	if len(t) == 0 || t[len(t)-1] == '{' || t[len(t)-1] == ';' {
		return true
	}
	if len(t) == len(before) {
		return false // glued to something
	}
	for i := 0; i < len(t); {
		if i = skipBlanks(t, i); t[i] != '@' {
			return false
		}
		for i < len(t) && t[i] != ' ' && t[i] != '\t' {
			i++
		}
	}
	return true
}

// mayDefine is a cheap test before defRE: a definition has '$' then a
// name; "$ ipvsadm -Lnc", the first line of every evidence file, has not.
func mayDefine(line []byte) bool {
	for i := bytes.IndexByte(line, '$'); i >= 0 && i+1 < len(line); {
		if c := line[i+1]; c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' {
			return true
		}
		j := bytes.IndexByte(line[i+1:], '$')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

func containsAny(f []byte, words [][]byte) bool {
	for _, w := range words {
		if bytes.Contains(f, w) {
			return true
		}
	}
	return false
}

// find returns an edit putting Placeholder in place of the value that at
// picks out of each match of re, unless it is already redacted.
func find(line []byte, re *regexp.Regexp, at func(line []byte, m []int) (int, int)) []edit {
	var edits []edit
	for _, m := range re.FindAllSubmatchIndex(line, -1) {
		s, e := at(line, m)
		if s < 0 || s >= e || masked(line[s:e]) {
			continue
		}
		edits = append(edits, edit{s, e, placeholder})
	}
	return edits
}

func group(g int) func([]byte, []int) (int, int) {
	return func(_ []byte, m []int) (int, int) { return m[2*g], m[2*g+1] }
}

func optValue(line []byte, m []int) (int, int) {
	for g := 2; g <= 4; g++ {
		if m[2*g] < 0 {
			continue
		}
		s, e := m[2*g], m[2*g+1]
		if g == 4 {
			if line[m[2]] != '=' && line[s] == '-' {
				return -1, -1 // "--password -h host": no value, a prompt
			}
			if len(line[s:e]) >= 5 && string(bytes.ToLower(line[s:s+5])) == "pass:" {
				s += 5 // openssl's "-passin pass:SECRET"
			}
		}
		return s, e
	}
	return -1, -1
}

// masked reports whether a value is what this package puts in place of
// one: the placeholder or stars (with keepalived's comment characters,
// which stars keep).
func masked(v []byte) bool {
	if bytes.Equal(v, placeholder) {
		return true
	}
	for _, c := range v {
		if c != '*' && c != '#' && c != '!' {
			return false
		}
	}
	return true
}

func applyEdits(line []byte, edits []edit) []byte {
	out := make([]byte, 0, len(line)+len(edits)*len(placeholder))
	last := 0
	for _, e := range edits {
		out = append(out, line[last:e.s]...)
		out = append(out, e.repl...)
		last = e.e
	}
	return append(out, line[last:]...)
}

// stars hides a keepalived value keeping its length. Unquoted, '!' and '#'
// stay: keepalived, and diagnose after it, end the value there (a
// comment), so the length they measure stays right; quotes stay, so the
// value still reads as one string.
func stars(v []byte, quoted bool) []byte {
	out := make([]byte, len(v))
	for i, c := range v {
		switch {
		case quoted:
			out[i] = '*'
		case c == '!' || c == '#' || c == '"' || c == '\'' || c == ' ' || c == '\t':
			out[i] = c
		default:
			out[i] = '*'
		}
	}
	return out
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'
}

// authPass returns the edits hiding every auth_pass value of line (f is
// line folded), or, on the first walk, notes the $NAMEs they use.
func (r *redactor) authPass(line, f []byte) []edit {
	var edits []edit
	done := 0
	for i := 0; ; i++ {
		x := bytes.Index(f[i:], foldedAuthPass)
		if x < 0 {
			break
		}
		if i += x; line[i+4] != '_' {
			continue // fold turned a DEL into itself, not a '_'
		}
		if i < done || i > 0 && !isSpace(line[i-1]) && line[i-1] != '{' && line[i-1] != '}' && line[i-1] != ';' {
			continue // "xauth_pass", or inside the previous value
		}
		end := i + len("auth_pass")
		k := end
		for k < len(line) && (line[k] == ' ' || line[k] == '\t') {
			k++
		}
		if k < len(line) && (line[k] == '=' || line[k] == ':') {
			k++
			for k < len(line) && (line[k] == ' ' || line[k] == '\t') {
				k++
			}
		} else if k == end {
			continue // "auth_passwd" and the like
		}
		if k >= len(line) {
			continue
		}
		var s, e int
		quoted := line[k] == '"' || line[k] == '\''
		if quoted {
			s = k + 1
			if q := bytes.IndexByte(line[s:], line[k]); q >= 0 {
				e = s + q
			} else {
				e = s + len(bytes.TrimRight(line[s:], " \t\r\f\v"))
			}
		} else {
			s, e = k, k
			if bytes.HasPrefix(line[s:], []byte("${")) {
				if b := bytes.IndexByte(line[s:], '}'); b >= 0 && !bytes.ContainsAny(line[s:s+b], " \t") {
					e = s + b + 1 // "${NAME}": its braces are not a block's
				}
			}
			for e < len(line) && !isSpace(line[e]) && line[e] != '{' && line[e] != '}' {
				e++
			}
		}
		done = e
		v := line[s:e]
		if len(v) == 0 || bytes.Equal(v, placeholder) {
			continue
		}
		if !quoted {
			if name, braced, ok := reference(v); ok {
				if r.refs == nil {
					r.refs = map[string]bool{}
				}
				r.refs[name] = true
				// $NAME may be defined in another file (collect redacts
				// file by file): an upper-case name is taken for a
				// parameter; keepalived's own examples all are.
				if braced || r.defs[name] || upperName(name) {
					continue
				}
			}
		}
		if st := stars(v, quoted); !bytes.Equal(st, v) {
			edits = append(edits, edit{s, e, st})
		}
	}
	return edits
}

// reference recognizes "$NAME" and "${NAME}", keepalived's parameter uses.
func reference(v []byte) (name string, braced, ok bool) {
	if len(v) < 2 || v[0] != '$' {
		return "", false, false
	}
	n := v[1:]
	if n[0] == '{' {
		if n[len(n)-1] != '}' {
			return "", false, false
		}
		n, braced = n[1:len(n)-1], true
	}
	if !paramName(n) {
		return "", false, false
	}
	return string(n), braced, true
}

func paramName(n []byte) bool {
	if len(n) == 0 || '0' <= n[0] && n[0] <= '9' {
		return false
	}
	for _, c := range n {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func upperName(n string) bool {
	for i := 0; i < len(n); i++ {
		if 'a' <= n[i] && n[i] <= 'z' {
			return false
		}
	}
	return true
}

// secretName reports whether a parameter's name says it holds a secret.
func secretName(n string) bool {
	u := bytes.ToUpper([]byte(n))
	for _, w := range []string{"PASS", "PW", "SECRET", "KEY", "TOKEN", "CRED"} {
		if bytes.Contains(u, []byte(w)) {
			return true
		}
	}
	return false
}

// definition hides the value of a "$NAME=value" line when NAME says it
// is a secret or auth_pass uses it. Of a multi-line definition ("\" at
// the end) only the first line is the definition's own: the lines after
// it are configuration, read by the other rules.
func (r *redactor) definition(line []byte) []edit {
	m := defRE.FindSubmatchIndex(line)
	if m == nil {
		return nil
	}
	name := string(line[m[2]:m[3]])
	if !secretName(name) && !r.refs[name] {
		return nil
	}
	s := m[1]
	v := bytes.TrimRight(line[s:], " \t\r\f\v")
	if bytes.HasSuffix(v, []byte(`\`)) {
		v = bytes.TrimRight(v[:len(v)-1], " \t")
	}
	if len(v) == 0 || bytes.Equal(v, placeholder) {
		return nil
	}
	st := stars(v, false)
	if bytes.Equal(st, v) {
		return nil
	}
	return []edit{{s, s + len(v), st}}
}
