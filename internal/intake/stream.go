package intake

import (
	"bufio"
	"bytes"
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

// streamChunk is how much is read at a time (a variable for the tests);
// chunksAhead how many chunks are read ahead of the one being kept or
// counted.
var streamChunk = 4 << 20

const chunksAhead = 3

// chunk is whole lines of the text, and what a goroutine counted of them
// ahead: the lines a RunFolder takes from the chunk's first on.
type chunk struct {
	buf  []byte
	last bool // the text ends with it
	err  error
	fold *ipvsadm.RunFolder
	took int // bytes of buf fold took
	done chan struct{}
}

// count runs in its own goroutine: the chunk's leading run of connection
// lines, counted while earlier chunks are read.
func (ch *chunk) count() {
	defer close(ch.done)
	ch.fold = ipvsadm.NewRunFolder()
	for ch.took < len(ch.buf) {
		b := ch.buf[ch.took:]
		end, next := len(b), len(b)
		if j := bytes.IndexByte(b, '\n'); j >= 0 {
			end, next = j, j+1
		}
		if !ch.fold.Take(unsafe.String(unsafe.SliceData(b), end)) {
			return
		}
		ch.took += next
	}
}

// streamText reads a text to its end, or to MaxFileSize bytes (with a
// *casedir.TruncatedError), keeping its lines but the runs of connection
// lines past the first streamKeep of each, which it counts. Chunks are
// counted ahead by other goroutines (a busy director's table is one run
// of a million lines); where a run goes on, what they counted is added to
// it, and the lines after are read one by one as before, so the result is
// the one reading every line in order gives.
func streamText(r io.Reader) (kept []byte, runs []*evidence.ConnRun, readErr error) {
	var (
		text  bytes.Buffer       // what is kept of the file
		fold  *ipvsadm.RunFolder // the run being counted
		taken int                // lines in a row the fast path would take
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

	lr := &io.LimitedReader{R: r, N: MaxFileSize + 1}
	free := make(chan []byte, chunksAhead+1)
	var carry []byte // the start of a line the last chunk cut
	read := func() *chunk {
		var buf []byte
		select {
		case buf = <-free:
		default:
			buf = make([]byte, 0, streamChunk)
		}
		buf = append(buf[:0], carry...)
		ch := &chunk{done: make(chan struct{})}
		for {
			if len(buf) == cap(buf) {
				buf = append(buf, 0)[:len(buf)] // a line longer than a chunk
			}
			n, err := lr.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if err != nil {
				ch.last = true
				if err != io.EOF {
					ch.err = err
				}
				break
			}
			if len(buf) >= streamChunk/2 && bytes.IndexByte(buf[len(buf)-n:], '\n') >= 0 {
				break
			}
		}
		carry = carry[:0]
		if !ch.last {
			j := bytes.LastIndexByte(buf, '\n') + 1
			carry = append(carry, buf[j:]...)
			buf = buf[:j]
		}
		ch.buf = buf
		go ch.count()
		return ch
	}

	var queue []*chunk
	var total int64
	for ended := false; !ended || len(queue) > 0; {
		for !ended && len(queue) < chunksAhead {
			ch := read()
			queue = append(queue, ch)
			ended = ch.last
		}
		ch := queue[0]
		queue = queue[1:]
		<-ch.done
		buf := ch.buf
		if total+int64(len(buf)) > MaxFileSize {
			buf = buf[:MaxFileSize-total]
			readErr = &casedir.TruncatedError{Limit: MaxFileSize}
			ended, queue = true, nil
		} else if ch.err != nil {
			readErr = ch.err
		}
		total += int64(len(buf))
		from := 0
		if fold != nil && ch.took > 0 && ch.took <= len(buf) && fold.Absorb(ch.fold) {
			from = ch.took
		}
		for from < len(buf) {
			b := buf[from:]
			end, next := len(b), len(b)
			if j := bytes.IndexByte(b, '\n'); j >= 0 {
				end, next = j, j+1
			}
			line(b[:end])
			from += next
		}
		if cap(ch.buf) == streamChunk {
			free <- ch.buf[:0]
		}
	}
	if fold != nil {
		closeRun()
	}
	return text.Bytes(), runs, readErr
}
