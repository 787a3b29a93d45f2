package cli

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal and returns its terminal side, sized
// cols columns: what the report's writer is when a person runs it.
func openPTY(t *testing.T, cols uint16) *os.File {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal to test with (%v)", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("cannot unlock the pseudo-terminal (%v)", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skipf("cannot name the pseudo-terminal (%v)", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("cannot open the pseudo-terminal's terminal side (%v)", err)
	}
	t.Cleanup(func() { s.Close() })
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Col: cols, Row: 40}); err != nil {
		t.Fatal(err)
	}
	return s
}

// Colour only on a terminal and without NO_COLOR or --no-color; the width
// is the terminal's, else $COLUMNS, else 80.
func TestColourAndWidthFollowTheTerminal(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	t.Setenv("COLUMNS", "")
	tty := openPTY(t, 132)
	var buf bytes.Buffer
	if !useColor(tty, false) || useColor(tty, true) || useColor(&buf, false) {
		t.Errorf("colour: terminal %v, --no-color %v, buffer %v", useColor(tty, false), useColor(tty, true), useColor(&buf, false))
	}
	t.Setenv("NO_COLOR", "1")
	if useColor(tty, false) {
		t.Error("colour with NO_COLOR set")
	}
	if w := termWidth(tty); w != 132 {
		t.Errorf("terminal of 132 columns: width %d", w)
	}
	if w := termWidth(&buf); w != 80 {
		t.Errorf("no terminal, no COLUMNS: width %d", w)
	}
	t.Setenv("COLUMNS", "110")
	if w := termWidth(&buf); w != 110 {
		t.Errorf("COLUMNS=110: width %d", w)
	}
	// The report follows it: the explanation's lines run to the width,
	// not to 80.
	out, _, _ := runCLI("diagnose", "../../examples/tun-rp-filter")
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "   The kernel uses max(") {
			if n := len([]rune(l)); n <= 80 || n > 110 {
				t.Errorf("with COLUMNS=110 the explanation's first line is %d columns: %q", n, l)
			}
			return
		}
	}
	t.Errorf("no explanation found:\n%s", out)
}
