package intake

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"unsafe"

	"github.com/lvsdoctor/lvsdoctor/internal/casedir"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/ipvsadm"
)

// A file from streamAbove bytes is read in pieces, never whole: what makes
// a case's file that large is a connection table (`ipvsadm -Lnc` of a busy
// director, a million lines), and its lines are counted as they are read
// (ipvsadm.RunFolder) rather than kept. Everything else of the file, and
// the first streamKeep lines of each run, stays text and is read as any
// file is, so detection, the blocks of a transcript, redaction and every
// parser see the file as it is; each run stands in that text as one
// marker line (evidence.ConnRun). Peak memory is then a read buffer and
// the groups, whatever the table's size.
var (
	streamAbove int64 = 16 << 20
	streamKeep        = 64
)

// streamBuffer is the size of the read buffer; a longer line is read
// whole (as any line is, within the file's limit).
const streamBuffer = 1 << 20

// readStreamed reads the large file f (of a host folder, or named by the
// user) as readText would read it whole.
func readStreamed(c *evidence.Case, host, src, base string, f *os.File, include func(string) ([]evidence.Doc, error)) {
	br := bufio.NewReaderSize(io.LimitReader(f, MaxFileSize+1), streamBuffer)
	if head, _ := br.Peek(8192); len(head) > 0 {
		if bad, _ := looksBinary(head); bad {
			readText(c, host, src, base, bytes.Clone(head), include, nil)
			return
		}
	}
	text, runs, err := streamText(br)
	if err != nil {
		c.Problems = append(c.Problems, evidence.Problem{Host: host, Source: src, Message: err.Error()})
	}
	readText(c, host, src, base, text, include, runs)
}

// streamText reads a text to its end, or to MaxFileSize bytes (with a
// *casedir.TruncatedError), keeping its lines but the runs of connection
// lines past the first streamKeep of each, which it counts.
func streamText(br *bufio.Reader) (kept []byte, runs []*evidence.ConnRun, readErr error) {
	var (
		text  bytes.Buffer // what is kept of the file
		fold  *ipvsadm.RunFolder // the run being counted
		taken int                // lines in a row the fast path would take
		read  int64
		long  []byte // a line longer than the buffer, read in pieces
	)
	closeRun := func() {
		if fold.Lines() == 0 {
			fold = nil
			return
		}
		text.WriteString(evidence.RunMarker(len(runs), fold.Lines()))
		text.WriteByte('\n')
		runs = append(runs, fold.Run())
		fold = nil
	}
	line := func(b []byte) {
		s := unsafe.String(unsafe.SliceData(b), len(b)) // Take copies what it keeps
		if fold != nil {
			if fold.Take(s) {
				return
			}
			closeRun()
			taken = 0
		}
		switch {
		case ipvsadm.IsRunLine(s):
			taken++
		case len(bytes.TrimSpace(b)) > 0:
			taken = 0
		}
		// A NUL would make a marker line: the file's own are replaced.
		if bytes.IndexByte(b, 0) >= 0 {
			b = bytes.ReplaceAll(b, []byte{0}, []byte("\uFFFD"))
		}
		text.Write(b)
		text.WriteByte('\n')
		if taken >= streamKeep {
			fold = ipvsadm.NewRunFolder()
		}
	}
	for {
		b, err := br.ReadSlice('\n')
		read += int64(len(b))
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, b...)
			continue
		}
		if long != nil {
			b = append(long, b...)
			long = nil
		}
		if read > MaxFileSize {
			b = b[:max(0, int64(len(b))-(read-MaxFileSize))]
			line(bytes.TrimSuffix(b, []byte{'\n'}))
			readErr = &casedir.TruncatedError{Limit: MaxFileSize}
			break
		}
		if len(b) > 0 {
			line(bytes.TrimSuffix(b, []byte{'\n'}))
		}
		if err != nil {
			if err != io.EOF {
				readErr = err
			}
			break
		}
	}
	if fold != nil {
		closeRun()
	}
	return text.Bytes(), runs, readErr
}
