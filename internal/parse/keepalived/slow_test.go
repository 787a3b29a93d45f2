package keepalived

import (
	"strings"
	"testing"
	"time"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// TestLargeInputsFast guards against quadratic behaviour on hostile input.
func TestLargeInputsFast(t *testing.T) {
	inputs := []string{
		"global_defs {\n" + strings.Repeat("vrrp_strictxx 1\nsome_unknown_keyword_here x\n", 20000) + "}\n",
		strings.Repeat("virtual_server 192.0.2.1 80 {\nreal_server 192.0.2.2 80 {\nTCP_CHECK {\n", 5000),
		"$A=" + strings.Repeat("$A$A", 100) + "\n" + strings.Repeat("router_id $A$A$A$A\n", 1000),
		strings.Repeat("{", 100000) + strings.Repeat("}", 100000),
		strings.Repeat("x \\\n", 50000),
		strings.Repeat("include /x\n", 10000),
	}
	for i, in := range inputs {
		start := time.Now()
		d := evidence.Doc{Source: "x", Text: in}
		d.Include = func(string) ([]evidence.Doc, error) { return []evidence.Doc{{Source: "y", Text: in}}, nil }
		ParseConfig(d)
		if el := time.Since(start); el > 3*time.Second {
			t.Errorf("input %d took %v", i, el)
		}
	}
}
