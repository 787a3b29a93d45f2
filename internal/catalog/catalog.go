// Package catalog is the root-cause catalog: every ID a finding may carry,
// with what breaks, how it is recognised, how to fix it and how to confirm
// the fix. The IDs are a contract with users' scripts and alerts.
package catalog

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Cause is one entry of the catalog.
type Cause struct {
	ID       string `yaml:"id" json:"id"`
	Area     string `yaml:"area" json:"area"`
	Breaks   string `yaml:"breaks" json:"breaks"`
	Evidence string `yaml:"evidence" json:"evidence"`
	Fix      string `yaml:"fix" json:"fix"`
	Confirm  string `yaml:"confirm" json:"confirm"`
}

//go:embed causes.yaml
var causesYAML []byte

var (
	all  []Cause
	byID map[string]*Cause
)

func init() {
	if err := yaml.Unmarshal(causesYAML, &all); err != nil {
		// The catalog is compiled in; a broken one must fail every test.
		panic(fmt.Sprintf("catalog: causes.yaml: %v", err))
	}
	byID = make(map[string]*Cause, len(all))
	for i := range all {
		if _, dup := byID[all[i].ID]; dup {
			panic("catalog: duplicate cause " + all[i].ID)
		}
		byID[all[i].ID] = &all[i]
	}
}

// All returns the catalog in its documented order.
func All() []Cause { return append([]Cause(nil), all...) }

// Lookup returns the cause with that ID.
func Lookup(id string) (Cause, bool) {
	c, ok := byID[id]
	if !ok {
		return Cause{}, false
	}
	return *c, true
}

// Suggest returns IDs close to a mistyped one, for "did you mean".
func Suggest(id string) []string {
	var out []string
	id = strings.ToLower(id)
	for _, c := range all {
		if strings.Contains(c.ID, id) || strings.Contains(id, c.ID[strings.Index(c.ID, ".")+1:]) {
			out = append(out, c.ID)
		}
	}
	sort.Strings(out)
	return out
}
