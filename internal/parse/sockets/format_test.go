package sockets_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/format"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/formattest"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/sockets"
)

func text(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Connected-socket tables are read by the command, the file name, or
// their content, down to one netstat row pasted alone; the listening
// tables keep their formats.
func TestDetectConnections(t *testing.T) {
	row := "tcp        0     52 10.0.0.72:59338         10.0.0.37:5432          ESTABLISHED -\n"
	formattest.Detect(t, []formattest.Case{
		{Command: "netstat -tn", Text: text(t, "netstat-tn.txt"), Want: "netstat-connections", Label: "netstat-tn.txt"},
		{Command: "netstat -tnp | grep 5432", Text: row, Want: "netstat-connections", Label: "grep'd row"},
		{Base: "netstat-tnp.txt", Text: text(t, "netstat-tnp.txt"), Want: "netstat-connections", Label: "netstat-tnp.txt"},
		{Base: "paste.txt", Text: row, Want: "netstat-connections", Label: "lone row"},
		{Base: "paste.txt", Text: text(t, "netstat-tn.txt"), Want: "netstat-listen", Label: "netstat-tn.txt by its header"},
		{Command: "ss -tnp", Text: text(t, "ss-tnp.txt"), Want: "ss", Label: "ss-tnp.txt"},
		{Command: "netstat -lntup", Text: text(t, "netstat-lntup.txt"), Want: "netstat-listen", Label: "netstat-lntup.txt"},
		{Command: "netstat -s", Text: "Tcp:\n    3 active connection openings\n", Want: "netstat-s", Label: "netstat -s"},
	})
	formattest.NoFalseSniff(t, []format.Format{sockets.NetstatConnections()}, formattest.OtherOutputs)
}
