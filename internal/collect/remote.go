package collect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/lvsdoctor/lvsdoctor/internal/inventory"
	"github.com/lvsdoctor/lvsdoctor/internal/redact"
	"github.com/lvsdoctor/lvsdoctor/internal/sshexec"
)

// MaxHostOutput caps what one host may print, when the Options leave
// MaxOutput unset. The largest honest output is the connection table of a
// busy director at its 256 MiB cap (DefaultLimit) plus a few MiB of the
// rest; twice that leaves room while bounding what a compromised host can
// cost in disk and time. A host passing it is cut off and fails alone.
const MaxHostOutput = 2 * DefaultLimit

// maxHostFiles bounds the files and skips of one host: some sixty items,
// the keepalived includes, a file per libvirt domain and per NIC. A host
// sending more is cut off: each costs an entry in memory until the host
// ends, and an inode.
const maxHostFiles = 10000

// RemoteInto collects every host of an inventory over SSH into root/HOST/
// with the script of Items: the commands the hosts already have, nothing
// installed, nothing copied. Each host's output is split as it arrives
// and each file written as soon as it is complete, so a host costs the
// memory of the files in flight (the one arriving, up to its cap, the one
// being redacted, and at most maxPending waiting between the two), not
// of its whole output; the Bundles returned hold no data. A host that fails (or prints what it should not) is a Bundle
// with Err, keeping what it sent before; the others are still collected.
// Bundles come back in inventory order.
func RemoteInto(ctx context.Context, hosts []inventory.Host, opt sshexec.Options, root string) []*Bundle {
	return remote(ctx, hosts, opt, func() hostStore { return &diskStore{root: root} })
}

// Remote is RemoteInto keeping the files in memory, for callers that want
// the bytes (tests, benchmarks); each host is bounded by the same caps.
func Remote(ctx context.Context, hosts []inventory.Host, opt sshexec.Options) []*Bundle {
	return remote(ctx, hosts, opt, func() hostStore { return memStore{} })
}

// A hostStore keeps one host's files as they arrive, in one goroutine.
type hostStore interface {
	// keep takes a file, settled and redacted; an error stops the host.
	keep(b *Bundle, f *File) error
	// done is told the host ended; b is complete, its Err included.
	done(b *Bundle)
}

func remote(ctx context.Context, hosts []inventory.Host, opt sshexec.Options, store func() hostStore) []*Bundle {
	if opt.MaxOutput <= 0 {
		opt.MaxOutput = MaxHostOutput
	}
	items := Items()
	out := make([]*Bundle, len(hosts))
	results := sshexec.RunJobs(ctx, hosts, func(i int, h inventory.Host) sshexec.Job {
		b := &Bundle{Host: h.Name, Role: h.Role}
		out[i] = b
		w := newHostWriter(b, store())
		// A nonce per host: a compromised host reads its script, and so its
		// nonce, which then frames nothing but its own output.
		nonce := NewNonce()
		return sshexec.Job{
			Script: Script(items, nonce),
			Stdout: func(r io.Reader) error { return splitStream(r, nonce, w.put) },
			Done: func(r *sshexec.Result) {
				err := w.close()
				b.Elapsed = r.Elapsed
				switch {
				case r.Err != nil:
					b.Err = r.Err.Error()
				case err != nil:
					b.Err = err.Error()
				}
				w.store.done(b)
			},
		}
	}, opt)
	for i, r := range results {
		if out[i] == nil { // never started
			out[i] = &Bundle{Host: r.Host.Name, Role: r.Host.Role, Err: "not started"}
			if r.Err != nil {
				out[i].Err = r.Err.Error()
			}
		}
	}
	return out
}

// maxPending bounds the bytes of one host's files waiting to be redacted
// and stored while its output goes on arriving (a file larger than that
// waits alone). Redacting the connection table at its cap takes tens of
// seconds: that must not hold up the small files after it, nor count
// against the host's timeout, which is the host's time, not ours.
const maxPending = 64 << 20

// hostWriter settles, redacts and stores one host's files in a goroutine
// of its own, as the host's output is read.
type hostWriter struct {
	b     *Bundle // its Files are the writer's until close returns
	store hostStore

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []File
	pending int64 // bytes in queue
	files   int   // files taken
	closed  bool
	err     error // the store's: it stops the host
	done    chan struct{}
}

func newHostWriter(b *Bundle, store hostStore) *hostWriter {
	w := &hostWriter{b: b, store: store, done: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	go w.run()
	return w
}

// put queues a file, waiting while too many bytes wait already.
func (w *hostWriter) put(f File) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.err == nil && len(w.queue) > 0 && w.pending+int64(len(f.Data)) > maxPending {
		w.cond.Wait()
	}
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("a file arrived after the host ended") // nothing would store it
	}
	if w.files == maxHostFiles {
		return fmt.Errorf("sent more than %d files; cut off there", maxHostFiles)
	}
	w.files++
	w.queue = append(w.queue, f)
	w.pending += int64(len(f.Data))
	w.cond.Broadcast()
	return nil
}

func (w *hostWriter) run() {
	defer close(w.done)
	for {
		w.mu.Lock()
		for len(w.queue) == 0 && !w.closed {
			w.cond.Wait()
		}
		if len(w.queue) == 0 {
			w.mu.Unlock()
			return
		}
		f := w.queue[0]
		w.queue[0] = File{}
		w.queue = w.queue[1:]
		w.pending -= int64(len(f.Data))
		failed := w.err != nil
		w.cond.Broadcast()
		w.mu.Unlock()
		if failed {
			continue // nowhere to store it
		}
		f.settle()
		f.Data, f.Redacted = redact.Bytes(f.Data)
		err := w.store.keep(w.b, &f)
		if err == nil {
			w.b.Files = append(w.b.Files, f)
		}
		w.mu.Lock()
		if err != nil && w.err == nil {
			w.err = err
		}
		w.cond.Broadcast()
		w.mu.Unlock()
	}
}

// close waits for the queued files to be stored and returns the store's
// error, if it had one.
func (w *hostWriter) close() error {
	w.mu.Lock()
	w.closed = true
	w.cond.Broadcast()
	w.mu.Unlock()
	<-w.done
	return w.err
}

type memStore struct{}

func (memStore) keep(*Bundle, *File) error { return nil }
func (memStore) done(*Bundle)              {}

// diskStore writes a host's folder as its files arrive. The folder is made
// with the first file, so a host never reached leaves none.
type diskStore struct {
	root string
	dir  *folder
}

func (s *diskStore) keep(b *Bundle, f *File) error {
	if s.dir == nil {
		d, err := openFolder(s.root, b.Host)
		if err != nil {
			return err
		}
		s.dir = d
	}
	s.dir.add(f)
	f.Data = nil // on disk now: the host's memory is for its next file
	return nil
}

func (s *diskStore) done(b *Bundle) {
	if s.dir == nil {
		if b.Err != "" {
			return
		}
		// the host ran the script and printed no file: its folder still
		// says so, in the manifest
		d, err := openFolder(s.root, b.Host)
		if err != nil {
			b.Err = err.Error()
			return
		}
		s.dir = d
	}
	if err := s.dir.close(b); err != nil && b.Err == "" {
		b.Err = err.Error()
	}
}
