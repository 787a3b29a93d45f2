package intake

import (
	"context"
	"path/filepath"

	"golang.org/x/sync/semaphore"

	"github.com/lvsdoctor/lvsdoctor/internal/casedir"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// Reading ahead. A case of a thousand real servers is four thousand small
// files: opening, reading, redacting and splitting them costs as much as
// parsing them. One goroutine does the first part, host after host, file
// after file, ahead of the one that parses (which alone touches the case),
// in the order a sequential read has: the case is the same, its problems
// in the same order. What is read ahead is bounded (aheadBytes), files
// from streamAbove are read by the parsing goroutine itself, in pieces,
// while this one goes on with the next hosts.

// aheadBytes bounds the bytes read but not yet parsed.
const aheadBytes = 64 << 20

// aheadHost is one host folder as the reading goroutine found it.
type aheadHost struct {
	name string
	root string // the case directory its sources are relative to
	dir  *casedir.Folder
	err  error // the folder could not be opened
	hf   hostFolder
	// problems of its listing, which the parsing goroutine adds to the case
	problems []evidence.Problem
	files    chan aheadFile // one per hf.files, in that order
}

// aheadFile is one file of hf.files, read and split, or left to the
// parsing goroutine (role files, captures, large files: later).
type aheadFile struct {
	later bool
	err   error
	empty bool // nothing was read
	text  textBlocks
	cost  int64 // what it holds of aheadBytes
}

// reader is the goroutine reading ahead, and what stops it.
type reader struct {
	hosts  chan *aheadHost
	budget *semaphore.Weighted
	stop   context.CancelFunc
}

// readAhead starts reading the host folders names of top, in that order
// (one host of the loose files of top itself when loose).
func readAhead(top *casedir.Folder, root string, names []string, loose bool) *reader {
	ctx, stop := context.WithCancel(context.Background())
	r := &reader{hosts: make(chan *aheadHost, 4), budget: semaphore.NewWeighted(aheadBytes), stop: stop}
	go func() {
		defer close(r.hosts)
		if loose {
			r.host(ctx, &aheadHost{name: filepath.Base(root), root: filepath.Dir(root), dir: top})
			return
		}
		for _, name := range names {
			h := &aheadHost{name: name, root: root}
			h.dir, h.err = top.Sub(name)
			if !r.host(ctx, h) {
				return
			}
		}
	}()
	return r
}

// host lists and reads one host folder; false once the parsing stopped.
func (r *reader) host(ctx context.Context, h *aheadHost) bool {
	if h.err == nil {
		scratch := &evidence.Case{}
		left := int64(maxIncludeBytes)
		h.hf = hostFolder{c: scratch, host: h.name, root: h.root, dir: h.dir, consumed: map[string]bool{}, includeLeft: &left}
		h.hf.list()
		h.problems = scratch.Problems
		h.files = make(chan aheadFile, len(h.hf.files))
	}
	select {
	case r.hosts <- h:
	case <-ctx.Done():
		return false
	}
	if h.err != nil {
		return true
	}
	defer close(h.files)
	for _, p := range h.hf.files {
		f := r.file(ctx, h.hf, p)
		if ctx.Err() != nil {
			return false
		}
		h.files <- f // buffered for every file: never blocks
	}
	return true
}

// file reads and splits one file, unless the parsing goroutine reads it.
func (r *reader) file(ctx context.Context, hf hostFolder, p string) aheadFile {
	base := filepath.Base(p)
	if base == "role" || isCapture(base) {
		return aheadFile{later: true}
	}
	fh, st, err := hf.dir.OpenFile(hf.rel(p))
	if err != nil {
		return aheadFile{err: err, empty: true}
	}
	defer fh.Close()
	if st.Size() >= streamAbove {
		return aheadFile{later: true}
	}
	cost := min(max(st.Size(), 1), aheadBytes)
	if r.budget.Acquire(ctx, cost) != nil {
		return aheadFile{later: true}
	}
	data, err := casedir.Read(fh, st.Size(), MaxFileSize, isText)
	return aheadFile{err: err, empty: len(data) == 0, text: splitText(data, nil), cost: cost}
}

// next is the next host folder, read or being read; nil when there is
// none left.
func (r *reader) next() *aheadHost {
	return <-r.hosts
}

// done gives back what a file read ahead held.
func (r *reader) done(f aheadFile) {
	if f.cost > 0 {
		r.budget.Release(f.cost)
	}
}

// close stops the reading goroutine (when parsing ends early) and lets go
// of what it read.
func (r *reader) close() {
	r.stop()
	for h := range r.hosts {
		if h.files == nil {
			continue
		}
		for f := range h.files {
			r.done(f)
		}
	}
}
