package trace

import (
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/capture"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

func readAll(t *testing.T, in Input) ([]evidence.Frame, capture.Info, []evidence.Problem) {
	t.Helper()
	return capture.ReadFile(in.Path, capture.Options{Host: in.Host, Source: in.Source})
}
