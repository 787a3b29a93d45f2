package keepalived

import (
	"strings"
)

// stmt is one statement: a keyword, its arguments and, when it opens a
// block, the statements inside. It remembers the document and line it came
// from so that includes keep citing the right file.
type stmt struct {
	kw       string
	args     []string
	doc      int // index into parser.docs
	line     int // 0-based line in that document
	block    []*stmt
	hasBlock bool
}

const (
	maxIncludeDepth = 8
	maxIncludeDocs  = 64
	maxStatements   = 200000
	maxDepth        = 64
)

// redact hides the VRRP password of any line before it is cited: reports
// print Ref.Text, and a report must never carry a secret. Everything after
// auth_pass goes, but for the closing braces of a one-line block.
func redact(s string) string {
	i := indexASCIIFold(s, "auth_pass")
	if i < 0 {
		return s
	}
	rest := s[i+len("auth_pass"):]
	if strings.TrimSpace(rest) == "" || strings.TrimSpace(rest) == "<redacted>" {
		return s
	}
	tail := len(rest)
	for tail > 0 && (rest[tail-1] == '}' || rest[tail-1] == ' ' || rest[tail-1] == '\t') {
		tail--
	}
	closing := strings.TrimSpace(rest[tail:])
	out := s[:i+len("auth_pass")] + " <redacted>"
	if closing != "" {
		out += " " + closing
	}
	return out
}

// lexer turns documents into statements, following includes.
type lexer struct {
	p     *parser
	nstmt int
	vars  map[string]string
}

type token struct {
	s      string
	quoted bool
}

// lineTokens splits one line the way keepalived does: "{" and "}" are
// tokens of their own, "!" and "#" start a comment anywhere outside quotes,
// double quotes group words.
func lineTokens(line string) []token {
	var out []token
	i := 0
	for i < len(line) {
		c := line[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '!' || c == '#':
			return out
		case c == '{' || c == '}':
			out = append(out, token{s: line[i : i+1]})
			i++
		case c == '"':
			j := strings.IndexByte(line[i+1:], '"')
			if j < 0 {
				out = append(out, token{s: line[i+1:], quoted: true})
				return out
			}
			out = append(out, token{s: line[i+1 : i+1+j], quoted: true})
			i += j + 2
		default:
			j := i
			for j < len(line) {
				d := line[j]
				if d == ' ' || d == '\t' || d == '\r' || d == '\f' || d == '\v' || d == '{' || d == '}' || d == '!' || d == '#' || d == '"' {
					break
				}
				j++
			}
			out = append(out, token{s: line[i:j]})
			i = j
		}
	}
	return out
}

// frame is an open block while building the tree.
type frame struct {
	owner *stmt // nil for the top level
	list  *[]*stmt
}

// build reads document di (already in p.docs) into the statement list at
// the top of stack, returning the stack as it is at the end of the file:
// blocks may span include boundaries, as keepalived allows.
func (lx *lexer) build(di int, stack []frame, depth int) []frame {
	doc := lx.p.docs[di]
	lines := doc.Lines()
	var last *stmt // the statement a "{" on the next line would open
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		// "\" at the end continues the line (keepalived 2.x)
		if cont(line) && i+1 < len(lines) {
			var b strings.Builder
			for cont(line) && i+1 < len(lines) && b.Len() < 1<<16 {
				b.WriteString(strings.TrimSuffix(strings.TrimRight(line, " \t\r"), "\\"))
				b.WriteByte(' ')
				i++
				line = lines[i]
			}
			b.WriteString(line)
			line = b.String()
		}
		trim := strings.TrimSpace(line)
		if trim == "" {
			continue
		}
		// conditional configuration (2.x): "@id keyword ..." applies to one
		// router only; which one is unknown here, so every line is read.
		if trim[0] == '@' {
			if sp := strings.IndexAny(trim, " \t"); sp > 0 {
				trim = strings.TrimSpace(trim[sp:])
				line = trim
			} else {
				continue
			}
		}
		if trim[0] == '$' {
			lx.define(trim)
			continue
		}
		if strings.Contains(line, "$") && len(lx.vars) > 0 {
			line = lx.expand(line)
		}
		toks := lineTokens(line)
		var cur *stmt
		for _, t := range toks {
			if lx.nstmt > maxStatements {
				lx.p.problem(di, i, "too many statements; the rest of the configuration was not read")
				return stack
			}
			switch {
			case t.s == "{" && !t.quoted:
				owner := cur
				if owner == nil {
					owner = last
				}
				if owner == nil || owner.hasBlock {
					lx.p.issue("{", "'{' without a keyword before it", di, i, line)
					owner = &stmt{kw: "", doc: di, line: i}
					*stack[len(stack)-1].list = append(*stack[len(stack)-1].list, owner)
				}
				if len(stack) >= maxDepth {
					lx.p.problem(di, i, "blocks nested too deeply")
					return stack
				}
				owner.hasBlock = true
				stack = append(stack, frame{owner: owner, list: &owner.block})
				cur, last = nil, nil
			case t.s == "}" && !t.quoted:
				if len(stack) == 1 {
					lx.p.issue("}", "'}' closes no block", di, i, line)
				} else {
					stack = stack[:len(stack)-1]
				}
				cur, last = nil, nil
			default:
				if cur == nil {
					cur = &stmt{kw: t.s, doc: di, line: i}
					lx.nstmt++
					*stack[len(stack)-1].list = append(*stack[len(stack)-1].list, cur)
				} else {
					cur.args = append(cur.args, t.s)
				}
			}
		}
		if cur != nil {
			if cur.kw == "include" && !cur.hasBlock {
				// drop the include statement itself and read what it names
				l := stack[len(stack)-1].list
				*l = (*l)[:len(*l)-1]
				stack = lx.include(cur, stack, depth)
				last = nil
				continue
			}
			last = cur
		}
	}
	return stack
}

func (lx *lexer) define(line string) {
	if lx.vars == nil {
		lx.vars = map[string]string{}
	}
	eq := strings.IndexByte(line, '=')
	if eq < 2 || len(lx.vars) > 256 {
		return
	}
	name := strings.TrimSpace(line[1:eq])
	lx.vars[name] = strings.TrimSpace(line[eq+1:])
}

func (lx *lexer) expand(line string) string {
	for name, v := range lx.vars {
		for _, ref := range []string{"${" + name + "}", "$" + name} {
			if n := strings.Count(line, ref); n > 0 {
				if len(line)+n*len(v) > 1<<16 {
					return line // a definition that explodes: leave it unexpanded
				}
				line = strings.ReplaceAll(line, ref, v)
			}
		}
	}
	return line
}

func (lx *lexer) include(st *stmt, stack []frame, depth int) []frame {
	doc := lx.p.docs[st.doc]
	if len(st.args) == 0 {
		lx.p.issue("include", "include without a file name", st.doc, st.line, "")
		return stack
	}
	pattern := st.args[0]
	if strings.HasSuffix(pattern, ";") {
		return stack // nginx's include, in text pasted around the configuration
	}
	if depth >= maxIncludeDepth {
		lx.p.problem(st.doc, st.line, "include %s: includes nested too deeply (a loop?)", pattern)
		return stack
	}
	if doc.Include == nil {
		lx.p.problem(st.doc, st.line, "include %s could not be read: included files are not available from this source; add them to the case", pattern)
		return stack
	}
	docs, err := doc.Include(pattern)
	if err != nil {
		lx.p.problem(st.doc, st.line, "include %s could not be read: %v", pattern, err)
		return stack
	}
	if len(docs) == 0 {
		lx.p.problem(st.doc, st.line, "include %s matched no file in the evidence", pattern)
		return stack
	}
	for _, d := range docs {
		if len(lx.p.docs) >= maxIncludeDocs {
			lx.p.problem(st.doc, st.line, "include %s: too many included files", pattern)
			return stack
		}
		if lx.p.seen[d.Source] {
			lx.p.problem(st.doc, st.line, "include %s: %s is included twice (a loop?)", pattern, d.Source)
			continue
		}
		lx.p.seen[d.Source] = true
		if d.Include == nil {
			d.Include = doc.Include
		}
		lx.p.docs = append(lx.p.docs, d)
		stack = lx.build(len(lx.p.docs)-1, stack, depth+1)
	}
	return stack
}

// cont reports whether a line ends with the continuation backslash.
func cont(line string) bool {
	return strings.HasSuffix(strings.TrimRight(line, " \t\r"), "\\")
}

// indexASCIIFold is strings.Index ignoring ASCII case; unlike ToLower it
// keeps byte offsets valid on input that is not UTF-8.
func indexASCIIFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		j := 0
		for ; j < len(sub); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[j] {
				break
			}
		}
		if j == len(sub) {
			return i
		}
	}
	return -1
}
