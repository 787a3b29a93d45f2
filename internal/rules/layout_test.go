package rules

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// declaredRule is a rule as its source declares it.
type declaredRule struct {
	file, name string
	explains   []string
	pos        token.Position
}

// declaredRules parses the package's files and returns, by cause ID, every
// package-level `var x = &Rule{...}`; it fails on a Rule literal elsewhere.
func declaredRules(t *testing.T) map[string]declaredRule {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]declaredRule{}
	for _, fn := range files {
		if strings.HasSuffix(fn, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, fn, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		declared := map[*ast.CompositeLit]bool{}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, v := range vs.Values {
					lit := ruleLiteral(v)
					if lit == nil {
						continue
					}
					declared[lit] = true
					r := declaredRule{file: fn, name: vs.Names[i].Name, pos: fset.Position(lit.Pos())}
					id := ""
					for _, el := range lit.Elts {
						kv, ok := el.(*ast.KeyValueExpr)
						if !ok {
							continue
						}
						switch kv.Key.(*ast.Ident).Name {
						case "ID":
							id = stringLit(t, r.pos, kv.Value)
						case "Explains":
							l, ok := kv.Value.(*ast.CompositeLit)
							if !ok {
								t.Errorf("%s: Explains is not a []string{...} literal", r.pos)
								continue
							}
							for _, e := range l.Elts {
								r.explains = append(r.explains, stringLit(t, r.pos, e))
							}
						}
					}
					if id == "" {
						t.Errorf("%s: rule %s has no literal ID", r.pos, r.name)
						continue
					}
					if o, dup := out[id]; dup {
						t.Errorf("%s: rule %s declared again (first at %s)", r.pos, id, o.pos)
					}
					out[id] = r
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit := ruleLiteral(n); lit != nil && !declared[lit] {
				t.Errorf("%s: a Rule literal that is not a package-level var of its own", fset.Position(lit.Pos()))
			}
			return true
		})
	}
	return out
}

// ruleLiteral returns the literal of `&Rule{...}`, else nil.
func ruleLiteral(n ast.Node) *ast.CompositeLit {
	u, ok := n.(*ast.UnaryExpr)
	if !ok || u.Op != token.AND {
		return nil
	}
	l, ok := u.X.(*ast.CompositeLit)
	if !ok {
		return nil
	}
	if id, ok := l.Type.(*ast.Ident); ok && id.Name == "Rule" {
		return l
	}
	return nil
}

func stringLit(t *testing.T, pos token.Position, e ast.Expr) string {
	t.Helper()
	if b, ok := e.(*ast.BasicLit); ok && b.Kind == token.STRING {
		if s, err := strconv.Unquote(b.Value); err == nil {
			return s
		}
	}
	t.Errorf("%s: %s is not a string literal", pos, e)
	return ""
}

// fileOf is the file a cause's rule lives in.
func fileOf(id string) string {
	return strings.NewReplacer(".", "_", "-", "_").Replace(id) + ".go"
}

// Every rule is declared, once, in the file named after its ID, under the
// ID's name, with the Explains it runs with; every declared rule runs.
func TestRuleLayout(t *testing.T) {
	decl := declaredRules(t)
	listed := map[string]bool{}
	for _, r := range All() {
		listed[r.ID] = true
		d, ok := decl[r.ID]
		if !ok {
			t.Errorf("rule %s: no `var x = &Rule{ID: %q, ...}` in the package", r.ID, r.ID)
			continue
		}
		if d.file != fileOf(r.ID) {
			t.Errorf("rule %s is declared in %s; it belongs in %s", r.ID, d.file, fileOf(r.ID))
		}
		if want := strings.NewReplacer(".", "", "-", "").Replace(r.ID); !strings.EqualFold(d.name, want) {
			t.Errorf("rule %s is the var %s; name it after the ID (%s in lowerCamelCase)", r.ID, d.name, r.ID)
		}
		if !slices.Equal(d.explains, r.Explains) {
			t.Errorf("rule %s runs with Explains %q but declares %q: nothing may change a rule at run time", r.ID, r.Explains, d.explains)
		}
	}
	for id, d := range decl {
		if !listed[id] {
			t.Errorf("%s: rule %s is not in All (all.go)", d.pos, id)
		}
	}
}

// The files are named for what they hold: no batches, no grab bags, and
// no init functions that patch rules behind their declarations.
func TestFileNames(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		n := e.Name()
		if !strings.HasSuffix(n, ".go") {
			continue
		}
		base := strings.TrimSuffix(strings.TrimSuffix(n, ".go"), "_test")
		if strings.HasSuffix(base, "_more") || slices.Contains([]string{"helpers", "util", "utils", "common", "misc"}, base) {
			t.Errorf("%s: name a file after the rule it holds or what it reads", n)
		}
		f, err := parser.ParseFile(fset, n, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == "init" {
				t.Errorf("%s: func init in package rules: declare what a rule needs and explains on the rule", fset.Position(fd.Pos()))
			}
		}
	}
}
