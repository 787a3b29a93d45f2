package e2e

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/cli"
)

// TestDiagnoseIsDeterministic: the same evidence gives the same report,
// byte for byte, run after run (a tie broken by map order once named
// another host in the packet path one run in ten).
func TestDiagnoseIsDeterministic(t *testing.T) {
	var inputs []string
	for _, g := range []string{"../examples/*/case.yaml", "../testdata/lab/*/case.yaml", "../testdata/corpus/*/case.yaml"} {
		m, _ := filepath.Glob(g)
		for _, x := range m {
			inputs = append(inputs, filepath.Dir(x))
		}
	}
	m, _ := filepath.Glob("../examples/transcripts/*.txt")
	inputs = append(inputs, m...)
	runs := 4
	if testing.Short() {
		runs = 2
	}
	for _, in := range inputs {
		var first []byte
		for i := 0; i < runs; i++ {
			var out, errb bytes.Buffer
			cli.Main([]string{"diagnose", "-o", "json", in}, &out, &errb)
			if i == 0 {
				first = out.Bytes()
			} else if !bytes.Equal(first, out.Bytes()) {
				t.Errorf("%s: run %d differs from run 1", in, i+1)
				break
			}
		}
	}
}
