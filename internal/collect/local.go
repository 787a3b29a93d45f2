package collect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/lvsdoctor/lvsdoctor/internal/redact"
)

var errTruncated = errors.New("truncated")

// Options tune a collection.
type Options struct {
	// Items to collect; nil means Items().
	Items []Item
	// Host names the host folder; "" means the host name.
	Host string
	// Role is written to the folder's role file when set.
	Role string
	// KeepalivedConf adds configuration files to the ones found from
	// running keepalived processes and the default path.
	KeepalivedConf []string
	// ItemTimeout bounds one command (default 30 s): a hung virsh or nft
	// must not hold the whole collection.
	ItemTimeout time.Duration
}

// Bundle is one host's collected evidence.
type Bundle struct {
	Host    string
	Role    string
	Files   []File
	Elapsed time.Duration
	// Err is set when the host could not be collected at all (SSH).
	Err string
}

// Local collects the host lvsdoctor runs on, in its current network
// namespace. It never fails as a whole: what could not be collected is
// recorded in its File (Skipped or Err) and the rest is still collected.
func Local(ctx context.Context, opt Options) *Bundle {
	start := time.Now()
	b := &Bundle{Host: opt.Host, Role: opt.Role}
	if b.Host == "" {
		b.Host = shortHostname()
	}
	items := opt.Items
	if items == nil {
		items = Items()
	}
	tmo := opt.ItemTimeout
	if tmo <= 0 {
		tmo = 30 * time.Second
	}
	// Items are independent reads; a few at a time hide the latency of the
	// slow ones (dmesg, journalctl, dpkg) without loading the host.
	files := make([]File, len(items))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, it := range items {
		if it.RemoteOnly {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ictx, cancel := context.WithTimeout(ctx, tmo)
			defer cancel()
			files[i] = runLocal(ictx, it)
		}()
	}
	wg.Wait()
	for i, f := range files {
		if !items[i].RemoteOnly {
			b.Files = append(b.Files, f)
		}
	}
	b.Files = append(b.Files, expandedFiles(ctx, tmo)...)
	b.Files = append(b.Files, keepalivedFiles(ctx, opt.KeepalivedConf)...)
	for i := range b.Files {
		b.Files[i].settle()
		b.Files[i].Data, b.Files[i].Redacted = redact.Bytes(b.Files[i].Data)
	}
	b.Elapsed = time.Since(start)
	return b
}

func runLocal(ctx context.Context, it Item) (f File) {
	f.Name = it.File
	start := time.Now()
	defer func() {
		f.Elapsed = time.Since(start)
		// a panicking reader must not take the collection down
		if r := recover(); r != nil {
			f.Err = fmt.Sprintf("internal error: %v", r)
		}
	}()
	if why := it.Guard.Check(); why != "" && !(it.Go != nil && it.GoUnguarded) {
		f.Skipped = why
		return f
	}
	var err error
	switch {
	case it.Go != nil:
		f.How = "in-process"
		f.Data, err = it.Go(ctx)
	case it.Path != "":
		f.How = it.Path
		f.Data, err = readLimited(it.Path, it.limit())
	case len(it.Cmd) > 0:
		if _, lerr := exec.LookPath(it.Cmd[0]); lerr != nil {
			f.Skipped = it.Cmd[0] + " is not installed"
			return f
		}
		f.How = shJoin(it.Cmd)
		f.Data, err = runCmd(ctx, it.Cmd, it.limit())
		if it.Header {
			f.Data = append([]byte("$ "+it.header()+"\n"), f.Data...)
		}
	}
	switch {
	case errors.Is(err, errTruncated):
		f.Truncated = true
	case os.IsNotExist(err) && it.Optional:
		f.Skipped = it.Path + " does not exist"
	case err != nil:
		f.Err = err.Error()
	}
	return f
}

// runCmd runs argv with a bounded stdout; a failure carries the first
// line of stderr, which says why (permission denied, no such table).
func runCmd(ctx context.Context, argv []string, limit int64) ([]byte, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	data, rerr := readAtMost(out, limit)
	if rerr != nil {
		_ = cmd.Process.Kill()
	}
	werr := cmd.Wait()
	switch {
	case rerr != nil:
		return data, rerr
	case ctx.Err() != nil:
		return data, fmt.Errorf("%s: %w", argv[0], ctx.Err())
	case werr != nil:
		msg := strings.TrimSpace(stderr.String())
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		if msg == "" {
			msg = werr.Error()
		}
		return data, fmt.Errorf("%s: %s", shJoin(argv), msg)
	}
	return data, nil
}

func shortHostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	if i := strings.IndexByte(h, '.'); i > 0 {
		h = h[:i]
	}
	return h
}
