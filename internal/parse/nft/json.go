package nft

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

type jsonRoot struct {
	Nftables []map[string]json.RawMessage `json:"nftables"`
}

type jsonTable struct {
	Family string `json:"family"`
	Name   string `json:"name"`
}

type jsonChain struct {
	Family string `json:"family"`
	Table  string `json:"table"`
	Name   string `json:"name"`
	Hook   string `json:"hook"`
	Policy string `json:"policy"`
}

type jsonSet struct {
	Family string            `json:"family"`
	Table  string            `json:"table"`
	Name   string            `json:"name"`
	Type   json.RawMessage   `json:"type"`
	Elem   []json.RawMessage `json:"elem"`
}

type jsonRule struct {
	Family  string                       `json:"family"`
	Table   string                       `json:"table"`
	Chain   string                       `json:"chain"`
	Comment string                       `json:"comment"`
	Expr    []map[string]json.RawMessage `json:"expr"`
}

// LooksLikeJSON reports whether text is `nft -j` output.
func LooksLikeJSON(text string) bool {
	t := strings.TrimSpace(text)
	if len(t) > 512 {
		t = t[:512]
	}
	return strings.HasPrefix(t, "{") && strings.Contains(t, `"nftables"`)
}

// Parse reads text or JSON, deciding by content.
func Parse(doc evidence.Doc) (Ruleset, []evidence.Problem) {
	if LooksLikeJSON(doc.Text) {
		return ParseJSON(doc)
	}
	return ParseText(doc)
}

// ParseJSON reads `nft -j list ruleset` (one line, or pretty-printed by jq).
func ParseJSON(doc evidence.Doc) (Ruleset, []evidence.Problem) {
	var rs Ruleset
	var probs []evidence.Problem
	var root jsonRoot
	text := []byte(doc.Text)
	if err := json.Unmarshal(text, &root); err != nil {
		return rs, []evidence.Problem{doc.Problemf(0, "nft -j: not valid JSON: %v", err)}
	}
	lines := doc.Lines()
	// Each object's Ref points to the line where its JSON starts; the text
	// is the object itself (nft -j prints everything on one line).
	cursor := 0
	refOf := func(raw json.RawMessage) evidence.Ref {
		k := bytes.Index(text[cursor:], raw)
		if k < 0 {
			return doc.Ref(0, string(raw))
		}
		off := cursor + k
		cursor = off + len(raw)
		line := bytes.Count(text[:off], []byte("\n"))
		if line >= len(lines) {
			line = len(lines) - 1
		}
		var compact bytes.Buffer
		if json.Compact(&compact, raw) != nil {
			compact.Reset()
			compact.Write(raw)
		}
		return doc.Ref(line, compact.String())
	}

	type tkey struct{ family, table string }
	sets := map[tkey]map[string]*nset{}
	type jr struct {
		r   prule
		ctx chainCtx
		num int
	}
	var rules []jr
	hooks := map[string]string{} // family/table/chain -> hook
	nums := map[string]int{}
	for n, item := range root.Nftables {
		for kind, raw := range item {
			ref := refOf(raw)
			switch kind {
			case "table":
				var t jsonTable
				if json.Unmarshal(raw, &t) == nil {
					rs.Tables = append(rs.Tables, Table{Family: t.Family, Name: t.Name, Ref: ref})
				}
			case "chain":
				var c jsonChain
				if err := json.Unmarshal(raw, &c); err != nil {
					probs = append(probs, doc.Problemf(ref.Line-doc.Ref(0, "").Line, "nft -j: chain #%d: %v", n, err))
					continue
				}
				ch := evidence.Chain{Tool: "nft", Family: c.Family, Table: c.Table, Name: c.Name, Hook: c.Hook, Ref: ref}
				if c.Hook != "" {
					ch.Policy = "ACCEPT"
					if c.Policy != "" {
						ch.Policy = strings.ToUpper(c.Policy)
					}
				}
				hooks[c.Family+"/"+c.Table+"/"+c.Name] = c.Hook
				rs.Chains = append(rs.Chains, ch)
			case "set", "map":
				var s jsonSet
				if json.Unmarshal(raw, &s) != nil {
					continue
				}
				k := tkey{s.Family, s.Table}
				if sets[k] == nil {
					sets[k] = map[string]*nset{}
				}
				ns := &nset{typ: string(s.Type)}
				for _, e := range s.Elem {
					if len(ns.elems) >= 65536 {
						break
					}
					if kind == "map" {
						var pair []json.RawMessage
						if json.Unmarshal(e, &pair) == nil && len(pair) == 2 {
							ns.elems = append(ns.elems, jsonValue(pair[0], "")+" : "+verdictText(pair[1]))
						}
						continue
					}
					ns.elems = append(ns.elems, jsonValue(e, ""))
				}
				sets[k][s.Name] = ns
			case "rule":
				var r jsonRule
				if err := json.Unmarshal(raw, &r); err != nil {
					probs = append(probs, doc.Problemf(ref.Line-doc.Ref(0, "").Line, "nft -j: rule #%d: %v", n, err))
					continue
				}
				p := jsonRuleToP(r)
				p.ref = ref
				ck := r.Family + "/" + r.Table + "/" + r.Chain
				nums[ck]++
				rules = append(rules, jr{r: p, ctx: chainCtx{family: r.Family, table: r.Table, name: r.Chain}, num: nums[ck]})
				if len(rules) > maxRules {
					probs = append(probs, doc.Problemf(0, "nft -j: more than %d rules; the rest is ignored", maxRules))
					goto done
				}
			}
		}
	}
done:
	for _, r := range rules {
		r.ctx.hook = hooks[r.ctx.family+"/"+r.ctx.table+"/"+r.ctx.name]
		rs.Rules = append(rs.Rules, build(r.r, r.ctx, r.num, sets[tkey{r.ctx.family, r.ctx.table}])...)
	}
	return rs, probs
}

// jsonKey names the left side of a match the way the text form does.
func jsonKey(raw json.RawMessage) (key, mask string, ok bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return "", "", false
	}
	if v, ok := m["payload"]; ok {
		var p struct{ Protocol, Field string }
		if json.Unmarshal(v, &p) == nil && p.Protocol != "" {
			return p.Protocol + " " + p.Field, "", true
		}
		return "", "", false
	}
	if v, ok := m["meta"]; ok {
		var p struct{ Key string }
		if json.Unmarshal(v, &p) == nil {
			return "meta " + p.Key, "", true
		}
	}
	if v, ok := m["ct"]; ok {
		var p struct{ Key, Dir string }
		if json.Unmarshal(v, &p) == nil {
			if p.Dir != "" {
				return "ct " + p.Dir + " " + p.Key, "", true
			}
			return "ct " + p.Key, "", true
		}
	}
	if v, ok := m["&"]; ok {
		var pair []json.RawMessage
		if json.Unmarshal(v, &pair) == nil && len(pair) == 2 {
			k, _, ok := jsonKey(pair[0])
			return k, jsonValue(pair[1], ""), ok
		}
	}
	return "", "", false
}

// jsonValue renders a right-hand value as the text form prints it.
func jsonValue(raw json.RawMessage, key string) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		_ = json.Unmarshal(raw, &s)
		return s
	case '{':
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return string(raw)
		}
		if v, ok := m["prefix"]; ok {
			var p struct {
				Addr json.RawMessage
				Len  int
			}
			if json.Unmarshal(v, &p) == nil {
				return jsonValue(p.Addr, key) + "/" + strconv.Itoa(p.Len)
			}
		}
		if v, ok := m["range"]; ok {
			var pair []json.RawMessage
			if json.Unmarshal(v, &pair) == nil && len(pair) == 2 {
				return jsonValue(pair[0], key) + "-" + jsonValue(pair[1], key)
			}
		}
		if v, ok := m["elem"]; ok {
			var e struct{ Val json.RawMessage }
			if json.Unmarshal(v, &e) == nil {
				return jsonValue(e.Val, key)
			}
		}
		return string(raw)
	case '[':
		var arr []json.RawMessage
		if json.Unmarshal(raw, &arr) != nil {
			return string(raw)
		}
		var parts []string
		for _, a := range arr {
			parts = append(parts, jsonValue(a, key))
		}
		return strings.Join(parts, ",")
	}
	return string(raw)
}

// jsonVals returns the values of a right-hand side: one, or the elements
// of an anonymous set; set is the name of a named set.
func jsonVals(raw json.RawMessage) (vals []string, set string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '{' {
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) == nil {
			if v, ok := m["set"]; ok {
				var arr []json.RawMessage
				if json.Unmarshal(v, &arr) == nil {
					for _, a := range arr {
						vals = append(vals, jsonValue(a, ""))
					}
					return vals, ""
				}
			}
		}
	}
	v := jsonValue(raw, "")
	if strings.HasPrefix(v, "@") {
		return nil, v[1:]
	}
	return []string{v}, ""
}

func verdictText(raw json.RawMessage) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return jsonValue(raw, "")
	}
	for k, v := range m {
		var t struct{ Target string }
		if json.Unmarshal(v, &t) == nil && t.Target != "" {
			return k + " " + t.Target
		}
		return k
	}
	return ""
}

func compactJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	s := b.String()
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

func jsonRuleToP(r jsonRule) prule {
	var p prule
	if r.Comment != "" {
		p.stmts = append(p.stmts, stmt{kind: "comment", arg: r.Comment})
	}
	for _, e := range r.Expr {
		for kind, raw := range e {
			switch kind {
			case "match":
				var m struct {
					Op    string
					Left  json.RawMessage
					Right json.RawMessage
				}
				if json.Unmarshal(raw, &m) != nil {
					p.stmts = append(p.stmts, stmt{kind: "extra", text: compactJSON(raw)})
					continue
				}
				key, mask, ok := jsonKey(m.Left)
				if !ok {
					p.stmts = append(p.stmts, stmt{kind: "extra", text: "match " + compactJSON(raw)})
					continue
				}
				c := cond{key: key, mask: mask, op: m.Op}
				if op, ok := ops[m.Op]; ok {
					c.op = op
				}
				c.vals, c.set = jsonVals(m.Right)
				c.text = fmt.Sprintf("%s %s %s", key, m.Op, jsonValue(m.Right, ""))
				if mask != "" {
					c.text = fmt.Sprintf("%s & %s %s %s", key, mask, m.Op, jsonValue(m.Right, ""))
				}
				p.conds = append(p.conds, c)
			case "counter":
				var c struct{ Packets, Bytes uint64 }
				if json.Unmarshal(raw, &c) == nil {
					p.stmts = append(p.stmts, stmt{kind: "counter", pkts: c.Packets, byts: c.Bytes})
				}
			case "accept", "drop", "return", "continue", "notrack":
				p.stmts = append(p.stmts, stmt{kind: kind})
			case "jump", "goto":
				var t struct{ Target string }
				_ = json.Unmarshal(raw, &t)
				p.stmts = append(p.stmts, stmt{kind: kind, arg: t.Target})
			case "reject":
				var t struct {
					Type string
					Expr string
				}
				_ = json.Unmarshal(raw, &t)
				var with []string
				if t.Type != "" {
					with = append(with, strings.Fields(t.Type)...)
					if t.Expr != "" {
						with = append(with, t.Expr)
					}
				}
				p.stmts = append(p.stmts, stmt{kind: "reject", arg: rejectTarget(with)})
			case "log":
				var t struct{ Prefix string }
				_ = json.Unmarshal(raw, &t)
				p.stmts = append(p.stmts, stmt{kind: "log", arg: t.Prefix})
			case "mangle":
				var t struct {
					Key   json.RawMessage
					Value json.RawMessage
				}
				if json.Unmarshal(raw, &t) == nil {
					k, _, _ := jsonKey(t.Key)
					switch k {
					case "meta mark":
						p.stmts = append(p.stmts, stmt{kind: "markset", arg: jsonValue(t.Value, "")})
						continue
					case "ct mark":
						p.stmts = append(p.stmts, stmt{kind: "ctmarkset", arg: jsonValue(t.Value, "")})
						continue
					}
				}
				p.stmts = append(p.stmts, stmt{kind: "extra", text: "mangle " + compactJSON(raw)})
			case "dnat", "snat", "redirect", "masquerade", "tproxy", "queue":
				var t struct {
					Addr json.RawMessage
					Port json.RawMessage
				}
				_ = json.Unmarshal(raw, &t)
				arg := ""
				if len(t.Addr) > 0 {
					arg = jsonValue(t.Addr, "")
				}
				if len(t.Port) > 0 {
					arg += ":" + jsonValue(t.Port, "")
				}
				p.stmts = append(p.stmts, stmt{kind: kind, arg: arg})
			case "xt":
				var t struct{ Type, Name string }
				_ = json.Unmarshal(raw, &t)
				if t.Type == "target" {
					p.stmts = append(p.stmts, stmt{kind: "xt-target", arg: t.Name})
				} else {
					p.stmts = append(p.stmts, stmt{kind: "extra", text: "xt " + t.Type + " " + t.Name})
				}
			case "vmap":
				var t struct {
					Key  json.RawMessage
					Data json.RawMessage
				}
				if json.Unmarshal(raw, &t) != nil {
					continue
				}
				key, mask, ok := jsonKey(t.Key)
				if !ok {
					p.stmts = append(p.stmts, stmt{kind: "extra", text: "vmap " + compactJSON(raw)})
					continue
				}
				kc := cond{key: key, mask: mask, op: "==", text: key}
				p.vmapKey = &kc
				vals, set := jsonVals(t.Data)
				if set != "" {
					p.vmapSet = set
					continue
				}
				_ = vals
				var m struct {
					Set [][]json.RawMessage `json:"set"`
				}
				if json.Unmarshal(t.Data, &m) == nil {
					for _, pair := range m.Set {
						if len(pair) == 2 {
							p.vmap = append(p.vmap, vmapEntry{key: jsonValue(pair[0], ""), verdict: verdictStmt(strings.Fields(verdictText(pair[1])))})
						}
					}
				}
			default:
				p.stmts = append(p.stmts, stmt{kind: "extra", text: kind + " " + compactJSON(raw)})
			}
		}
	}
	return p
}
