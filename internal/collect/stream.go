package collect

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
)

// markerBuf is the reader's buffer, and so the longest marker line read:
// a file name is at most PATH_MAX, and a longer marker line is forged,
// dropped as it streams by rather than buffered.
const markerBuf = 64 << 10

// Split cuts a script's output into files (see splitStream).
func Split(out []byte, nonce string) []File {
	var files []File
	_ = splitStream(bytes.NewReader(out), nonce, func(f File) error {
		files = append(files, f)
		return nil
	})
	return files
}

// splitStream cuts a script's output, read from r as it arrives, into
// files, each handed to put as soon as it is complete: a host's output is
// never whole in memory, only the file being read, up to its cap (past
// it, the rest is dropped and the file marked truncated). Anything
// outside a frame (a login banner, a motd) is ignored; a frame cut short
// keeps what arrived, marked truncated. put owns the File it gets; its
// error stops the split and is returned, as is r's (not io.EOF).
func splitStream(r io.Reader, nonce string, put func(File) error) error {
	s := &splitter{mark: []byte("@@lvsdoctor-" + nonce + " "), put: put}
	br := bufio.NewReaderSize(r, markerBuf)
	lineStart, dropping := true, false
	for {
		chunk, rerr := br.ReadSlice('\n')
		whole := rerr == nil // chunk ends a line
		var err error
		switch {
		case len(chunk) == 0:
		case dropping:
		case lineStart && bytes.HasPrefix(chunk, s.mark):
			switch {
			case whole:
				err = s.marker(chunk[len(s.mark) : len(chunk)-1])
			case rerr == bufio.ErrBufferFull:
				dropping = true
			}
		case s.cur != nil:
			s.body(chunk)
		}
		if len(chunk) > 0 {
			lineStart = whole
			dropping = dropping && !whole
		}
		if err != nil {
			return err
		}
		if rerr == bufio.ErrBufferFull {
			continue
		}
		if rerr != nil {
			return s.finish(rerr)
		}
	}
}

type splitter struct {
	mark []byte
	put  func(File) error
	// cur is the file being read, limit its cap; nl holds back the newline
	// that ended its last line, the script's own unless more follows.
	cur   *File
	limit int64
	nl    bool
	// last is the file just ended or skipped, waiting for its err or why
	// line; noted says it had it (one each: a host cannot grow it).
	last  *File
	noted bool
}

func (s *splitter) marker(line []byte) error {
	verb, rest, _ := bytes.Cut(line, []byte(" "))
	switch string(verb) {
	case "begin":
		if err := s.flush(); err != nil {
			return err
		}
		if s.cur != nil {
			// the script never does this: someone else is printing frames
			if s.nl {
				s.add([]byte{'\n'})
			}
			f := s.cur
			s.cur = nil
			f.Truncated = true
			f.Err = "a new file began before this one ended"
			if err := s.put(*f); err != nil {
				return err
			}
		}
		lim, name, _ := bytes.Cut(rest, []byte(" "))
		s.limit = DefaultLimit
		// the script's cap for the item, never above any item's
		if n, err := strconv.ParseInt(string(lim), 10, 64); err == nil && n > 0 && n < DefaultLimit {
			s.limit = n
		}
		s.cur = &File{Name: string(name), How: "ssh"}
		s.nl = false
	case "end":
		rc, name, _ := bytes.Cut(rest, []byte(" "))
		if s.cur == nil || s.cur.Name != string(name) {
			return nil
		}
		f := s.cur
		s.cur, s.nl = nil, false
		if string(rc) != "0" {
			f.Err = "exit status " + string(rc)
			if _, err := strconv.Atoi(string(rc)); err != nil {
				f.Err = "exit status " + strconv.Quote(string(rc))
			}
		}
		s.last, s.noted = f, false
	case "err":
		if s.last == nil || s.last.Skipped != "" || s.noted {
			return nil
		}
		s.noted = true
		switch msg := string(rest); {
		case s.last.Err != "":
			s.last.Err = msg + " (" + s.last.Err + ")"
		case len(s.last.Data) == 0:
			s.last.Err = msg
		}
	case "skip":
		if err := s.flush(); err != nil {
			return err
		}
		s.last = &File{Name: string(rest), Skipped: "skipped (no reason given)"}
		s.noted = false
	case "why":
		if s.last == nil || s.last.Skipped == "" || s.noted || len(rest) == 0 {
			return nil
		}
		s.noted = true
		s.last.Skipped = string(rest)
	}
	return nil
}

// flush hands on the file that waited for its err or why line.
func (s *splitter) flush() error {
	if s.last == nil {
		return nil
	}
	f := s.last
	s.last = nil
	return s.put(*f)
}

func (s *splitter) body(p []byte) {
	if s.nl {
		s.add([]byte{'\n'})
		s.nl = false
	}
	if n := len(p); p[n-1] == '\n' {
		p, s.nl = p[:n-1], true
	}
	s.add(p)
}

func (s *splitter) add(p []byte) {
	f := s.cur
	if room := s.limit - int64(len(f.Data)); int64(len(p)) > room {
		p = p[:max(room, 0)]
		f.Truncated = true
	}
	// Doubling, and never past the cap: append's own growth allocates five
	// times a large file's size on the way, and overshoots its cap.
	if need := len(f.Data) + len(p); need > cap(f.Data) {
		grown := make([]byte, len(f.Data), min(max(2*cap(f.Data), need, 4096), int(s.limit)))
		copy(grown, f.Data)
		f.Data = grown
	}
	f.Data = append(f.Data, p...)
}

func (s *splitter) finish(rerr error) error {
	if rerr == io.EOF {
		rerr = nil
	}
	if err := s.flush(); err != nil {
		return err
	}
	if f := s.cur; f != nil {
		if s.nl {
			s.add([]byte{'\n'})
		}
		s.cur = nil
		f.Truncated = true
		f.Err = "output ended inside this file"
		if rerr != nil {
			f.Err += " (" + rerr.Error() + ")"
		}
		if err := s.put(*f); err != nil {
			return err
		}
	}
	return rerr
}
