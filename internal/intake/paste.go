package intake

import (
	"errors"
	"io"
	"os"

	"github.com/lvsdoctor/lvsdoctor/internal/casedir"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// Stdin is where "-" reads a paste from (a variable for the tests).
var Stdin io.Reader = os.Stdin

// pasteName names the paste read from standard input: its blocks whose
// prompt names no host belong to a host of that name, and its evidence
// cites it as its source.
const pasteName = "stdin"

// loadPaste reads one pasted session from r, as `lvsdoctor diagnose -`
// does when the terminal's clipboard is piped in (pbpaste, xclip -o, a
// heredoc), bounded like any file.
func loadPaste(c *evidence.Case, r io.Reader) error {
	data, err := casedir.Read(r, 0, MaxFileSize, isText)
	if err != nil && len(data) == 0 {
		return err
	}
	if len(data) == 0 {
		return errors.New("nothing was pasted on standard input")
	}
	if err != nil {
		c.Problems = append(c.Problems, evidence.Problem{Source: pasteName, Message: err.Error()})
	}
	readText(c, pasteName, pasteName, pasteName+".txt", data, nil, nil)
	return nil
}
