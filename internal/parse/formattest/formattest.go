// Package formattest checks a parse package's formats the way intake
// uses them: detection through intake's order of every format, and
// sniffers that do not claim other formats' output. It is imported only by
// the parse packages' external tests (package x_test), since intake
// imports the parse packages.
package formattest

import (
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/format"
	"github.com/lvsdoctor/lvsdoctor/internal/intake"
)

// Case is one block to detect: the command that printed it, the file's
// base name, its text, and the format it must be read as.
type Case struct {
	Command, Base, Text, Want string
	Label                     string // names the case in failures (the fixture)
}

// Detect checks that each case is read as its format.
func Detect(t *testing.T, cases []Case) {
	t.Helper()
	for _, c := range cases {
		f, by := intake.Detect(c.Command, c.Base, true, c.Text)
		if f == nil || f.Name != c.Want {
			name := "<nil>"
			if f != nil {
				name = f.Name
			}
			t.Errorf("%q %q %s: got %s (by %s), want %s", c.Command, c.Base, c.Label, name, by, c.Want)
		}
	}
}

// OtherOutputs are blocks of other formats that no sniffer of a
// firewall, LVS or network format may claim.
var OtherOutputs = []string{
	"1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN\n",
	"IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n",
	"net.ipv4.ip_forward = 1\n",
	"Chain of events: nothing\n",
}

// NoFalseSniff checks that the formats' sniffers claim none of texts.
func NoFalseSniff(t *testing.T, formats []format.Format, texts []string) {
	t.Helper()
	for _, text := range texts {
		for _, f := range formats {
			if f.Sniff != nil && f.Sniff(text) {
				t.Errorf("%q sniffed as %s", text, f.Name)
			}
		}
	}
}
